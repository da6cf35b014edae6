"""Garble spoken answers the way a live turn is garbled: Piper speech -> Whisper tiny.en.

Used to write the `garbled` answers of the labeled coverage sets (tests/data/coverage_*.yaml):
the text a candidate says goes through the bundled Piper voice, is resampled to 16 kHz and
transcribed by the bundled Whisper tiny.en, and the transcript is what gets labeled.

    .venv/bin/python -m bench.garble in.yaml out.yaml      # in: a mapping id -> spoken text
    .venv/bin/python -m bench.garble --text "Bias is when the model underfits."

Deterministic (Piper's noise off) and light: one CPU thread for each engine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("OMP_NUM_THREADS", "1")

from server.audio.pcm import StreamingResampler, pcm16_to_float
from server.engines.stt import TranscribeOptions, WhisperSTT
from server.engines.tts import PiperTTS


class Garbler:
    def __init__(self, threads: int = 1) -> None:
        self.tts = PiperTTS()
        self.stt = WhisperSTT(cpu_threads=threads)

    def speak(self, text: str) -> np.ndarray:
        """16 kHz float32 audio of `text`, with a short silence after each sentence."""
        resampler = StreamingResampler(self.tts.sample_rate)
        parts = []
        for chunk in self.tts.synthesize(text, variation=False):
            parts.append(resampler.process(pcm16_to_float(chunk.pcm)))
            parts.append(np.zeros(3200, dtype=np.float32))  # 0.2 s pause
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def garble(self, text: str, hotwords: str | None = None) -> str:
        audio = self.speak(text)
        return self.stt.transcribe(audio, TranscribeOptions(hotwords=hotwords)).text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="YAML mapping id -> spoken text")
    parser.add_argument("target", nargs="?", help="YAML file to write id -> {spoken_text, answer}")
    parser.add_argument("--text", help="garble one text and print the transcript")
    args = parser.parse_args(argv)
    garbler = Garbler()
    if args.text:
        print(garbler.garble(args.text))
        return 0
    if not (args.source and args.target):
        parser.error("give SOURCE and TARGET, or --text")
    spoken = yaml.safe_load(Path(args.source).read_text(encoding="utf-8"))
    target = Path(args.target)
    done = yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else {}
    done = done or {}
    for key, text in spoken.items():
        if key in done and done[key].get("spoken_text") == text:
            continue
        done[key] = {"spoken_text": text, "answer": garbler.garble(text)}
        print(f"{key}: {done[key]['answer']}", file=sys.stderr)
        target.write_text(yaml.safe_dump(done, sort_keys=False, allow_unicode=True, width=1000),
                          encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
