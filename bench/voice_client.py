"""A scripted candidate over /ws: speaks Piper-rendered answers at real time, records timings.

The pieces the benchmarks share:

* `Speech` / `Pause` scripts rendered once by `Voice` into 16 kHz float audio, with the
  sample positions of every speech span (so "end of speech" is exact, not guessed);
* `Mic`: one task per connection that sends a 20 ms PCM16 frame every 20 ms, forever,
  like an open microphone: the scripted answer when one is playing, silence otherwise;
* `Connection`: reads every server frame with its arrival time;
* `Candidate`: the turn loop (wait for a question, listen to it, answer, wait for the
  final transcript and the reply) that yields one `TurnResult` per answer.

Handy by hand too: `python -m bench.voice_client ws://127.0.0.1:8000/ws` answers two
questions of a running server and prints what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

from server.audio.pcm import float_to_pcm16

RATE = 16000
FRAME_S = 0.02
FRAME_SAMPLES = int(RATE * FRAME_S)
#: Scripted silences at least this long count as deliberate thinking pauses.
THINKING_PAUSE_S = 1.0
#: Kinds of `agent` message that the candidate answers.
PROMPT_KINDS = frozenset({"question", "followup", "hint"})
#: The ten seed-guide questions, all in questions/*.yaml.
SEED_QUESTIONS = (
    "bias-variance", "regularization", "imbalanced-data", "bagging-vs-boosting",
    "backpropagation", "activation-functions", "attention-transformers", "recsys-design",
    "fraud-detection-design", "logistic-regression-scratch",
)


# ---------------------------------------------------------------------- scripts and audio


@dataclass(frozen=True)
class Speech:
    text: str


@dataclass(frozen=True)
class Pause:
    seconds: float


Segment = Speech | Pause


@dataclass(frozen=True)
class Answer:
    """A scripted answer: spoken segments with silences between them."""

    label: str
    segments: tuple[Segment, ...]

    @classmethod
    def plain(cls, label: str, text: str) -> Answer:
        return cls(label, (Speech(text),))

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if isinstance(s, Speech))


@dataclass
class RenderedAnswer:
    answer: Answer
    audio: np.ndarray  # float32, 16 kHz, mono
    speech_spans: list[tuple[int, int]]  # [first, last] speech sample of each spoken segment
    thinking_pauses: list[tuple[int, int]]  # scripted pauses >= THINKING_PAUSE_S, in samples

    @property
    def duration_s(self) -> float:
        return len(self.audio) / RATE

    @property
    def speech_start(self) -> int:
        return self.speech_spans[0][0]

    @property
    def speech_end(self) -> int:
        return self.speech_spans[-1][1]


def trim_silence(audio: np.ndarray, rel_threshold: float = 0.01,
                 margin_s: float = 0.01) -> tuple[np.ndarray, int, int]:
    """Cut the leading and trailing silence of a synthesized clip.

    Returns the clip and the first and last sample above `rel_threshold` of its peak,
    as indices into the returned clip.
    """
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    loud = np.flatnonzero(np.abs(audio) > rel_threshold * peak) if peak > 0 else np.array([])
    if len(loud) == 0:
        raise ValueError("synthesized clip is silent")
    margin = int(margin_s * RATE)
    lo = max(0, int(loud[0]) - margin)
    hi = min(len(audio), int(loud[-1]) + margin + 1)
    return audio[lo:hi], int(loud[0]) - lo, int(loud[-1]) - lo


class Voice:
    """Piper speaking script text, resampled to 16 kHz as a microphone would deliver it.

    Every distinct text is synthesized once and kept in memory; call `render` for every
    answer before the clock starts.
    """

    def __init__(self, tts: Any, length_scale: float = 1.0) -> None:
        self.tts = tts
        self.length_scale = length_scale
        self._clips: dict[str, tuple[np.ndarray, int, int]] = {}
        self.synthesis_s = 0.0

    @classmethod
    def load(cls, voice: str | None = None) -> Voice:
        """The server's default Piper voice (or `voice`), loaded in this process."""
        from server.config import BUNDLED_VOICE
        from server.engines.tts import PiperTTS

        return cls(PiperTTS(voice or BUNDLED_VOICE))

    def clip(self, text: str) -> tuple[np.ndarray, int, int]:
        if text not in self._clips:
            from server.audio.pcm import StreamingResampler, pcm16_to_float

            started = time.perf_counter()
            pcm = b"".join(c.pcm for c in self.tts.synthesize(text, self.length_scale))
            audio = StreamingResampler(self.tts.sample_rate).process(pcm16_to_float(pcm))
            self._clips[text] = trim_silence(np.asarray(audio, dtype=np.float32))
            self.synthesis_s += time.perf_counter() - started
        return self._clips[text]

    def render(self, answer: Answer) -> RenderedAnswer:
        parts: list[np.ndarray] = []
        spans: list[tuple[int, int]] = []
        pauses: list[tuple[int, int]] = []
        at = 0
        for segment in answer.segments:
            if isinstance(segment, Speech):
                audio, first, last = self.clip(segment.text)
                spans.append((at + first, at + last))
            else:
                audio = np.zeros(int(segment.seconds * RATE), dtype=np.float32)
                if segment.seconds >= THINKING_PAUSE_S:
                    pauses.append((at, at + len(audio)))
            parts.append(audio)
            at += len(audio)
        if not spans:
            raise ValueError(f"answer {answer.label!r} has no speech")
        return RenderedAnswer(answer, np.concatenate(parts), spans, pauses)


