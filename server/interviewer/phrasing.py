"""Key points turned into short spoken phrases for acknowledgements, feedback and summaries.

Key point texts are written for a rubric, in three shapes:

* an action, either imperative ("Scale the features first, or ...") or a
  description of the candidate ("Uses a concrete everyday analogy, such as ...");
* a label: a heading before a colon ("Cold start: new users get ...") or a noun
  phrase without a verb ("Transaction features such as amount, ...");
* a statement ("Bias measures how far the predictions are ...").

`phrase()` cuts the text to its first clause, trims it at a word boundary that
does not leave a dangling word, and knows its shape, so that callers can say
"you used a concrete everyday analogy", "you didn't scale the features first",
"you covered cold start" or "you explained that bias measures ...". Pure text
rules; no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from server.interviewer.phrasing_words import (
    ADJECTIVES,
    ADVERBS,
    AUX,
    COMPOUND,
    DANGLING,
    DETERMINERS,
    EXTRA_VERBS,
    INTRO,
    NO_CUT_AFTER,
    NOT_OBJECT,
    PARENTHETICAL,
    PAST,
    PEOPLE,
    PLURAL_NOUNS,
    PRONOUN_SWAP,
    PRONOUNS,
    PROPER,
    SILENT_ADVERBS,
    STRONG_BREAKS,
    SUBORDINATE,
    THIRD_PERSON,
    WEAK_BREAKS,
)

Shape = Literal["action", "label", "statement"]

MAX_WORDS = 14


@dataclass(frozen=True)
class Phrase:
    """A key point as a short phrase of a known shape."""

    shape: Shape
    text: str  # the trimmed clause as written (imperative, heading or statement)
    base: str = ""  # action: the imperative ("use a concrete everyday analogy")
    past: str = ""  # action: the past tense ("used a concrete everyday analogy")

    @property
    def did(self) -> str:
        """'you used a concrete analogy' / 'you covered cold start' / 'you explained that ...'."""
        if self.shape == "action":
            return f"you {self.past}"
        if self.shape == "label":
            return f"you covered {_lower_first(self.text)}"
        return f"you explained that {_lower_first(self.text)}"

    @property
    def missed(self) -> str:
        """'you didn't use a concrete analogy' / 'you didn't cover ...' / 'you didn't mention that ...'."""
        if self.shape == "action":
            return f"you didn't {self.base}"
        if self.shape == "label":
            return f"you didn't cover {_lower_first(self.text)}"
        return f"you didn't mention that {_lower_first(self.text)}"

    @property
    def todo(self) -> str:
        """Something to work on, said after 'To work on:'."""
        if self.shape == "action":
            return self.base
        if self.shape == "label":
            return _lower_first(self.text)
        return f"remember that {_lower_first(self.text)}"

    @property
    def strength(self) -> str:
        """A strength for the summary on screen: 'Used a concrete everyday analogy'."""
        return _upper_first(self.past if self.shape == "action" else self.text)

    @property
    def improvement(self) -> str:
        """A thing to improve for the summary on screen: 'Use a concrete everyday analogy'."""
        return _upper_first(self.base if self.shape == "action" else self.text)


def _lower_first(text: str) -> str:
    """Lower the first letter for use inside a sentence, unless it starts a name or acronym."""
    words = text.split(" ", 2)
    core = words[0].strip("'\"(")
    following = words[1] if len(words) > 1 else ""
    if core in ("The", "An") or (core == "A" and len(following.strip(",")) != 1):
        return text[:1].lower() + text[1:]  # the article, not the letter "A"
    name = len(following) > 1 and following[:1].isupper() and following[1:] == following[1:].lower()
    if (len(core) > 1 and core[1:] == core[1:].lower() and core.replace("-", "").isalpha()
            and core.lower() not in PROPER and not name):
        return text[:1].lower() + text[1:]
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _verb_base(word: str) -> str | None:
    """The base form when `word` is a known verb, bare or third person ('uses' -> 'use')."""
    lowered = word.lower()
    if lowered in PAST:
        return lowered
    if lowered in THIRD_PERSON:
        return THIRD_PERSON[lowered]
    candidates = []
    if lowered.endswith("ies"):
        candidates.append(lowered[:-3] + "y")
    if lowered.endswith("es"):
        candidates.append(lowered[:-2])
    if lowered.endswith("s"):
        candidates.append(lowered[:-1])
    return next((c for c in candidates if c in PAST), None)


