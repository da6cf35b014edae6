"""Ten whole sample interviews, printed as transcripts, and the interviewer's reply measures.

    python -m bench.dialogues             # typed: the real session code on fake engines (s)
    python -m bench.dialogues --spoken    # the same scripts through the real server, Piper-spoken
    python -m bench.dialogues --measure   # follow-up targets and acknowledgements vs hand labels
    python -m bench.dialogues --only partial   # one dialogue by name

Typed runs go through `server.session.Conversation` with the real bank, policy and scorer
on the session fakes of tests/fakes.py (a silent voice, a clock moved by the audio fed,
canned transcripts for the two scripted stretches of speech: the barge-in and the long
silence need audio); answers are `text` messages. `--spoken` starts the server in this
process (as bench/latency.py does) and speaks every answer with Piper over an open
microphone at real time, so Whisper's transcript is what gets scored.

After each answer the transcript shows the `score` message: content and the key points
covered (and missed). The measures are in `bench/replies.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------- the scripts


@dataclass(frozen=True)
class Answer:
    """The candidate answers (or says a command): typed, or spoken by Piper."""

    text: str


@dataclass(frozen=True)
class Silence:
    """The candidate says nothing for `seconds` (the microphone open)."""

    seconds: float


@dataclass(frozen=True)
class BargeIn:
    """The candidate starts answering `after_s` into the interviewer's question."""

    text: str
    after_s: float = 1.5


Step = Answer | Silence | BargeIn


@dataclass(frozen=True)
class Dialogue:
    name: str
    title: str
    question_ids: tuple[str, ...]
    steps: tuple[Step, ...]
    mode: str = "interview"
    max_follow_ups: int = 2


@dataclass(frozen=True)
class SeedPartial:
    """A partial answer to a seed question and the key points it states (hand labels,
    written with the answer from the key points' `text`): the seed part of the
    follow-up measure."""

    question_id: str
    answer: str
    covered: frozenset[str]


def _partial(question_id: str, answer: str, *covered: str) -> SeedPartial:
    return SeedPartial(question_id, answer, frozenset(covered))