# ---------------------------------------------------------------------- the microphone


@dataclass
class _Clip:
    audio: np.ndarray
    done: asyncio.Future[list[float]]
    pos: int = 0
    frame_times: list[float] = field(default_factory=list)


class Mic:
    """Sends one 20 ms PCM16 frame every 20 ms from `start()` until `stop()`.

    Frames follow an absolute schedule; when the event loop falls behind, the late frames
    go out back to back (as a browser's buffered audio would) and are counted in
    `late_frames` (over 40 ms late) and `max_lag_s`.
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._clip: _Clip | None = None
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0
        self.late_frames = 0
        self.max_lag_s = 0.0
        self.error: BaseException | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def play(self, audio: np.ndarray) -> list[float]:
        """Play `audio` (16 kHz float) next; returns the send time of each of its frames."""
        if self._task is None or self._task.done():
            raise ConnectionError("microphone is not running") from self.error
        if self._clip is not None:
            raise RuntimeError("already playing")
        done: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
        self._clip = _Clip(audio, done)
        return await done

    async def silence(self, seconds: float) -> None:
        """Let the open microphone send silence for `seconds`."""
        await self.play(np.zeros(int(seconds * RATE), dtype=np.float32))

    async def _run(self) -> None:
        silence = np.zeros(FRAME_SAMPLES, dtype="<i2").tobytes()
        t0 = time.monotonic()
        try:
            while True:
                scheduled = t0 + self.frames_sent * FRAME_S
                now = time.monotonic()
                lag = now - scheduled
                self.max_lag_s = max(self.max_lag_s, lag)
                if lag > 2 * FRAME_S:
                    self.late_frames += 1
                clip = self._clip
                if clip is None:
                    data = silence
                else:
                    chunk = clip.audio[clip.pos: clip.pos + FRAME_SAMPLES]
                    if len(chunk) < FRAME_SAMPLES:
                        chunk = np.concatenate(
                            [chunk, np.zeros(FRAME_SAMPLES - len(chunk), dtype=np.float32)])
                    data = float_to_pcm16(chunk)
                    clip.frame_times.append(now)
                    clip.pos += FRAME_SAMPLES
                    if clip.pos >= len(clip.audio):
                        self._clip = None
                        if not clip.done.done():
                            clip.done.set_result(clip.frame_times)
                await self.ws.send(data)
                self.frames_sent += 1
                delay = t0 + self.frames_sent * FRAME_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        except Exception as exc:  # the connection closed: fail whoever is waiting
            self.error = exc
            if self._clip is not None and not self._clip.done.done():
                self._clip.done.set_exception(ConnectionError(f"microphone stopped: {exc!r}"))
            self._clip = None


# ---------------------------------------------------------------------- server frames


class Connection:
    """Every frame the server sends, with its arrival time (`_t` on JSON messages)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.binary_times: list[float] = []
        self.binary_bytes = 0
        self.closed = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for frame in self.ws:
                now = time.monotonic()
                if isinstance(frame, bytes):
                    self.binary_times.append(now)
                    self.binary_bytes += len(frame)
                    continue
                message = json.loads(frame)
                message["_t"] = now
                self.messages.append(message)
                self._pulse()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._pulse()

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait(self, predicate: Callable[[dict[str, Any]], bool], start: int = 0,
                   limit_s: float = 60.0) -> tuple[int, dict[str, Any]]:
        """The first message at index >= `start` that matches, and its index."""
        deadline = time.monotonic() + limit_s
        seen = start
        while True:
            changed = self._changed
            for index in range(seen, len(self.messages)):
                if predicate(self.messages[index]):
                    return index, self.messages[index]
            seen = max(seen, len(self.messages))
            if self.closed:
                raise ConnectionError("server closed the connection")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching message")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def first_binary_after(self, t: float) -> float | None:
        index = bisect.bisect_right(self.binary_times, t)
        return self.binary_times[index] if index < len(self.binary_times) else None

    def errors(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "error"]


