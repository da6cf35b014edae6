"""End-of-turn benchmark: false cut-ins and the latency to the reply, over the settings.

    python -m bench.turns [--voices piper,espeak] [--quick] [--trace FILE]

Scripted answers are spoken by Piper and by espeak-ng (two very different voices), plus
the JFK recording (real speech, tests/data/jfk.flac), with pauses of 0.5-6 s after
unfinished clauses ("...is too simple, and"), after fillers ("um"), and between finished
sentences. Each answer goes through the product's own session (`Conversation`: the real
Silero VAD, Whisper on every piece, Smart Turn at every pause, the endpointer) on a
virtual clock, so a 6 s pause costs no 6 s. Compute is not free on that clock: every
transcription and turn-end check lands after the CPU time it really took on this machine
(measured once per distinct audio and reused across settings), in the order one worker
would run them.

A pause the answer goes on after is a *decision point that must hold*; ending the turn
in it is a false cut-in. A pause between two finished sentences is reported apart: the
words and (for a synthetic voice) the sound are those of a finished answer, so any
endpointer ends there once the pause is long enough; that is the latency trade-off, and
the candidate who goes on gets the reply withdrawn (`turn_resumed`). Latency is counted
from the last voiced sample of the answer to the final transcript and to the reply.
Timings are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import statistics
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from bench.voice_client import Answer, Pause, RenderedAnswer, Speech, Voice, trim_silence
from server import protocol as p
from server.audio.endpoint import EndpointSettings
from server.audio.pcm import StreamingResampler, float_to_pcm16, pcm16_to_float
from server.bank import load_bank
from server.config import Settings
from server.engines.stt import TranscribeOptions, Transcription
from server.scoring.content import ContentScorer
from server.session.clock import ManualClock
from server.session.conversation import Conversation
from server.session.events import EndCheckDue

log = logging.getLogger("bench.turns")

RATE = 16_000
CHUNK_S = 0.02  # the browser's frame
JFK = Path(__file__).resolve().parents[1] / "tests" / "data" / "jfk.flac"

#: Clauses a candidate stops in the middle of, to think, then goes on.
UNFINISHED = (
    ("The first reason is that the model is too simple, and",
     "the second reason is that the data is noisy."),
    ("I would start with a simple baseline because",
     "it tells me how much the complex model really adds."),
    ("Regularization adds a penalty to the loss, which",
     "keeps the weights small and reduces overfitting."),
    ("To handle the class imbalance I would look at",
     "precision and recall instead of accuracy."),
    ("Bagging mostly reduces the variance, while boosting",
     "mostly reduces the bias of the model."),
    ("The gradient of the loss with respect to each weight is",
     "computed backwards with the chain rule."),
    ("Attention lets each token weigh the other tokens by",
     "how relevant they are to it."),
    ("For the recommender I would first generate candidates and then",
     "rank them with a model trained on clicks."),
    ("Dropout switches off random units so that",
     "the network cannot rely on any single feature."),
    ("The learning rate is probably the most important setting, since",
     "too large a step makes the training diverge."),
)
#: Finished sentences said one after another in one answer.
SENTENCES = (
    ("Bias is the error of a model that is too simple for the data.",
     "Variance is the error of a model that is too sensitive to its training set."),
    ("L1 regularization pushes many weights to exactly zero.",
     "L2 shrinks all the weights smoothly towards zero."),
    ("Accuracy is misleading when one class is very rare.",
     "I would report precision and recall at a fixed threshold instead."),
    ("Backpropagation applies the chain rule from the loss to every weight.",
     "One backward pass gives all the gradients at once."),
    ("A transformer stacks attention layers with feed forward blocks between them.",
     "Each layer lets every token look at every other token."),
    ("Early stopping watches the validation loss during training.",
     "It stops when that loss starts to rise again."),
    ("Logistic regression passes a weighted sum through a sigmoid.",
     "It is trained by minimizing the log loss with gradient descent."),
    ("In fraud detection the labels often arrive weeks later.",
     "So I would monitor the input distributions while I wait for them."),
    ("Batch normalization normalizes each layer's inputs over the mini batch.",
     "That makes training faster and less sensitive to the initialization."),
    ("A random forest averages many decorrelated decision trees.",
     "That lowers the variance without raising the bias much."),
)
FILLERS = ("um", "uh", "hmm")
MID_PAUSES = (0.5, 1.0, 2.0, 3.5, 5.0)
FILLER_PAUSES = (1.0, 2.5)
SENTENCE_PAUSES = (0.5, 1.0, 2.0)
END_PAUSE_S = 7.0  # silence after the answer's last word: the turn must end inside it


# ---------------------------------------------------------------------- voices


class EspeakVoice:
    """espeak-ng, a formant synthesizer: nothing like Piper's voice (or a person's)."""

    name = "espeak-ng"

    def __init__(self, speed_wpm: int = 165) -> None:
        self.speed_wpm = speed_wpm
        self._clips: dict[str, tuple[np.ndarray, int, int]] = {}

    def clip(self, text: str) -> tuple[np.ndarray, int, int]:
        if text not in self._clips:
            wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(self.speed_wpm),
                                  "--stdout", text], check=True, capture_output=True).stdout
            with wave.open(io.BytesIO(wav)) as reader:
                rate = reader.getframerate()
                audio = pcm16_to_float(reader.readframes(reader.getnframes()))
            audio = StreamingResampler(rate).process(audio) if rate != RATE else audio
            self._clips[text] = trim_silence(np.asarray(audio, dtype=np.float32))
        return self._clips[text]

    render = Voice.render


@dataclass
class Case:
    """One answer and the pauses in it: `hold` pauses must not end the turn."""

    label: str
    voice: str
    kind: str  # "mid-clause", "filler", "sentences", "recording"
    pause_s: float
    rendered: RenderedAnswer
    #: (start, end) samples of the pauses that must hold.
    holds: list[tuple[int, int]] = field(default_factory=list)


def _speech_gaps(rendered: RenderedAnswer) -> list[tuple[int, int]]:
    spans = rendered.speech_spans
    return [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]


def _loud_span(audio: np.ndarray) -> tuple[int, int]:
    peak = float(np.abs(audio).max())
    loud = np.flatnonzero(np.abs(audio) > 0.01 * peak)
    return int(loud[0]), int(loud[-1])


def assemble(label: str, parts: Sequence[np.ndarray | float]) -> RenderedAnswer:
    """Speech (arrays) and pauses (seconds) end to end, with each speech span's samples."""
    chunks: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    at = 0
    for part in parts:
        if isinstance(part, float):
            part = np.zeros(int(part * RATE), dtype=np.float32)
        else:
            first, last = _loud_span(part)
            spans.append((at + first, at + last))
        chunks.append(part)
        at += len(part)
    return RenderedAnswer(Answer(label, ()), np.concatenate(chunks), spans, [])


