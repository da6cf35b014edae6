"""The question bank: schema errors name the file and the line or id, the seed guide's
questions carry the guide's content, every question is speakable and well formed, the
README's counts are the bank's, extra folders merge, and GET /api/questions filters."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from server.bank import CATEGORIES, BankError, load_bank, load_file
from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent
GUIDE_NAME = Path("shared", "seed", "ml-interview-guide.es.txt")

# ---------------------------------------------------------------------------------------
# Small YAML builders for broken banks
# ---------------------------------------------------------------------------------------


def question(qid: str = "sample-question", difficulty: str = "easy") -> str:
    """One valid question entry, indented as an item of `questions:`."""
    return f"""\
  - id: {qid}
    difficulty: {difficulty}
    prompt: Walk me through the first thing you would check.
    prompt_es: Explica lo primero que revisarías.
    key_points:
      - id: point-one
        text: The first point to make.
        covered: made the first point
        missed: make the first point
        terms: [first point, one]
      - id: point-two
        text: The second point to make.
        weight: 1
        covered: made the second point
        missed: make the second point
        terms: [second point, two]
      - id: point-three
        text: The third point to make.
        weight: 1
        covered: made the third point
        missed: make the third point
        terms: [third point, three]
    follow_ups:
      - text: What about the first point?
        key_point: point-one
      - text: How would you take this further?
        deeper: true
    hint: Start from the first point.
    answer: A model answer that is long enough for the schema to accept it.
"""


def bank_text(*questions: str, category: str = "fundamentals") -> str:
    return f"category: {category}\nquestions:\n" + "".join(questions)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, prefix: str) -> int:
    """1-based number of the first line of `text` that starts with `prefix`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(prefix))


def bank_error(path: Path) -> str:
    with pytest.raises(BankError) as caught:
        load_file(path)
    return str(caught.value)


# ---------------------------------------------------------------------------------------
# Schema validation: each failure names the file and the line or id at fault
# ---------------------------------------------------------------------------------------


def test_the_valid_fixture_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", bank_text(question("one"), question("two", "hard")))
    questions = load_file(path)
    assert [q.id for q in questions] == ["one", "two"]
    assert questions[1].difficulty == "hard"
    assert questions[0].category == "fundamentals"
    assert questions[0].key_points[0].terms == ("first point", "one")