# ---------------------------------------------------------------------- one answer turn


@dataclass
class TurnResult:
    session: int
    turn: int
    answer: str  # the script's label
    prompt_kind: str
    question_id: str | None
    speech_s: float  # from first to last speech sample
    answer_start: float  # wall (monotonic) time of the first speech frame
    speech_end: float  # wall time the frame holding the last speech sample was sent
    final_at: float | None = None
    final_text: str = ""
    reply_kind: str | None = None
    reply_at: float | None = None  # the `agent` message after the final
    first_audio_at: float | None = None  # first binary frame after the final
    vad_end_at: float | None = None  # the server's last `vad` silence before the final
    last_partial: str = ""  # the partial text the endpointer had to go on
    partial_times: list[float] = field(default_factory=list)
    partial_gaps: list[float] = field(default_factory=list)  # within speech, pauses excluded
    cut_in: bool = False  # the server ended the turn before the answer was over
    cut_in_events: int = 0  # this answer's finals and replies that came before its end
    talk_overs: int = 0  # replies to earlier answers that arrived inside this one
    problem: str | None = None

    @property
    def to_final(self) -> float | None:
        return None if self.final_at is None else self.final_at - self.speech_end

    @property
    def voice_to_voice(self) -> float | None:
        return None if self.first_audio_at is None else self.first_audio_at - self.speech_end

    @property
    def to_vad_end(self) -> float | None:
        return None if self.vad_end_at is None else self.vad_end_at - self.speech_end

    @property
    def final_to_reply(self) -> float | None:
        """Scoring and the interviewer's decision: final transcript to `agent` text."""
        if self.reply_at is None or self.final_at is None:
            return None
        return self.reply_at - self.final_at

    @property
    def reply_to_audio(self) -> float | None:
        """Synthesis of the first sentence: `agent` text to its first audio byte."""
        if self.first_audio_at is None or self.reply_at is None:
            return None
        return self.first_audio_at - self.reply_at

    @property
    def first_partial(self) -> float | None:
        return self.partial_times[0] - self.answer_start if self.partial_times else None


_WORD = re.compile(r"[a-z']+")
_COMMON = frozenset("that this with them they then than each about from what when which "
                    "there have would could".split())


def ending_words(answer: Answer, count: int = 5) -> list[str]:
    """The last content words (4+ letters) of the answer's last spoken segment."""
    last = [s for s in answer.segments if isinstance(s, Speech)][-1].text
    words = [w for w in _WORD.findall(last.lower()) if len(w) >= 4 and w not in _COMMON]
    return words[-count:]


def covers(text: str, ending: list[str]) -> bool:
    """Whether a transcript holds at least half of the answer's last words."""
    if not ending:
        return True
    heard = {w[:4] for w in _WORD.findall(text.lower())}  # "pass" ~ "passed": STT slips
    return sum(w[:4] in heard for w in ending) * 2 >= len(ending)


def _turn_number(turn_id: Any) -> int:
    text = str(turn_id)
    return int(text[1:]) if text[1:].isdigit() else -1


@dataclass
class SessionLog:
    session: int
    turns: list[TurnResult] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False
    problem: str | None = None
    late_frames: int = 0
    max_lag_s: float = 0.0
    closing_seen: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # JSON, with `_t`
    marks: list[dict[str, Any]] = field(default_factory=list)  # the candidate's own events

    def timeline(self) -> list[dict[str, Any]]:
        """Server messages and candidate marks in time order (for --trace)."""
        return sorted(self.messages + self.marks, key=lambda m: m["_t"])


