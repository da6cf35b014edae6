"""Golden outputs of every road through faster-whisper's internals.

`server/engines/whisper_internals.py` drives internals that a faster-whisper release may
change silently; this pins what they give on one fixed recording (JFK's "ask not",
11 s, tests/data/jfk.flac): the exact text and the word timings
(rounded to 10 ms; within two of Whisper's 20 ms steps, as CPUs differ) of the short
window alone, with a prompt, in a batch, and of faster-whisper's own 30 s road. A new
faster-whisper version that changes any of them fails here before it changes a
transcript in a session.

The stored outputs (tests/data/whisper_golden.json) were written by the code before the
internals moved into one module, and the code after gives them exactly (on that machine).
Rewrite them (only after checking a difference is right):
`python -m tests.test_whisper_golden --write`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT

JFK = ROOT / "tests" / "data" / "jfk.flac"
GOLDEN = ROOT / "tests" / "data" / "whisper_golden.json"
#: How far a word's stored start or end may move (seconds): two of Whisper's 20 ms steps.
TIMING_SLACK_S = 0.041
#: Long enough to share a batch (`SHARED_PROMPT_TOKENS`), so the batch road is taken.
CONTEXT = ("A speech about what citizens owe their country, and what the country owes "
           "them, given at the inauguration in January, with the famous line near the end")

def _record(result: Any) -> dict[str, Any]:
    return {"text": result.text,
            "words": [[w.word, round(w.start, 2), round(w.end, 2)] for w in result.words]}


def outputs(audio: np.ndarray) -> dict[str, dict[str, Any]]:
    """Each road's transcription of `audio` (the 11 s recording)."""
    from server.engines.stt import TranscribeOptions, WhisperSTT

    # Two threads everywhere: the same arithmetic on every machine that runs the test.
    stt = WhisperSTT(cpu_threads=2)
    first_half = audio[: len(audio) // 2]
    prompted = TranscribeOptions(initial_prompt=CONTEXT)
    batch = stt.transcribe_many([(audio, prompted),
                                 (first_half, TranscribeOptions(initial_prompt=CONTEXT[10:]))])
    return {
        "window": _record(stt.transcribe(audio, TranscribeOptions())),
        "window_prompted": _record(stt.transcribe(audio, prompted)),
        "batch_whole": _record(batch[0]),
        "batch_half": _record(batch[1]),
        # Twice over is past WINDOW_MAX_S: faster-whisper's own road.
        "long": _record(stt.transcribe(np.concatenate([audio, audio]), TranscribeOptions())),
    }


def _audio() -> np.ndarray:
    from server.engines.whisper_internals import decode_audio

    return decode_audio(JFK)


@pytest.mark.slow
def test_every_road_gives_the_stored_text_and_word_timings() -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = outputs(_audio())
    assert set(got) == set(expected)
    for road, want in expected.items():
        assert got[road]["text"] == want["text"], road
        words, want_words = got[road]["words"], want["words"]
        assert [w[0] for w in words] == [w[0] for w in want_words], road
        for (word, start, end), (_, want_start, want_end) in zip(words, want_words, strict=True):
            # The alignment's float arithmetic differs between CPUs: on a fresh machine
            # (2026-12-02, AMD EPYC) 26 of 118 word times moved by 20 ms and one by 40 ms
            # ("you", 8.06 s for 8.02 s), with ctranslate2 4.6.3, 4.7.1, 4.8.4 and 4.8.5
            # alike; every text stayed the same.
            assert abs(start - want_start) <= TIMING_SLACK_S, (road, word)
            assert abs(end - want_end) <= TIMING_SLACK_S, (road, word)


def test_a_faster_whisper_outside_the_tested_range_is_refused() -> None:
    from server.engines.whisper_internals import check_version

    check_version("1.2.1")
    for other in ("1.1.1", "1.3.0", "2.0"):
        with pytest.raises(ImportError, match=r"tested on 1\.2\.1"):
            check_version(other)


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit("usage: python -m tests.test_whisper_golden --write")
    roads = outputs(_audio())
    # One road a line: a changed road shows as one changed line in a diff.
    lines = [f" {json.dumps(road)}: {json.dumps(value, ensure_ascii=False)}"
             for road, value in roads.items()]
    GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
