"""Cost of parsing the LLM's streamed JSON reply (`server.engines.llm.FieldStream`).

Feeds a realistic turn reply (three fields, 79 words, 467 characters, as llama.cpp
streams it: one token of 1-6 characters a chunk, 129 chunks) through `FieldStream.feed`
and `finish`, and prints the time per whole reply and per chunk:

    .venv/bin/python -m bench.field_stream [--replies 2000]

Run it on two checkouts to compare parsers (PYTHONPATH=OTHER_CHECKOUT python
bench/field_stream.py): it uses nothing but `FieldStream`'s public interface.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time

from server.engines.llm import FieldStream

REPLY = json.dumps({
    "feedback": "You explained that bias comes from a model that is too simple, but you did "
                "not say what variance is: the error from fitting noise in the training "
                "data, which shows up as a gap between training and test scores.",
    "acknowledgement": "You explained clearly that a model that is too simple underfits, "
                       "which is where bias comes from.",
    "follow_up": "What would you change in a model that scores well on the training set "
                 "but much worse on new data, and why?",
})
FIELDS = ("feedback", "acknowledgement", "follow_up")


def chunks(text: str) -> list[str]:
    """Token-sized pieces: a word with its leading space, punctuation and quotes apart."""
    return re.findall(r' ?[A-Za-z]{1,6}|[^A-Za-z]', text)


async def measure(replies: int) -> tuple[list[float], int]:
    pieces = chunks(REPLY)
    times: list[float] = []
    for _ in range(replies):
        stream = FieldStream(FIELDS)
        start = time.perf_counter()
        for piece in pieces:
            stream.feed(piece)
        stream.finish()
        times.append(time.perf_counter() - start)
        got = [await stream.get(name, time.monotonic()) for name in FIELDS]
        assert all(got), stream.errors
    return times, len(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=2000)
    args = parser.parse_args()
    times, n_chunks = asyncio.run(measure(args.replies))
    times.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"reply of {len(REPLY)} characters in {n_chunks} chunks, {args.replies} replies")
    print(f"per reply: median {median * 1e6:.0f} us, p95 {p95 * 1e6:.0f} us; "
          f"per chunk: median {median / n_chunks * 1e6:.1f} us")


if __name__ == "__main__":
    main()