#: One partial answer per seed question, each leaving at least one weight-3 point out.
SEED_PARTIALS: tuple[SeedPartial, ...] = (
    _partial("bias-variance",
             "Bias is how far the model's predictions are from the true values on average, so "
             "a high-bias model underfits. Variance is how much the predictions change when you "
             "train it on a different training set, and high variance means overfitting. If you "
             "make the model more complex, the bias goes down and the variance goes up.",
             "bias-definition", "variance-definition", "complexity-lever"),
    _partial("regularization",
             "Regularization means we add a penalty on the weights to the loss function, so the "
             "model can't just fit the noise. L one, the lasso, pushes some weights to exactly "
             "zero, so you get a sparse model, a kind of feature selection. In a neural network "
             "I mostly use dropout, which randomly zeroes neurons during training.",
             "penalty-term", "l1-lasso", "dropout"),
    _partial("imbalanced-data",
             "First, I would not trust accuracy, because predicting not fraud every time "
             "already gives ninety nine point nine percent. I'd look at precision and recall on "
             "the fraud class, and the F1 score. On the data side you can oversample the "
             "minority class or undersample the majority class.",
             "avoid-accuracy", "right-metrics", "resampling"),
    _partial("bagging-vs-boosting",
             "Bagging trains many models independently, in parallel, each on a bootstrap sample "
             "of the data, and then averages their predictions. Boosting trains the models one "
             "after another, each one correcting the errors of the previous ones, like AdaBoost "
             "or XGBoost.",
             "bagging-parallel", "bagging-aggregate", "boosting-sequential", "boosting-examples"),
    _partial("backpropagation",
             "Backprop is the chain rule: you get the gradient of the loss with respect to every "
             "weight by chaining local derivatives. You start at the loss and go backwards layer "
             "by layer, and each layer multiplies the gradient coming in by its own local "
             "derivative. The forward pass caches the activations so they can be reused on the "
             "way back.",
             "chain-rule", "backward-flow", "forward-cache"),
    _partial("activation-functions",
             "Without a nonlinearity, a stack of linear layers collapses into a single linear "
             "transformation, so depth buys you nothing. And sigmoid squashes its input to "
             "between zero and one, so it's what you use for a probability at the output.",
             "nonlinearity", "sigmoid"),
    _partial("attention-transformers",
             "Attention lets every position look at all the other positions and take a weighted "
             "average of them, weighted by how relevant each one is. The big win of transformers "
             "over RNNs is that they process all the positions in parallel instead of one step "
             "at a time, and any two tokens are connected directly, so long range dependencies "
             "don't have to survive a long chain of steps.",
             "focus-relevant", "parallelism", "long-range"),
    _partial("recsys-design",
             "I'd build it as a funnel: candidate generation, then ranking, then re-ranking, to "
             "go from millions of products down to the twenty on the page. Candidate generation "
             "has to be cheap and favour recall, so collaborative filtering or an embedding "
             "nearest neighbour search that pulls a few hundred items. Then a ranking model, say "
             "gradient boosted trees, scores those few hundred candidates.",
             "multi-stage-pipeline", "candidate-generation", "ranking-model"),
    _partial("fraud-detection-design",
             "It has to decide in real time, inside the payment authorization, so the budget is "
             "around a hundred milliseconds. For features I'd use aggregates over time windows, "
             "like how many transactions the card made in the last hour. And since fraud is well "
             "under one percent of transactions, I'd train with class weights or downsample the "
             "legitimate ones.",
             "real-time-latency", "transaction-aggregate-features", "imbalance-handling"),
    _partial("logistic-regression-scratch",
             "I'd initialize the weights as a vector of zeros, one per feature, and the bias at "
             "zero. Then in each iteration I compute X times the weights plus the bias and apply "
             "the sigmoid to get the predicted probabilities. The gradient for the weights is "
             "one over n times X transpose times predictions minus y. Then for a fixed number of "
             "iterations I subtract the learning rate times each gradient from the weights and "
             "the bias.",
             "zero-init", "forward-pass", "gradients", "update-loop"),
)
_PARTIAL = {p.question_id: p.answer for p in SEED_PARTIALS}

DIALOGUES: tuple[Dialogue, ...] = (
    Dialogue("strong", "A strong answer", ("bias-variance",), (
        Answer("Bias is the error from the model's assumptions: if you averaged its predictions "
               "over many training sets, bias is how far that average is from the true value, "
               "and a high-bias model underfits. Variance is how much the prediction changes "
               "when you train on a different sample of the training data, which is "
               "overfitting. For squared loss the expected error is bias squared plus variance "
               "plus irreducible noise. A more complex model lowers bias and raises variance, "
               "regularization reduces variance, and more training data reduces variance too."),
        Answer("I'd retrain the model on many bootstrap samples of the training set and look at "
               "the predictions on a fixed test set: the spread of the predictions for each "
               "point is the variance, and how far their average is from the truth gives the "
               "bias."),
    ), max_follow_ups=1),
    Dialogue("partial", "A partial answer", ("regularization",), (
        Answer(_PARTIAL["regularization"]),
        Answer("L two is ridge, it penalizes the squared weights, so they get small but they "
               "don't become exactly zero."),
        Answer("You can watch the validation loss and stop training once it starts going up, "
               "that's early stopping."),
    )),
    Dialogue("weak", "A weak answer", ("imbalanced-data",), (
        Answer("I would just train the model normally and check that the accuracy is high. "
               "Maybe get more data if it doesn't work."),
        Answer("I guess I would give the fraud examples a bigger weight in the loss."),
    ), max_follow_ups=1),
    Dialogue("dont-know", "\"I don't know\"", ("backpropagation",), (
        Answer("I don't know."),
        Answer("Honestly, I'm not sure."),
    )),
    Dialogue("off-topic", "An off-topic answer", ("attention-transformers",), (
        Answer("Convolutional networks slide small filters over the image and share the weights "
               "across positions, and pooling layers downsample the feature maps, which makes "
               "them good at recognizing local patterns like edges and textures."),
        Answer("Oh, sorry. The query is what a position is looking for, the key is what it gets "
               "matched against, and the value is what it returns."),
    ), max_follow_ups=1),
    Dialogue("silence", "A long silence (16 s)", ("activation-functions",), (
        Silence(16.0),
        Answer(_PARTIAL["activation-functions"]),
    ), max_follow_ups=1),
    Dialogue("barge-in", "A barge-in (the candidate cuts into the question)",
             ("bagging-vs-boosting",), (
        BargeIn(_PARTIAL["bagging-vs-boosting"]),
        Answer("Bagging mainly reduces variance, and boosting mainly reduces bias."),
    ), max_follow_ups=1),
    Dialogue("repeat", "\"Can you repeat that?\"", ("recsys-design",), (
        Answer("Sorry, can you repeat that?"),
        Answer(_PARTIAL["recsys-design"]),
    ), max_follow_ups=1),
    Dialogue("slower", "\"Slower, please\"", ("fraud-detection-design",), (
        Answer("Could you speak a bit slower, please?"),
        Answer(_PARTIAL["fraud-detection-design"]),
    ), max_follow_ups=1),
    Dialogue("drill", "A drill session", ("logistic-regression-scratch",), (
        Answer(_PARTIAL["logistic-regression-scratch"]),
        Answer("I don't know."),
        Answer("Let's stop here."),
    ), mode="drill"),
)