def build_cases(voices: dict[str, Any], quick: bool, stt: Any) -> list[Case]:
    cases: list[Case] = []
    unfinished = UNFINISHED[:4] if quick else UNFINISHED
    sentences = SENTENCES[:4] if quick else SENTENCES
    for voice_name, voice in voices.items():
        for i, (head, tail) in enumerate(unfinished):
            # Each clause said on its own (a synthetic voice says a clause cut from a whole
            # sentence with its comma pauses and a badly placed cut; tried and dropped).
            first, rest = voice.clip(head)[0], voice.clip(tail)[0]
            for pause in MID_PAUSES:
                rendered = assemble(f"u{i}", [first, pause, rest, END_PAUSE_S])
                cases.append(Case(f"u{i}", voice_name, "mid-clause", pause, rendered,
                                  _speech_gaps(rendered)))
            filler, _, _ = voice.clip(f"{FILLERS[i % len(FILLERS)]}...")
            for pause in FILLER_PAUSES:
                rendered = assemble(f"f{i}", [first, 0.6, filler, pause, rest, END_PAUSE_S])
                cases.append(Case(f"f{i}", voice_name, "filler", pause, rendered,
                                  _speech_gaps(rendered)))
        for i, (first_sentence, second) in enumerate(sentences):
            for pause in SENTENCE_PAUSES:
                answer = Answer(f"s{i}", (Speech(first_sentence), Pause(pause), Speech(second),
                                          Pause(END_PAUSE_S)))
                cases.append(Case(f"s{i}", voice_name, "sentences", pause, voice.render(answer)))
    cases.append(jfk_case(stt))
    return cases