class Candidate:
    """One simulated candidate on one connection: listens, answers, measures.

    `answers` are played in order, one per prompt, for at most `max_turns` turns or until
    the interviewer closes the session.
    """

    def __init__(self, url: str, session: int, answers: Sequence[RenderedAnswer],
                 start: dict[str, Any], reaction_s: float = 0.8,
                 reply_timeout_s: float = 60.0) -> None:
        self.url = url
        self.session = session
        self.answers = list(answers)
        self.start = {"type": "start", **start}
        self.reaction_s = reaction_s
        self.reply_timeout_s = reply_timeout_s
        self.log = SessionLog(session)

    async def run(self, max_turns: int) -> SessionLog:
        try:
            async with websockets.connect(self.url, max_size=None, open_timeout=30) as ws:
                conn = Connection(ws)
                mic = Mic(ws)
                try:
                    await self._converse(ws, conn, mic, max_turns)
                finally:
                    self.log.late_frames, self.log.max_lag_s = mic.late_frames, mic.max_lag_s
                    await mic.stop()
                    await conn.close()
                    self.log.errors = conn.errors()
                    self.log.messages = conn.messages
                    self.log.busy = any(e.get("code") == "busy" for e in self.log.errors)
        except Exception as exc:
            if self.log.problem is None:
                self.log.problem = f"{type(exc).__name__}: {exc}"
        return self.log

    async def _converse(self, ws: Any, conn: Connection, mic: Mic, max_turns: int) -> None:
        await ws.send(json.dumps(self.start))
        _, first = await conn.wait(lambda m: m["type"] in ("session", "error"), limit_s=30)
        if first["type"] == "error":
            self.log.problem = f"error {first.get('code')}: {first.get('message')}"
            return
        mic.start()
        cursor = 0
        for number in range(max_turns):
            cursor, prompt = await self._await_prompt(conn, cursor)
            if prompt is None:
                break
            await mic.silence(self.reaction_s)  # the candidate takes a breath
            rendered = self.answers[number % len(self.answers)]
            result, cursor = await self._answer(conn, mic, rendered, prompt, number, cursor)
            self.log.turns.append(result)
            if result.reply_kind == "closing":
                self.log.closing_seen = True
                break
        if not conn.closed:
            await ws.send(json.dumps({"type": "stop"}))
            with contextlib.suppress(TimeoutError, ConnectionError):
                await conn.wait(lambda m: m["type"] == "summary", cursor, limit_s=15)

    async def _await_prompt(self, conn: Connection,
                            cursor: int) -> tuple[int, dict[str, Any] | None]:
        """Wait for a question (or follow-up, hint) and for its audio to finish playing."""
        index, prompt = await conn.wait(
            lambda m: (m["type"] == "agent" and m["kind"] in PROMPT_KINDS | {"closing"})
            or m["type"] == "summary" or (m["type"] == "error" and m.get("fatal")),
            cursor, limit_s=self.reply_timeout_s + 60)
        if prompt["type"] != "agent" or prompt["kind"] == "closing":
            return index + 1, None
        uid = prompt["utterance_id"]
        end, _ = await conn.wait(lambda m: m["type"] == "audio_end" and m["utterance_id"] == uid,
                                 index, limit_s=120)
        return end + 1, prompt

    async def _answer(self, conn: Connection, mic: Mic, rendered: RenderedAnswer,
                      prompt: dict[str, Any], number: int,
                      cursor: int) -> tuple[TurnResult, int]:
        frame_times = await mic.play(rendered.audio)

        def wall(sample: int) -> float:
            return frame_times[min(sample // FRAME_SAMPLES, len(frame_times) - 1)]

        start_t, end_t = wall(rendered.speech_start), wall(rendered.speech_end)
        result = TurnResult(
            session=self.session, turn=number + 1, answer=rendered.answer.label,
            prompt_kind=prompt["kind"], question_id=prompt.get("question_id"),
            speech_s=(rendered.speech_end - rendered.speech_start) / RATE,
            answer_start=start_t, speech_end=end_t,
        )
        self.log.marks.append({"_t": start_t, "type": "CLIENT answer_start",
                               "answer": rendered.answer.label})
        for a, b in rendered.thinking_pauses:
            self.log.marks.append({"_t": wall(a), "type": "CLIENT pause", "s": (b - a) / RATE})
        self.log.marks.append({"_t": end_t, "type": "CLIENT speech_end"})
        # Server turns of this answer: those numbered above every turn seen before it.
        before = max((_turn_number(m["turn_id"]) for m in conn.messages
                      if m["type"] == "transcript" and m["_t"] < start_t), default=0)

        def ours(m: dict[str, Any]) -> bool:
            return (m["type"] == "transcript" and m["final"]
                    and _turn_number(m["turn_id"]) > before)

        # The answer's final: after the end of speech, holding the answer's last words.
        # A final without them closed a turn the server cut off earlier in the answer.
        ending = ending_words(rendered.answer)
        final_index = -1
        try:
            try:
                final_index, final = await conn.wait(
                    lambda m: ours(m) and m["_t"] > end_t and covers(m["text"], ending),
                    cursor, limit_s=self.reply_timeout_s)
            except TimeoutError:
                late = [i for i in range(cursor, len(conn.messages))
                        if ours(conn.messages[i]) and conn.messages[i]["_t"] > end_t]
                if not late:
                    raise
                final_index, final = late[-1], conn.messages[late[-1]]
                result.problem = "no final held the answer's last words; took the latest"
            result.final_at, result.final_text = final["_t"], final["text"]
            reply_index, reply = await conn.wait(lambda m: m["type"] == "agent", final_index,
                                                 limit_s=self.reply_timeout_s)
            result.reply_kind, result.reply_at = reply["kind"], reply["_t"]
            await conn.wait(lambda m: m["type"] == "audio_start", reply_index,
                            limit_s=self.reply_timeout_s)
            deadline = time.monotonic() + self.reply_timeout_s
            while result.first_audio_at is None and time.monotonic() < deadline:
                result.first_audio_at = conn.first_binary_after(final["_t"])
                await asyncio.sleep(0.005)
        except TimeoutError:
            stage = "final transcript" if final_index < 0 else "reply"
            result.problem = f"no {stage} within {self.reply_timeout_s:.0f} s"
        self._measure_answer(conn, result, rendered, wall, cursor, final_index, ours)
        next_cursor = final_index if final_index >= 0 else len(conn.messages)
        return result, next_cursor

    @staticmethod
    def _measure_answer(conn: Connection, result: TurnResult, rendered: RenderedAnswer,
                        wall: Callable[[int], float], cursor: int, final_index: int,
                        ours: Callable[[dict[str, Any]], bool]) -> None:
        start_t, end_t = result.answer_start, result.speech_end
        upto = final_index if final_index >= 0 else len(conn.messages)
        window = [m for m in conn.messages[cursor:upto] if m["_t"] >= start_t]
        # Cut-ins: the interviewer answered, or a turn of this answer was closed, while the
        # candidate was still inside the answer; or such a turn's final came in late.
        # An `agent` inside the answer that follows none of its turns answers an earlier
        # answer (one the server had split): talk-over, not a cut-in of this answer.
        inside = [m for m in window if m["_t"] <= end_t and ours(m)]
        late = [m for m in window if m["_t"] > end_t and ours(m)]
        first_ours = min((m["_t"] for m in window if ours(m)), default=None)
        agents = [m["_t"] for m in window if m["type"] == "agent" and m["_t"] <= end_t]
        replies = [t for t in agents if first_ours is not None and t >= first_ours]
        result.talk_overs = len(agents) - len(replies)
        result.cut_in_events = len(inside) + len(late) + len(replies)
        result.cut_in = result.cut_in_events > 0
        partials = [m for m in window if m["type"] == "transcript" and not m["final"]
                    and m["_t"] <= end_t + 1.0]
        result.partial_times = [m["_t"] for m in partials]
        if final_index >= 0:
            silences = [m["_t"] for m in window if m["type"] == "vad" and m["state"] == "silence"]
            result.vad_end_at = silences[-1] if silences else None
            result.last_partial = partials[-1]["text"] if partials else ""
        pauses = [(wall(a), wall(b)) for a, b in rendered.thinking_pauses]
        for a, b in itertools.pairwise(result.partial_times):
            if not any(a < p_end and b > p_start for p_start, p_end in pauses):
                result.partial_gaps.append(b - a)


# ---------------------------------------------------------------------- by hand


async def _demo(url: str, turns: int) -> None:
    voice = Voice.load()
    answers = [voice.render(Answer.plain("demo", (
        "Bias is the error of a model that is too simple, so it underfits. "
        "Variance is how much it changes with the training data.")))]
    candidate = Candidate(url, 0, answers, {"question_ids": list(SEED_QUESTIONS[:2]),
                                            "max_follow_ups": 1})
    log = await candidate.run(turns)
    for t in log.turns:
        print(f"turn {t.turn} ({t.prompt_kind} {t.question_id}): to final {t.to_final}, "
              f"voice-to-voice {t.voice_to_voice}, cut-in {t.cut_in}, {t.final_text!r}")
    if log.problem or log.errors:
        print("problem:", log.problem, log.errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="ws://127.0.0.1:PORT/ws")
    parser.add_argument("--turns", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(_demo(args.url, args.turns))


if __name__ == "__main__":
    main()
