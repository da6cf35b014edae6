"""What keeps many sessions real-time: the scheduler's order and batches, the spoken-
sentence cache, the silence gate before the voice detector, the loop guard, the
embedder's arithmetic. Ordering is pure logic (a recording fake engine); batching,
the cache and the gate run on the real Whisper, Piper and Silero models.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np

from server.audio.vad import FRAME_SAMPLES, StreamingVad, VadState
from server.engines.embedder import _same_length_groups
from server.engines.scheduler import TranscriptionScheduler
from server.engines.stt import TranscribeOptions, Transcription, _collapse_loops
from server.engines.tts import PhraseCache, SpokenCache
from server.turn import join_texts
from tests.conftest import word_error_rate

# ---------------------------------------------------------------------------- scheduler


class RecordingSTT:
    """Answers with the audio's first sample as text; waits on a gate for the first job."""

    name = "recording"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.order: list[str] = []

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        self.gate.wait(5)
        label = options.initial_prompt or ""
        self.order.append(label)
        return Transcription(text=label)


def _job(label: str) -> tuple[np.ndarray, TranscribeOptions]:
    return np.zeros(1600, dtype=np.float32), TranscribeOptions(initial_prompt=label)


@asynccontextmanager
async def _busy_scheduler() -> AsyncIterator[tuple[RecordingSTT, TranscriptionScheduler,
                                                   asyncio.Future[Transcription | None]]]:
    """A scheduler whose worker holds a first job ("running") at the engine's gate, so
    that the jobs queued next are ordered by the scheduler alone."""
    stt = RecordingSTT()
    scheduler = TranscriptionScheduler(stt)
    await scheduler.start()
    try:
        running = scheduler.final(*_job("running"))
        await asyncio.sleep(0.05)  # the worker holds this one at the gate
        yield stt, scheduler, running
    finally:
        await scheduler.close()


async def test_a_quiet_speakers_piece_goes_before_pieces_of_speakers_still_talking() -> None:
    async with _busy_scheduler() as (stt, scheduler, blocker):
        quiet = {"b": False}
        partial = scheduler.partial("s1", *_job("partial"))
        verbatim = scheduler.verbatim(*_job("verbatim"))
        talking = scheduler.final(*_job("talking"), urgent=lambda: False)
        later_quiet = scheduler.final(*_job("quiet"), urgent=lambda: quiet["b"])
        quiet["b"] = True  # the speaker stopped after the piece was queued
        stt.gate.set()
        await asyncio.gather(blocker, partial, verbatim, talking, later_quiet)
        assert stt.order == ["running", "quiet", "talking", "verbatim", "partial"]
        assert scheduler.backlog() == 0
        assert scheduler.stats["urgent"] == 1


async def test_transcription_and_synthesis_share_one_lane_in_order_of_urgency() -> None:
    from server.engines.lane import CpuLane
    from server.engines.tts import SynthesisQueue

    lane = CpuLane(workers=1)
    stt = RecordingSTT()
    stt.gate.set()
    scheduler = TranscriptionScheduler(stt, lane=lane)
    speech = SynthesisQueue(lane=lane)
    await scheduler.start()
    spoken = threading.Event()
    busy = threading.Event()
    try:
        speech.submit(SynthesisQueue.LATER, busy.wait)  # holds the lane's one thread
        await asyncio.sleep(0.05)
        jobs = [scheduler.partial("s1", *_job("partial")), scheduler.verbatim(*_job("verbatim")),
                scheduler.final(*_job("talking"), urgent=lambda: False)]
        speech.submit(SynthesisQueue.LATER, lambda: stt.order.append("later sentence"))
        speech.submit(SynthesisQueue.FIRST, lambda: stt.order.append("first sentence"))
        jobs.append(scheduler.final(*_job("quiet"), urgent=lambda: True))
        speech.submit(SynthesisQueue.LATER, spoken.set)
        busy.set()
        await asyncio.gather(*jobs)
        assert await asyncio.to_thread(spoken.wait, 5)
    finally:
        await scheduler.close()
        speech.close()
        lane.close()
    assert stt.order == ["quiet", "first sentence", "later sentence", "talking", "verbatim",
                         "partial"]


