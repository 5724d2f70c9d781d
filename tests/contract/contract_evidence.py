"""What a cassette's ``provenance`` says about how it was obtained, and the checks every provenance must pass.

Three kinds of evidence:

- **recorded live** (``source: recorded live``, with ``date``, ``server``, ``model``): recorded here by
  ``nox -s record`` from a real server (a local one; cloud presets with a key).
- **real recording** (``source: real recording``): the response is one a real provider sent to another project's
  test suite, as that project recorded it. ``recording`` cites the original public source (repository, path,
  commit, interaction index, and the recording date where the source gives one) so the evidence can be checked
  from the cassette alone; ``recorded_request`` summarises what the provider was answering; ``request`` and
  ``response`` say how the request was rebuilt and exactly what was normalised in the response.
- **constructed** (``source: constructed from the documented wire format``): written from the provider's
  documentation (``docs``, ``constructed`` date), because no real response for the situation exists (``why``).

The reference recordings are read from a local copy of the corpus (``HAMR_REFERENCE_RESPONSES``, by default
``shared/reference/responses`` beside the checkout); cassettes never cite that copy, only the public source each of
its files records. A recording the corpus does not hold is read from the public repository that recorded it
(``github:<owner>/<name>@<commit>:<path>#<interaction>``), out of a local git mirror of it
(``HAMR_PUBLIC_REPOS``, by default the nearest ``.mirror`` directory beside the checkout, one
``<owner>+<name>/repo`` git directory per repository), at exactly the cited commit.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

LIVE = "recorded live"
REAL = "real recording"
CONSTRUCTED = "constructed from the documented wire format"
#: the short names the compatibility matrix uses, by ``source``
KINDS = {LIVE: "recorded live", REAL: "real recording", CONSTRUCTED: "constructed"}

REFERENCE_VAR = "HAMR_REFERENCE_RESPONSES"
PUBLIC_VAR = "HAMR_PUBLIC_REPOS"
#: a recording read from its public repository: ``github:<owner>/<name>@<commit>:<path>#<interaction>``
PUBLIC = re.compile(r"^github:(?P<repo>[^/@]+/[^@]+)@(?P<commit>[0-9a-f]{40}):(?P<path>.+)#(?P<index>\d+)$")
_REPO = Path(__file__).resolve().parents[2]
#: how a cassette may not point at the local copy of the corpus: it is not part of the repository
LOCAL_CORPUS = re.compile(r"\.\./shared|shared/reference/responses")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReferenceError(LookupError):
    """A reference recording is missing or malformed; the message names the file and field."""


def reference_root() -> Path:
    """``$HAMR_REFERENCE_RESPONSES``, else the nearest ``shared/reference/responses`` beside the checkout or one of
    its parents (a worktree sits a level deeper than the main checkout)."""
    if os.environ.get(REFERENCE_VAR):
        return Path(os.environ[REFERENCE_VAR])
    candidates = [parent / "shared" / "reference" / "responses" for parent in _REPO.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


@dataclass(frozen=True)
class Recording:
    """One reference file: the recorded response and everything needed to cite it."""

    name: str
    status: int
    headers: dict[str, str]
    body: bytes
    citation: dict[str, Any]
    recorded_request: Any
    #: the corpus's own deviations from the wire (its notes' "Provenance:" clause), or ""
    corpus_normalisation: str


def _recorded_date(notes: str) -> str | None:
    """The recording date the reference file gives: the source fixture's ``captured_at`` timestamp, else a
    year-month (or year) the notes state for the recording; None when it gives none."""
    captured = re.search(r"captured_at (\d{4}-\d{2}-\d{2}T[0-9:.]+Z)", notes)
    if captured:
        return captured.group(1)
    described = notes.split("Provenance:")[0]
    month = re.search(r"\b(20\d\d-\d\d)\b", described) or re.search(r"\((20\d\d)\)", described)
    return month.group(1) if month else None


def _summary(request: Mapping[str, Any]) -> Any:
    """What the recorded request asked, short enough to read in a cassette."""
    endpoint = f"{request.get('method', 'POST')} {request.get('path', '?')}"
    body = request.get("json")
    if not isinstance(body, dict):
        return f"{endpoint}; the source did not store the request body"
    out: dict[str, Any] = {"endpoint": endpoint, "model": body.get("model"), "stream": bool(body.get("stream"))}
    messages = []
    for name in ("system", "instructions"):
        if body.get(name):
            messages.append(f"{name}: {_clip(str(body[name]))}")
    turns = body.get("messages") or body.get("input") or []
    for message in [{"role": "user", "content": turns}] if isinstance(turns, str) else turns:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        who = message.get("role") or message.get("type")  # a Responses input item that is not a message: its type
        messages.append(f"{who}: {_clip(str(content if content is not None else ''))}")
    out["messages"] = messages
    tools = [t.get("function", t).get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    if tools:
        out["tools"] = tools
    shown = ("model", "stream", "messages", "input", "instructions", "system", "tools")
    others = sorted(k for k in body if k not in shown)
    if others:
        out["other fields"] = others
    return out


def _clip(text: str, size: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def recording(name: str) -> Recording:
    """The reference file ``name`` (``<provider>/<nn>-<what>.json``) of the local corpus, or a recording read from
    its public repository (``github:...``, see ``public_recording``)."""
    if name.startswith("github:"):
        return public_recording(name)
    path = reference_root() / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceError(
            f"reference recording {name} not found under {reference_root()} (set {REFERENCE_VAR} to the corpus)"
        ) from None
    try:
        src, response, notes = data["source"], data["response"], str(data.get("notes") or "")
        citation: dict[str, Any] = {
            "repo": src["repo"],
            "path": src["path"],
            "commit": src["commit"],
            "interaction_index": int(src["interaction_index"]),
            "url": f"https://github.com/{src['repo']}/blob/{src['commit']}/{quote(src['path'])}",
        }
        recorded = _recorded_date(notes)
        if recorded:
            citation["recorded"] = recorded
        clause = notes.split("Provenance:", 1)[1].strip() if "Provenance:" in notes else ""
        return Recording(
            name,
            int(response["status"]),
            {k.lower(): str(v) for k, v in response["headers"].items()},
            str(response["body"]).encode("utf-8"),
            citation,
            _summary(data["request"]),
            clause,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferenceError(f"reference recording {path} is malformed: {type(exc).__name__}: {exc}") from None


# ------------------------------------------------------------------------------------------------------------------
# reading and checking provenance
# ------------------------------------------------------------------------------------------------------------------


def kind(provenance: Any) -> str | None:
    """``recorded live``, ``real recording`` or ``constructed``; None for anything else."""
    return KINDS.get(provenance.get("source")) if isinstance(provenance, Mapping) else None


def head(text: str) -> dict[str, Any]:
    """A cassette file's ``provenance`` mapping, read without parsing its interactions."""
    document = yaml.safe_load(text.split("\ninteractions:", 1)[0])
    provenance = document.get("provenance") if isinstance(document, dict) else None
    return provenance if isinstance(provenance, dict) else {}