#: The interviewer's moves the candidate answers (then the closing, then nothing).
PROMPT_KINDS = frozenset({"question", "followup", "hint"})


# ---------------------------------------------------------------------- the transcript


@dataclass
class Transcript:
    """What happened, in order: server messages (as JSON dicts) and the script's own
    notes (`{"type": "note"}`)."""

    dialogue: Dialogue
    events: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None

    def note(self, text: str) -> None:
        self.events.append({"type": "note", "text": text})


def render(transcript: Transcript) -> str:
    lines = [f"### {transcript.dialogue.title} ({transcript.dialogue.name}: "
             f"{', '.join(transcript.dialogue.question_ids)}, {transcript.dialogue.mode})", ""]
    for event in transcript.events:
        kind = event["type"]
        if kind == "agent":
            lines.append(f"Interviewer ({event['kind']}): {event['text']}")
        elif kind == "transcript" and event.get("final"):
            lines.append(f"Candidate: {event['text']}")
        elif kind == "score":
            covered = [k["id"] for k in event["key_points"] if k["covered"]]
            missed = [k["id"] for k in event["key_points"] if not k["covered"]]
            lines.append(f"    [score: content {event['content']:.0f}; covered: "
                         f"{', '.join(covered) or 'none'}; missed: {', '.join(missed) or 'none'}]")
        elif kind == "audio_end" and event.get("interrupted"):
            lines.append("    (the interviewer's voice is cut off)")
        elif kind == "turn_resumed":
            lines.append(f"    (the turn goes on; withdrawn: {event.get('withdrawn')})")
        elif kind == "error":
            lines.append(f"    [error {event.get('code')}: {event.get('message')}]")
        elif kind == "note":
            lines.append(f"    ({event['text']})")
    if transcript.problem:
        lines.append(f"    [problem: {transcript.problem}]")
    return "\n".join(lines)


def _start_fields(dialogue: Dialogue) -> dict[str, Any]:
    return {"type": "start", "mode": dialogue.mode, "tts": True, "sample_rate": 16_000,
            "max_follow_ups": dialogue.max_follow_ups, "question_ids": list(dialogue.question_ids)}


# ---------------------------------------------------------------------- typed (fake engines)


