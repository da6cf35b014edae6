"""Text normalisation shared by the scorers: tokens, crude stems, spans of an answer."""

from __future__ import annotations

import itertools
import re

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Spoken forms Whisper writes for notation the bank spells out, and vice versa.
_SPOKEN = [
    (re.compile(r"\bl ?1\b"), "l one"),
    (re.compile(r"\bl ?2\b"), "l two"),
    (re.compile(r"\bf ?1\b"), "f one"),
    (re.compile(r"\bk[- ]nn\b|\bknn\b"), "k nearest neighbors"),
    (re.compile(r"\broc[- ]?auc\b"), "roc auc"),
    (re.compile(r"\bpr[- ]?auc\b"), "pr auc"),
    (re.compile(r"\ba/b\b|\bab test"), "a b test"),
    (re.compile(r"\bre-?lu\b|\brelu\b"), "relu"),
    (re.compile(r"%"), " percent"),  # Whisper writes "ninety percent" as "90%"
    (re.compile(r"[-/]"), " "),
]


def normalize(text: str) -> str:
    out = text.lower().replace("’", "'")
    for pattern, repl in _SPOKEN:
        out = pattern.sub(repl, out)
    return out


_UNDOUBLE = re.compile(r"([b-df-hj-km-rtv-z])\1$")  # fitt -> fit, but not "class" or "fill"
#: (suffix, replacement), the first that fits wins; the stem keeps at least three letters.
_SUFFIXES = (("izations", "iz"), ("ization", "iz"), ("isations", "is"), ("isation", "is"),
             ("ations", ""), ("ation", ""), ("ings", ""), ("ing", ""), ("ies", "y"), ("ied", "y"),
             ("sses", "ss"), ("ses", "s"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
             ("zes", "z"), ("ed", ""), ("ly", ""))
_KEEP_S = ("ss", "us", "is", "as")  # bias, loss, focus, analysis: a final s that is no plural


def stem(word: str) -> str:
    """Just enough stemming to join a word's forms: 'weights'/'weight',
    'underfits'/'underfitting', 'regularize'/'regularization', 'features'/'feature'."""
    base = word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            base = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ings", "ed"):
                base = _UNDOUBLE.sub(r"\1", base)
            break
    else:
        if word.endswith("s") and not word.endswith(_KEEP_S) and len(word) > 3:
            base = word[:-1]
    if base.endswith("e") and len(base) > 3 and not base.endswith("ee"):
        base = base[:-1]  # compute/computed, feature/features, regularize/regularized
    return base


_STOP_WORDS = """a an the of to in on at by for with from as into onto about over under than then
and or but so if because while whereas which that this these those there here it its it's they
them their we our you your i me my he she his her be is are was were been being am do does did
doing have has had having can could will would shall should may might must just also very really
basically like um uh well okay so yeah actually kind sort thing things something some any all each
what when where who whom why how one ones get gets got""".split()


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


#: Words that carry no claim, as stems (compare with stems, not raw words).
STOPWORDS = frozenset(stem(w) for w in _STOP_WORDS)


def stems(text: str) -> list[str]:
    return [stem(t) for t in tokens(text)]


def contains_phrase(haystack: list[str], needle: list[str]) -> bool:
    if not needle or len(needle) > len(haystack):
        return False
    first = needle[0]
    for i, word in enumerate(haystack[: len(haystack) - len(needle) + 1]):
        if word == first and haystack[i: i + len(needle)] == needle:
            return True
    return False


_SENTENCE = re.compile(r"[^.!?;]+(?:[.!?;]+|$)")
_CLAUSE_BREAK = re.compile(r",\s+|\s+(?=(?:and|but|so|because|which|whereas|while)\s)")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of the answer's sentences, as `spans` cuts them."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def sentences(text: str) -> list[str]:
    """The answer's sentences, verbatim, as `spans` cuts them."""
    return [text[start:end].strip() for start, end in sentence_bounds(text)]


def _clauses(text: str, offset: int) -> list[tuple[int, int]]:
    """(start, end) character ranges of the clauses of one sentence."""
    ranges: list[tuple[int, int]] = []
    position = 0
    for match in _CLAUSE_BREAK.finditer(text):
        ranges.append((offset + position, offset + match.start()))
        position = match.end()
    ranges.append((offset + position, offset + len(text)))
    # Shorter fragments carry no claim; three words ("and early stopping") can name one.
    return [(a, b) for a, b in ranges if len(text[a - offset: b - offset].split()) >= 3]


def spans(text: str, max_words: int = 45, pairs_of_sentences: bool = False) -> list[str]:
    """Sentences, their clauses, and adjacent clause pairs: the candidate units of evidence.
    With `pairs_of_sentences`, two adjacent sentences too ("Take bias. It is when the model
    is too simple."), for claims whose subject was named one sentence earlier.

    Every span is a verbatim slice of `text`, so it can be quoted back as evidence.
    """
    ranges: list[tuple[int, int]] = []
    sentences: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text):
        raw = match.group(0)
        lead = len(raw) - len(raw.lstrip())
        start, end = match.start() + lead, match.start() + len(raw.rstrip())
        if end <= start:
            continue
        sentence = text[start:end]
        sentences.append((start, end))
        words = list(re.finditer(r"\S+", sentence))
        if len(words) <= max_words:
            ranges.append((start, end))
        else:  # a run-on spoken sentence: overlapping windows keep spans focused
            step = max_words // 2
            for i in range(0, len(words), step):
                chunk = words[i: i + max_words]
                ranges.append((start + chunk[0].start(), start + chunk[-1].end()))
        clauses = _clauses(sentence, start)
        if len(clauses) > 1:
            ranges.extend(clauses)
            ranges.extend((a[0], b[1]) for a, b in itertools.pairwise(clauses))
    if pairs_of_sentences:
        ranges.extend((a[0], b[1]) for a, b in itertools.pairwise(sentences)
                      if len(text[a[0]:b[1]].split()) <= max_words)
    seen: set[str] = set()
    unique: list[str] = []
    for a, b in ranges:
        span = text[a:b].strip(" ,")
        if span and span not in seen:
            seen.add(span)
            unique.append(span)
    return unique


def lower_first(text: str) -> str:
    """Lower the first letter unless the first word is an acronym or "I" (a sentence put
    after a colon or a comma: "...; f1 is" would misspell "F1")."""
    word = text.split(" ", 1)[0]
    acronym = word[1:2].isupper() or any(ch.isdigit() for ch in word)  # "PCA", "L1"
    return text if word == "I" or acronym else text[:1].lower() + text[1:]


#: An answer longer than this many words is judged in windows of whole sentences of
#: about this length, the best window counting: the pair judge's training answers are
#: 1-60 words, and a two-minute spoken answer would otherwise be cut at its first 160
#: tokens.
WINDOW_WORDS = 80


def windows(text: str, words: int = WINDOW_WORDS) -> list[str]:
    """The text whole when it is at most `words` words; else runs of whole consecutive
    sentences of about that many words, overlapping by one sentence, so a point made
    across a sentence boundary is inside some window."""
    text = text.strip()
    if len(text.split()) <= words:
        return [text] if text else []
    parts = sentences(text)
    counts = [len(s.split()) for s in parts]
    out: list[str] = []
    start = 0
    while start < len(parts):
        end, total = start, 0
        while end < len(parts) and (end == start or total + counts[end] <= words):
            total += counts[end]
            end += 1
        out.append(" ".join(parts[start:end]))
        if end >= len(parts):
            break
        start = max(start + 1, end - 1)
    return out