def _citation_problems(citation: Any, where: str) -> list[str]:
    if isinstance(citation, list) and len(citation) > 1:  # a conversation the source stores in several files
        return [problem for n, one in enumerate(citation) for problem in _citation_problems(one, f"{where}[{n}]")]
    if not isinstance(citation, Mapping):
        return [f"{where} must cite the original source (repo, path, commit, interaction_index)"]
    out = [f"{where}.{k} is missing" for k in ("repo", "path") if not citation.get(k)]
    if not _COMMIT.match(str(citation.get("commit", ""))):
        out.append(f"{where}.commit must be the full 40-hex commit of the source")
    index = citation.get("interaction_index")
    several = isinstance(index, list) and index and all(isinstance(i, int) for i in index)
    if not (isinstance(index, int) or several):
        out.append(
            f"{where}.interaction_index must be the interaction's 0-based position in the source file (a list of "
            "them, in order, for a cassette serving several)"
        )
    url = f"https://github.com/{citation.get('repo')}/blob/{citation.get('commit')}/{quote(str(citation.get('path')))}"
    if citation.get("url", url) != url:
        out.append(f"{where}.url must point at the cited file at the cited commit ({url})")
    return out


def problems(provenance: Any) -> list[str]:
    """Everything a provenance lacks for its kind (empty when it is complete)."""
    if not isinstance(provenance, Mapping) or kind(provenance) is None:
        return [f"provenance.source must be one of {tuple(KINDS)}"]
    out: list[str] = []
    source = provenance["source"]
    if source == LIVE and not all(provenance.get(k) for k in ("date", "server", "model")):
        out.append("a live recording names its date, server and model")
    elif source == REAL:
        out += _citation_problems(provenance.get("recording"), "provenance.recording")
        out += [
            f"a real recording says {what} ({k})"
            for k, what in (
                ("recorded_request", "what the provider was answering"),
                ("request", "how the request was rebuilt"),
                ("response", "what was normalised in the response"),
            )
            if not provenance.get(k)
        ]
    elif source == CONSTRUCTED:
        docs = provenance.get("docs")
        if not isinstance(docs, list) or not any(str(d).startswith("https://") for d in docs):
            out.append("a constructed cassette names the documentation page(s) it follows (docs)")
        if not _DAY.match(str(provenance.get("constructed", ""))):
            out.append("a constructed cassette gives the date it was constructed (constructed: YYYY-MM-DD)")
        if not provenance.get("why"):
            out.append("a constructed cassette says why no real recording backs it (why)")
        for n, citation in enumerate(provenance.get("shaped_after") or []):
            out += _citation_problems(citation, f"provenance.shaped_after[{n}]")
    return out