BROKEN_QUESTIONS = {
    "follow-up names an unknown key point": (
        lambda q: q.replace("key_point: point-one", "key_point: no-such-point"),
        ["unknown key point", "'no-such-point'"],
    ),
    "empty rubric": (
        lambda q: re.sub(r"    key_points:\n(      .*\n)+", "    key_points: []\n", q),
        ["key_points", "at least 3"],
    ),
    "missing required field (hint)": (
        lambda q: q.replace("    hint: Start from the first point.\n", ""),
        ["hint", "Field required"],
    ),
    "follow-up with both key_point and deeper": (
        lambda q: q.replace("key_point: point-one", "key_point: point-one\n        deeper: true"),
        ["follow_ups.0", "exactly one of 'key_point' or 'deeper: true'"],
    ),
    "follow-up with neither key_point nor deeper": (
        lambda q: q.replace("        key_point: point-one\n", ""),
        ["follow_ups.0", "exactly one of 'key_point' or 'deeper: true'"],
    ),
    "wrong difficulty": (
        lambda q: q.replace("difficulty: easy", "difficulty: expert"),
        ["difficulty", "'easy', 'medium' or 'hard'"],
    ),
    "duplicate key point id": (
        lambda q: q.replace("id: point-two", "id: point-one"),
        ["duplicate key point id 'point-one'"],
    ),
    "too many key points": (
        lambda q: q.replace(
            "    follow_ups:\n",
            "".join(
                f"      - id: extra-{n}\n        text: Extra point number {n}.\n"
                f"        weight: 1\n        covered: made extra point {n}\n"
                f"        missed: make extra point {n}\n"
                f"        terms: [extra {n}]\n" for n in range(6)
            ) + "    follow_ups:\n",
        ),
        ["key_points", "at most 8"],
    ),
    "unknown field (typo)": (
        lambda q: q.replace("    hint:", "    hnit: typo\n    hint:"),
        ["hnit", "Extra inputs are not permitted"],
    ),
    "id not kebab-case": (
        lambda q: q.replace("- id: broken-one", "- id: Broken_One"),
        ["id", "pattern"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_QUESTIONS))
def test_a_broken_question_names_file_line_and_id(tmp_path: Path, case: str) -> None:
    mutate, fragments = BROKEN_QUESTIONS[case]
    broken = mutate(question("broken-one"))
    assert broken != question("broken-one"), "the mutation must change the fixture"
    text = bank_text(question("fine-one"), broken)
    path = write(tmp_path, "broken.yaml", text)

    message = bank_error(path)

    assert str(path) in message
    qid = "Broken_One" if case == "id not kebab-case" else "broken-one"
    assert f"line {line_of(text, '  - id: ' + qid)}:" in message
    assert f"question {qid!r}" in message
    for fragment in fragments:
        assert fragment in message


def test_a_question_without_id_is_named_by_its_line(tmp_path: Path) -> None:
    broken = question("broken-one").replace("  - id: broken-one\n    difficulty", "  - difficulty")
    text = bank_text(question("fine-one"), broken)
    path = write(tmp_path, "no-id.yaml", text)

    message = bank_error(path)

    assert str(path) in message
    assert f"line {line_of(text, '  - difficulty: easy')}:" in message
    assert "id" in message and "Field required" in message


def test_malformed_yaml_bad_indentation_names_file_and_line(tmp_path: Path) -> None:
    broken = question("broken-one").replace("    prompt_es:", "   prompt_es:")
    text = bank_text(question("fine-one"), broken)
    path = write(tmp_path, "indent.yaml", text)

    message = bank_error(path)

    assert str(path) in message
    assert "malformed YAML" in message
    assert f"line {line_of(text, '   prompt_es:')}:" in message


def test_malformed_yaml_unclosed_quote_names_file_and_line(tmp_path: Path) -> None:
    broken = question("broken-one").replace(
        "hint: Start from the first point.", 'hint: "Start from the first point.'
    )
    text = bank_text(question("fine-one"), broken)
    path = write(tmp_path, "quote.yaml", text)

    message = bank_error(path)

    assert str(path) in message
    assert "malformed YAML" in message
    # The scanner reports where the quote opened (it only notices at the end of the file).
    opened = line_of(text, '    hint: "')
    assert re.search(rf"line {opened}\b", message)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected a mapping"),
        ("- just\n- a list\n", "expected a mapping"),
        ("questions:\n" + question(), "category"),
        ("category: cooking\nquestions:\n" + question(), "category"),
        ("category: fundamentals\nquestions: []\n", "questions"),
        ("category: fundamentals\nquestions:\n  - just a string\n", "questions"),
    ],
    ids=["empty", "a-list", "no-category", "unknown-category", "no-questions", "not-a-mapping"],
)
def test_a_broken_file_header_names_the_file_and_field(tmp_path: Path, text: str,
                                                      fragment: str) -> None:
    path = write(tmp_path, "header.yaml", text)
    message = bank_error(path)
    assert str(path) in message
    assert re.search(r": line \d+: ", message)
    assert fragment in message, "the message names the field at fault"


def test_duplicate_question_id_within_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dupes.yaml", bank_text(question("same-id"), question("same-id", "hard")))

    with pytest.raises(BankError) as caught:
        load_bank(base_dir=tmp_path)

    message = str(caught.value)
    assert str(path) in message
    assert "duplicate question id 'same-id'" in message


def test_duplicate_question_id_across_two_folders(tmp_path: Path) -> None:
    first = write(tmp_path / "base", "one.yaml", bank_text(question("same-id")))
    second = write(tmp_path / "extra", "two.yaml",
                   bank_text(question("same-id"), category="coding"))

    with pytest.raises(BankError) as caught:
        load_bank(extra_dirs=[tmp_path / "extra"], base_dir=tmp_path / "base")

    message = str(caught.value)
    assert "duplicate question id 'same-id'" in message
    assert str(second) in message
    assert str(first) in message


def test_a_broken_file_anywhere_stops_the_whole_bank(tmp_path: Path) -> None:
    write(tmp_path / "base", "a-good.yaml", bank_text(question("good-one")))
    bad = write(tmp_path / "base", "b-bad.yml",
                bank_text(question("bad-one", difficulty="impossible")))

    with pytest.raises(BankError, match=re.escape(str(bad))):
        load_bank(base_dir=tmp_path / "base")