async def test_a_newer_partial_replaces_one_that_has_not_started() -> None:
    async with _busy_scheduler() as (stt, scheduler, blocker):
        old = scheduler.partial("s1", *_job("old"))
        new = scheduler.partial("s1", *_job("new"))
        stt.gate.set()
        assert await old is None
        assert (await new).text == "new"
        await blocker
        assert stt.order == ["running", "new"]


async def test_a_replaced_partial_keeps_its_place_in_line() -> None:
    async with _busy_scheduler() as (stt, scheduler, blocker):
        first = [scheduler.partial(key, *_job(f"{key} old")) for key in ("s1", "s2", "s3")]
        # s1 asks again (newer audio) before its turn came: it must not go behind s2, s3.
        newer = scheduler.partial("s1", *_job("s1 new"))
        stt.gate.set()
        await asyncio.gather(blocker, newer, *first)
        assert stt.order == ["running", "s1 new", "s2 old", "s3 old"]


async def test_a_piece_not_started_can_be_withdrawn_and_a_running_one_cannot() -> None:
    async with _busy_scheduler() as (stt, scheduler, running):
        waiting = scheduler.final(*_job("waiting"))
        assert not scheduler.withdraw(running)  # the worker has it
        assert scheduler.withdraw(waiting) and scheduler.backlog() == 0
        waiting.cancel()
        stt.gate.set()
        await running
        assert stt.order == ["running"]


async def test_pieces_of_several_sessions_are_transcribed_in_one_batch(engines, speak) -> None:
    texts = ["and that is why we use dropout as well",
             "so the variance goes down when we average many trees",
             "because the minority class is the one we care about"]
    context = ("Glossary: bias, variance, regularization, dropout. The first reason is that "
               "the penalty on the weights makes the model prefer simpler functions, and the "
               "second one is that averaging many models trained on different samples")
    scheduler = TranscriptionScheduler(engines.stt)
    await scheduler.start()
    # Spoken beforehand: the lane's thread takes a job the moment it is queued.
    audios = [speak(text) for text in texts]
    try:
        # The worker is busy with a first piece while the three others queue up.
        first = scheduler.final(speak("Regularization adds a penalty to the loss."),
                                TranscribeOptions())
        # Their speakers have all stopped: one batch for the three.
        jobs = [scheduler.final(audio, TranscribeOptions(initial_prompt=context[i:]),
                                urgent=lambda: True)
                for i, audio in enumerate(audios)]
        results = await asyncio.gather(first, *jobs)
    finally:
        await scheduler.close()
    assert scheduler.stats["batched"] == 3
    for text, result in zip(texts, results[1:], strict=True):
        assert result is not None and word_error_rate(text, result.text) <= 0.2, result
        assert result.words and result.words[0].start < 0.6


def test_the_batch_decodes_like_one_at_a_time(engines, speak) -> None:
    context = ("Glossary: bagging, boosting, random forest, gradient boosting, variance. "
               "There are two ways to combine many trees, and they reduce different errors, "
               "the first one averages many deep trees trained independently of each other")
    texts = ["Bagging trains trees on bootstrap samples.",
             "Boosting fits each tree to the errors so far.",
             "So the variance goes down."]
    # Contexts of different lengths, all long enough to share a batch once cut.
    requests = [(speak(text), TranscribeOptions(initial_prompt=context[i * 12:]))
                for i, text in enumerate(texts)]
    requests.append((speak("No context at all."), TranscribeOptions()))
    together = engines.stt.transcribe_many(requests)
    alone = [engines.stt.transcribe(audio, options) for audio, options in requests]
    for text, one, both in zip([*texts, "No context at all."], alone, together, strict=True):
        assert word_error_rate(text, both.text) <= 0.2, (both.text, one.text)
        assert abs(len(both.words) - len(one.words)) <= 1


def test_a_word_loop_collapses_to_one_copy() -> None:
    because = [1363, 11]  # " because", ","
    assert _collapse_loops([7, *because * 10, 9]) == [7, *because, 9]
    assert _collapse_loops([5, 5, 5, 5, 6]) == [5, 6]
    assert _collapse_loops([1, 2, 1, 2, 3]) == [1, 2, 1, 2, 3]  # "no, no" stays
    assert _collapse_loops([]) == []