# ------------------------------------------------------------------------------------------------------------------
# recordings read from their public repositories
# ------------------------------------------------------------------------------------------------------------------


def public_root() -> Path:
    """``$HAMR_PUBLIC_REPOS``, else the nearest ``.mirror`` directory beside the checkout or one of its parents."""
    if os.environ.get(PUBLIC_VAR):
        return Path(os.environ[PUBLIC_VAR])
    candidates = [parent / ".mirror" for parent in _REPO.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _show(repo: str, commit: str, path: str) -> str:
    """The file ``path`` of ``repo`` at ``commit``, from its local mirror."""
    git_dir = public_root() / repo.replace("/", "+") / "repo"
    try:
        shown = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ReferenceError(
            f"cannot read {path} of {repo} at {commit} from {git_dir} ({exc}): put a git mirror of "
            f"https://github.com/{repo} there, or set {PUBLIC_VAR}"
        ) from None
    return shown.stdout.decode("utf-8")


#: what each kind of public source changed in what it stored, and how its bytes are rebuilt here
VCR_JSON = (
    "pydantic-ai stores a JSON body parsed (parsed_body), after replacing smart quotes, dashes and ellipses by ASCII "
    "and NFKC-normalising every string (tests/json_body_serializer.py); the body here is json.dumps of it, as "
    "pydantic-ai's own replay rebuilds it, so spacing and escaping are json.dumps', not the provider's. Its cassettes "
    "keep no date, server, x-* or cf-* headers"
)
VCR_TEXT = (
    "the body is the text pydantic-ai's cassette stores (body.string), verbatim; its cassettes keep no date, server, "
    "x-* or cf-* headers"
)
CHUNKS = (
    "vercel/ai stores a stream as the data of its events, one JSON object per line, without the SSE framing or any "
    "status and headers; the body here frames each line as 'data: <line>' and a blank line, as vercel/ai's own test "
    "replay does (packages/openai/src/responses/openai-responses-language-model.test.ts), without the 'data: [DONE]' "
    "that replay appends (OpenAI ends a Responses stream without one); status 200 and content-type "
    "text/event-stream are the replay's"
)


FIXTURE_PAIR = (
    "the source stores the response body alone, in its own file (the request it answered beside it, "
    "{request}), with no status and no headers; the body here is read from that file as it is stored"
)


def _created(body: bytes) -> str | None:
    """The day the provider made the response: the Response's ``created_at`` (epoch seconds, UTC), in the body or
    in its first stream event; None when it has none."""
    text = body.decode("utf-8", "replace")
    found = re.search(r'"created_at":\s*(\d{9,11})\b', text)
    if not found:
        return None
    return datetime.datetime.fromtimestamp(int(found.group(1)), tz=datetime.UTC).date().isoformat()


def public_recording(name: str) -> Recording:
    """Interaction ``#n`` of a public project's recording, ``github:<owner>/<name>@<commit>:<path>#<n>``: a vcrpy
    cassette (pydantic-ai's YAML, JSON bodies stored parsed), vercel/ai's ``.chunks.txt`` stream fixture, or a
    captured pair of files (``<stem>_response.json`` or ``.txt``, an SSE stream, with ``<stem>_request.json`` beside
    it: neurouter's)."""
    found = PUBLIC.match(name)
    if found is None:
        raise ReferenceError(f"{name!r} is not github:<owner>/<name>@<40-hex commit>:<path>#<interaction>")
    repo, commit, path, index = found["repo"], found["commit"], found["path"], int(found["index"])
    text = _show(repo, commit, path)
    citation: dict[str, Any] = {
        "repo": repo,
        "path": path,
        "commit": commit,
        "interaction_index": index,
        "url": f"https://github.com/{repo}/blob/{commit}/{quote(path)}",
    }
    if path.endswith(".chunks.txt"):
        if index != 0:
            raise ReferenceError(f"{name}: a chunks fixture holds one interaction (#0)")
        lines = [line for line in text.split("\n") if line.strip()]
        body = "".join(f"data: {line}\n\n" for line in lines).encode("utf-8")
        status, headers, request, normalisation = 200, {"content-type": "text/event-stream"}, None, CHUNKS
    elif re.search(r"_response\.(json|txt)$", path):
        if index != 0:
            raise ReferenceError(f"{name}: a captured response file holds one interaction (#0)")
        sent_path = re.sub(r"_response\.(json|txt)$", "_request.json", path)
        try:
            sent = json.loads(_show(repo, commit, sent_path))
        except ValueError as exc:
            raise ReferenceError(f"{name}: {sent_path} is not JSON ({exc})") from None
        body, status, headers = text.encode("utf-8"), 200, {}
        request = {"method": "POST", "path": "(the source stores no URL)", "json": sent}
        normalisation = FIXTURE_PAIR.format(request=sent_path)
    else:
        try:
            interaction = yaml.safe_load(text)["interactions"][index]
            sent, response = interaction["request"], interaction["response"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ReferenceError(f"{name}: no interaction {index} ({type(exc).__name__}: {exc})") from None
        status = int(response["status"]["code"])
        stored = response.get("headers") or {}
        headers = {k.lower(): str(v[0] if isinstance(v, list) else v) for k, v in stored.items()}
        if "parsed_body" in response:
            body, normalisation = json.dumps(response["parsed_body"]).encode("utf-8"), VCR_JSON
        else:
            body, normalisation = str((response.get("body") or {}).get("string") or "").encode("utf-8"), VCR_TEXT
        request = {"method": sent.get("method"), "path": urlsplit(sent["uri"]).path, "json": sent.get("parsed_body")}
    recorded = _created(body)
    if recorded:
        citation["recorded"] = recorded
    summary = _summary(request) if request else "the source stores no request"
    if recorded:
        normalisation += f"; recorded: the day of the response's created_at ({recorded})"
    return Recording(name, status, headers, body, citation, summary, normalisation)