def test_a_missing_or_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="question folder not found"):
        load_bank(extra_dirs=[tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BankError, match="no questions found"):
        load_bank(base_dir=tmp_path / "empty")


# ---------------------------------------------------------------------------------------
# The built-in bank
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank():
    return load_bank()


# The ten numbered questions of the seed guide, in order, with the category of the
# guide section each sits in.
GUIDE = [
    ("bias-variance", "fundamentals", "Explica el tradeoff sesgo-varianza"),
    ("regularization", "fundamentals", "¿Qué es la regularización y por qué la usamos?"),
    ("imbalanced-data", "fundamentals", "¿Cómo manejas datasets desbalanceados?"),
    ("bagging-vs-boosting", "fundamentals", "¿Cuál es la diferencia entre bagging y boosting?"),
    ("backpropagation", "deep-learning", "Explica backpropagation matemáticamente"),
    ("activation-functions", "deep-learning", "¿Por qué usamos funciones de activación?"),
    ("attention-transformers", "deep-learning", "Explica el mecanismo de atención y transformers"),
    ("recsys-design", "system-design", "Diseña un sistema de recomendación para e-commerce"),
    ("fraud-detection-design", "system-design", "Diseña un sistema de detección de fraude"),
    ("logistic-regression-scratch", "coding", "Implementa regresión logística desde cero"),
]

# What the guide lists for each question. Each entry must be found in ONE key point's
# text or terms (case-insensitive, hyphens read as spaces): "a + b" means a and b in the
# same key point, "a | b" means either spelling.
GUIDE_POINTS: dict[str, list[str]] = {
    "bias-variance": [
        "bias + underfitting",
        "variance + overfitting",
        "bias squared + irreducible error",
        "complexity + reduces bias + increases variance",
        "regularization + reduces variance",
        "more training data + reduces variance",
    ],
    "regularization": [
        "penalty + loss + overfitting",
        "l1 | l one + lasso + sparse + exactly zero + feature selection",
        "l2 | l two + ridge + toward zero + correlated features",
        "dropout + neurons + training",
        "early stopping + validation loss",
    ],
    "imbalanced-data": [
        "oversampl + smote",
        "undersampl | downsample the majority",
        "data augmentation",
        "class weights",
        "cost sensitive",
        "anomaly detection",
        "accuracy",
        "precision + recall + f1 | f one",
        "pr auc + roc auc",
    ],
    "bagging-vs-boosting": [
        "bootstrap + parallel",
        "averag + vot",
        "bagging + reduces variance",
        "random forest",
        "sequential + previous",
        "boosting + reduces bias",
        "adaboost + gradient boosting + xgboost",
    ],
    "backpropagation": [
        "chain rule + gradient + each weight",
        "backward + multiplied",
        "vanishing + sigmoid + tanh + relu",
        "exploding + compound + gradient clipping",
    ],
    "activation-functions": [
        "linear + no matter how deep",
        "relu + fast + vanishing + dead neurons",
        "leaky relu + prevents dead neurons + small gradient",
        "gelu + transformers + complex",
        "sigmoid + between zero and one + vanishing",
    ],
    "attention-transformers": [
        "relevant",
        "softmax + transpose + square root",
        "query + key + value",
        "parallel + rnns",
        "long range + any two positions",
        "massive datasets",
    ],
    "recsys-design": [
        "feature store + candidate generation + ranking + re ranking",
        "candidate generation + recall + collaborative filtering + content based",
        "cold start + popular",
        "ranking + precision + gbm | gradient boosted + deep + click + purchase",
        "re ranking + diversity + business rules + fairness",
    ],
    "fraud-detection-design": [
        "real time + hundred milliseconds",
        "high precision + false positives",
        "evolving",
        "transaction features + aggregate features",
        "graph features + behavioral features",
        "class weights + cost sensitive + anomaly detection",
    ],
    "logistic-regression-scratch": [
        "sigmoid + clip",
        "zeros",
        "sigmoid + predicted probabilities",
        "gradient + x transpose + predictions minus y",
        "learning rate + iterations",
        "threshold + zero point five",
    ],
}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("-", " "))


def guide_path() -> Path | None:
    for candidate in (ROOT / GUIDE_NAME, ROOT.parent / GUIDE_NAME):
        if candidate.is_file():
            return candidate
    return None


