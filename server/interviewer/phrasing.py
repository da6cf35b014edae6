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

Shape = Literal["action", "label", "statement"]

#: Verbs that open rubric actions, with their past tense. A verb missing here makes its
#: key point a "statement", whose wording ("you explained that ...") still reads acceptably.
_PAST: dict[str, str] = {
    "acknowledge": "acknowledged", "add": "added", "address": "addressed", "aggregate": "aggregated",
    "apply": "applied", "articulate": "articulated", "ask": "asked", "avoid": "avoided",
    "backpropagate": "backpropagated", "balance": "balanced", "break": "broke", "bring": "brought",
    "build": "built", "calibrate": "calibrated", "center": "centered", "check": "checked",
    "choose": "chose", "clarify": "clarified", "clip": "clipped", "combine": "combined",
    "compare": "compared", "compute": "computed", "connect": "connected", "consider": "considered",
    "contrast": "contrasted", "control": "controlled", "correct": "corrected", "cover": "covered",
    "debug": "debugged", "decompose": "decomposed", "define": "defined", "derive": "derived",
    "describe": "described", "detect": "detected", "diagnose": "diagnosed", "discuss": "discussed",
    "distinguish": "distinguished", "divide": "divided", "drop": "dropped", "encode": "encoded",
    "enforce": "enforced", "ensure": "ensured", "estimate": "estimated", "evaluate": "evaluated",
    "explain": "explained", "favor": "favored", "find": "found", "fit": "fit", "fix": "fixed",
    "focus": "focused", "frame": "framed", "freeze": "froze", "gather": "gathered", "get": "got",
    "give": "gave", "ground": "grounded", "guard": "guarded", "handle": "handled",
    "identify": "identified", "include": "included", "initialize": "initialized",
    "invite": "invited", "iterate": "iterated", "justify": "justified", "keep": "kept",
    "lay": "laid", "lead": "led", "learn": "learned", "link": "linked", "list": "listed",
    "log": "logged", "look": "looked", "make": "made", "measure": "measured",
    "mention": "mentioned", "mitigate": "mitigated", "monitor": "monitored", "move": "moved",
    "multiply": "multiplied", "name": "named", "normalize": "normalized", "note": "noted",
    "offer": "offered", "open": "opened", "optimize": "optimized", "outline": "outlined",
    "own": "owned", "pick": "picked", "point": "pointed", "predict": "predicted",
    "prepend": "prepended", "present": "presented", "profile": "profiled", "propose": "proposed",
    "prune": "pruned", "quantify": "quantified", "raise": "raised", "randomize": "randomized",
    "rank": "ranked", "re-rank": "re-ranked", "recognize": "recognized", "recommend": "recommended",
    "reduce": "reduced", "reflect": "reflected", "regularize": "regularized", "relate": "related",
    "remove": "removed", "repeat": "repeated", "replace": "replaced", "report": "reported",
    "respect": "respected", "return": "returned", "reuse": "reused", "rule": "ruled", "run": "ran",
    "say": "said", "scale": "scaled", "score": "scored", "seek": "sought", "select": "selected",
    "separate": "separated", "set": "set", "show": "showed", "shuffle": "shuffled",
    "simplify": "simplified", "sort": "sorted", "specify": "specified", "spend": "spent",
    "split": "split", "standardize": "standardized", "start": "started", "state": "stated",
    "stay": "stayed", "stop": "stopped", "stratify": "stratified", "structure": "structured",
    "subtract": "subtracted", "suggest": "suggested", "summarize": "summarized", "take": "took",
    "talk": "talked", "tell": "told", "test": "tested", "tie": "tied", "track": "tracked",
    "train": "trained", "translate": "translated", "treat": "treated", "try": "tried",
    "tune": "tuned", "understand": "understood", "update": "updated", "use": "used",
    "validate": "validated", "verify": "verified", "walk": "walked", "weigh": "weighed",
    "work": "worked", "write": "wrote", "do": "did", "oversample": "oversampled",
    "undersample": "undersampled", "resample": "resampled", "project": "projected",
    "reshape": "reshaped", "concatenate": "concatenated", "assign": "assigned", "pad": "padded",
    "cache": "cached", "deploy": "deployed", "retrain": "retrained",
    "crop": "cropped", "embed": "embedded",
    "distill": "distilled", "quantize": "quantized", "precompute": "precomputed",
    "audit": "audited", "compress": "compressed", "plot": "plotted", "confirm": "confirmed",
    "integrate": "integrated", "merge": "merged",
}
_SILENT_ADVERBS = {"also", "alternatively", "then", "optionally", "finally"}
_THIRD_PERSON = {"does": "do", "has": "have", "goes": "go", "says": "say"}
#: Adverbs that may come before the verb of an action ("Briefly says", "First seeks").
_ADVERBS = {
    "also", "alternatively", "briefly", "first", "then", "clearly", "concretely", "explicitly",
    "repeatedly", "immediately", "always", "finally", "optionally", "carefully", "quickly",
}
#: A word after the first that shows the first is a noun, not a verb ("Fit just stores ...").
_NOT_OBJECT = {
    "is", "are", "was", "were", "has", "have", "had", "can", "could", "should", "would", "will",
    "may", "might", "must", "does", "do", "just", "only", "alone", "transforms", "come", "comes",
}
#: Words that end a comma part without ending the phrase ("a simple, fast baseline").
_ADJECTIVES = {
    "simple", "clean", "plain", "fast", "small", "large", "cheap", "strong", "clear", "short",
    "robust", "good", "high", "low", "new", "big", "concrete", "real", "separate", "fresh",
    "stable", "sparse", "dense", "reliable", "honest", "calm", "specific", "careful", "quick",
    "slow", "random", "independent", "respectful", "consistent", "accurate", "well-calibrated",
    "badly", "poorly", "highly", "exponentially", "linearly", "numerically", "extra",
    "additional", "main", "key", "full", "final", "whole",
}
#: Two-word verbs: "Load test under realistic traffic".
_COMPOUND = {"load test": ("load test", "load tested")}
#: Opening phrases that frame the main clause: dropped when a comma closes them soon.
_INTRO = {
    "for", "during", "to", "in", "without", "with", "after", "at", "when", "if", "because", "as",
    "once", "since", "while", "before", "on", "under", "given", "unlike", "by", "from", "within",
    "over", "across", "here",
}
#: Words a trimmed phrase must not end on.
_DANGLING = {
    "a", "an", "the", "and", "or", "but", "nor", "so", "of", "to", "in", "on", "at", "by", "for",
    "from", "with", "into", "onto", "over", "under", "between", "across", "through", "than", "as",
    "that", "which", "who", "whose", "whom", "what", "when", "where", "why", "how", "whether",
    "if", "because", "while", "since", "rather", "instead", "without", "is", "are", "was", "were",
    "be", "been", "being", "has", "have", "had", "can", "could", "should", "would", "will", "may",
    "might", "must", "does", "do", "not", "no", "very", "more", "less", "most", "much", "many",
    "each", "every", "all", "both", "either", "any", "some", "its", "their", "his", "her", "your",
    "our", "my", "this", "these", "those", "such", "own", "per", "via", "it", "them",
    "they", "we", "you", "i", "he", "she", "then", "also", "only", "just", "like",
    "against", "toward", "towards", "among", "about", "up", "out", "off", "too", "lets", "let",
    "makes", "make", "gets", "get", "given", "using", "used", "called", "named", "known", "until",
    "unless", "though", "although", "whereas", "thus", "hence", "even", "still", "least",
}
#: Words to cut before when a phrase is too long: the clause ends cleanly there.
_STRONG_BREAKS = {
    "so", "because", "which", "while", "rather", "instead", "whereas", "since", "where", "when",
    "unless", "though", "although", "but", "thus", "then", "without", "whose", "otherwise",
    "such", "including", "especially", "except",
}
_WEAK_BREAKS = {
    "and", "or", "with", "by", "for", "from", "in", "on", "at", "into", "over", "across", "through",
    "between", "than", "as", "that", "to", "via", "using", "under", "after", "before", "until",
    "per", "of",
}
#: First words that keep their capital inside a sentence.
_PROPER = {
    "adam", "xavier", "glorot", "kaiming", "he", "gini", "laplace", "euclidean", "bayes",
    "gaussian", "bernoulli", "monte", "markov", "python", "bert", "gpt", "i", "mann", "whitney",
    "english", "spanish", "google", "kolmogorov", "pearson", "spearman", "shapley",
}
_AUX = {
    "is", "are", "was", "were", "has", "have", "had", "can", "could", "should", "would", "will",
    "may", "might", "must", "does", "do", "did", "cannot", "needs", "need", "becomes", "become",
}
_EXTRA_VERBS = {
    "evolve", "adapt", "come", "lie", "grow", "beat", "show", "differ", "concentrate", "dominate",
    "approach", "mean", "matter", "behave", "depend", "happen", "flow", "converge", "overfit",
    "fail", "sit", "end", "stop", "stay", "remain", "trade", "fall", "rise", "drop", "win",
    "generalize", "tend", "help", "hurt", "cost", "act", "appear", "belong", "exist", "follow",
    "penalize", "halt", "rely", "allow", "let", "prevent", "reduce", "increase", "decrease",
    "learn", "form", "pick", "serve", "feed", "optimize", "apply", "cut", "avoid", "treat",
    "encode", "process", "scale", "parallelize", "memorize", "rotate", "freeze", "simplify",
    "decouple", "store", "decide", "multiply", "squash", "connect", "focus", "lose", "output",
    "change", "equal", "equals", "stabilize", "smooth", "downsample", "approximate", "ramp",
    "create", "average", "maximize", "minimize", "limit", "search", "estimate", "produce",
    "compute", "capture", "measure", "model", "represent", "require", "return",
}
_DETERMINERS = {
    "the", "a", "an", "its", "their", "this", "these", "those", "each", "every", "of", "per",
    "our", "your", "his", "her", "my", "no", "any", "some", "all", "to", "with", "for", "by",
    "two", "three", "four", "five", "several", "many", "multiple", "few", "both", "other",
}
#: Plurals that look like verbs ("aggregates"): never the verb of a statement.
_PLURAL_NOUNS = {
    "aggregates", "features", "tests", "results", "scores", "counts", "splits", "samples", "labels",
    "points", "values", "weights", "ranks", "logs", "models", "inputs", "changes", "updates",
    "estimates", "reports", "filters", "signals", "projects", "names",
}
_PRONOUNS = {"it", "they", "this", "these", "that", "those", "he", "she", "we", "you"}
_SUBORDINATE = {
    "if", "when", "because", "since", "while", "although", "though", "once", "unless", "whereas",
}
_PARENTHETICAL = ("such as", "for example", "e.g.", "like", "as in", "also called", "or ", "known as")
_NO_CUT_AFTER = {
    "respect", "due", "according", "order", "prior", "relative", "compared", "close", "thanks",
    "next", "instead", "rather", "up", "able", "how", "what", "much", "many", "is", "are", "be",
    "fan", "number", "amount", "lot", "kind", "sort", "type", "part", "fraction", "set", "out",
}
#: A description of the candidate ("Makes their own contribution clear") said to them.
_PRONOUN_SWAP = {
    "their": "your", "they": "you", "them": "you", "themselves": "yourself", "theirs": "yours",
    "they're": "you're", "they've": "you've", "they'd": "you'd",
}
_PEOPLE = {
    "customer", "user", "stakeholder", "person", "people", "team", "doctor", "listener",
    "manager", "client", "pm", "patient", "colleague", "engineer", "interviewer",
}
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
            and core.lower() not in _PROPER and not name):
        return text[:1].lower() + text[1:]
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _verb_base(word: str) -> str | None:
    """The base form when `word` is a known verb, bare or third person ('uses' -> 'use')."""
    lowered = word.lower()
    if lowered in _PAST:
        return lowered
    if lowered in _THIRD_PERSON:
        return _THIRD_PERSON[lowered]
    candidates = []
    if lowered.endswith("ies"):
        candidates.append(lowered[:-3] + "y")
    if lowered.endswith("es"):
        candidates.append(lowered[:-2])
    if lowered.endswith("s"):
        candidates.append(lowered[:-1])
    return next((c for c in candidates if c in _PAST), None)


