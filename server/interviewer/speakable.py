"""Text for the voice: ML notation rewritten the way an interviewer would say it.

Piper (through espeak-ng) reads "QK^T" letter by letter, "1e-3" as "one e
three", "AUC" as "awk" and "ReLU" as "ree-loo". The table below covers the
notation that ML questions use; it runs on every text before TTS. Only the
audio changes: the text shown on screen keeps the notation.

Letter spellings use hyphens ("A-U-C"): with spaces espeak reads a lone "A" as
the article "uh", with hyphens it says each letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_MAGNITUDES = {"k": "thousand", "K": "thousand", "M": "million", "B": "billion"}
Replacement = str | Callable[[re.Match[str]], str]


def _scientific(match: re.Match[str]) -> str:
    """1e-3 -> "1 times ten to the minus 3"; 1e6 -> "1000000" (Piper says "one million")."""
    mantissa, sign, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    if sign != "-" and exponent <= 12:
        value = float(mantissa) * 10**exponent
        if value == int(value):
            return str(int(value))
    direction = "minus " if sign == "-" else ""
    return f"{mantissa} times ten to the {direction}{exponent}"


def _spell(letters: str) -> str:
    """"LLMs" -> "L-L-Ms": espeak says every letter and keeps the plural."""
    return "-".join(letters[:-2]) + "-" + letters[-2:] if letters.endswith("s") else "-".join(letters)


# Ordered: longer, more specific patterns first.
_RULES: list[tuple[str, Replacement]] = [
    # Formulas.
    (r"softmax\(\s*QK\^?T\s*/\s*(?:sqrt\(d_?k\)|√d_?k|√dₖ)\s*\)\s*V", "softmax of Q K transpose over the square root of d k, times V"),
    (r"QK\^T|QKᵀ|QK\^\{T\}", "Q K transpose"),
    (r"\b([A-Za-z])\^T\b|\b([A-Za-z])ᵀ", lambda m: f"{m.group(1) or m.group(2)} transpose"),
    (r"\b(\d)\s*/\s*(?=sqrt\(|√)", r"\1 over "),
    (r"(?:sqrt\(d_?k\)|√d_?k|√dₖ)", "the square root of d k"),
    (r"sqrt\(([^()]+)\)", r"the square root of \1"),
    (r"√(\w+)", r"the square root of \1"),
    (r"\b(\d)\s*/\s*(?=[A-Za-z(])", r"\1 over "),
    (r"O\(n\s*log\s*n\)", "O of n log n"),
    (r"O\(n\^2\)|O\(n²\)", "O of n squared"),
    (r"O\(1\)", "O of one"),
    (r"\bO\(([^()]+)\)", r"O of \1"),
    (r"\b(log|exp|softmax|sigmoid|tanh|argmax|argmin|max|min)\(([^()]+)\)", r"\1 of \2"),
    (r"(\d+(?:\.\d+)?)[eE]([-+−]?)0*(\d+)\b", _scientific),
    # Metrics.
    (r"\bAUROC\b|\bROC[- ]AUC\b", "R-O-C A-U-C"),
    (r"\bAUPRC\b|\bPR[- ]AUC\b", "P-R A-U-C"),
    (r"\bAUCs\b", "A-U-C's"),
    (r"\bAUC\b", "A-U-C"),
    (r"\bROC\b", "R-O-C"),
    (r"\bPR curve", "P-R curve"),
    (r"\bF1[- ]score", "F one score"),
    (r"\bF1\b", "F one"),
    (r"\bMAE\b", "M-AE"),
    (r"\bL1/L2\b", "L one and L two"),
    (r"\b[Lℓ]([12])[- ](norm|penalty|loss|regularization)", lambda m: f"L {_DIGITS[int(m.group(1))]} {m.group(2)}"),
    (r"\b[Lℓ]([12])\b", lambda m: f"L {_DIGITS[int(m.group(1))]}"),
    (r"(\w)@(\w)", r"\1 at \2"),
    # Models, methods and libraries.
    (r"\bXGBoost\b", "X G Boost"),
    (r"\bLightGBM\b", "Light G B M"),
    (r"\b[Ll]eaky ReLU(s?)\b", r"leaky ray-loo\1"),
    (r"\b(?:ReLU|RELU|relu|Relu)(s?)\b", r"ray-loo\1"),
    (r"\bGELUs\b", "jelloos"),
    (r"\bQLoRA\b", "Q-lora"),
    (r"\bLoRA\b", "lora"),
    (r"\btanh\b", "tan h"),
    (r"\bk-NN\b|\bkNN\b|\bKNN\b", "k nearest neighbors"),
    (r"\bk-means\b", "k means"),
    (r"\bTF-IDF\b", "T-F-I-D-F"),
    (r"\bRoPE\b", "rope"),
    (r"\bALiBi\b", "alibi"),
    (r"\bNaN\b", "nan"),
    (r"\bFAISS\b", "face"),
    (r"\bONNX\b", "onyx"),
    (r"\bGANs\b", "gans"),
    (r"\bVAE(s?)\b", r"V-AE\1"),
    (r"\b(GRU|KPI)s\b", lambda m: _spell(m.group(1)) + "'s"),
    (r"\bCI\b", "C-I"),
    (r"\bETA\b", "E-T-A"),
    # Plural acronyms without vowels: espeak drops the "s" of "LLMs" and "CNNs".
    (r"\b([BCDFGHJKLMNPQRSTVWXZ]{2,5}s)\b", lambda m: _spell(m.group(1))),
    (r"\bA/B\b", "A-B"),
    # Abbreviations.
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\bw\.r\.t\.", "with respect to"),
    (r"\ba\.k\.a\.", "also known as"),
    (r"\bapprox\.", "approximately"),
    (r"\bvs\.?(?=\s|$)", "versus"),
    # Numbers and units.
    (r"\b(\d+(?:\.\d+)?)([kKMB])\b", lambda m: f"{m.group(1)} {_MAGNITUDES[m.group(2)]}"),
    (r"\b(\d+(?:\.\d+)?)\s*[x×](?=[\s,.;:!?)]|$)", r"\1 times"),
    (r"(\d)\s*[x×]\s*(?=\d)", r"\1 by "),
    (r"(\d)(?:\s*–\s*|-)(?=\d)", r"\1 to "),
    (r"(\d+)\s*ms\b", r"\1 milliseconds"),
    (r"(\d)\s*%", r"\1 percent"),
    (r"~\s*(?=\d)", "about "),
    # Operators and arrows (arrows before comparisons, comparisons before "=").
    (r"\s*(?:→|->|=>)\s*", ", then "),
    (r"\s*(?:>=|≥)\s*", " greater than or equal to "),
    (r"\s*(?:<=|≤)\s*", " less than or equal to "),
    (r"\s*(?:!=|≠)\s*", " not equal to "),
    (r"\s*(?:==)\s*", " equals "),
    (r"\s*≈\s*", " approximately equals "),
    (r"\s*±\s*", " plus or minus "),
    (r"\s*<\s*(?=[\w.])", " less than "),
    (r"\s*>\s*(?=[\w.])", " greater than "),
    (r"(\w)\^2\b|(\w)²", lambda m: f"{m.group(1) or m.group(2)} squared"),
    (r"(\w)\^\{?([-−]?)(\w+)\}?", lambda m: f"{m.group(1)} to the {'minus ' if m.group(2) else ''}{m.group(3)}"),
    (r"\s*=\s*", " equals "),
    (r"\s*\+\s*", " plus "),
    (r"\s*[·×]\s*", " times "),
    (r"\s*−\s*|(?<=\b[\w])\s+-\s+(?=[\w]\b)|(?<=\d)\s+-\s+(?=\d)", " minus "),
    (r"(?<![\w)])-(?=[A-Za-z]\b)", "minus "),
    (r"∇\s*", "the gradient of "),
    (r"[∑Σ]\s*", "the sum of "),
    (r"\bd_k\b|\bdₖ\b", "d k"),
    (r"(?<=\w)_(?=\w)", " "),
]
_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _RULES]


def speakable(text: str) -> str:
    """`text` as the voice should say it; plain English comes back unchanged."""
    out = text
    for pattern, repl in _COMPILED:
        out = pattern.sub(repl, out)
    return re.sub(r"\s{2,}", " ", out).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def split_sentences(text: str) -> list[str]:
    """Sentences for incremental synthesis; short fragments ride with their neighbour."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and len(merged[-1].split()) < 3:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


