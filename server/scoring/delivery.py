"""How the answer was said: pace, fillers, hedges, pauses, restarts, and a 0-100 mark.

Pauses come from the voice activity segments, not from Whisper's word times,
which stretch words over silences. Fillers come from a separate verbatim
transcription pass (Whisper drops "um" from a normal transcript), so the
content transcript keeps its accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

# The words and rules counted here are defined once, in server/lexicon.py, where the
# review page's marks come from too; the counting functions stay importable from here.
from server.lexicon import FILLERS, LONG_PAUSE_S, long_pauses, repeat_spans, word_key
from server.lexicon import count_fillers as count_fillers
from server.lexicon import find_hedges as find_hedges

PACE_BAND = (120.0, 170.0)


@dataclass(frozen=True)
class TimedWord:
    word: str
    start: float
    end: float


@dataclass
class DeliveryMetrics:
    words: int
    duration_s: float
    wpm: float
    filler_count: int
    fillers_per_min: float
    long_pauses: list[float] = field(default_factory=list)
    hedges: int = 0
    hedge_phrases: list[str] = field(default_factory=list)
    time_to_first_word_s: float | None = None
    repetitions: int = 0
    speaking_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def count_repetitions(words: Sequence[str]) -> int:
    """Immediate repeats ("the the") and restarted bigrams ("it is, it is")."""
    return len(repeat_spans([word_key(w) for w in words]))


def measure(
    words: Sequence[TimedWord],
    segments: Sequence[tuple[float, float]],
    text: str,
    verbatim_text: str | None = None,
    time_to_first_word_s: float | None = None,
) -> DeliveryMetrics:
    """Delivery figures of one spoken answer; `segments` are VAD speech spans in seconds."""
    spoken = [w for w in words if w.word.strip()]
    content_words = [w for w in spoken if word_key(w.word) not in FILLERS]
    if segments:
        start, end = segments[0][0], segments[-1][1]
        speaking = sum(b - a for a, b in segments)
        pauses = [round(end - start, 2) for start, end in long_pauses(segments)]
    elif spoken:
        start, end = spoken[0].start, spoken[-1].end
        speaking = end - start
        pauses = []
    else:
        start = end = speaking = 0.0
        pauses = []
    duration = max(0.0, end - start)
    minutes = duration / 60 if duration > 0 else 0.0
    fillers = max(count_fillers(text), count_fillers(verbatim_text or ""))
    hedges = find_hedges(text)
    return DeliveryMetrics(
        words=len(content_words),
        duration_s=round(duration, 2),
        wpm=round(len(content_words) / minutes, 1) if minutes else 0.0,
        filler_count=fillers,
        fillers_per_min=round(fillers / minutes, 2) if minutes else 0.0,
        long_pauses=pauses,
        hedges=len(hedges),
        hedge_phrases=hedges,
        time_to_first_word_s=time_to_first_word_s,
        repetitions=count_repetitions([w.word for w in spoken]),
        speaking_s=round(speaking, 2),
    )


@dataclass(frozen=True)
class DeliveryWeights:
    pace_penalty_per_wpm: float = 0.6
    pace_penalty_cap: float = 35.0
    free_fillers_per_min: float = 2.0
    filler_penalty: float = 5.0  # per filler a minute above the free allowance
    filler_cap: float = 30.0
    hedge_penalty: float = 4.0  # per hedge beyond the first
    hedge_cap: float = 16.0
    pause_penalty: float = 6.0  # per long pause
    pause_cap: float = 24.0
    repetition_penalty: float = 2.0
    repetition_cap: float = 10.0


def delivery_score(metrics: DeliveryMetrics, weights: DeliveryWeights | None = None) -> float:
    """100 for a fluent answer in the comfortable pace band; each habit costs, up to a cap."""
    w = weights or DeliveryWeights()
    if metrics.words == 0:
        return 0.0
    low, high = PACE_BAND
    off_band = max(0.0, low - metrics.wpm) + max(0.0, metrics.wpm - high)
    penalty = min(w.pace_penalty_cap, off_band * w.pace_penalty_per_wpm)
    excess_fillers = max(0.0, metrics.fillers_per_min - w.free_fillers_per_min)
    penalty += min(w.filler_cap, excess_fillers * w.filler_penalty)
    penalty += min(w.hedge_cap, max(0, metrics.hedges - 1) * w.hedge_penalty)
    penalty += min(w.pause_cap, len(metrics.long_pauses) * w.pause_penalty)
    penalty += min(w.repetition_cap, metrics.repetitions * w.repetition_penalty)
    return round(max(0.0, 100.0 - penalty), 1)


def biggest_habit(metrics: DeliveryMetrics) -> str | None:
    """The one delivery habit most worth fixing, as a specific sentence, or None."""
    low, high = PACE_BAND
    candidates: list[tuple[float, str]] = []
    if metrics.fillers_per_min > 2:
        candidates.append((metrics.fillers_per_min * 5,
                           f"You used {metrics.filler_count} fillers like 'um' "
                           f"({metrics.fillers_per_min:.0f} a minute); pause silently instead."))
    if metrics.wpm and metrics.wpm > high:
        candidates.append(((metrics.wpm - high) * 0.6,
                           f"You spoke at {metrics.wpm:.0f} words a minute; slow down toward "
                           f"150 so each point lands."))
    if metrics.wpm and metrics.wpm < low and metrics.words >= 15:
        candidates.append(((low - metrics.wpm) * 0.6,
                           f"Your pace was {metrics.wpm:.0f} words a minute; aim for about 130 "
                           f"by planning your next sentence before you start it."))
    if metrics.long_pauses:
        longest = max(metrics.long_pauses)
        candidates.append((len(metrics.long_pauses) * 6,
                           f"You paused {len(metrics.long_pauses)} time"
                           f"{'s' if len(metrics.long_pauses) > 1 else ''} for over "
                           f"{LONG_PAUSE_S:.1f} seconds (longest {longest:.1f}); signpost "
                           f"instead, for example 'the second reason is'."))
    if metrics.hedges > 1:
        phrase = metrics.hedge_phrases[0] if metrics.hedge_phrases else "maybe"
        candidates.append(((metrics.hedges - 1) * 4,
                           f"You hedged {metrics.hedges} times ('{phrase}'); state what you "
                           f"know plainly."))
    if not candidates:
        return None
    return max(candidates)[1]