def test_a_dangling_word_before_a_cut_joins_the_sentence() -> None:
    assert join_texts(["and the weights come from.", "The dot product of the keys."]) == \
        "and the weights come from the dot product of the keys."
    assert join_texts(["then I would add, um.", "Add features."]) == \
        "then I would add, um add features."
    # Whisper's other spellings of a filler dangle the same way.
    assert join_texts(["the errors it makes, and hum.", "Add features."]) == \
        "the errors it makes, and hum add features."
    assert join_texts(["It is simple.", "The second reason is"]) == \
        "It is simple. The second reason is"


# ---------------------------------------------------------------------------- speech cache


def test_a_sentence_spoken_once_is_replayed_from_disk(engines, tmp_path) -> None:
    piper = engines.tts.voice.voice if isinstance(engines.tts.voice, SpokenCache) \
        else engines.tts.voice
    cache = SpokenCache(piper, tmp_path / "speech", max_bytes=10 * 2**20, identity="joe:1")
    sentence = "What is the difference between bagging and boosting?"
    assert cache.cached(sentence) is None
    first = b"".join(c.pcm for c in cache.synthesize(sentence, variation=False))
    assert cache.misses == 1 and len(first) > piper.sample_rate  # over half a second
    again = b"".join(c.pcm for c in cache.synthesize(sentence, variation=False))
    assert again == first and cache.hits == 1
    # Another process (a restart) finds it too; another voice or speed does not.
    restarted = SpokenCache(piper, tmp_path / "speech", 10 * 2**20, identity="joe:1")
    assert restarted.cached(sentence, variation=False) == first
    assert SpokenCache(piper, tmp_path / "speech", 10 * 2**20, "amy:1").cached(
        sentence, variation=False) is None
    assert restarted.cached(sentence, length_scale=1.2, variation=False) is None
    # The memory tier above it sees through to the disk.
    assert PhraseCache(restarted).cached(sentence, variation=False) == first


def test_the_speech_cache_keeps_to_its_size(engines, tmp_path) -> None:
    piper = engines.tts.voice.voice if isinstance(engines.tts.voice, SpokenCache) \
        else engines.tts.voice
    one = len(b"".join(c.pcm for c in piper.synthesize("Next one.", variation=False)))
    # The limit counts the index too: room for it and two and a half sentences.
    index = SpokenCache(piper, tmp_path / "empty", max_bytes=2**20, identity="x").volume()
    limit = index + int(one * 2.5)
    cache = SpokenCache(piper, tmp_path / "speech", max_bytes=limit, identity="x")
    for text in ("Next one.", "Moving on.", "Let's go on.", "Here's another."):
        list(cache.synthesize(text, variation=False))
    assert 1 <= cache.entries() <= 2
    assert cache.volume() <= limit
    assert cache.cached("Here's another.", variation=False) is not None  # the newest stays


def test_files_of_the_old_one_file_a_sentence_cache_are_removed(engines, tmp_path) -> None:
    folder = tmp_path / "speech"
    folder.mkdir()
    (folder / f"{'a' * 40}.pcm").write_bytes(b"\x01\x00" * 1000)
    (folder / "tmp1234.part").write_bytes(b"\x01")
    cache = SpokenCache(engines.tts.unkept, folder, 10 * 2**20, identity="joe")
    assert not list(folder.glob("*.pcm")) and not list(folder.glob("*.part"))
    assert cache.entries() == 0


async def test_words_that_may_quote_the_candidate_are_not_kept_on_disk(engines, tmp_path) -> None:
    from server.engines.tts import SynthesisQueue
    from server.speaking import Synthesis

    piper = engines.tts.unkept
    voice = PhraseCache(SpokenCache(piper, tmp_path / "speech", 10 * 2**20, identity="joe"))
    queue = SynthesisQueue(workers=1)
    try:
        for keep, text in ((False, "Nice, you said the minority class is what you care about."),
                           (True, "Nice, that was the question about imbalanced data.")):
            synthesis = Synthesis.start(voice, text, 1.0, queue, keep=keep)
            chunks = []
            while (chunk := await asyncio.wait_for(synthesis.chunks.get(), 30)) is not None:
                chunks.append(chunk)
            assert sum(len(c) for c in chunks) > piper.sample_rate  # it was all spoken
    finally:
        queue.close()
    kept = SpokenCache(piper, tmp_path / "speech", 10 * 2**20, identity="joe")
    assert kept.entries() == 2  # "Nice," and the 2nd rest
    assert voice.cached("that was the question about imbalanced data.") is not None
    assert voice.cached("you said the minority class is what you care about.") is None