async def _typed(dialogue: Dialogue) -> Transcript:
    from server import protocol as p
    from tests.fakes import start_session

    transcript = Transcript(dialogue)
    fields = _start_fields(dialogue)
    h = await start_session(**{k: v for k, v in fields.items() if k not in ("type",)})
    seen = 0

    def flush() -> None:
        nonlocal seen
        for message in h.sent[seen:]:
            transcript.events.append(message.model_dump(mode="json"))
        seen = len(h.sent)

    async def settle() -> None:
        """Until the interviewer has said everything and nothing is being worked out."""
        session = h.conversation
        for _ in range(2000):  # 0.2 s each on the fake clock: 400 s at most
            busy = sum(session.tasks.count(n) for n in ("reply", "final", "command", "silence"))
            if not session.speaking and not busy:
                break
            await h.pause(0.2)
        flush()

    try:
        for step in dialogue.steps:
            if isinstance(step, BargeIn):
                await _until_question_sounds(h)
                await h.pause(step.after_s)
                flush()
                transcript.note(f"{step.after_s:.1f} s into the question the candidate starts "
                                "to answer")
                await h.say(step.text)
                await h.pause(1.5)  # the endpointer's wait after a finished sentence
            else:
                await settle()
                if h.conversation.finished:
                    break
                if isinstance(step, Silence):
                    transcript.note(f"{step.seconds:.0f} s of silence")
                    await h.pause(step.seconds)
                else:
                    await h.conversation.handle_message(p.Text(text=step.text))
                    await h.settle()
        await settle()
    finally:
        await h.conversation.shutdown()
        flush()
    return transcript


async def _until_question_sounds(h: Any) -> None:
    """Feed silence until the audio of the latest question has started."""
    from server import protocol as p

    for _ in range(1000):
        questions = h.agent("question")
        started = {m.utterance_id for m in h.of(p.AudioStart)}
        if questions and questions[-1].utterance_id in started:
            return
        await h.pause(0.1)
    raise TimeoutError("the question was never spoken")


def run_typed(dialogues: Sequence[Dialogue]) -> list[Transcript]:
    async def go() -> list[Transcript]:
        return [await _typed(d) for d in dialogues]

    return asyncio.run(go())


# ---------------------------------------------------------------------- spoken (real server)


async def _spoken(dialogue: Dialogue, url: str, voice: Any, reaction_s: float,
                  timeout_s: float) -> Transcript:
    import websockets

    from bench.voice_client import Connection, Mic

    transcript = Transcript(dialogue)
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        conn, mic = Connection(ws), Mic(ws)
        seen = 0

        def flush() -> None:
            nonlocal seen
            for message in conn.messages[seen:]:
                transcript.events.append({k: v for k, v in message.items() if k != "_t"})
            seen = len(conn.messages)

        async def settle(cursor: int) -> bool:
            """Wait for the next prompt (or the closing) from `cursor` and its audio's end;
            False when the session is over."""
            index, prompt = await conn.wait(
                lambda m: bool((m["type"] == "agent" and m["kind"] in PROMPT_KINDS | {"closing"})
                               or m["type"] == "summary"
                               or (m["type"] == "error" and m.get("fatal"))),
                cursor, limit_s=timeout_s)
            if prompt["type"] == "agent":
                uid = prompt["utterance_id"]
                await conn.wait(lambda m: m["type"] == "audio_end" and m["utterance_id"] == uid,
                                index, limit_s=timeout_s)
            if prompt["type"] != "agent" or prompt["kind"] == "closing":
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await conn.wait(lambda m: m["type"] == "summary", index, limit_s=15)
                return False
            return True

        try:
            await ws.send(json.dumps(_start_fields(dialogue)))
            mic.start()
            cursor = 0
            going = isinstance(dialogue.steps[0], BargeIn) or await settle(cursor)
            for step in dialogue.steps:
                if not going:
                    break
                if isinstance(step, BargeIn):
                    index, question = await conn.wait(
                        lambda m: m["type"] == "agent" and m["kind"] == "question",
                        cursor, limit_s=timeout_s)
                    def sounds(m: dict[str, Any], uid: str = question["utterance_id"]) -> bool:
                        return bool(m["type"] == "audio_start" and m["utterance_id"] == uid)

                    await conn.wait(sounds, index, limit_s=timeout_s)
                    await mic.silence(step.after_s)
                    flush()
                    transcript.note(f"{step.after_s:.1f} s into the question the candidate "
                                    "starts to answer")
                    cursor = len(conn.messages)
                    await mic.play(voice.clip(step.text)[0])
                else:
                    await mic.silence(reaction_s)  # the candidate takes a breath
                    flush()
                    cursor = len(conn.messages)
                    if isinstance(step, Silence):
                        transcript.note(f"{step.seconds:.0f} s of silence")
                        await mic.silence(step.seconds)
                    else:
                        await mic.play(voice.clip(step.text)[0])
                going = await settle(cursor)
                cursor = len(conn.messages)
            if going and not conn.closed:
                await ws.send(json.dumps({"type": "stop"}))
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await conn.wait(lambda m: m["type"] == "summary", cursor, limit_s=15)
        except (TimeoutError, ConnectionError) as exc:
            transcript.problem = f"{type(exc).__name__}: {exc}"
        finally:
            await mic.stop()
            await conn.close()
            flush()
    return transcript