@dataclass(frozen=True)
class _Action:
    base: str  # "use a concrete everyday analogy"
    past: str  # "used a concrete everyday analogy"


def _action(words: list[str]) -> _Action | None:
    """The action's imperative and past forms when the words open with a known verb."""
    rest = list(words)
    lead: list[str] = []
    while len(rest) > 1 and rest[0].lower() in _ADVERBS:
        adverb = rest.pop(0).lower()
        if adverb not in _SILENT_ADVERBS:
            lead.append(adverb)
    if not rest:
        return None
    pair = " ".join(rest[:2]).lower()
    if pair in _COMPOUND and len(rest) > 2:
        base_form, past_form = _COMPOUND[pair]
        return _Action(" ".join([*lead, base_form, *rest[2:]]), " ".join([*lead, past_form, *rest[2:]]))
    first = rest[0].lower().strip(",")
    base = _verb_base(first)
    if base is None or (len(rest) > 1 and rest[1].lower().strip(",;:") in _NOT_OBJECT):
        return None
    described = first != base  # "Uses an analogy" describes the candidate
    if base == "do" and len(rest) > 1 and rest[1].lower() == "not":  # "Do not use accuracy"
        tail = _gerund_object(rest[2:])
        return _Action(" ".join([*lead, "avoid", *tail]), " ".join([*lead, "avoided", *tail]))
    return _Action(" ".join([*lead, *_convert_verbs(rest, "base", described)]),
                   " ".join([*lead, *_convert_verbs(rest, "past", described)]))


