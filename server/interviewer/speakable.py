"""Text for the voice: ML notation rewritten the way an interviewer would say it.

Piper reads "QK^T" letter by letter and "1e-3" as gibberish. The table below
covers the notation that ML questions use; it runs on every text before TTS.
"""

from __future__ import annotations

import re

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# Ordered: longer, more specific patterns first.
_RULES: list[tuple[str, str]] = [
    (r"softmax\(\s*QK\^?T\s*/\s*(?:sqrt\(d_?k\)|√d_?k|√dₖ)\s*\)\s*V", "softmax of Q K transpose over the square root of d k, times V"),
    (r"QK\^T|QKᵀ|QK\^\{T\}", "Q K transpose"),
    (r"(?:sqrt\(d_?k\)|√d_?k|√dₖ)", "the square root of d k"),
    (r"sqrt\(([^)]+)\)", r"the square root of \1"),
    (r"√(\w+)", r"the square root of \1"),
    (r"O\(n\s*log\s*n\)", "O of n log n"),
    (r"O\(n\^2\)|O\(n²\)", "O of n squared"),
    (r"O\(1\)", "O of one"),
    (r"O\(([^)]+)\)", r"O of \1"),
    (r"\bROC[- ]AUC\b", "ROC A U C"),
    (r"\bPR[- ]AUC\b", "P R A U C"),
    (r"\bAUC\b", "A U C"),
    (r"\bXGBoost\b", "X G Boost"),
    (r"\bLightGBM\b", "Light G B M"),
    (r"\bLeaky ReLU\b", "leaky relu"),
    (r"\bReLUs?\b", "relu"),
    (r"\bGELU\b", "gelu"),
    (r"\bk-NN\b|\bkNN\b|\bKNN\b", "k nearest neighbors"),
    (r"\bk-means\b", "k means"),
    (r"\bL1/L2\b", "L one and L two"),
    (r"\bL([12])\b", lambda m: f"L {_DIGITS[int(m.group(1))]}"),  # type: ignore[list-item]
    (r"\bF1\b", "F one"),
    (r"\bF1-score\b", "F one score"),
    (r"\bt-SNE\b", "t S N E"),
    (r"\bSMOTE\b", "smote"),
    (r"\bLLMs\b", "L L Ms"),
    (r"\bLLM\b", "L L M"),
    (r"\bRNNs\b", "R N Ns"),
    (r"\bCNNs\b", "C N Ns"),
    (r"\bGBM\b", "G B M"),
    (r"\bDNN\b", "D N N"),
    (r"\bSGD\b", "S G D"),
    (r"\bPCA\b", "P C A"),
    (r"\bSHAP\b", "shap"),
    (r"\bA/B\b", "A B"),
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\bvs\.?\b", "versus"),
    (r"(\d+(?:\.\d+)?)e-(\d+)", lambda m: f"{m.group(1)} times ten to the minus {m.group(2)}"),  # type: ignore[list-item]
    (r"(\d+)\s*ms\b", r"\1 milliseconds"),
    (r"<\s*(\d)", r"under \1"),
    (r">\s*(\d)", r"over \1"),
    (r"(\w)\^2\b|(\w)²", lambda m: f"{m.group(1) or m.group(2)} squared"),  # type: ignore[list-item]
    (r"(\w)\^(\w+)", r"\1 to the \2"),
    (r"\s*→\s*|\s*->\s*", ", then "),
    (r"\s*=\s*", " equals "),
    (r"\s*\+\s*", " plus "),
    (r"(\d)\s*%", r"\1 percent"),
    (r"\bd_k\b|\bdₖ\b", "d k"),
    (r"(\w)_(\w)", r"\1 \2"),
]
_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _RULES]


def speakable(text: str) -> str:
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
