"""The conformance kit: ``hamr conform <url>`` probes an OpenAI-compatible, Anthropic-compatible or Responses server
through hamr's own client, records every exchange, and judges each cell of the server's compatibility row from those
bytes alone.

Imported only when used (``import hamr`` never loads it); it needs the ``conform`` extra (``pip install
"hamr[conform]"``, for the cassettes' YAML). Modules: ``probes`` (what is sent), ``rules`` (the wire rules read
from bytes), ``verdicts`` (one judge per probe), ``wire`` (exchanges, recorder, replayer, cassettes), ``run`` (live
and replayed runs), ``report`` (row, report, TOML snippet, exit code), ``cli`` (the command).
"""
