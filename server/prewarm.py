"""Speaking the bank ahead of time, while nobody is in a session.

Every question and follow-up of the bank is said to some candidate sooner or later.
Said once into the speech cache while the server is idle, it costs no vocoder time
later, when candidates are waiting and the cores are busy with their speech.

It must never be what a candidate waits behind. On the shared Piper session a
sentence took both cores (the first start of an idle server sat at 93-200 % CPU for
about ten minutes), so the warm-up has its own: a second session of the same voice
file with one onnxruntime thread, run on one worker thread at the lowest priority
(nice 19: any other work on the machine goes first, mid-sentence too), and dropped
when the bank is done. A session in progress pauses it between sentences.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from server import memory
from server.bank import QuestionBank
from server.engines.tts import PiperTTS, SpeechChunk, SpokenCache, TextToSpeech
from server.interviewer.speakable import speakable, speech_parts

log = logging.getLogger("viva.prewarm")

#: How often a paused warm-up looks again for a moment with no session.
IDLE_POLL_S = 1.0
#: The warm-up thread's nice value: the lowest priority there is.
NICE = 19


def bank_sentences(bank: QuestionBank) -> list[str]:
    """What the voice will say of the bank, cut as it is synthesized, each once."""
    texts: list[str] = []
    for question in bank.questions:
        texts.append(question.prompt)
        texts.extend(follow_up.text for follow_up in question.follow_ups)
        texts.append(question.hint)
    return list(dict.fromkeys(part for text in texts for part in speech_parts(speakable(text))))


def lower_this_threads_priority() -> None:
    """Nice this thread alone (Linux: a thread is a task of its own; threads it starts
    inherit the value). Elsewhere, or without permission, it runs at normal priority."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class _OwnVoice:
    """The cache's Piper voice in a session of its own with one onnxruntime thread,
    made on first use: on the warm-up thread, whose priority its threads inherit."""

    def __init__(self, piper: PiperTTS) -> None:
        self.name, self.sample_rate = piper.name, piper.sample_rate
        self._path = str(piper.voice_path)
        self._piper: PiperTTS | None = None

    def synthesize(self, text: str, length_scale: float = 1.0,
                   variation: bool = True) -> Iterator[SpeechChunk]:
        if self._piper is None:
            self._piper = PiperTTS(self._path, threads=1)
        return self._piper.synthesize(text, length_scale, variation)


def _say(cache: SpokenCache, voice: TextToSpeech | None, sentence: str,
         length_scale: float) -> tuple[bool, float]:
    """On the warm-up thread: (whether it was synthesized now, this thread's CPU seconds)."""
    before = time.thread_time()
    said = cache.say_once(sentence, length_scale, voice)
    if said:
        # Hundreds of vocoder runs in a row leave the heap fragmented (RSS 835-952 MiB
        # under load afterwards, measured): free pages go back as we go.
        memory.trim()
    return said, time.thread_time() - before


async def prewarm(cache: SpokenCache, sentences: list[str], length_scale: float,
                  busy: Callable[[], bool]) -> int:
    """Synthesize into `cache` each sentence it lacks, only while `busy()` is false.
    Returns how many were synthesized."""
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prewarm",
                                initializer=lower_this_threads_priority)
    voice = _OwnVoice(cache.voice) if isinstance(cache.voice, PiperTTS) else None
    said, cpu, started = 0, 0.0, time.monotonic()
    try:
        for sentence in sentences:
            # A poll, not an event: the session count is a plain number the connections
            # keep, and a second's delay in resuming background work costs nothing.
            while busy():  # noqa: ASYNC110
                await asyncio.sleep(IDLE_POLL_S)
            now, seconds = await loop.run_in_executor(worker, _say, cache, voice, sentence,
                                                      length_scale)
            said += now
            cpu += seconds
    finally:
        worker.shutdown(wait=False, cancel_futures=True)
    if said:
        log.info("spoke %d of the bank's %d sentences into the speech cache in %.0f s "
                 "(%.0f s of CPU on one low-priority thread)", said, len(sentences),
                 time.monotonic() - started, cpu)
    return said