def test_the_server_keeps_spoken_sentences_in_its_data_folder(engines) -> None:
    assert isinstance(engines.tts, PhraseCache) and isinstance(engines.tts.voice, SpokenCache)
    sentence = "Explain the attention mechanism and transformers."
    list(engines.tts.synthesize(sentence))
    assert engines.tts.voice.cached(sentence) is not None


async def test_the_bank_is_spoken_into_the_cache_only_while_nobody_is_in_a_session(
        engines, tmp_path) -> None:
    from server.bank import load_bank
    from server.prewarm import bank_sentences, prewarm

    sentences = bank_sentences(load_bank())
    assert len(sentences) > 300 and len(set(sentences)) == len(sentences)
    question = load_bank().questions[0]
    assert any(question.prompt.startswith(s.split(",")[0]) for s in sentences)
    cache = SpokenCache(engines.tts.unkept, tmp_path / "speech", 10 * 2**20, identity="joe")
    sessions = {"active": 1}
    task = asyncio.ensure_future(prewarm(cache, sentences[:2], 1.0,
                                         busy=lambda: sessions["active"] > 0))
    await asyncio.sleep(0.5)
    assert cache.entries() == 0  # paused while a session runs
    sessions["active"] = 0
    assert await asyncio.wait_for(task, 60) == 2
    assert all(cache.cached(s) is not None for s in sentences[:2])
    assert await prewarm(cache, sentences[:2], 1.0, busy=lambda: False) == 0  # said once


def test_the_warm_up_runs_on_one_thread_at_the_lowest_priority(engines, tmp_path,
                                                               monkeypatch) -> None:
    import os
    import sys

    from server import prewarm as warmup

    if not sys.platform.startswith("linux"):
        return  # per-thread nice values are Linux's
    seen: dict[str, int] = {}
    say = warmup._say

    def spy(cache, voice, sentence, length_scale):
        seen[threading.current_thread().name] = os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id())
        return say(cache, voice, sentence, length_scale)

    cache = SpokenCache(engines.tts.unkept, tmp_path / "speech", 10 * 2**20, identity="joe")
    monkeypatch.setattr(warmup, "_say", spy)
    said = asyncio.run(warmup.prewarm(cache, ["One sentence.", "Two sentences."], 1.0,
                                      busy=lambda: False))
    assert said == 2
    assert len(seen) == 1 and next(iter(seen.values())) == warmup.NICE  # one thread, nice 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != warmup.NICE
    assert cache.cached("Two sentences.") is not None


# ---------------------------------------------------------------------------- silence gate


class CountingModel:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def frame_probability(self, frame: np.ndarray, state: VadState) -> float:
        self.calls += 1
        return self.inner.frame_probability(frame, state)


def test_digital_silence_skips_the_voice_model_and_speech_still_starts(engines, speak) -> None:
    model = CountingModel(engines.vad)
    vad = StreamingVad(model)
    frames = vad.process(np.zeros(FRAME_SAMPLES * 30, dtype=np.float32))
    assert len(frames) == 30 and model.calls == 0
    assert all(f.probability == 0.0 and not f.speech for f in frames)
    speech = vad.process(speak("Regularization adds a penalty to the loss."))
    assert model.calls > 0 and any(f.speech for f in speech)
    # Faint noise (-50 dBFS) is above the gate: the model judges it, and hears no speech.
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(FRAME_SAMPLES * 30) * 0.003).astype(np.float32)
    calls = model.calls
    quiet = StreamingVad(model).process(noise)
    assert model.calls - calls == 30 and not any(f.speech for f in quiet)


class ScriptedModel:
    """Speech probabilities from a list, one per frame (pure logic of the hysteresis)."""

    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = iter(probabilities)

    def frame_probability(self, frame: np.ndarray, state: VadState) -> float:
        return next(self.probabilities)


