"""The LLM reply's streamed JSON (`FieldStream`, parsed by jiter in partial mode): a field
is usable as soon as its closing quote arrives, each field is validated on its own, and
a reply that is cut off, garbled or not JSON at all gives None for what it did not
deliver, so the caller speaks the rule wording there. Pure logic: no server needed
(tests/test_llm.py runs a real one)."""

from __future__ import annotations

import json
import time

from server.engines.llm import FieldStream

FIELDS = ("feedback", "acknowledgement", "follow_up")
REPLY = {
    "feedback": "You did not say what variance is: the error from fitting noise.",
    "acknowledgement": "You explained clearly where bias comes from.",
    "follow_up": "What would you change in a model that overfits?",
}


async def values(stream: FieldStream) -> dict[str, str | None]:
    return {name: await stream.get(name, time.monotonic()) for name in FIELDS}


def done(stream: FieldStream) -> set[str]:
    return {name for name, future in stream._futures.items() if future.done()}


async def test_each_field_is_ready_when_its_closing_quote_arrives() -> None:
    text = json.dumps(REPLY)
    stream = FieldStream(FIELDS)
    ready_at: dict[str, int] = {}
    for i, char in enumerate(text):  # one character a chunk: the finest a stream can be
        stream.feed(char)
        for name in done(stream) - ready_at.keys():
            ready_at[name] = i
    stream.finish()
    for name, value in REPLY.items():
        assert ready_at[name] == text.index(json.dumps(value)) + len(json.dumps(value)) - 1
    assert await values(stream) == REPLY
    assert stream.errors == []


async def test_a_reply_cut_off_keeps_the_fields_it_finished() -> None:
    text = json.dumps(REPLY)
    cut = text.index("where bias")  # inside the acknowledgement
    stream = FieldStream(FIELDS)
    for start in range(0, cut, 4):
        stream.feed(text[start:min(start + 4, cut)])
    assert done(stream) == {"feedback"}  # half a sentence is never handed out
    stream.finish()
    assert await values(stream) == {"feedback": REPLY["feedback"], "acknowledgement": None,
                                    "follow_up": None}
    assert "acknowledgement: missing" in stream.errors and "follow_up: missing" in stream.errors


async def test_an_invalid_field_falls_back_alone() -> None:
    reply = {**REPLY, "follow_up": "Tell me about overfitting."}  # not a question
    stream = FieldStream(FIELDS)
    stream.feed(json.dumps(reply))
    stream.finish()
    got = await values(stream)
    assert got == {**REPLY, "follow_up": None}
    assert any(e.startswith("follow_up: ") for e in stream.errors)


async def test_values_that_are_not_strings_fall_back() -> None:
    stream = FieldStream(FIELDS)
    stream.feed('{"feedback": null, "acknowledgement": 12, "follow_up": ["Why?"]}')
    stream.finish()
    assert await values(stream) == dict.fromkeys(FIELDS)
    assert "feedback: null" in stream.errors


async def test_broken_json_gives_up_at_once() -> None:
    stream = FieldStream(FIELDS)
    stream.feed('{"feedback": "You did not define variance here."')
    stream.feed(',, "acknowledgement": "')
    assert done(stream) == set(FIELDS)  # no waiting for the end of the stream
    assert await values(stream) == {"feedback": "You did not define variance here.",
                                    "acknowledgement": None, "follow_up": None}
    assert any(e.startswith("unreadable reply") for e in stream.errors)


async def test_garbage_after_a_field_keeps_it_and_drops_the_rest() -> None:
    stream = FieldStream(FIELDS)
    stream.feed('{"feedback": "You did not define variance here." "acknowledgement": "You got bias."}')
    stream.finish()
    assert await values(stream) == {"feedback": "You did not define variance here.",
                                    "acknowledgement": None, "follow_up": None}
    assert any(e.startswith("whole reply") for e in stream.errors)


async def test_escapes_split_across_chunks_are_decoded() -> None:
    stream = FieldStream(FIELDS)
    for chunk in ['{"acknowledgement": "You said \\', '"caf', '\\u00', 'e9\\" models', ' overfit."}']:
        stream.feed(chunk)
    stream.finish()
    assert (await values(stream))["acknowledgement"] == 'You said "café" models overfit.'


async def test_words_or_a_fence_before_the_object_are_skipped() -> None:
    stream = FieldStream(FIELDS)
    stream.feed("Sure! Here is the JSON:\n```json\n" + json.dumps(REPLY) + "\n```")
    stream.finish()
    assert await values(stream) == REPLY


async def test_only_top_level_fields_count_and_a_resolved_one_stays() -> None:
    stream = FieldStream(FIELDS)
    stream.feed('{"draft": {"follow_up": "Is this nested?"}, '
                '"acknowledgement": "You explained bias well."')
    stream.feed(', "acknowledgement": "A second one is ignored."}')
    stream.finish()
    got = await values(stream)
    assert got["follow_up"] is None and got["acknowledgement"] == "You explained bias well."


async def test_not_an_object_or_not_json_falls_back() -> None:
    for text in ('["You explained bias well."]', "I cannot answer in JSON, sorry.",
                 '{"feedback": "a lone \\ud83d surrogate here"}'):
        stream = FieldStream(FIELDS)
        stream.feed(text)
        stream.finish()
        assert await values(stream) == dict.fromkeys(FIELDS), text
        assert stream.errors


async def test_a_failed_stream_resolves_every_open_field() -> None:
    stream = FieldStream(FIELDS)
    stream.feed(json.dumps(REPLY)[:40])
    stream.finish("APIConnectionError: gone")
    assert await values(stream) == dict.fromkeys(FIELDS)
    assert stream.errors[0] == "APIConnectionError: gone"