@dataclass(frozen=True)
class _Action:
    base: str  # "use a concrete everyday analogy"
    past: str  # "used a concrete everyday analogy"


def _action(words: list[str]) -> _Action | None:
    """The action's imperative and past forms when the words open with a known verb."""
    rest = list(words)
    lead: list[str] = []
    while len(rest) > 1 and rest[0].lower() in ADVERBS:
        adverb = rest.pop(0).lower()
        if adverb not in SILENT_ADVERBS:
            lead.append(adverb)
    if not rest:
        return None
    pair = " ".join(rest[:2]).lower()
    if pair in COMPOUND and len(rest) > 2:
        base_form, past_form = COMPOUND[pair]
        return _Action(" ".join([*lead, base_form, *rest[2:]]), " ".join([*lead, past_form, *rest[2:]]))
    first = rest[0].lower().strip(",")
    base = _verb_base(first)
    if base is None or (len(rest) > 1 and rest[1].lower().strip(",;:") in NOT_OBJECT):
        return None
    described = first != base  # "Uses an analogy" describes the candidate
    if base == "do" and len(rest) > 1 and rest[1].lower() == "not":  # "Do not use accuracy"
        tail = _gerund_object(rest[2:])
        return _Action(" ".join([*lead, "avoid", *tail]), " ".join([*lead, "avoided", *tail]))
    return _Action(" ".join([*lead, *_convert_verbs(rest, "base", described)]),
                   " ".join([*lead, *_convert_verbs(rest, "past", described)]))


def _strip_intro(words: list[str]) -> list[str]:
    """'In each iteration compute z ...' -> 'compute z ...': the action without its setting."""
    if not words or words[0].lower() not in (INTRO | {"each", "every"}):
        return words
    for k in range(1, min(6, len(words))):
        word = words[k]
        if (word == word.lower() and word in PAST and words[k - 1].lower() not in DETERMINERS
                and words[k - 1].lower() not in PRONOUNS):
            return words[k:]
    return words


def _gerund_object(words: list[str]) -> list[str]:
    """'use accuracy' -> 'using accuracy' after 'avoid'."""
    if not words:
        return words
    verb = words[0].lower()
    if verb.endswith("e") and not verb.endswith("ee"):
        verb = verb[:-1]
    return [verb + "ing", *words[1:]]


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".!? ")


def _has_finite_verb(words: list[str]) -> bool:
    """Whether a clause has a finite verb ("bias measures ...") or is a noun phrase."""
    if words and words[0].lower() in PRONOUNS - {"that", "this", "these", "those"}:
        return True
    for i, word in enumerate(words):
        low = word.lower().strip(",;:")
        if low in AUX or low.endswith("n't"):
            return True
        if i == 0 or words[i - 1].lower() in DETERMINERS:
            continue
        if word.endswith(",") or (len(words) <= 2 and i == len(words) - 1 and low.endswith("s")):
            continue  # "Rate limits, ...": a noun, not a verb
        if low.endswith("s") and not low.endswith(("ss", "'s")) and low not in PLURAL_NOUNS and (
                _verb_base(low) is not None or low[:-1] in EXTRA_VERBS or low[:-2] in EXTRA_VERBS):
            return True
        previous = words[i - 1].lower()
        if (low in PAST or low in EXTRA_VERBS) and previous.endswith("s") and not previous.endswith("ss"):
            return True  # a plural subject and its verb: "labels come from ..."
        if low in EXTRA_VERBS and i <= 6 and "and" in words[:i]:
            return True  # "the learning rate and its schedule remain ..."
    return False


