"""Every wire message round-trips; hostile client input gets its protocol error."""

from __future__ import annotations

import json

import pytest

from server import protocol as p

SERVER_MESSAGES = [
    p.SessionInfo(session_id="s1", token="tok", mode="interview", num_questions=5),
    p.Agent(utterance_id="u1", kind="question", text="Explain bias.", question_id="q", index=1),
    p.AudioStart(utterance_id="u1", sample_rate=22050),
    p.AudioEnd(utterance_id="u1", interrupted=True),
    p.Vad(state="speech", t=1.25),
    p.Transcript(turn_id="t1", text="bias is", final=False),
    p.Transcript(turn_id="t1", text="bias is error", final=True,
                 words=[p.Word(word="bias", start=0.0, end=0.3, probability=0.9)]),
    p.Transcript(turn_id="t1", text="Um, bias is error", final=True,
                 words=[p.Word(word="Um,", start=0.0, end=0.3, probability=0.9, marks=["filler"]),
                        p.Word(word="bias", start=2.0, end=2.3, probability=0.9, marks=[],
                               pause_before_s=1.6)]),
    p.TurnResumed(turn_id="t1", withdrawn=["u2", "u3"]),
    p.Score(turn_id="t1", question_id="q", overall=71.5, content=80, delivery=None,
            key_points=[p.KeyPointResult(id="k", text="Bias", covered=True, evidence="bias is")],
            metrics=None, feedback="Mention variance."),
    p.Summary(session_id="s1", overall=None,
              questions=[p.QuestionSummary(question_id="q", prompt="Explain bias.")],
              strengths=[], improvements=[], review_url="/review/s1?token=tok"),
    p.Error(code="busy", message="full", fatal=True),
]


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=lambda m: m.type)
def test_server_messages_round_trip(message):
    raw = message.to_json()
    assert json.loads(raw)["type"] == message.type
    assert p.parse_server_message(raw) == message


def test_marked_words_round_trip() -> None:
    """Each word's marks (server/lexicon.py) survive the wire; unmarked words say null."""
    words = [p.Word(word=w, start=t, end=t + 0.3, probability=0.9) for w, t in
             [("Um,", 0.0), ("I", 0.4), ("think", 0.8), ("the", 2.9), ("the", 3.2), ("bias", 3.6)]]
    message = p.Transcript(turn_id="t1", text="Um, I think the the bias", final=True,
                           words=p.marked_words(words, [(0.0, 1.1), (3.0, 4.0)]))
    data = json.loads(message.to_json())
    assert [w["marks"] for w in data["words"]] == [["filler"], ["hedge"], ["hedge"], [],
                                                   ["repeat"], []]
    assert [w["pause_before_s"] for w in data["words"]] == [None, None, None, 1.9, None, None]
    assert p.parse_server_message(message.to_json()) == message
    plain = p.Transcript(turn_id="t1", text="bias", final=True, words=words[-1:])
    assert json.loads(plain.to_json())["words"][0]["marks"] is None


CLIENT_MESSAGES = [
    {"type": "start"},
    {"type": "start", "mode": "drill", "categories": ["coding"], "difficulty": "hard",
     "num_questions": 3, "max_follow_ups": 0, "sample_rate": 48000, "language": "en",
     "tts": False, "question_ids": ["bias-variance"],
     "resume": {"session_id": "abc", "token": "t"}},
    {"type": "text", "text": "my answer"},
    {"type": "end_turn"},
    *({"type": "command", "name": name}
      for name in ("repeat", "skip", "hint", "next", "stop", "slower", "faster")),
    {"type": "interrupt"},
    {"type": "stop"},
]


@pytest.mark.parametrize("data", CLIENT_MESSAGES, ids=lambda d: d["type"])
def test_client_messages_round_trip(data):
    message = p.parse_client_message(json.dumps(data))
    again = p.parse_client_message(message.model_dump_json(exclude_none=True))
    assert again == message
    assert message.type == data["type"]


def test_unknown_fields_are_ignored():
    message = p.parse_client_message('{"type": "text", "text": "hi", "future_field": 1}')
    assert message == p.Text(text="hi")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"no_type": 1}', "bad_message"),
        ('{"type": 5}', "bad_message"),
        ('{"type": "dance"}', "bad_message"),
        ('{"type": "text", "text": 42}', "bad_message"),
        ('{"type": "command", "name": "explode"}', "bad_message"),
        ('{"type": "start", "num_questions": "five"}', "bad_message"),
        ('{"type": "start", "tts": "yes"}', "bad_message"),
        (json.dumps({"type": "text", "text": "x" * 10_001}), "too_large"),
        ("[" * 100_000, "too_large"),
    ],
)
def test_parse_errors_carry_protocol_codes(raw, code):
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_message(raw)
    assert info.value.code == code
    assert not info.value.fatal
