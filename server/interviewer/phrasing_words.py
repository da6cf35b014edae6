"""The word lists `phrasing.py` reads key points with: verbs and their past tense,
adverbs, adjectives, break words, names. One definition of each; extend them here when a
key point reads badly (tests/test_policy.py phrases every key point of the bank)."""

from __future__ import annotations

#: Verbs that open rubric actions, with their past tense. A verb missing here makes its
#: key point a "statement", whose wording ("you explained that ...") still reads acceptably.
PAST: dict[str, str] = {
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
SILENT_ADVERBS = {"also", "alternatively", "then", "optionally", "finally"}
THIRD_PERSON = {"does": "do", "has": "have", "goes": "go", "says": "say"}
#: Adverbs that may come before the verb of an action ("Briefly says", "First seeks").
ADVERBS = {
    "also", "alternatively", "briefly", "first", "then", "clearly", "concretely", "explicitly",
    "repeatedly", "immediately", "always", "finally", "optionally", "carefully", "quickly",
}
#: A word after the first that shows the first is a noun, not a verb ("Fit just stores ...").
NOT_OBJECT = {
    "is", "are", "was", "were", "has", "have", "had", "can", "could", "should", "would", "will",
    "may", "might", "must", "does", "do", "just", "only", "alone", "transforms", "come", "comes",
}
#: Words that end a comma part without ending the phrase ("a simple, fast baseline").
ADJECTIVES = {
    "simple", "clean", "plain", "fast", "small", "large", "cheap", "strong", "clear", "short",
    "robust", "good", "high", "low", "new", "big", "concrete", "real", "separate", "fresh",
    "stable", "sparse", "dense", "reliable", "honest", "calm", "specific", "careful", "quick",
    "slow", "random", "independent", "respectful", "consistent", "accurate", "well-calibrated",
    "badly", "poorly", "highly", "exponentially", "linearly", "numerically", "extra",
    "additional", "main", "key", "full", "final", "whole",
}
#: Two-word verbs: "Load test under realistic traffic".
COMPOUND = {"load test": ("load test", "load tested")}
#: Opening phrases that frame the main clause: dropped when a comma closes them soon.
INTRO = {
    "for", "during", "to", "in", "without", "with", "after", "at", "when", "if", "because", "as",
    "once", "since", "while", "before", "on", "under", "given", "unlike", "by", "from", "within",
    "over", "across", "here",
}
#: Words a trimmed phrase must not end on.
DANGLING = {
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
STRONG_BREAKS = {
    "so", "because", "which", "while", "rather", "instead", "whereas", "since", "where", "when",
    "unless", "though", "although", "but", "thus", "then", "without", "whose", "otherwise",
    "such", "including", "especially", "except",
}
WEAK_BREAKS = {
    "and", "or", "with", "by", "for", "from", "in", "on", "at", "into", "over", "across", "through",
    "between", "than", "as", "that", "to", "via", "using", "under", "after", "before", "until",
    "per", "of",
}
#: First words that keep their capital inside a sentence.
PROPER = {
    "adam", "xavier", "glorot", "kaiming", "he", "gini", "laplace", "euclidean", "bayes",
    "gaussian", "bernoulli", "monte", "markov", "python", "bert", "gpt", "i", "mann", "whitney",
    "english", "spanish", "google", "kolmogorov", "pearson", "spearman", "shapley",
}
AUX = {
    "is", "are", "was", "were", "has", "have", "had", "can", "could", "should", "would", "will",
    "may", "might", "must", "does", "do", "did", "cannot", "needs", "need", "becomes", "become",
}
EXTRA_VERBS = {
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
DETERMINERS = {
    "the", "a", "an", "its", "their", "this", "these", "those", "each", "every", "of", "per",
    "our", "your", "his", "her", "my", "no", "any", "some", "all", "to", "with", "for", "by",
    "two", "three", "four", "five", "several", "many", "multiple", "few", "both", "other",
}
#: Plurals that look like verbs ("aggregates"): never the verb of a statement.
PLURAL_NOUNS = {
    "aggregates", "features", "tests", "results", "scores", "counts", "splits", "samples", "labels",
    "points", "values", "weights", "ranks", "logs", "models", "inputs", "changes", "updates",
    "estimates", "reports", "filters", "signals", "projects", "names",
}
PRONOUNS = {"it", "they", "this", "these", "that", "those", "he", "she", "we", "you"}
SUBORDINATE = {
    "if", "when", "because", "since", "while", "although", "though", "once", "unless", "whereas",
}
PARENTHETICAL = ("such as", "for example", "e.g.", "like", "as in", "also called", "or ", "known as")
NO_CUT_AFTER = {
    "respect", "due", "according", "order", "prior", "relative", "compared", "close", "thanks",
    "next", "instead", "rather", "up", "able", "how", "what", "much", "many", "is", "are", "be",
    "fan", "number", "amount", "lot", "kind", "sort", "type", "part", "fraction", "set", "out",
}
#: A description of the candidate ("Makes their own contribution clear") said to them.
PRONOUN_SWAP = {
    "their": "your", "they": "you", "them": "you", "themselves": "yourself", "theirs": "yours",
    "they're": "you're", "they've": "you've", "they'd": "you'd",
}
PEOPLE = {
    "customer", "user", "stakeholder", "person", "people", "team", "doctor", "listener",
    "manager", "client", "pm", "patient", "colleague", "engineer", "interviewer",
}