def jfk_case(stt: Any) -> Case:
    from faster_whisper import decode_audio

    audio = np.asarray(decode_audio(str(JFK), sampling_rate=RATE), dtype=np.float32)
    # 5 % of the peak: the room noise after "country" is above 1 % for a quarter second.
    clip, first, _ = trim_silence(audio, rel_threshold=0.05)
    words = stt.transcribe(clip, TranscribeOptions(language="en", word_timestamps=True)).words
    # The answer is over once its last word has begun; its end is that word's end.
    last_start, last_end = int(words[-1].start * RATE), int(words[-1].end * RATE)
    full = np.concatenate([clip, np.zeros(int(END_PAUSE_S * RATE), np.float32)])
    rendered = RenderedAnswer(Answer("jfk", (Speech("JFK"),)), full, [(first, last_end)], [])
    return Case("jfk", "recording", "recording", 0.0, rendered, [(first, last_start)])


# ---------------------------------------------------------------------- compute on a virtual clock


class VirtualWorker:
    """One CPU worker on the virtual clock: a job's result is computed at once (or taken
    from the cache of earlier runs) and lands when the clock passes the moment this one
    worker would have finished it, given the CPU time it really took."""

    def __init__(self, clock: ManualClock, cache: dict[str, tuple[Any, float]]) -> None:
        self.clock = clock
        self.cache = cache
        self.free_at = 0.0
        self.pending: list[tuple[float, asyncio.Future[Any], Any]] = []

    def run(self, key: str, compute: Callable[[], Any]) -> asyncio.Future[Any]:
        if key not in self.cache:
            started = time.perf_counter()
            result = compute()
            self.cache[key] = (result, time.perf_counter() - started)
        result, seconds = self.cache[key]
        done_at = max(self.clock.now, self.free_at) + seconds
        self.free_at = done_at
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((done_at, future, result))
        return future

    def tick(self) -> None:
        due = [item for item in self.pending if item[0] <= self.clock.now]
        self.pending = [item for item in self.pending if item[0] > self.clock.now]
        for _, future, result in due:
            if not future.done():
                future.set_result(result)

    @property
    def busy(self) -> bool:
        return bool(self.pending)


def _key(*parts: Any) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part.tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return digest.hexdigest()