def run_spoken(dialogues: Sequence[Dialogue], reaction_s: float = 0.8,
               timeout_s: float = 90.0) -> list[Transcript]:
    from bench.harness import InProcessServer
    from bench.voice_client import Voice
    from server.config import Settings

    with tempfile.TemporaryDirectory(prefix="viva-dialogues-", ignore_cleanup_errors=True) as tmp:
        server = InProcessServer(Settings(data_dir=Path(tmp), tts_prewarm=False))
        server.start()
        try:
            voice = Voice(server.app.state.engines.tts)  # the server's own Piper, shared
            for dialogue in dialogues:  # every clip synthesized before any clock runs
                for step in dialogue.steps:
                    if isinstance(step, Answer | BargeIn):
                        voice.clip(step.text)

            async def go() -> list[Transcript]:
                return [await _spoken(d, server.ws_url, voice, reaction_s, timeout_s)
                        for d in dialogues]

            return asyncio.run(go())
        finally:
            server.stop()


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spoken", action="store_true",
                        help="through the real server, answers spoken by Piper (minutes)")
    parser.add_argument("--measure", action="store_true",
                        help="the follow-up and acknowledgement measures (typed, fast)")
    parser.add_argument("--errors", action="store_true",
                        help="with --measure: also every acknowledgement, to read")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help=f"dialogues to run, of: {' '.join(d.name for d in DIALOGUES)}")
    parser.add_argument("--export-wordings", type=Path, metavar="FILE",
                        help="write every covered wording said of a true credit on the tuning "
                             "answers, with its evidence, as JSON (to judge by hand)")
    args = parser.parse_args(argv)
    if args.export_wordings:
        from bench.replies import covered_wordings

        rows = covered_wordings()
        args.export_wordings.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(f"{len(rows)} wordings -> {args.export_wordings}")
        return 0
    if args.measure:
        from bench.replies import print_measures

        print_measures(show_acks=args.errors)
        return 0
    chosen = [d for d in DIALOGUES if not args.only or d.name in args.only]
    if not chosen:
        parser.error("no dialogue of that name")
    started = time.perf_counter()
    transcripts = run_spoken(chosen) if args.spoken else run_typed(chosen)
    how = "spoken by Piper through the real server" if args.spoken else \
        "typed, real session code on fake engines"
    print(f"## viva sample interviews ({how})\n")
    for transcript in transcripts:
        print(render(transcript))
        print()
    print(f"{len(transcripts)} dialogues in {time.perf_counter() - started:.1f} s")
    return 0 if not any(t.problem for t in transcripts) else 1


if __name__ == "__main__":
    sys.exit(main())