def test_the_guide_table_matches_the_seed_guide() -> None:
    """The ten questions above are the guide's numbered questions, word for word."""
    path = guide_path()
    if path is None:
        pytest.skip(f"the seed guide ({GUIDE_NAME}) is not beside this checkout")
    numbered = re.findall(r"^\d+\. (.+?)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert numbered == [spanish for _, _, spanish in GUIDE]


def test_guide_points_cover_every_guide_question() -> None:
    assert list(GUIDE_POINTS) == [qid for qid, _, _ in GUIDE]


@pytest.mark.parametrize(("qid", "category", "spanish"), GUIDE, ids=[g[0] for g in GUIDE])
def test_guide_question_exists_with_the_guides_spanish(bank, qid: str, category: str,
                                                       spanish: str) -> None:
    q = bank.get(qid)
    assert q is not None, f"guide question {qid!r} is missing from the bank"
    assert q.category == category
    assert q.prompt_es.strip().startswith(spanish), (q.prompt_es, spanish)


@pytest.mark.parametrize("qid", list(GUIDE_POINTS))
def test_guide_question_carries_what_the_guide_lists(bank, qid: str) -> None:
    q = bank.get(qid)
    assert q is not None
    points = {kp.id: _norm(" ".join([kp.text, *kp.terms])) for kp in q.key_points}
    missing = []
    for requirement in GUIDE_POINTS[qid]:
        needs = [[_norm(alt.strip()) for alt in part.split("|")] for part in requirement.split("+")]
        if not any(all(any(alt in text for alt in alts) for alts in needs)
                   for text in points.values()):
            missing.append(requirement)
    assert not missing, f"{qid}: no single key point covers {missing}"


# ---------------------------------------------------------------------------------------
# Every question is well formed and speakable
# ---------------------------------------------------------------------------------------

UNSPEAKABLE = re.compile(r"\^|sqrt\(|_|\{|\}|\||=|→|`|\bdef |\bimport |\w\(\)|np\.|\[\d")


def test_every_question_is_well_formed(bank) -> None:
    problems = []
    for q in bank.questions:
        key_point_ids = {kp.id for kp in q.key_points}
        if not 3 <= len(q.key_points) <= 8:
            problems.append(f"{q.id}: {len(q.key_points)} key points")
        if not 2 <= len(q.follow_ups) <= 12:
            problems.append(f"{q.id}: {len(q.follow_ups)} follow-ups")
        for f in q.follow_ups:
            if f.key_point is not None and f.key_point not in key_point_ids:
                problems.append(f"{q.id}: follow-up names unknown key point {f.key_point!r}")
            if (f.key_point is None) == (not f.deeper):
                problems.append(f"{q.id}: follow-up {f.text!r} needs one of key_point/deeper")
        if not q.hint.strip():
            problems.append(f"{q.id}: no hint")
        words = len(q.answer.split())
        if not 60 <= words <= 150:
            problems.append(f"{q.id}: answer has {words} words")
        for kp in q.key_points:
            if not 3 <= len(kp.terms) <= 10:
                problems.append(f"{q.id}/{kp.id}: {len(kp.terms)} terms")
            if any(t != t.lower() for t in kp.terms):
                problems.append(f"{q.id}/{kp.id}: terms not lowercase")
    assert not problems, "\n".join(problems)


def test_every_spoken_text_is_speakable(bank) -> None:
    problems = []
    for q in bank.questions:
        spoken = {"prompt": q.prompt, "hint": q.hint, "answer": q.answer}
        spoken |= {f"follow-up {n}": f.text for n, f in enumerate(q.follow_ups)}
        for where, text in spoken.items():
            if found := UNSPEAKABLE.findall(text):
                problems.append(f"{q.id} {where}: {found}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text",
    ["QK^T/sqrt(d_k)", "use {x}", "a | b", "x = 1", "A → B", "call `fit`", "model.fit()",
     "np.dot(X, w)", "def fit(self):"],
)
def test_the_speakable_check_catches_symbols(text: str) -> None:
    assert UNSPEAKABLE.search(text)


def test_ids_are_unique_across_the_bank(bank) -> None:
    ids = [q.id for q in bank.questions]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------------
# The README's counts table is the bank's
# ---------------------------------------------------------------------------------------


def readme_counts() -> dict[str, dict[str, int]]:
    """Rows of the `| category | easy | medium | hard | total |` table in README.md."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.match(r"^\|\s*category\s*\|\s*easy\s*\|\s*medium\s*\|\s*hard\s*\|", line))
    header = [c.strip() for c in lines[start].strip().strip("|").split("|")]
    table: dict[str, dict[str, int]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*").strip() for c in line.strip().strip("|").split("|")]
        table[cells[0]] = {name: int(value) for name, value in zip(header[1:], cells[1:], strict=True)}
    return table


def test_readme_table_parses() -> None:
    table = readme_counts()
    assert "total" in table
    assert set(table) - {"total"} == set(CATEGORIES)
    for row in table.values():
        assert row["total"] == row["easy"] + row["medium"] + row["hard"]
    for level in ("easy", "medium", "hard", "total"):
        assert table["total"][level] == sum(r[level] for c, r in table.items() if c != "total")


def test_counts_equal_the_readme_table(bank) -> None:
    table = readme_counts()
    counts = bank.counts()
    assert set(counts) == set(CATEGORIES), "all six categories are present"
    for category in CATEGORIES:
        row = table[category]
        assert counts[category] == {k: row[k] for k in ("easy", "medium", "hard")}, category
        assert len(bank.filter([category])) == row["total"]
    for level in ("easy", "medium", "hard"):
        assert len(bank.filter(difficulty=level)) == table["total"][level]
    assert len(bank) == table["total"]["total"]
    assert len(bank) >= 70


# ---------------------------------------------------------------------------------------
# A user's extra folder
# ---------------------------------------------------------------------------------------


def test_an_extra_folder_merges_its_questions(tmp_path: Path, bank) -> None:
    write(tmp_path / "mine", "mine.yaml",
          bank_text(question("my-own-question"), question("my-other", "hard"), category="coding"))

    merged = load_bank(extra_dirs=[tmp_path / "mine"])

    assert len(merged) == len(bank) + 2
    mine = merged.get("my-own-question")
    assert mine is not None and mine.category == "coding"
    assert {q.id for q in bank.questions} <= {q.id for q in merged.questions}
    assert merged.counts()["coding"]["hard"] == bank.counts()["coding"]["hard"] + 1


def test_settings_questions_dirs_feed_the_bank(tmp_path: Path, bank) -> None:
    write(tmp_path / "mine", "mine.yaml", bank_text(question("my-own-question")))
    settings = Settings(questions_dirs=[tmp_path / "mine"])
    merged = load_bank(settings.questions_dirs)
    assert merged.get("my-own-question") is not None
    assert len(merged) == len(bank) + 1


@pytest.mark.parametrize("form", ["one", "comma", "json"])
def test_viva_questions_dirs_environment_variable(tmp_path: Path, monkeypatch, form: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "a.yaml", bank_text(question("from-a")))
    write(b, "b.yaml", bank_text(question("from-b")))
    value, expected = {
        "one": (str(a), [a]),
        "comma": (f"{a},{b}", [a, b]),
        "json": (f'["{a}", "{b}"]', [a, b]),
    }[form]
    monkeypatch.setenv("VIVA_QUESTIONS_DIRS", value)

    settings = Settings()

    assert settings.questions_dirs == expected
    merged = load_bank(settings.questions_dirs)
    assert all(merged.get(f"from-{p.name}") is not None for p in expected)


def test_an_extra_folder_clashing_with_a_builtin_id_is_an_error(tmp_path: Path) -> None:
    clash = write(tmp_path / "mine", "mine.yaml", bank_text(question("bias-variance")))

    with pytest.raises(BankError) as caught:
        load_bank(extra_dirs=[tmp_path / "mine"])

    message = str(caught.value)
    assert "duplicate question id 'bias-variance'" in message
    assert str(clash) in message
    assert "fundamentals.yaml" in message


def test_create_app_refuses_a_broken_extra_folder_before_loading_models(tmp_path: Path) -> None:
    from server.app import create_app

    write(tmp_path / "mine", "mine.yaml", bank_text(question("bias-variance")))
    with pytest.raises(BankError, match="bias-variance"):
        create_app(Settings(data_dir=tmp_path / "data", questions_dirs=[tmp_path / "mine"]))


# ---------------------------------------------------------------------------------------
# GET /api/questions on a live server
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
class TestQuestionsApi:
    def get(self, server, **params: str) -> httpx.Response:
        return httpx.get(f"{server.url}/api/questions", params=params, timeout=30)

    def test_all_questions(self, server, bank) -> None:
        response = self.get(server)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["questions"]) == len(bank)
        assert body["categories"] == sorted(CATEGORIES)
        ids = {q["id"] for q in body["questions"]}
        assert {qid for qid, _, _ in GUIDE} <= ids
        first = next(q for q in body["questions"] if q["id"] == "bias-variance")
        expected = bank.get("bias-variance")
        assert first["prompt_es"] == expected.prompt_es
        assert first["key_points"] == [kp.text for kp in expected.key_points]
        assert {"prompt", "difficulty", "category", "hint", "tags", "vocabulary"} <= set(first)
        assert "answer" not in first

    @pytest.mark.parametrize("category", CATEGORIES)
    def test_category_filter(self, server, bank, category: str) -> None:
        body = self.get(server, category=category).json()
        assert body["count"] == len(bank.filter([category])) == readme_counts()[category]["total"]
        assert {q["category"] for q in body["questions"]} == {category}

    @pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
    def test_difficulty_filter(self, server, bank, difficulty: str) -> None:
        body = self.get(server, difficulty=difficulty).json()
        assert body["count"] == len(bank.filter(difficulty=difficulty))
        assert {q["difficulty"] for q in body["questions"]} == {difficulty}

    def test_both_filters(self, server, bank) -> None:
        body = self.get(server, category="deep-learning", difficulty="hard").json()
        expected = [q.id for q in bank.filter(["deep-learning"], "hard")]
        assert [q["id"] for q in body["questions"]] == expected
        assert expected and body["count"] == len(expected)

    def test_unknown_category_is_400(self, server) -> None:
        response = self.get(server, category="cooking")
        assert response.status_code == 400
        assert "cooking" in response.json()["detail"]

    def test_unknown_difficulty_is_400(self, server) -> None:
        response = self.get(server, difficulty="impossible")
        assert response.status_code == 400


def test_every_key_point_states_its_claim_as_concepts(bank) -> None:
    """Coverage is decided by claims; a built-in point without `requires` would fall back
    to the learned matcher, and a misconception without them could never be reported."""
    problems = []
    for q in bank.questions:
        for kp in q.key_points:
            for claim in (kp.requires, *kp.alternatives):
                if not 1 <= len(claim) <= 4:
                    problems.append(f"{q.id}/{kp.id}: {len(claim)} concepts in a claim")
            for m in kp.misconceptions:
                if not m.requires:
                    problems.append(f"{q.id}/{kp.id}: misconception {m.text!r} has no requires")
    assert not problems, "\n".join(problems)


def test_every_model_answer_states_every_key_point_and_no_misconception(bank) -> None:
    """The bank's own model answer is the first answer a claim must match; and a correct
    answer must never read as a misconception."""
    from server.scoring.claims import claim_for, misconception_claims, read_answer, stated_misconception

    problems = []
    for q in bank.questions:
        reading = read_answer(q.answer)
        for kp in q.key_points:
            claim = claim_for(q, kp)
            if reading.shortest(claim) is None:
                problems.append(f"{q.id}/{kp.id}: the model answer does not state it")
            if wrong := stated_misconception(claim, misconception_claims(kp), reading):
                problems.append(f"{q.id}/{kp.id}: the model answer reads as {wrong!r}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_contrasted_subjects_name_key_points(bank) -> None:
    """A question's `contrasts` bind something: one of its groups is a key point's subject
    (the first concept); the others may be rivals only."""
    from server.scoring.claims import Phrasing

    problems = []
    for q in bank.questions:
        subjects = [{Phrasing.of(p).words for p in kp.requires[0]} for kp in q.key_points if kp.requires]
        groups = [{Phrasing.of(p).words for p in group} for group in q.contrasts]
        if groups and not any(g & s for g in groups for s in subjects):
            problems.append(f"{q.id}: no contrast group is any key point's subject")
    assert not problems, "\n".join(problems)


def test_alternatives_are_checked_like_requires() -> None:
    from server.bank import KeyPoint

    with pytest.raises(ValueError, match="give 'requires' too"):
        KeyPoint(id="lever", text="Raising the threshold trades recall for precision.",
                 alternatives=[[["+threshold"], ["+precision"]]])
    point = KeyPoint(id="lever", text="Raising the threshold trades recall for precision.",
                     requires=[["threshold"], ["trade off"]],
                     alternatives=[[["+Threshold"], ["+Precision", " -recall "]]])
    assert point.alternatives == ((("+threshold",), ("+precision", "-recall")),)
