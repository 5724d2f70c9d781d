"""SSE decoding: a generated event stream, written with any mix of line endings and cut into chunks at any byte
(inside CRLF pairs and multi-byte UTF-8 characters included), decodes to the events that were written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from hamr._sse import SSEDecoder, SSEEvent

# field values: anything but line breaks (which end a line), unicode and colons included
value_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\0"),
    max_size=12,
)


@dataclass(frozen=True)
class Block:
    """One event block as written: optional comment, event name, id, then data lines."""

    comment: str | None
    event: str | None
    id: str | None
    data: tuple[str, ...]
    space_after_colon: bool

    def lines(self) -> list[str]:
        sep = ": " if self.space_after_colon else ":"
        out = [f":{self.comment}"] if self.comment is not None else []
        if self.event is not None:
            out.append(f"event{sep}{self.event}")
        if self.id is not None:
            out.append(f"id{sep}{self.id}")
        out += [f"data{sep}{line}" for line in self.data]
        return out


blocks = st.builds(
    Block,
    comment=st.none() | value_text,
    event=st.none() | value_text.filter(lambda s: not s.startswith(" ")),
    id=st.none() | value_text.filter(lambda s: not s.startswith(" ")),
    data=st.lists(value_text, max_size=3).map(tuple),
    space_after_colon=st.booleans(),
)


def expected_events(stream: list[Block]) -> list[SSEEvent]:
    """The WHATWG rules for these blocks: a block without data dispatches nothing, the last id carries over, an
    empty event name means "message"; a value written after "data:" without a space keeps its own leading space."""
    events = []
    last_id: str | None = None
    for block in stream:
        if block.id is not None:
            last_id = block.id
        if not block.data:
            continue
        data = [line if block.space_after_colon else line.removeprefix(" ") for line in block.data]
        events.append(SSEEvent(block.event or "message", "\n".join(data), last_id))
    return events


@st.composite
def encoded_streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    stream = draw(st.lists(blocks, max_size=6))
    lines: list[str] = []
    for block in stream:
        lines += [*block.lines(), ""]
    if lines and draw(st.booleans()):
        lines.pop()  # the server closes without the final blank line: the last event must still arrive
    bom = "\ufeff" if draw(st.booleans()) else ""  # one leading byte order mark is dropped
    out: list[str] = []
    previous = ""
    for line in lines:
        endings = ["\n", "\r\n", "\r"]
        if previous == "\r" and line == "":
            endings.remove("\n")  # "\r" + "\n" would be one CRLF, not an empty line
        previous = draw(st.sampled_from(endings))
        out.append(line + previous)
    return (bom + "".join(out)).encode(), expected_events(stream)


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


@given(encoded_streams(), st.data())
def test_any_split_of_the_bytes_gives_the_events_that_were_written(
    encoded: tuple[bytes, list[SSEEvent]], data: st.DataObject
) -> None:
    body, expected = encoded
    cuts = sorted(data.draw(st.sets(st.integers(0, len(body)), max_size=12)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert decode(chunks) == expected
    assert decode([body]) == expected
    assert decode([body[i : i + 1] for i in range(len(body))]) == expected


def decode_hot_path(chunks: list[bytes]) -> list[tuple[str, str]]:
    """As StreamDecoder reads: ``whole`` first for each read, ``feed`` for the reads it does not take."""
    decoder = SSEDecoder()
    events: list[tuple[str, str]] = []
    for chunk in chunks:
        whole = decoder.whole(chunk)
        if whole is not None:
            events.append(whole[:2])
        else:
            events += [(ev.event, ev.data) for ev in decoder.feed(chunk)]
    return events + [(ev.event, ev.data) for ev in decoder.close()]


@given(encoded_streams(), st.data())
def test_the_one_event_read_shortcut_gives_what_the_line_loop_gives(
    encoded: tuple[bytes, list[SSEEvent]], data: st.DataObject
) -> None:
    body, expected = encoded
    want = [(ev.event, ev.data) for ev in expected]
    # one read per event, as live streams arrive (the shortcut's case), then reads cut anywhere (its near misses)
    per_event = re.findall(rb".*?(?:\n\n|\r\r|\r\n\r\n)|.+\Z", body, re.S)
    assert b"".join(per_event) == body
    assert decode_hot_path(per_event) == want
    cuts = sorted(data.draw(st.sets(st.integers(0, len(body)), max_size=12)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert decode_hot_path(chunks) == want
