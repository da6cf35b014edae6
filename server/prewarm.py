"""Speaking the bank ahead of time, while nobody is in a session.

Every question and follow-up of the bank is said to some candidate sooner or later.
Said once into the speech cache while the server is idle, it costs no vocoder time
later, when candidates are waiting and the cores are busy with their speech. A
session in progress pauses the work: a sentence takes both cores for ~0.5 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from server import memory
from server.bank import QuestionBank
from server.engines.tts import SpokenCache
from server.interviewer.speakable import speakable, speech_parts

log = logging.getLogger("viva.prewarm")

#: How often a paused warm-up looks again for a moment with no session.
IDLE_POLL_S = 1.0


def bank_sentences(bank: QuestionBank) -> list[str]:
    """What the voice will say of the bank, cut as it is synthesized, each once."""
    texts: list[str] = []
    for question in bank.questions:
        texts.append(question.prompt)
        texts.extend(follow_up.text for follow_up in question.follow_ups)
        texts.append(question.hint)
    return list(dict.fromkeys(part for text in texts for part in speech_parts(speakable(text))))


def _say(cache: SpokenCache, sentence: str, length_scale: float) -> bool:
    said = cache.say_once(sentence, length_scale)
    if said:
        # Hundreds of vocoder runs in a row leave the heap fragmented (RSS 835-952 MiB
        # under load afterwards, measured): free pages go back as we go.
        memory.trim()
    return said


async def prewarm(cache: SpokenCache, sentences: list[str], length_scale: float,
                  busy: Callable[[], bool]) -> int:
    """Synthesize into `cache` each sentence it lacks, only while `busy()` is false.
    Returns how many were synthesized."""
    said = 0
    for sentence in sentences:
        # A poll, not an event: the session count is a plain number the connections
        # keep, and a second's delay in resuming background work costs nothing.
        while busy():  # noqa: ASYNC110
            await asyncio.sleep(IDLE_POLL_S)
        if await asyncio.to_thread(_say, cache, sentence, length_scale):
            said += 1
    if said:
        log.info("spoke %d sentences of the bank into the speech cache", said)
    return said
