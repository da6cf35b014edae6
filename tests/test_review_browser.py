"""The review page in real Chromium: a stored session with a recorded answer."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from server.audio.pcm import float_to_pcm16
from server.engines.stt import TranscribeOptions
from server.lexicon import LONG_PAUSE_S, is_filler, mark_words
from server.scoring.delivery import TimedWord, measure
from tests.conftest import launch_chromium
from tests.test_sessions_api import attach_store, open_seeder, score, seed_session

pytestmark = pytest.mark.slow

TOKEN = "review-token-0123456789abc"
PART_ONE = "I think bias means the model is too simple, so it underfits."
PART_TWO = "And maybe variance means it changes a lot with the training data."


def expected_marks(words: list[dict], segments: list[list[float]]) -> tuple[set[int], set[int], int]:
    """What delivery scoring counts on these words (server/lexicon.py): the indices of
    the fillers and of the hedges' words, and the number of long pauses."""
    marks = mark_words([w["word"] for w in words], [w["start"] for w in words], segments)
    fillers = {i for i, m in enumerate(marks) if "filler" in m.marks}
    hedges = {i for i, m in enumerate(marks) if "hedge" in m.marks}
    timed = [TimedWord(w["word"], w["start"], w["end"]) for w in words]
    text = " ".join(w["word"] for w in words)
    metrics = measure(timed, [(a, b) for a, b in segments], text)
    assert len(fillers) == metrics.filler_count and metrics.hedges >= 1
    return fillers, hedges, len(metrics.long_pauses)


@pytest.fixture(scope="module")
def recorded(engines, speak) -> dict[str, Any]:
    """A spoken answer with a filler, hedges and a long pause, and its real word timings."""
    gap = np.zeros(int(16000 * 0.25), np.float32)
    um, one, two = speak("Um."), speak(PART_ONE), speak(PART_TWO)
    pause = np.zeros(int(16000 * 2.4), np.float32)
    audio = np.concatenate([gap, um, gap, one, pause, two, gap]).astype(np.float32)
    result = engines.stt.transcribe(audio, TranscribeOptions(word_timestamps=True))
    words = [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
              "probability": round(w.probability, 3)} for w in result.words]
    um_end = (len(gap) + len(um)) / 16000
    if not words or not is_filler(words[0]["word"]):
        # Whisper tends to drop disfluencies; the page must mark them when they are there.
        words.insert(0, {"word": "Um,", "start": len(gap) / 16000, "end": round(um_end, 3),
                         "probability": 0.5})
    one_start = um_end + len(gap) / 16000
    two_start = one_start + (len(one) + len(pause)) / 16000
    segments = [[round(len(gap) / 16000, 3), round(um_end, 3)],
                [round(one_start, 3), round(one_start + len(one) / 16000, 3)],
                [round(two_start, 3), round(two_start + len(two) / 16000, 3)]]
    pcm = float_to_pcm16(audio)
    return {"words": words, "segments": segments, "pcm": pcm, "seconds": len(audio) / 16000}


