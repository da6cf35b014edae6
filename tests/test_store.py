"""The session store on a real SQLite file and a real PostgreSQL server.

Every test that takes `make_store` runs on both databases. PostgreSQL comes from
`VIVA_TEST_POSTGRES_URL` when set, else from a throwaway cluster started with the
system's `initdb`/`pg_ctl` (Debian package `postgresql`); without either it is
skipped here and fails in CI.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import wave
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from server.config import Settings
from server.store import SessionStore, StoreError, hash_token, open_store
from server.store import db as store_db
from server.store.schema import metadata
from tests.conftest import free_port, need

TOKEN = "Sup3rSecretT0ken-abcdefgh"

WORDS = [
    {"word": "Um,", "start": 0.0, "end": 0.3, "probability": 0.9},
    {"word": "bias", "start": 0.4, "end": 0.8, "probability": 0.95},
    {"word": "is", "start": 0.8, "end": 0.9, "probability": 0.97},
    {"word": "underfitting.", "start": 2.8, "end": 3.4, "probability": 0.9},
]


def summary(session_id: str, overall: float | None, **more: Any) -> dict[str, Any]:
    """A `summary` message as conversation.py stores it (its review link is dropped)."""
    return {"type": "summary", "session_id": session_id, "overall": overall, "questions": [],
            "strengths": [], "improvements": [], "review_url": None, "categories": None} | more


def score(turn_id: str, question_id: str, overall: float, covered: bool = True) -> dict[str, Any]:
    return {
        "type": "score", "turn_id": turn_id, "question_id": question_id, "overall": overall,
        "content": overall + 5, "delivery": overall - 5,
        "key_points": [
            {"id": "bias", "text": "Bias is error from wrong assumptions", "covered": covered,
             "evidence": "bias is underfitting" if covered else None},
            {"id": "variance", "text": "Variance is sensitivity to the data", "covered": False,
             "evidence": None},
        ],
        "metrics": {"words": 4, "duration_s": 3.4, "wpm": 70.6, "filler_count": 1,
                    "fillers_per_min": 17.6, "long_pauses": 1},
        "feedback": "Name variance too.",
    }


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parent.parent.name)
                        if Path(p).parent.parent.name.isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database URL for the tests (its tables are dropped between tests)."""
    given = os.environ.get("VIVA_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    need(bindir is not None, "PostgreSQL not installed (Debian package 'postgresql'), "
         "or set VIVA_TEST_POSTGRES_URL")
    assert bindir is not None
    # initdb refuses to run as root: run the server as the `postgres` system user then.
    run_as: dict[str, Any] = {}
    root = tempfile.mkdtemp(prefix="viva-pg-")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            need(False, "running as root and there is no 'postgres' user to run PostgreSQL")
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

    def pg(*args: str) -> None:
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True,
                              timeout=120, **run_as)
        if done.returncode:
            log_text = Path(log).read_text() if os.path.exists(log) else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}{log_text}")

    try:
        pg(str(bindir / "initdb"), "-D", data, "-U", "viva", "--auth=trust", "-E", "UTF8",
           "--no-sync", "--no-instructions")
        pg(str(bindir / "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", "-o",
           f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
        pg(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "viva",
           "viva_test")
        yield f"postgresql://viva@127.0.0.1:{port}/viva_test"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run([str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                           cwd=root, env=env, capture_output=True, timeout=60, **run_as)
        shutil.rmtree(root, ignore_errors=True)


async def _drop_everything(url: str) -> None:
    engine = create_async_engine(store_db.database_url(url, Path(".")))
    try:
        async with engine.begin() as conn:
            def drop(sync: Any) -> None:
                existing = MetaData()
                existing.reflect(sync)
                existing.drop_all(sync)
            await conn.run_sync(drop)
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- fixtures


class Stores:
    """Opens stores on one database and data folder, as successive server runs would."""

    def __init__(self, kind: str, data_dir: Path, url: str | None) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.url = url
        self.opened: list[SessionStore] = []

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.url)

    def open(self) -> SessionStore:
        store = open_store(self.settings)
        self.opened.append(store)
        return store

    async def ready(self) -> SessionStore:
        store = self.open()
        await store.init()
        return store


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request, tmp_path) -> AsyncIterator[Stores]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        await _drop_everything(url)
    made = Stores(request.param, tmp_path / "data", url)
    yield made
    for store in made.opened:
        await store.close()


async def seed(store: SessionStore, session_id: str = "s1", token: str = TOKEN) -> None:
    await store.create_session(session_id, token, "interview",
                               {"mode": "interview", "num_questions": 2, "max_follow_ups": 0,
                                "question_ids": ["bias-variance", "backpropagation"],
                                "resume": {"session_id": "old", "token": token}})
    await store.add_question(session_id, 1, "bias-variance", "fundamentals",
                             "Explain the bias-variance tradeoff.")
    await store.add_turn(session_id, {"turn_id": "u1", "speaker": "interviewer",
                                      "kind": "question", "text": "Explain bias and variance.",
                                      "question_id": "bias-variance"})
    audio = await store.save_audio(session_id, "t1", b"\x10\x00\xf0\xff" * 8000)
    await store.add_turn(session_id, {
        "turn_id": "t1", "speaker": "candidate", "kind": None,
        "text": "Um, bias is underfitting.", "question_id": "bias-variance",
        "words": WORDS, "segments": [(0.0, 0.95), (2.75, 3.45)],
        "score": score("t1", "bias-variance", 60), "metrics": score("t1", "x", 60)["metrics"],
        "feedback": "Name variance too.", "audio_path": audio,
    })


# --------------------------------------------------------------------------- tests


async def test_session_round_trip(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store)
    await store.add_question("s1", 2, "backpropagation", "deep-learning", "Explain backprop.")
    await store.add_turn("s1", {"turn_id": "t2", "speaker": "candidate", "text": "typed answer",
                                "question_id": "backpropagation", "words": [],
                                "score": score("t2", "backpropagation", 80) | {"delivery": None}})

    session = await store.read_session("s1")
    assert session is not None
    assert session.id == "s1" and session.mode == "interview"
    assert session.status == "active" and session.ended_at is None
    assert session.settings["question_ids"] == ["bias-variance", "backpropagation"]
    assert session.settings["resume"] == {"session_id": "old"}  # no token kept
    assert session.created_at.utcoffset() == timedelta(0)
    assert [q.question_id for q in session.questions] == ["bias-variance", "backpropagation"]
    assert session.questions[1].model_dump(exclude={"asked_at"}) == {
        "index": 2, "question_id": "backpropagation", "category": "deep-learning",
        "prompt": "Explain backprop."}
    assert [(t.seq, t.turn_id, t.speaker) for t in session.turns] == [
        (1, "u1", "interviewer"), (2, "t1", "candidate"), (3, "t2", "candidate")]
    answer = session.turns[1]
    assert [w.model_dump(include=set(WORDS[0])) for w in answer.words or []] == WORDS
    assert answer.segments == [(0.0, 0.95), (2.75, 3.45)]
    assert answer.score is not None and answer.score.key_points[0].evidence == \
        "bias is underfitting"
    assert answer.metrics == score("t1", "x", 60)["metrics"]
    assert answer.feedback == "Name variance too."
    assert answer.audio_path == "audio/s1/t1.wav"
    typed = session.turns[2]
    assert typed.score is not None and typed.score.delivery is None
    # Metrics and feedback default to the score's own when not given separately.
    assert typed.metrics is not None and typed.metrics["wpm"] == 70.6
    assert typed.feedback == "Name variance too."
    assert session.turns[1].score is not None and session.turns[1].score.overall == 60

    with wave.open(str(stores.data_dir / "audio/s1/t1.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.getnframes() == 16000
        assert wav.readframes(2) == b"\x10\x00\xf0\xff"
    assert await store.read_session("nope") is None
    # A row that is not a turn is refused before it reaches the database.
    with pytest.raises(ValueError):
        await store.add_turn("s1", {"turn_id": "t9", "speaker": "narrator", "text": "x"})
    with pytest.raises(ValueError):
        await store.add_turn("s1", {"turn_id": "t9", "speaker": "candidate", "txt": "x"})


async def test_same_turn_id_updates_in_place(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store)
    await store.add_turn("s1", {"turn_id": "t1", "speaker": "candidate", "text": "rescored",
                                "question_id": "bias-variance",
                                "score": score("t1", "bias-variance", 90)})
    # And asking question 1 again replaces it (one row per index).
    await store.add_question("s1", 1, "backpropagation", "deep-learning", "Backprop?")
    session = await store.read_session("s1")
    assert session is not None
    assert [t.turn_id for t in session.turns] == ["u1", "t1"]
    rescored = session.turns[1]
    assert rescored.seq == 2 and rescored.score is not None and rescored.score.overall == 90
    assert rescored.text == "rescored" and rescored.audio_path is None
    assert [(q.index, q.question_id) for q in session.questions] == [(1, "backpropagation")]


async def test_concurrent_turns_get_distinct_positions(stores: Stores) -> None:
    store = await stores.ready()
    await store.create_session("s1", TOKEN, "drill", {})
    await asyncio.gather(*(store.add_turn("s1", {"turn_id": f"t{i}", "speaker": "candidate",
                                                 "text": str(i)}) for i in range(20)))
    session = await store.read_session("s1")
    assert session is not None
    assert sorted(t.seq for t in session.turns) == list(range(1, 21))


async def test_token_is_hashed_and_checked(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store)
    await seed(store, "s2", "another-token-0123456789")
    await store.finish_session("s1", summary("s1", 60.0,
                                             review_url=f"/review/s1?token={TOKEN}"))
    assert await store.check_token("s1", TOKEN)
    assert not await store.check_token("s1", TOKEN + "x")
    assert not await store.check_token("s1", "")
    assert not await store.check_token("s1", "another-token-0123456789")
    assert not await store.check_token("missing", TOKEN)

    # Nothing stored holds the raw token: not the hash column, not the start options
    # (resume.token), not the summary (review_url).
    async with store.engine.connect() as conn:
        dumped = []
        for table in metadata.sorted_tables:
            dumped += [repr(tuple(row)) for row in (await conn.execute(select(table))).all()]
    everything = "\n".join(dumped)
    assert hash_token(TOKEN) in everything
    assert TOKEN not in everything
    if stores.kind == "sqlite":
        await store.close()  # checkpoints the WAL into the main file
        raw = b"".join(p.read_bytes() for p in stores.data_dir.glob("viva.sqlite3*"))
        assert hash_token(TOKEN).encode() in raw
        assert TOKEN.encode() not in raw


async def test_review_grant_opens_only_its_session(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store)
    await seed(store, "s2", "another-token-0123456789")
    grant = await store.review_grant("s1")
    assert grant != await store.review_grant("s2")
    assert await store.check_access("s1", grant)
    assert await store.check_access("s1", TOKEN)
    assert not await store.check_access("s2", grant)
    assert not await store.check_access("s1", None)
    # One character changed (the grant may itself end in "0": one time in sixteen).
    assert not await store.check_access("s1", grant[:-1] + ("1" if grant.endswith("0") else "0"))
    assert not await store.check_token("s1", grant)  # a grant cannot resume a session
    # The secret behind the grants lives in the database: a restart keeps links working.
    again = await stores.ready()
    assert await again.review_grant("s1") == grant


async def test_list_sessions_newest_first_with_averages(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store, "old")
    await store.add_question("old", 2, "backpropagation", "deep-learning", "Backprop?")
    # Two answers to question 1: the best one counts.
    await store.add_turn("old", {"turn_id": "t2", "speaker": "candidate", "text": "more",
                                 "question_id": "bias-variance",
                                 "score": score("t2", "bias-variance", 70)})
    await store.add_turn("old", {"turn_id": "t3", "speaker": "candidate", "text": "backprop",
                                 "question_id": "backpropagation",
                                 "score": score("t3", "backpropagation", 90)})
    await asyncio.sleep(0.01)
    await store.create_session("new", "tok-new-0123456789", "drill", {"mode": "drill"})
    await store.finish_session("new", summary("new", None))

    listed = await store.list_sessions()
    assert [s.id for s in listed] == ["new", "old"]
    old = listed[1]
    assert old.status == "active" and old.mode == "interview"
    assert old.question_count == 2 and old.answered_count == 2
    assert old.overall == 80.0
    assert old.categories == {"fundamentals": 70.0, "deep-learning": 90.0}
    assert listed[0].status == "completed" and listed[0].overall is None
    assert listed[0].question_count == 0
    assert [s.id for s in await store.list_sessions(limit=1)] == ["new"]

    # A finished session's summary figures win over the recomputed ones.
    await store.finish_session("old", summary("old", 77.5, categories={"fundamentals": 65.0}))
    old = (await store.list_sessions())[1]
    assert old.overall == 77.5 and old.categories == {"fundamentals": 65.0}
    assert old.status == "completed" and old.ended_at is not None


async def test_status_changes_and_restart_marks_active_interrupted(stores: Stores) -> None:
    store = await stores.ready()
    await seed(store, "running")
    await seed(store, "done")
    await store.finish_session("done", summary("done", 60.0))
    await store.close()

    # A CLI command beside a running server must not touch live sessions.
    cli = stores.open()
    await cli.init(recover=False)
    still = await cli.read_session("running")
    assert still is not None and still.status == "active"

    restarted = await stores.ready()
    running = await restarted.read_session("running")
    assert running is not None and running.status == "interrupted"
    assert running.ended_at is not None
    assert [t.turn_id for t in running.turns] == ["u1", "t1"]  # nothing lost
    done = await restarted.read_session("done")
    assert done is not None and done.status == "completed"
    assert done.summary is not None and done.summary.model_dump(mode="json") == \
        summary("done", 60.0)

    await restarted.mark_status("running", "active")  # resumed
    running = await restarted.read_session("running")
    assert running is not None and running.status == "active" and running.ended_at is None
    with pytest.raises(ValueError):
        await restarted.mark_status("running", "paused")


async def test_audio_ids_cannot_escape_the_data_folder(stores: Stores) -> None:
    store = await stores.ready()
    for bad in ("../x", "a/b", "..", "", ".hidden"):
        with pytest.raises(ValueError):
            await store.save_audio(bad, "t1", b"\x00\x00")
        with pytest.raises(ValueError):
            await store.save_audio("s1", bad, b"\x00\x00")
    with pytest.raises(ValueError):
        await store.save_audio("s1", "t1", b"\x00")  # half a sample
    assert not (stores.data_dir / "audio").exists() or not any(
        (stores.data_dir / "audio").rglob("*.wav"))


async def test_older_database_is_migrated_without_losing_data(stores: Stores) -> None:
    """A database written by the first schema (0001) opens with the current code: the
    migration adds what is new and backfills it, and every old row is still there."""
    old = stores.open()
    async with old.engine.begin() as conn:
        before, after = await store_db.migrate(conn, "0001")
        assert (before, after) == (None, "0001")

        def write_old_rows(sync: Any) -> None:
            shape = MetaData()
            s = Table("sessions", shape, autoload_with=sync)
            q = Table("questions", shape, autoload_with=sync)
            t = Table("turns", shape, autoload_with=sync)
            assert "overall" not in t.c  # really the old shape
            from datetime import UTC, datetime
            now = datetime.now(UTC)
            sync.execute(insert(s).values(id="legacy", mode="interview", settings={},
                                          token_hash=hash_token(TOKEN), status="completed",
                                          created_at=now, updated_at=now, ended_at=now,
                                          summary=None))
            sync.execute(insert(q).values(session_id="legacy", index=1,
                                          question_id="bias-variance", category="fundamentals",
                                          prompt="Bias?", asked_at=now))
            sync.execute(insert(t).values(session_id="legacy", turn_id="t1", seq=1,
                                          speaker="candidate", text="old answer",
                                          question_id="bias-variance",
                                          score=score("t1", "bias-variance", 55),
                                          created_at=now))

        await conn.run_sync(write_old_rows)
    await old.close()

    store = await stores.ready()  # migrates to head
    async with store.engine.connect() as conn:
        assert await conn.run_sync(store_db.current_revision) == store_db.head_revision()
    session = await store.read_session("legacy")
    assert session is not None and session.turns[0].text == "old answer"
    assert await store.check_token("legacy", TOKEN)
    listed = await store.list_sessions()
    assert listed[0].overall == 55.0  # backfilled column
    assert listed[0].categories == {"fundamentals": 55.0}
    # And the migrated database takes new writes.
    await store.add_turn("legacy", {"turn_id": "t2", "speaker": "candidate", "text": "new"})


async def test_migrations_build_exactly_the_current_schema(stores: Stores) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = await stores.ready()
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert diff == []


async def test_a_newer_database_is_refused(stores: Stores) -> None:
    store = await stores.ready()
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda sync: sync.execute(
            Table("alembic_version", MetaData(), autoload_with=sync).update()
            .values(version_num="9999")))
    with pytest.raises(StoreError, match="9999"):
        await stores.ready()


def test_database_url_choice(tmp_path) -> None:
    url = store_db.database_url(None, tmp_path)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str((tmp_path / "viva.sqlite3").resolve())
    assert store_db.database_url("postgres://u:p@h/db", tmp_path).drivername == \
        "postgresql+asyncpg"
    assert store_db.database_url("postgresql+psycopg://u@h/db", tmp_path).drivername == \
        "postgresql+asyncpg"
    assert store_db.database_url("sqlite:////x/y.db", tmp_path).drivername == "sqlite+aiosqlite"
    with pytest.raises(StoreError):
        store_db.database_url("mysql://u@h/db", tmp_path)




def test_cli_lists_and_exports(tmp_path, capsys) -> None:
    import argparse
    from concurrent.futures import ThreadPoolExecutor

    from server.store.cli import add_subcommands

    parser = argparse.ArgumentParser(prog="viva")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    data = str(tmp_path / "data")

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return int(args.func(args))

    assert run("sessions", "--data-dir", data) == 0
    assert "no sessions yet" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # listing creates no database
    assert run("export", "nope", "--data-dir", data) == 1

    async def fill() -> None:
        store = open_store(Settings(data_dir=tmp_path / "data"))
        await store.init()
        await seed(store)
        await store.finish_session("s1", summary("s1", 60.0, strengths=["clear definitions"],
                                                 improvements=["name variance"]))
        await store.close()

    with ThreadPoolExecutor(1) as pool:  # a loop of its own; the CLI runs its own too
        pool.submit(asyncio.run, fill()).result()
    capsys.readouterr()

    assert run("sessions", "--data-dir", data) == 0
    out = capsys.readouterr().out
    assert "s1" in out and "completed" in out and "fundamentals 60" in out
    assert run("sessions", "--json", "--data-dir", data) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == "s1" and listed[0]["review_path"].startswith("/review/s1?token=g.")

    assert run("export", "s1", "--data-dir", data) == 0
    md = capsys.readouterr().out
    assert md.startswith("# viva session s1")
    assert "**You:** Um, bias is underfitting." in md
    assert "- clear definitions" in md and "**Model answer**" in md
    out_file = tmp_path / "s1.json"
    assert run("export", "s1", "--format", "json", "--out", str(out_file),
               "--data-dir", data) == 0
    exported = json.loads(out_file.read_text())
    assert exported["id"] == "s1" and exported["questions"][0]["answer"]
    assert TOKEN not in out_file.read_text()
