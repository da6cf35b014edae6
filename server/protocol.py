"""Every message of the viva wire protocol (docs/protocol.md), version 1.

The one place where the JSON shapes live. Client messages ignore unknown fields
(the protocol says so); server messages are built from these models only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from server.lexicon import WordMark, mark_words

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
MAX_TEXT_CHARS = 10_000
#: Deepest nesting of arrays and objects in a client message: the deepest valid one is 2.
MAX_JSON_DEPTH = 8
#: Longest JSON integer taken: Python refuses to parse past 4,300 digits with a
#: ValueError, and no field needs more than a few.
MAX_INT_DIGITS = 20
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000

CommandName = Literal["repeat", "skip", "hint", "next", "stop", "slower", "faster"]
Mode = Literal["interview", "drill"]
Difficulty = Literal["easy", "medium", "hard"]
AgentKind = Literal["greeting", "question", "followup", "hint", "feedback", "ack", "closing"]
ErrorCode = Literal[
    "not_started", "bad_message", "bad_audio", "too_large", "bad_session", "busy", "internal",
    "rate_limited", "storage", "taken_over",
]


class _ClientMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ResumeRequest(_ClientMessage):
    session_id: str
    token: str


class Start(_ClientMessage):
    type: Literal["start"] = "start"
    mode: Mode = "interview"
    question_ids: list[str] | None = None
    categories: list[str] | None = None
    difficulty: Difficulty | None = None
    num_questions: int = Field(default=5, ge=1, le=50)
    max_follow_ups: int = Field(default=2, ge=0, le=5)
    # Range checked by the connection so that a bad rate gets `bad_audio`, not `bad_message`.
    sample_rate: int = 16000
    language: str = "en"
    tts: bool = True
    #: Who ends a spoken turn: `auto`, the server's endpointer at a pause; `client`, only
    #: `end_turn` (push to talk: a pause while the key is held is not the end).
    turn_end: Literal["auto", "client"] = "auto"
    resume: ResumeRequest | None = None


class Text(_ClientMessage):
    type: Literal["text"] = "text"
    text: str


class EndTurn(_ClientMessage):
    type: Literal["end_turn"] = "end_turn"


class Command(_ClientMessage):
    type: Literal["command"] = "command"
    name: CommandName


class Interrupt(_ClientMessage):
    type: Literal["interrupt"] = "interrupt"


class Stop(_ClientMessage):
    type: Literal["stop"] = "stop"


ClientMessage = Annotated[
    Start | Text | EndTurn | Command | Interrupt | Stop, Field(discriminator="type")
]
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("start", "text", "end_turn", "command", "interrupt", "stop")


class ProtocolError(Exception):
    """A client message that breaks the protocol; becomes an `error` message."""

    def __init__(self, code: ErrorCode, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.fatal = fatal

    def to_message(self) -> Error:
        return Error(code=self.code, message=self.message, fatal=self.fatal)


def parse_client_message(raw: str) -> Start | Text | EndTurn | Command | Interrupt | Stop:
    """Parse one text frame; raise ProtocolError with the protocol's code on any fault.

    Every limit is checked before the parser runs or inside it, so no input reaches
    code that can fail on it: the size, the nesting depth, integers too long to
    convert, and lone surrogates (valid JSON escapes that no UTF-8 can encode, so the
    first reply quoting them would fail)."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"message of {len(raw)} characters is over 64 KiB")
    if _too_deep(raw):
        raise ProtocolError("bad_message", f"message is nested deeper than {MAX_JSON_DEPTH}")
    try:
        data = json.loads(raw, parse_int=_bounded_int)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ProtocolError("bad_message", "message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "message must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw) and _has_surrogate(data):
        raise ProtocolError("bad_message", "message holds a lone surrogate (\\ud800-\\udfff)")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "message has no string 'type' field")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("bad_message", f"unknown message type {kind[:40]!r}")
    text = data.get("text")
    # Characters of the text itself: `\u00e9` in the frame is one character, not six.
    if kind == "text" and isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
        raise ProtocolError("too_large", f"text of {len(text)} characters is over {MAX_TEXT_CHARS}")
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or kind
        raise ProtocolError("bad_message", f"{kind}: {where}: {first['msg']}"[:300]) from None