def run_async(coro: Any) -> Any:
    """Run a coroutine on a fresh loop in a worker thread: Playwright's sync API keeps
    an event loop running in this thread while a browser is open."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def seed_review(settings: Any, recorded: dict[str, Any]) -> None:
    store = await open_seeder(settings)
    try:
        # An older session (for the progress chart), then the one under review.
        await seed_session(store, "older", "older-token-0123456789")
        await store.finish_session("older", {
            "session_id": "older", "overall": 60.0, "questions": [], "strengths": [],
            "improvements": [], "categories": {"fundamentals": 60.0}})
        await store.create_session("spoken", TOKEN, "interview", {"mode": "interview"})
        await store.add_question("spoken", 1, "bias-variance", "fundamentals",
                                 "Explain the bias-variance tradeoff.")
        await store.add_turn("spoken", {"turn_id": "u1", "speaker": "interviewer",
                                        "kind": "question", "question_id": "bias-variance",
                                        "text": "Explain the bias-variance tradeoff."})
        path = await store.save_audio("spoken", "t1", recorded["pcm"])
        text = " ".join(w["word"].strip() for w in recorded["words"])
        await store.add_turn("spoken", {
            "turn_id": "t1", "speaker": "candidate", "text": text,
            "question_id": "bias-variance", "words": recorded["words"],
            "segments": recorded["segments"], "score": score("t1", "bias-variance", 71, 58),
            "audio_path": path,
        })
        await store.add_question("spoken", 2, "regularization", "fundamentals",
                                 "What is regularization?")
        await store.add_turn("spoken", {"turn_id": "t2", "speaker": "candidate",
                                        "text": "It penalizes large weights.",
                                        "question_id": "regularization", "words": [],
                                        "score": score("t2", "regularization", 45, None)})
    finally:
        await store.close()


@pytest.fixture(scope="module")
def review_server(make_server, recorded) -> Any:
    server = make_server()
    run_async(seed_review(attach_store(server), recorded))
    return server


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def test_review_page_marks_words_and_plays_from_a_clicked_word(browser, review_server, recorded,
                                                                tmp_path) -> None:
    server = review_server
    words = recorded["words"]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.url}/review/spoken?token={TOKEN}")
        page.wait_for_selector("body[data-state=ready]", timeout=20_000)

        answer = page.locator("article.answer[data-turn-id=t1]")
        buttons = answer.locator(".transcript button.w")
        assert buttons.count() == len(words)
        assert buttons.all_inner_texts() == [w["word"].strip() for w in words]
        fillers, hedges, long_pauses = expected_marks(words, recorded["segments"])
        assert fillers and hedges and long_pauses, words
        marked_fillers = set(answer.locator(".transcript button.w").evaluate_all(
            "ns => ns.flatMap((n, i) => n.classList.contains('filler') ? [i] : [])"))
        marked_hedges = set(answer.locator(".transcript button.w").evaluate_all(
            "ns => ns.flatMap((n, i) => n.classList.contains('hedge') ? [i] : [])"))
        assert marked_fillers == fillers
        assert marked_hedges == hedges
        pauses = answer.locator(".transcript .pause")
        assert pauses.count() == long_pauses
        assert float(pauses.first.get_attribute("data-seconds")) >= LONG_PAUSE_S

        # The typed answer is plain text, without word buttons or audio.
        typed = page.locator("article.answer[data-turn-id=t2]")
        assert typed.locator("button.w").count() == 0
        assert "penalizes large weights" in typed.inner_text()
        assert typed.locator("[data-score=delivery] .score-value").inner_text() == "—"

        # Score card, key points and feedback of the spoken answer.
        assert answer.locator("[data-score=overall] .score-value").inner_text() == "71"
        assert answer.locator(".kp.covered").count() == 2
        assert answer.locator(".kp.missed").count() == 1
        assert "bias means underfitting" in answer.locator(".kp-evidence").first.inner_text()
        assert "error decomposition" in answer.locator(".feedback").inner_text()

        # Charts: a bar per question, a pace line for the spoken answer.
        assert page.locator("#score-chart svg .bar-group").count() == 2
        assert page.locator("#score-chart svg rect.bar").count() == 2
        assert answer.locator(".pace-chart svg path.line").count() == 1

        # The model answer shows only on request.
        model = page.locator(".question-head[data-question-id=bias-variance] .model-answer")
        assert model.is_hidden()
        page.locator(".question-head[data-question-id=bias-variance] .reveal-btn").click()
        assert model.is_visible() and len(model.inner_text()) > 40

        # Click a word in the second half: the recording plays from that word.
        target = next(i for i, w in enumerate(words) if w["start"] > recorded["seconds"] / 2)
        start = words[target]["start"]
        buttons.nth(target).click()
        page.wait_for_function(
            """([start]) => {
                const p = document.getElementById('player');
                return !p.paused && p.currentTime >= start - 0.05 && p.currentTime < start + 1.0;
            }""", arg=[start], timeout=15_000)
        state = page.evaluate("""() => {
            const p = document.getElementById('player');
            return {t: p.currentTime, paused: p.paused, src: p.src, seek: window.vivaReview.lastSeek};
        }""")
        assert abs(state["t"] - start) < 1.0 and not state["paused"]
        assert "/api/sessions/spoken/turns/t1/audio?token=" in state["src"]
        assert state["seek"] == {"turnId": "t1", "t": start}
        # The word being spoken is highlighted as the recording plays.
        spoken = page.wait_for_selector("article.answer[data-turn-id=t1] button.w.speaking",
                                        timeout=5_000)
        assert spoken is not None
        background = spoken.evaluate("n => getComputedStyle(n).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        assert not errors, errors
    finally:
        page.close()


def test_review_page_without_token_is_not_found(browser, review_server) -> None:
    server = review_server
    page = browser.new_page()
    try:
        response = page.goto(f"{server.url}/review/spoken?token=wrong")
        assert response is not None and response.status == 404
    finally:
        page.close()


def test_sessions_page_charts_progress_and_links_reviews(browser, review_server,
                                                        tmp_path) -> None:
    server = review_server
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.url}/review")
        page.wait_for_selector("body[data-state=ready]", timeout=20_000)
        rows = page.locator("#sessions tbody tr")
        assert rows.count() >= 2
        assert rows.first.get_attribute("data-session-id") == "spoken"  # newest first
        chart = page.locator("#progress-chart svg")
        assert chart.count() == 1
        names = chart.locator(".series[data-name]").evaluate_all(
            "ns => ns.map(n => n.getAttribute('data-name'))")
        assert "overall" in names and "fundamentals" in names
        assert chart.locator(".series[data-name=overall] path.line").count() == 1
        page.screenshot(path=str(tmp_path / "sessions.png"), full_page=True)
        rows.first.locator("a").click()
        page.wait_for_selector("body[data-state=ready] article.answer[data-turn-id=t1]",
                               timeout=20_000)
        assert "/review/spoken?token=g." in page.url
        assert not errors, errors
    finally:
        page.close()
