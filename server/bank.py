"""The question bank: YAML files under questions/, validated on load.

A broken bank must stop start-up with the file and the line or id at fault,
not fail later in the middle of someone's interview.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from server.resources import shipped_dir

Category = Literal[
    "fundamentals", "deep-learning", "system-design", "coding", "practical", "communication"
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
Difficulty = Literal["easy", "medium", "hard"]
DEFAULT_QUESTIONS_DIR = shipped_dir("questions")
_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class BankError(ValueError):
    """A malformed bank; the message names the file and the line or id at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: One concept of a claim: the phrasings any of which states it ("bias squared",
#: "squared bias"). Matched on stems, words in order, at most two words between them.
Concept = tuple[str, ...]


def _lower_concepts(groups: tuple[Concept, ...]) -> tuple[Concept, ...]:
    cleaned = tuple(tuple(p.strip().lower() for p in group if p.strip()) for group in groups)
    if any(not group for group in cleaned):
        raise ValueError("a concept in 'requires' needs at least one phrasing")
    return cleaned


class Misconception(_Strict):
    """A plausible wrong statement. Reported to the candidate only when one span of the
    answer states every concept of `requires`, none of them negated."""

    text: str = Field(min_length=5)
    requires: tuple[Concept, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("text")
    @classmethod
    def _lower_text(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("requires")
    @classmethod
    def _lowercase(cls, groups: tuple[Concept, ...]) -> tuple[Concept, ...]:
        return _lower_concepts(groups)


class GradedExample(_Strict):
    """An answer someone graded for this key point: the learned matcher's known right and
    wrong phrasings (used for points without `requires`)."""

    text: str = Field(min_length=2)
    covered: bool


#: The longest authored wording of a key point: it is said inside a sentence; `covered`
#: fits "Right, you ..." in an acknowledgement of a dozen words.
MAX_WORDING_WORDS = 12
MAX_COVERED_WORDS = 10


class KeyPoint(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    text: str = Field(min_length=5)
    weight: int = Field(default=2, ge=1, le=3)
    terms: tuple[str, ...] = ()
    #: The claim's structure: every concept must be stated in one span of the answer
    #: (and not negated) for the point to count. Without it the learned matcher decides.
    requires: tuple[Concept, ...] = ()
    #: Other claims, each concepts like `requires`, any one of which states the point too
    #: (a tradeoff said from either side: "+threshold" with "+precision", or "-threshold"
    #: with "+recall").
    alternatives: tuple[tuple[Concept, ...], ...] = ()
    misconceptions: tuple[Misconception, ...] = ()
    examples: tuple[GradedExample, ...] = ()
    #: How the interviewer says the point was made: completes "You ..." in the past tense
    #: ("split total error into bias squared, variance and noise").
    #: (Required of a bank question's points; a rubric built elsewhere, such as a public
    #: grading set's reference sentences in bench/asag.py, has none.)
    covered: str = ""
    #: How it says the point was missed: completes "Next time, ..." as an imperative
    #: ("say that total error is bias squared plus variance plus noise").
    missed: str = ""

    @field_validator("covered", "missed")
    @classmethod
    def _spoken_phrase(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        words = value.split()
        if not 2 <= len(words) <= MAX_WORDING_WORDS:
            raise ValueError(f"{value!r}: say it in 2 to {MAX_WORDING_WORDS} words")
        if value[-1] in ".!?;:,":
            raise ValueError(f"{value!r}: no closing punctuation (the sentence around it has it)")
        if words[0].lower() in ("you", "next", "i", "we"):
            raise ValueError(f"{value!r}: the phrase completes 'You ...' / 'Next time, ...'")
        return value

    @field_validator("covered")
    @classmethod
    def _short_enough_to_acknowledge(cls, value: str) -> str:
        if len(value.split()) > MAX_COVERED_WORDS:
            raise ValueError(f"{value!r}: 'covered' is said after 'Right, you': at most "
                             f"{MAX_COVERED_WORDS} words")
        return value

    @field_validator("terms")
    @classmethod
    def _lowercase(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values if v.strip())

    @field_validator("requires")
    @classmethod
    def _lowercase_requires(cls, groups: tuple[Concept, ...]) -> tuple[Concept, ...]:
        return _lower_concepts(groups)

    @field_validator("alternatives")
    @classmethod
    def _lowercase_alternatives(cls, claims: tuple[tuple[Concept, ...], ...]
                                ) -> tuple[tuple[Concept, ...], ...]:
        if any(not claim for claim in claims):
            raise ValueError("an alternative claim needs at least one concept")
        return tuple(_lower_concepts(claim) for claim in claims)

    @model_validator(mode="after")
    def _alternatives_need_requires(self) -> KeyPoint:
        if self.alternatives and not self.requires:
            raise ValueError("'alternatives' are other claims beside 'requires': give 'requires' too")
        return self


class FollowUp(_Strict):
    text: str = Field(min_length=5)
    key_point: str | None = None
    deeper: bool = False

    @model_validator(mode="after")
    def _one_purpose(self) -> FollowUp:
        if (self.key_point is None) == (not self.deeper):
            raise ValueError("a follow-up needs exactly one of 'key_point' or 'deeper: true'")
        return self


class Question(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    category: Category
    difficulty: Difficulty
    prompt: str = Field(min_length=10)
    prompt_es: str = Field(min_length=5)
    key_points: tuple[KeyPoint, ...] = Field(min_length=3, max_length=8)
    follow_ups: tuple[FollowUp, ...] = Field(min_length=1)
    hint: str = Field(min_length=5)
    answer: str = Field(min_length=20)
    tags: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    #: Subjects the question sets against each other ("L one" against "L two"): a key
    #: point whose first concept names one of them is not stated by what is said of another.
    contrasts: tuple[Concept, ...] = ()

    @field_validator("contrasts")
    @classmethod
    def _lowercase_contrasts(cls, groups: tuple[Concept, ...]) -> tuple[Concept, ...]:
        return _lower_concepts(groups)

    @model_validator(mode="after")
    def _references(self) -> Question:
        ids = [kp.id for kp in self.key_points]
        dupes = [i for i, n in Counter(ids).items() if n > 1]
        if dupes:
            raise ValueError(f"duplicate key point id {dupes[0]!r}")
        for follow_up in self.follow_ups:
            if follow_up.key_point is not None and follow_up.key_point not in ids:
                raise ValueError(
                    f"follow-up {follow_up.text[:40]!r} names unknown key point "
                    f"{follow_up.key_point!r}"
                )
        unworded = [kp.id for kp in self.key_points if not kp.covered or not kp.missed]
        if unworded:
            raise ValueError(f"key point {unworded[0]!r} needs 'covered' and 'missed' (what the "
                             "interviewer says of it)")
        probed = {f.key_point for f in self.follow_ups}
        unprobed = [kp.id for kp in self.key_points if kp.weight >= 2 and kp.id not in probed]
        if unprobed:
            # After a partial answer the interviewer probes the weightiest missed point:
            # every point that matters needs a question that leads to it.
            raise ValueError(f"key point {unprobed[0]!r} (weight 2 or 3) has no follow-up "
                             "probing it")
        return self

    def key_point(self, key_point_id: str) -> KeyPoint:
        return next(kp for kp in self.key_points if kp.id == key_point_id)

    def follow_ups_for(self, key_point_id: str) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.key_point == key_point_id]

    @property
    def deeper_probes(self) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.deeper]


class _BankFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category
    questions: list[dict[str, object]] = Field(min_length=1)


# The C loader when PyYAML has it: parsing the bank drops from ~1.1 s to ~0.1 s.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Records the line of each mapping so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, object]:
    mapping: dict[str, object] = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def load_file(path: Path) -> list[Question]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        # An unclosed quote is reported at the end of the file; where it opened is
        # the useful line.
        mark = getattr(exc, "problem_mark", None)
        if "end of stream" in str(getattr(exc, "problem", "")) and getattr(exc, "context_mark", None):
            mark = exc.context_mark  # type: ignore[attr-defined]
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise BankError(f"{path}: {where}: malformed YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise BankError(f"{path}: line 1: expected a mapping with 'category' and 'questions'")
    try:
        bank_file = _BankFile.model_validate(
            {k: v for k, v in raw.items() if k != "__line__"}
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"]) or "file"
        raise BankError(f"{path}: line 1: {loc}: {err['msg']}") from None
    questions: list[Question] = []
    for entry in bank_file.questions:
        line = entry.get("__line__", "?") if isinstance(entry, dict) else "?"
        data = _strip_lines(entry)
        qid = data.get("id", "?") if isinstance(data, dict) else "?"
        if isinstance(data, dict):
            data.setdefault("category", bank_file.category)
        try:
            questions.append(Question.model_validate(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "question"
            raise BankError(f"{path}: line {line}: question {qid!r}: {loc}: {err['msg']}") from None
    return questions


@dataclass(frozen=True)
class QuestionBank:
    questions: tuple[Question, ...]

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def __len__(self) -> int:
        return len(self.questions)

    def filter(
        self, categories: Iterable[str] | None = None, difficulty: str | None = None
    ) -> list[Question]:
        wanted = set(categories) if categories else None
        return [
            q for q in self.questions
            if (wanted is None or q.category in wanted)
            and (difficulty is None or q.difficulty == difficulty)
        ]

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for q in self.questions:
            row = table.setdefault(q.category, {"easy": 0, "medium": 0, "hard": 0})
            row[q.difficulty] += 1
        return table

    def choose(
        self,
        count: int,
        categories: Sequence[str] | None = None,
        difficulty: str | None = None,
        rng: random.Random | None = None,
    ) -> list[Question]:
        """Pick `count` questions mixed across categories (round-robin over shuffled groups)."""
        rng = rng or random.Random()
        pool = self.filter(categories, difficulty)
        groups: dict[str, list[Question]] = {}
        for q in pool:
            groups.setdefault(q.category, []).append(q)
        for group in groups.values():
            rng.shuffle(group)
        order = list(groups)
        rng.shuffle(order)
        chosen: list[Question] = []
        while len(chosen) < count and any(groups.values()):
            for category in order:
                if groups[category] and len(chosen) < count:
                    chosen.append(groups[category].pop())
        return chosen


def load_bank(extra_dirs: Sequence[Path] = (), base_dir: Path = DEFAULT_QUESTIONS_DIR) -> QuestionBank:
    """Load the built-in bank and any extra folders; an id clash anywhere is an error."""
    seen: dict[str, Path] = {}
    questions: list[Question] = []
    for folder in (base_dir, *extra_dirs):
        if not folder.is_dir():
            raise BankError(f"{folder}: question folder not found")
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            for q in load_file(path):
                if q.id in seen:
                    raise BankError(
                        f"{path}: duplicate question id {q.id!r} (also in {seen[q.id]})"
                    )
                seen[q.id] = path
                questions.append(q)
    if not questions:
        raise BankError(f"{base_dir}: no questions found")
    return QuestionBank(tuple(questions))