def _starts_clause(text: str) -> bool:
    """Whether `text` opens with a finite verb, so that it can finish the clause before it."""
    words = text.split()
    if not words:
        return False
    first = words[0].lower()
    return first in AUX or (first.endswith("s") and (
        _verb_base(first) is not None or first[:-1] in EXTRA_VERBS or first[:-2] in EXTRA_VERBS))


def _comma_parts(text: str) -> list[str]:
    """The comma parts of a clause: appositives dropped, a first list kept whole."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return parts or [text]
    # "Use Laplace, or additive, smoothing ..." -> "Use Laplace smoothing ..."
    if len(parts) >= 3 and parts[1].lower().startswith("or ") and len(parts[1].split()) <= 3:
        parts = [f"{parts[0]} {parts[2]}", *parts[3:]]
    # "Recall, also called sensitivity, is ..." -> "Recall is ..."
    subject = parts[0].split()
    for k in range(2, len(parts)):
        if _has_finite_verb(subject) or _action(subject) is not None:
            break
        if _starts_clause(parts[k]):
            if all(len(p.split()) <= 8 for p in parts[1:k]):
                parts = [f"{parts[0]} {parts[k]}", *parts[k + 1:]]
            break
    first = parts[0].split()
    following = parts[1].split() if len(parts) > 1 else []
    if len(parts) > 1 and (
            # "Attention of Q, K and V equals ..."
            (len(first) <= 3 and first[0].lower() not in INTRO | SUBORDINATE
             and not _has_finite_verb(first) and _action(first) is None)
            # "plain, respectful language"; not "clear, saying ..."
            or (first[-1].lower() in ADJECTIVES and not following[0].lower().endswith("ing")
                and following[0].lower() not in STRONG_BREAKS | WEAK_BREAKS)):
        parts = [f"{parts[0]}, {parts[1]}", *parts[2:]]
    # A short list that ends with "and" or "or" stays whole: "precision, recall and F1".
    for j in range(1, len(parts)):
        words = parts[j].split()
        first_word = words[0].lower()
        if (len(words) > 8 or parts[j].lower().startswith(PARENTHETICAL)
                or first_word in STRONG_BREAKS or first_word.endswith("ing")
                or _action(words) is not None or _has_finite_verb(words)):
            break
        opens_clause = words[0].lower() in ("and", "or") and len(words) > 1 and (
            _verb_base(words[1]) is not None or words[1].lower() in AUX)
        if ("and" in words or "or" in words) and not opens_clause:
            return [", ".join(parts[: j + 1]), *parts[j + 1:]]
        if len(words) > 3:
            break
    return parts


def _clause(text: str) -> tuple[str, bool]:
    """The first clause of a key point, and whether it is a heading before a colon."""
    text = _first_sentence(text)
    text = re.sub(r"^(?:nice to have|bonus|optionally)\s*[:,]\s*", "", text, flags=re.IGNORECASE)
    text = text.split(";")[0].strip()
    head, colon, tail = text.partition(":")
    if colon:
        head_words = head.split()
        if _is_heading(head_words):
            return head.strip(), True
        text = head.strip() if len(head_words) >= 2 else tail.strip()
    words = text.split()
    first = words[0].lower() if words else ""
    raw = [p.strip() for p in text.split(",") if p.strip()]
    lead = raw[0].split() if raw else []
    if len(raw) > 1 and (first in SUBORDINATE or (first in INTRO and len(lead) <= 6)):
        rest = raw[1:]
        while len(rest) > 1 and rest[0].lower().startswith(PARENTHETICAL):
            rest = rest[1:]  # "If all weights start equal, such as zero, every unit ..."
        if len(" ".join(rest).split()) >= 3:
            return _clause(", ".join(rest))[0], False
    parts = _comma_parts(text)
    if len(parts[0].split()) >= 2 or _action(parts[0].split()) is not None:
        return parts[0], False
    return text, False


def _is_heading(words: list[str]) -> bool:
    """A short noun heading before a colon ("Cold start:"), not a clause ("It prevents ...")."""
    if not words or len(words) > 4:
        return False
    if _action(words) is not None:
        return len(words) > 2 and words[1].lower() == "and"  # "Train and test contamination"
    if words[0].lower() in PRONOUNS or _has_finite_verb(words):
        return False
    last = words[-1].lower()
    return not (len(words) >= 3 and last.endswith("s") and not last.endswith("ss"))


def _cut_example(words: list[str]) -> list[str]:
    """Drop a trailing 'such as ...' or 'for example ...' once the phrase has said its point."""
    for i in range(2, len(words)):
        pair = " ".join(words[i: i + 2]).lower().strip(",")
        if pair in ("such as", "for example", "for instance") or words[i].lower() in ("e.g.", "including"):
            return words[:i]
    return words


def _trim(words: list[str], max_words: int) -> list[str]:
    """At most `max_words`, cut where the phrase ends cleanly, never on a dangling word."""
    if len(words) <= max_words:
        return words
    low = max(3, max_words // 2)
    cut = next((i for i in range(max_words, 3, -1) if words[i - 1].endswith(",")), None)
    if cut is not None:  # the author's own clause boundary: keep it as written
        return [*words[: cut - 1], words[cut - 1].rstrip(",")]
    for breaks in (STRONG_BREAKS, WEAK_BREAKS):
        if cut is not None:
            break
        for i in range(max_words, low - 1, -1):
            if (i < len(words) and words[i].lower().strip(",") in breaks
                    and words[i - 1].lower().strip(",") not in NO_CUT_AFTER):
                cut = i
                break
    words = words[: cut if cut is not None else max_words]
    while len(words) > 1:
        last = words[-1].lower().strip(",")
        if last in DANGLING or last in ADJECTIVES:
            words = words[:-1]
        elif len(words) > 2 and words[-2].lower() in ("and", "or") and (
                _verb_base(last) is not None or last in EXTRA_VERBS or last[:-1] in EXTRA_VERBS):
            words = words[:-2]  # "... and handles [sparse gradients]"
        else:
            break
    return words


def _convert_verbs(words: list[str], to: Literal["base", "past"], described: bool) -> list[str]:
    """The action's verbs in one form: 'scale ... and pick ...' -> 'scaled ... and picked ...'.

    A description of the candidate ("Makes their own contribution clear") is said to them:
    "their" becomes "your" unless someone or something else came up since the verb
    ("Tells the customer what they could change", "options with their consequences").
    """
    out: list[str] = []
    since_verb: list[str] = []
    for i, word in enumerate(words):
        low = word.lower()
        stripped = low.strip(",")
        coordinated = i > 0 and words[i - 1].lower() in ("and", "or")
        base = _verb_base(stripped) if i == 0 or coordinated else None
        if base is not None and i > 0:
            following = words[i + 1].lower() if i + 1 < len(words) else ""
            bare_ok = stripped == base and following and not (
                following.endswith("s") and not following.endswith("ss"))
            if not (described and stripped != base) and not bare_ok:
                base = None
        if base is not None:
            out.append((base if to == "base" else PAST[base]) + ("," if low.endswith(",") else ""))
            since_verb = []
            continue
        if described and stripped in PRONOUN_SWAP:
            own = i + 1 < len(words) and words[i + 1].lower() == "own"
            others = any(w.lower() in PEOPLE or (w.lower().endswith("s") and not w.lower().endswith("ss"))
                         for w in since_verb)
            if own or not others:
                word = PRONOUN_SWAP[stripped] + ("," if low.endswith(",") else "")
        out.append(word)
        since_verb.append(stripped)
    return out


def phrase(text: str, max_words: int = MAX_WORDS) -> Phrase:
    """The key point `text` as a short phrase that reads well inside a sentence."""
    clause, is_heading = _clause(text)
    words = clause.rstrip(".,").split()
    if is_heading:
        return Phrase("label", " ".join(_trim(words, max_words)).rstrip(","))
    words = _trim(_cut_example(_strip_intro(words)), max_words)
    words[-1] = words[-1].rstrip(",")
    trimmed = " ".join(words)
    action = _action(words)
    if action is not None:
        return Phrase("action", trimmed, action.base, action.past)
    if _has_finite_verb(words):
        return Phrase("statement", trimmed)
    return Phrase("label", trimmed)