def test_an_onset_being_weighed_is_visible_before_speech_is_called() -> None:
    vad = StreamingVad(ScriptedModel([0.1, 0.9, 0.9, 0.9, 0.1]), start_frames=3)
    loud = np.full(FRAME_SAMPLES, 0.1, dtype=np.float32)
    vad.process(loud)
    assert not vad.onset_pending
    vad.process(np.concatenate([loud, loud]))
    assert vad.onset_pending and not vad.speech  # two of three frames: not yet speech
    vad.process(loud)
    assert vad.speech and not vad.onset_pending


# ---------------------------------------------------------------------------- embedder


def test_texts_are_batched_only_with_texts_of_their_own_length() -> None:
    groups = _same_length_groups([5, 3, 5, 3, 9] + [4] * 40)
    assert sorted(i for g in groups for i in g) == list(range(45))
    lengths = [5, 3, 5, 3, 9] + [4] * 40
    for group in groups:
        assert len({lengths[i] for i in group}) == 1 and len(group) <= 32
    assert [1, 3] in groups and [0, 2] in groups and [4] in groups


def test_a_text_gets_the_same_vector_whatever_its_batch(engines) -> None:
    embed = engines.embedder.embed
    alone = embed(["Bias is the systematic error of the model."])
    among = embed(["Variance.", "Bias is the systematic error of the model.",
                   "Bias is how far off the model is on average.", "Regularization."])
    assert np.allclose(np.linalg.norm(among, axis=1), 1.0, atol=1e-5)
    assert float(alone[0] @ among[1]) > 0.99999
    # The float weights (the NumPy encoder viva ran before) gave this pair 0.4046.
    pair = embed(["This is an example sentence", "Each sentence is converted"])
    assert abs(float(pair[0] @ pair[1]) - 0.4046) < 0.005


# ---------------------------------------------------------------------------- endpointing


def _landed(text: str) -> asyncio.Future[Transcription | None]:
    future: asyncio.Future[Transcription | None] = asyncio.get_running_loop().create_future()
    future.set_result(Transcription(text=text))
    return future


async def test_speech_that_came_back_without_words_means_still_thinking() -> None:
    from server.turn import Piece, Turn, trails_off

    turn = Turn("t1", start_t=0.0)
    turn.segments = [(0.2, 2.9), (3.3, 4.0)]  # "... the errors it makes," then "and, um,"
    said = Piece(0.0, 3.0, _landed("Then I would look at the errors it makes."), _landed(""))
    unread = Piece(3.1, 4.1, _landed(""), _landed(""), speculative=True)
    turn.pieces = [said]
    assert not trails_off(turn)
    turn.pieces = [said, unread]
    assert trails_off(turn)
    # A breath too short to be a word does not hold the turn open.
    turn.segments = [(0.2, 2.9), (3.3, 3.4)]
    assert not trails_off(turn)


async def test_speech_after_the_last_word_whisper_wrote_means_still_thinking() -> None:
    from server.engines.stt import TranscribedWord
    from server.turn import Piece, Turn, trails_off

    def landed(end: float) -> asyncio.Future[Transcription | None]:
        future: asyncio.Future[Transcription | None] = asyncio.get_running_loop().create_future()
        future.set_result(Transcription(text="Then I would look at the errors it makes.",
                                        words=[TranscribedWord("makes.", end - 0.3, end, 0.9)]))
        return future

    turn = Turn("t1", start_t=0.0)
    # "... the errors it makes," then "and, um," in the same piece; Whisper wrote neither.
    turn.segments = [(0.2, 2.9), (3.2, 3.9)]
    turn.pieces = [Piece(0.0, 4.1, landed(2.9), _landed(""))]
    assert trails_off(turn)
    # Every stretch of speech has its words: the answer may be over.
    turn.pieces = [Piece(0.0, 4.1, landed(3.85), _landed(""))]
    assert not trails_off(turn)
    # "and" dropped at the end of one piece, "um," alone in the next: too little in
    # either, but 0.45 s of speech after the last word written.
    turn.segments = [(0.2, 3.1), (3.6, 3.85)]
    turn.pieces = [Piece(0.0, 3.2, landed(2.9), _landed("")),
                   Piece(3.5, 4.0, _landed(""), _landed(""), speculative=True)]
    assert trails_off(turn)
    turn.segments = [(0.2, 2.95), (3.6, 3.75)]  # a breath after the last word: finished
    assert not trails_off(turn)
