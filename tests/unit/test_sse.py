"""The SSE decoder: bytes in any split give the same events."""

from __future__ import annotations

import pytest

from hamr._sse import SSEDecodeError, SSEDecoder, SSEEvent

STREAM = (
    ": OPENROUTER PROCESSING\n\n"
    'event: message_start\ndata: {"a": 1}\n\n'
    "data: line one\ndata: line two\n\n"
    "id: 7\ndata: ünïcödé ✓ 🎉\n\n"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    SSEEvent("message_start", '{"a": 1}'),
    SSEEvent("message", "line one\nline two"),
    SSEEvent("message", "ünïcödé ✓ 🎉", "7"),
    SSEEvent("message", "[DONE]", "7"),
]


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def test_whole_stream_decodes_comments_names_multiline_and_ids() -> None:
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13])
def test_any_chunk_size_gives_the_same_events(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert decode(chunks) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_every_line_ending_is_accepted_even_when_split_between_cr_and_lf(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    for cut in range(len(stream)):
        assert decode([stream[:cut], stream[cut:]]) == EXPECTED, cut


def test_last_event_without_trailing_blank_line_is_not_lost() -> None:
    assert decode([b"data: partial"]) == [SSEEvent("message", "partial")]


def test_field_without_space_and_unknown_fields() -> None:
    assert decode([b"data:x\nretry: 10\nfoo: bar\n\n"]) == [SSEEvent("message", "x")]


def test_invalid_utf8_is_an_error_not_replacement_characters() -> None:
    with pytest.raises(SSEDecodeError):
        decode([b"data: \xff\xfe\n\n"])


def test_stream_ending_inside_a_utf8_character_is_an_error() -> None:
    with pytest.raises(SSEDecodeError):
        decode(["data: é".encode()[:-1]])