#: A short opening ("Right,", "Okay.", "Let's move on.") and the rest of a reply.
_OPENING = re.compile(r"^((?:\S+\s+){0,2}\S+?[,.!?;])\s+(\S.*)$", re.DOTALL)


def first_clause(text: str) -> tuple[str, str]:
    """("Right,", "you explained that ...") when the text opens with a clause of at most
    three words; ("", text) otherwise. The opening can then be spoken on its own, from
    a cache, while the rest is synthesized."""
    match = _OPENING.match(text.strip())
    if match is None:
        return "", text
    return match.group(1), match.group(2)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
#: A longer sentence is synthesized in parts split at commas, each halved again while
#: longer than this: the vocoder's memory grows with the length of what it speaks at
#: once (about 30 MB per second of speech, measured: a 35-word sentence took Piper's
#: peak 270 MB above its resting size), and the first part is heard sooner.
LONG_SENTENCE_WORDS = 16
#: ... but never into a piece this short, which sounds clipped on its own.
MIN_PART_WORDS = 4


def _halves(sentence: str) -> list[str]:
    words = len(sentence.split())
    clauses = _CLAUSE_END.split(sentence)
    if words <= LONG_SENTENCE_WORDS or len(clauses) < 2:
        return [sentence]
    # The comma nearest the middle that leaves neither half too short.
    best: tuple[float, int] | None = None
    seen = 0
    for i, clause in enumerate(clauses[:-1], start=1):
        seen += len(clause.split())
        if min(seen, words - seen) < MIN_PART_WORDS:
            continue
        distance = abs(words / 2 - seen)
        if best is None or distance < best[0]:
            best = (distance, i)
    if best is None:
        return [sentence]
    split_at = best[1]
    return _halves(" ".join(clauses[:split_at])) + _halves(" ".join(clauses[split_at:]))


def speech_parts(text: str) -> list[str]:
    """Text cut into what is synthesized at once: sentences, long ones cut at commas."""
    return [part for sentence in _SENTENCE_END.split(text) if sentence
            for part in _halves(sentence)]
