"""Loading every engine once, from settings, for the app's lifespan."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from server.audio.vad import SileroModel, SpeechProbabilityModel
from server.config import Settings, SettingsError
from server.engines.embedder import Embedder, MiniLMEmbedder, bundled_minilm, missing_message
from server.engines.lane import CpuLane
from server.engines.stt import SpeechToText, WhisperSTT
from server.engines.tts import (
    PhraseCache,
    PiperTTS,
    SpokenCache,
    SynthesisQueue,
    TextToSpeech,
)
from server.engines.turn_end import SmartTurn, TurnEndModel

log = logging.getLogger("viva.engines")


def lane_workers() -> int:
    """One thread on a small machine: Whisper and Piper each use every core, and a
    second thread only makes them share the cores (and doubles the vocoder's
    transient memory, ~100 MB for a long sentence)."""
    return 1 if (os.cpu_count() or 1) <= 4 else 2


def one_lane() -> tuple[CpuLane, SynthesisQueue]:
    """A lane and the synthesis queue on it: transcription and synthesis in one order
    of urgency (`lane.py`)."""
    lane = CpuLane(workers=lane_workers())
    return lane, SynthesisQueue(lane=lane)


@dataclass
class Engines:
    stt: SpeechToText
    tts: TextToSpeech
    vad: SpeechProbabilityModel
    embedder: Embedder
    #: Hears whether the candidate sounds finished; None: the words alone decide.
    turn_end: TurnEndModel | None = None
    load_seconds: dict[str, float] = field(default_factory=dict)
    #: The CPU lane transcription runs on (the app's `TranscriptionScheduler`), and
    #: `tts_queue` with it when built by `load_engines` (see `one_lane`).
    lane: CpuLane = field(default_factory=lambda: CpuLane(workers=lane_workers()))
    #: Every session's speech synthesis, a sentence at a time. By default on a lane of
    #: its own; `load_engines` puts it on `lane`.
    tts_queue: SynthesisQueue = field(
        default_factory=lambda: SynthesisQueue(workers=lane_workers()))

    def describe(self) -> dict[str, object]:
        return {
            "stt": self.stt.name,
            "tts": self.tts.name,
            "tts_sample_rate": self.tts.sample_rate,
            "vad": "silero",
            "embedder": self.embedder.name,
            "turn_end": self.turn_end.name if self.turn_end is not None else "off",
            "load_seconds": self.load_seconds,
        }


def load_engines(settings: Settings) -> Engines:
    """Blocking: call from a worker thread. Raises SettingsError naming a bad path."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    stt = WhisperSTT(settings.stt_model, settings.stt_device, settings.stt_compute_type,
                     settings.stt_cpu_threads)
    timings["stt"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    piper = PiperTTS(settings.tts_voice)
    voice: TextToSpeech = piper
    if settings.tts_cache_mb > 0:
        stat = piper.voice_path.stat()
        voice = SpokenCache(piper, settings.data_dir / "speech-cache",
                            settings.tts_cache_mb * 1024 * 1024,
                            identity=f"{piper.voice_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    tts = PhraseCache(voice)
    timings["tts"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    vad = SileroModel()
    timings["vad"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    files = bundled_minilm()
    if files is None:
        raise SettingsError(missing_message())
    embedder = MiniLMEmbedder(files)
    timings["embedder"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    turn_end = SmartTurn(settings.turn_model) if settings.turn_model != "off" else None
    timings["turn_end"] = round(time.perf_counter() - start, 2)
    log.info("engines loaded in %s", timings)
    lane, tts_queue = one_lane()
    return Engines(stt=stt, tts=tts, vad=vad, embedder=embedder, turn_end=turn_end,
                   load_seconds=timings, lane=lane, tts_queue=tts_queue)