class VirtualScheduler:
    """The transcription scheduler's interface, on a `VirtualWorker`. Partials and the
    filler pass are skipped: they change captions and delivery, not when a turn ends."""

    def __init__(self, stt: Any, worker: VirtualWorker) -> None:
        self.stt = stt
        self.worker = worker

    def final(self, audio: np.ndarray, options: TranscribeOptions,
              urgent: Callable[[], bool] | None = None) -> asyncio.Future[Transcription | None]:
        return self.worker.run(_key("stt", audio, options.initial_prompt),
                               lambda: self.stt.transcribe(audio, options))

    def _nothing(self) -> asyncio.Future[Transcription | None]:
        future: asyncio.Future[Transcription | None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def verbatim(self, audio: np.ndarray,
                 options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._nothing()

    def partial(self, key: str, audio: np.ndarray,
                options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._nothing()

    def whole(self, audio: np.ndarray,
              options: TranscribeOptions) -> asyncio.Future[Transcription | None]:
        return self._nothing()

    def drop_partial(self, key: str) -> None:
        pass

    def withdraw(self, future: asyncio.Future[Transcription | None]) -> bool:
        return False

    def backlog(self) -> int:
        return len(self.worker.pending)


# ---------------------------------------------------------------------- one answer


@dataclass
class Outcome:
    case: Case
    cut_ins: int  # hold pauses in which the turn ended
    ended_in_gap: bool  # sentences: the turn ended in the pause between them
    to_final_s: float | None  # last voiced sample -> final transcript (None: never ended)
    to_reply_s: float | None
    turn_ends: int
    resumed: int


@dataclass
class Run:
    settings: EndpointSettings
    turn_model: bool
    outcomes: list[Outcome] = field(default_factory=list)


async def play(case: Case, engines: Any, settings: Settings, endpoint: EndpointSettings,
               cache: dict[str, tuple[Any, float]], use_turn_model: bool) -> Outcome:
    clock = ManualClock()
    stt_worker, turn_worker = VirtualWorker(clock, cache), VirtualWorker(clock, cache)
    sent: list[tuple[float, BaseModel]] = []

    async def send_json(message: BaseModel) -> None:
        sent.append((clock.now, message))

    async def ignore(_: Any) -> None:
        pass

    virtual_engines = dataclasses.replace(engines, turn_end=engines.turn_end if use_turn_model
                                          else None)
    conversation = Conversation(
        engines=virtual_engines, scheduler=VirtualScheduler(engines.stt, stt_worker),
        bank=_bank(), settings=settings, send_json=send_json, send_bytes=ignore, close=ignore,
        scorer=ContentScorer(_no_embedding), clock=clock)
    model = engines.turn_end

    async def check_end(event: EndCheckDue) -> None:
        # The product asks the model in a thread; here it costs its CPU time on the clock.
        probability = await turn_worker.run(_key("turn", event.audio),
                                            lambda: model.complete_probability(event.audio))
        event.turn.end_check = (event.silence_since, probability)
        log.info("pause at %.2f s sounds finished with p=%.3f", event.silence_since, probability)
        conversation._dispatch(conversation.listener.reweigh(event.turn))

    conversation._check_end = check_end  # type: ignore[method-assign]
    conversation.listener.endpoint = endpoint
    await conversation.handle_message(p.Start(tts=False, max_follow_ups=3,
                                              question_ids=["bias-variance"]))
    await asyncio.sleep(0)
    t0 = clock.now
    audio = case.rendered.audio
    step = int(CHUNK_S * RATE)
    for start in range(0, len(audio), step):
        await conversation.handle_audio(float_to_pcm16(audio[start:start + step]))
        clock.advance(CHUNK_S)
        stt_worker.tick()
        turn_worker.tick()
        for _ in range(4):
            await asyncio.sleep(0)
    await conversation.shutdown()

    def at(sample: int) -> float:
        return t0 + sample / RATE

    finals = [t for t, m in sent if isinstance(m, p.Transcript) and m.final]
    for t, m in sent:
        if (isinstance(m, p.Transcript) and m.final) or isinstance(m, p.TurnResumed):
            log.info("%.2f s: %s", t - t0, m.model_dump_json(exclude={"words"}))
    replies = [t for t, m in sent if isinstance(m, p.Agent) and m.kind != "question"
               and m.kind != "greeting"]
    # A turn ended within 0.1 s of the speech going on is a cut-in too (the VAD needs
    # 0.1 s to hear it); the recording's one hold runs to its very last word.
    slack = 0.0 if case.kind == "recording" else 0.1
    cut_ins = sum(1 for lo, hi in case.holds if any(at(lo) < t < at(hi) + slack for t in finals))
    gap_end = False
    if case.kind == "sentences":
        (lo, hi), = _speech_gaps(case.rendered)
        gap_end = any(at(lo) < t < at(hi) + 0.1 for t in finals)
    last = at(case.rendered.speech_end)
    after = [t - last for t in finals if t > last]
    reply_after = [t - last for t in replies if t > last]
    resumed = sum(1 for _, m in sent if isinstance(m, p.TurnResumed))
    return Outcome(case, cut_ins, gap_end, after[0] if after else None,
                   reply_after[0] if reply_after else None, len(finals), resumed)


def _no_embedding(texts: list[str]) -> np.ndarray:
    raise AssertionError("bank questions are judged by claims")


_BANKS: list[Any] = []


def _bank() -> Any:
    if not _BANKS:
        _BANKS.append(load_bank())
    return _BANKS[0]


# ---------------------------------------------------------------------- report


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f} %)" if whole else "-"


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def _p90(values: Sequence[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]:.2f}"


def report(runs: Iterable[tuple[str, Run]]) -> str:
    lines = ["| setting | mid-clause cut-ins | filler cut-ins | JFK held | all false cut-ins | "
             "ended between sentences (0.5 / 1 / 2 s) | to final median / p90 s | "
             "to reply median / p90 s | ends missed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, run in runs:
        outs = run.outcomes
        mid = [o for o in outs if o.case.kind == "mid-clause"]
        fil = [o for o in outs if o.case.kind == "filler"]
        rec = [o for o in outs if o.case.kind == "recording"]
        sen = [o for o in outs if o.case.kind == "sentences"]
        holds = sum(len(o.case.holds) for o in mid + fil + rec)
        cuts = sum(o.cut_ins for o in mid + fil + rec)
        by_pause = []
        for pause in SENTENCE_PAUSES:
            at_pause = [o for o in sen if o.case.pause_s == pause]
            by_pause.append(f"{sum(o.ended_in_gap for o in at_pause)}/{len(at_pause)}")
        finals = [o.to_final_s for o in outs if o.to_final_s is not None]
        replies = [o.to_reply_s for o in outs if o.to_reply_s is not None]
        lines.append(
            f"| {name} | {_pct(sum(o.cut_ins for o in mid), sum(len(o.case.holds) for o in mid))} "
            f"| {_pct(sum(o.cut_ins for o in fil), sum(len(o.case.holds) for o in fil))} "
            f"| {'yes' if rec and not any(o.cut_ins for o in rec) else ('no' if rec else '-')} "
            f"| {_pct(cuts, holds)} | {' / '.join(by_pause)} "
            f"| {_median(finals)} / {_p90(finals)} | {_median(replies)} / {_p90(replies)} "
            f"| {sum(1 for o in outs if o.to_final_s is None)} |")
    return "\n".join(lines)


def by_pause_table(run: Run) -> str:
    lines = ["| pause after an unfinished clause (s) | cut-ins |", "|---|---|"]
    mid = [o for o in run.outcomes if o.case.kind == "mid-clause"]
    for pause in MID_PAUSES:
        at_pause = [o for o in mid if o.case.pause_s == pause]
        lines.append(f"| {pause} | {_pct(sum(o.cut_ins for o in at_pause), len(at_pause))} |")
    return "\n".join(lines)


#: The quick ends after a sentence that sounds finished (Smart Turn p at least `p`) keep
#: the shipped doubtful-finished wait.
SETTINGS: dict[str, tuple[bool, dict[str, float]]] = {
    # name: (turn model on, EndpointSettings fields)
    "words only, 0.5 s (before)": (False, {"finished_silence_s": 0.5, "sure_silence_s": 0.5,
                                           "unfinished_silence_s": 2.8}),
    "words only, 0.5 s, 6 s unfinished": (False, {"finished_silence_s": 0.5,
                                                  "sure_silence_s": 0.5}),
    "words only, 0.3 s": (False, {"finished_silence_s": 0.3, "sure_silence_s": 0.3}),
    "fused, 0.5 s (before)": (True, {"finished_silence_s": 0.5, "sure_silence_s": 0.5}),
    "fused, 0.5 s, doubtful finished 6 s (shipped defaults)": (True, {
        "finished_silence_s": 0.5, "sure_silence_s": 0.5, "doubt_finished_silence_s": 6.0}),
    **{f"the same, {name} {sure_s} s (p >= {p})": (True, {
        "finished_silence_s": 0.5, "sure_silence_s": sure_s, "quick_p": p,
        "doubt_finished_silence_s": 6.0})
       for name, sure_s, p in (("quick", 0.3, 0.9), ("sure", 0.4, 0.5), ("sure", 0.35, 0.7),
                               ("sure", 0.35, 0.5))},
    "fused, sure 0.3 s": (True, {"finished_silence_s": 0.5, "sure_silence_s": 0.3}),
    "fused, sure 0.25 s": (True, {"finished_silence_s": 0.5, "sure_silence_s": 0.25}),
    "fused, sure 0.2 s": (True, {"finished_silence_s": 0.5, "sure_silence_s": 0.2}),
}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", default="piper,espeak")
    parser.add_argument("--quick", action="store_true", help="4 scripts of each kind")
    parser.add_argument("--only", help="run only the settings whose name contains one of "
                                       "these (comma-separated)")
    parser.add_argument("--unfinished-s", type=float, default=None,
                        help="override the wait after an unfinished clause")
    parser.add_argument("--trace", type=Path, help="write each outcome as JSON lines here")
    parser.add_argument("--case", help="only this answer (e.g. u3), with the endpointer's log")
    args = parser.parse_args(argv)
    from server.engines.registry import load_engines

    settings = Settings(tts_prewarm=False, tts_cache_mb=0)
    engines = load_engines(settings)
    voices: dict[str, Any] = {}
    for name in args.voices.split(","):
        voices[name] = Voice(engines.tts) if name == "piper" else EspeakVoice()
    started = time.perf_counter()
    cases = build_cases(voices, args.quick, engines.stt)
    if args.case:
        import logging

        cases = [c for c in cases if c.label == args.case]
        logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    decisions = sum(len(c.holds) + 1 + (c.kind == "sentences") for c in cases)
    print(f"{len(cases)} answers, {decisions} turn-end decisions (pauses that must hold, "
          f"pauses between sentences, answer ends); rendered in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    cache: dict[str, tuple[Any, float]] = {}
    runs: list[tuple[str, Run]] = []
    base = EndpointSettings(unknown_silence_s=1.2, unfinished_silence_s=6.0,
                            opening_silence_s=4.5)
    for name, (model_on, fields) in SETTINGS.items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        if args.unfinished_s is not None:
            fields = fields | {"unfinished_silence_s": args.unfinished_s}
        endpoint = dataclasses.replace(base, **fields)
        run = Run(endpoint, model_on)
        started = time.perf_counter()
        for case in cases:
            run.outcomes.append(await play(case, engines, settings, endpoint, cache, model_on))
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        runs.append((name, run))
        if args.trace:
            with args.trace.open("a") as out:
                for o in run.outcomes:
                    out.write(json.dumps({"setting": name, "case": o.case.label,
                                          "voice": o.case.voice, "kind": o.case.kind,
                                          "pause": o.case.pause_s, "cut_ins": o.cut_ins,
                                          "gap_end": o.ended_in_gap, "to_final": o.to_final_s,
                                          "to_reply": o.to_reply_s}) + "\n")
    print(report(runs))
    voices_seen = sorted({o.case.voice for _, run in runs for o in run.outcomes})
    if len(voices_seen) > 1:
        for voice in voices_seen:
            print(f"\n{voice} alone:\n")
            print(report((name, Run(run.settings, run.turn_model,
                                    [o for o in run.outcomes if o.case.voice == voice]))
                         for name, run in runs))
    if runs:
        print()
        print(by_pause_table(runs[-1][1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