def _strip_intro(words: list[str]) -> list[str]:
    """'In each iteration compute z ...' -> 'compute z ...': the action without its setting."""
    if not words or words[0].lower() not in (_INTRO | {"each", "every"}):
        return words
    for k in range(1, min(6, len(words))):
        word = words[k]
        if (word == word.lower() and word in _PAST and words[k - 1].lower() not in _DETERMINERS
                and words[k - 1].lower() not in _PRONOUNS):
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
    if words and words[0].lower() in _PRONOUNS - {"that", "this", "these", "those"}:
        return True
    for i, word in enumerate(words):
        low = word.lower().strip(",;:")
        if low in _AUX or low.endswith("n't"):
            return True
        if i == 0 or words[i - 1].lower() in _DETERMINERS:
            continue
        if word.endswith(",") or (len(words) <= 2 and i == len(words) - 1 and low.endswith("s")):
            continue  # "Rate limits, ...": a noun, not a verb
        if low.endswith("s") and not low.endswith(("ss", "'s")) and low not in _PLURAL_NOUNS and (
                _verb_base(low) is not None or low[:-1] in _EXTRA_VERBS or low[:-2] in _EXTRA_VERBS):
            return True
        previous = words[i - 1].lower()
        if (low in _PAST or low in _EXTRA_VERBS) and previous.endswith("s") and not previous.endswith("ss"):
            return True  # a plural subject and its verb: "labels come from ..."
        if low in _EXTRA_VERBS and i <= 6 and "and" in words[:i]:
            return True  # "the learning rate and its schedule remain ..."
    return False