# A JSON string once its escaped backslashes and quotes are gone: no `"` inside.
_JSON_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _too_deep(raw: str) -> bool:
    """True when arrays and objects nest deeper than MAX_JSON_DEPTH (or do not pair up,
    which json would refuse anyway). Linear in the frame and in C but for a loop of at
    most MAX_JSON_DEPTH rounds: no regex here can backtrack (a frame of 30,000 `"\\`
    took a backtracking string pattern minutes)."""
    if raw.count("[") + raw.count("{") <= MAX_JSON_DEPTH:
        return False  # every ordinary message: no scan at all
    plain = raw.replace("\\\\", "").replace('\\"', "")
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", plain))
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)  # one level a round, of either kind
    return bool(brackets)


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolError("bad_message", f"integer of {len(digits)} digits is too long")
    return int(digits)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


# --------------------------------------------------------------------------- server


class _ServerMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json()


class SessionInfo(_ServerMessage):
    type: Literal["session"] = "session"
    protocol: int = PROTOCOL_VERSION
    session_id: str
    token: str
    mode: Mode
    num_questions: int | None
    #: Extension: true when this session continues an earlier one.
    resumed: bool = False


class Agent(_ServerMessage):
    type: Literal["agent"] = "agent"
    utterance_id: str
    kind: AgentKind
    text: str
    question_id: str | None = None
    index: int | None = None
    #: Extension: who worded this text, "rules" or "llm" (absent where it does not apply).
    source: Literal["rules", "llm"] | None = None


class AudioStart(_ServerMessage):
    type: Literal["audio_start"] = "audio_start"
    utterance_id: str
    sample_rate: int
    format: Literal["pcm_s16le"] = "pcm_s16le"
    channels: Literal[1] = 1


class AudioEnd(_ServerMessage):
    type: Literal["audio_end"] = "audio_end"
    utterance_id: str
    interrupted: bool = False


class Vad(_ServerMessage):
    type: Literal["vad"] = "vad"
    state: Literal["speech", "silence"]
    t: float


class Word(BaseModel):
    word: str
    start: float
    end: float
    probability: float
    #: Extension: what delivery scoring counted on this word (server/lexicon.py); None
    #: where the words were not marked.
    marks: list[WordMark] | None = None
    #: Extension: seconds of the long pause right before this word, if there was one.
    pause_before_s: float | None = None


def marked_words(words: Sequence[Word], segments: Sequence[Sequence[float]] | None) -> list[Word]:
    """The words with their delivery marks (`lexicon.mark_words`); `segments` are the
    turn's VAD speech spans, from which long pauses are found."""
    marks = mark_words([w.word for w in words], [w.start for w in words], segments)
    return [w.model_copy(update={"marks": m.marks, "pause_before_s": m.pause_before_s})
            for w, m in zip(words, marks, strict=True)]


class Transcript(_ServerMessage):
    type: Literal["transcript"] = "transcript"
    turn_id: str
    text: str
    final: bool
    words: list[Word] | None = None


class TurnResumed(_ServerMessage):
    """Extension: the candidate went on speaking right after the interviewer had begun to
    reply, so the turn was not over. `turn_id` is open again (its final transcript and
    score are superseded by the ones that follow, under the same `turn_id`), and the
    `agent` utterances in `withdrawn` never happened: remove them."""

    type: Literal["turn_resumed"] = "turn_resumed"
    turn_id: str
    withdrawn: list[str] = Field(default_factory=list)


class KeyPointResult(BaseModel):
    id: str
    text: str
    covered: bool
    evidence: str | None = None
    #: Extension: how close the best evidence came (0-1).
    similarity: float | None = None


class Score(_ServerMessage):
    type: Literal["score"] = "score"
    turn_id: str
    question_id: str
    overall: float
    content: float
    delivery: float | None
    key_points: list[KeyPointResult]
    metrics: dict[str, Any] | None
    feedback: str


class QuestionSummary(BaseModel):
    question_id: str
    prompt: str
    category: str | None = None
    overall: float | None = None
    content: float | None = None
    delivery: float | None = None
    transcripts: list[str] = Field(default_factory=list)


class Summary(_ServerMessage):
    type: Literal["summary"] = "summary"
    session_id: str
    overall: float | None
    questions: list[QuestionSummary]
    strengths: list[str]
    improvements: list[str]
    review_url: str | None = None
    #: Extension: average overall score per category.
    categories: dict[str, float] | None = None


class Error(_ServerMessage):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    fatal: bool = False


ServerMessage = Annotated[
    SessionInfo | Agent | AudioStart | AudioEnd | Vad | Transcript | TurnResumed | Score | Summary
    | Error,
    Field(discriminator="type"),
]
server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def parse_server_message(raw: str | bytes) -> BaseModel:
    """For clients and tests: parse a server text frame into its model."""
    return server_adapter.validate_json(raw)