def _starts_clause(text: str) -> bool:
    """Whether `text` opens with a finite verb, so that it can finish the clause before it."""
    words = text.split()
    if not words:
        return False
    first = words[0].lower()
    return first in _AUX or (first.endswith("s") and (
        _verb_base(first) is not None or first[:-1] in _EXTRA_VERBS or first[:-2] in _EXTRA_VERBS))


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
            (len(first) <= 3 and first[0].lower() not in _INTRO | _SUBORDINATE
             and not _has_finite_verb(first) and _action(first) is None)
            # "plain, respectful language"; not "clear, saying ..."
            or (first[-1].lower() in _ADJECTIVES and not following[0].lower().endswith("ing")
                and following[0].lower() not in _STRONG_BREAKS | _WEAK_BREAKS)):
        parts = [f"{parts[0]}, {parts[1]}", *parts[2:]]
    # A short list that ends with "and" or "or" stays whole: "precision, recall and F1".
    for j in range(1, len(parts)):
        words = parts[j].split()
        first_word = words[0].lower()
        if (len(words) > 8 or parts[j].lower().startswith(_PARENTHETICAL)
                or first_word in _STRONG_BREAKS or first_word.endswith("ing")
                or _action(words) is not None or _has_finite_verb(words)):
            break
        opens_clause = words[0].lower() in ("and", "or") and len(words) > 1 and (
            _verb_base(words[1]) is not None or words[1].lower() in _AUX)
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
    if len(raw) > 1 and (first in _SUBORDINATE or (first in _INTRO and len(lead) <= 6)):
        rest = raw[1:]
        while len(rest) > 1 and rest[0].lower().startswith(_PARENTHETICAL):
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
    if words[0].lower() in _PRONOUNS or _has_finite_verb(words):
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
    for breaks in (_STRONG_BREAKS, _WEAK_BREAKS):
        if cut is not None:
            break
        for i in range(max_words, low - 1, -1):
            if (i < len(words) and words[i].lower().strip(",") in breaks
                    and words[i - 1].lower().strip(",") not in _NO_CUT_AFTER):
                cut = i
                break
    words = words[: cut if cut is not None else max_words]
    while len(words) > 1:
        last = words[-1].lower().strip(",")
        if last in _DANGLING or last in _ADJECTIVES:
            words = words[:-1]
        elif len(words) > 2 and words[-2].lower() in ("and", "or") and (
                _verb_base(last) is not None or last in _EXTRA_VERBS or last[:-1] in _EXTRA_VERBS):
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
            out.append((base if to == "base" else _PAST[base]) + ("," if low.endswith(",") else ""))
            since_verb = []
            continue
        if described and stripped in _PRONOUN_SWAP:
            own = i + 1 < len(words) and words[i + 1].lower() == "own"
            others = any(w.lower() in _PEOPLE or (w.lower().endswith("s") and not w.lower().endswith("ss"))
                         for w in since_verb)
            if own or not others:
                word = _PRONOUN_SWAP[stripped] + ("," if low.endswith(",") else "")
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
