"""`viva` on the command line: serve, and browse the question bank."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from server import __version__, memory
from server.bank import CATEGORIES, BankError, load_bank
from server.config import Settings, SettingsError
from server.logs import install_redaction
from server.store import StoreError
from server.store.cli import add_subcommands as add_store_commands


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.engines.stt import resolve_whisper_model
    from server.engines.tts import resolve_piper_voice
    from server.serving import uvicorn_config

    overrides = {k: v for k, v in {
        "host": args.host, "port": args.port, "data_dir": args.data_dir,
        "access_key": args.access_key, "stt_model": args.stt_model,
        "stt_compute_type": args.compute_type, "tts_voice": args.voice,
        "endpoint_silence_ms": args.endpoint_silence_ms,
    }.items() if v is not None}
    try:
        settings = Settings(**overrides)
        # Check model paths before anything loads, so a typo fails in a second.
        resolve_whisper_model(settings.stt_model)
        resolve_piper_voice(settings.tts_voice)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        app = create_app(settings)
    except (SettingsError, BankError, StoreError) as exc:
        print(f"viva: cannot start: {exc}", file=sys.stderr)
        return 2
    shown = "localhost" if settings.host in ("127.0.0.1", "::1") else settings.host
    # The key in the link only on a terminal: under Docker or systemd stdout is a log.
    key = "" if not settings.access_key else \
        f"?key={settings.access_key}" if sys.stdout.isatty() else "?key=(your access key)"
    memory.tune_native_memory()  # before the model threads start
    if args.open:  # the browser is on this machine: loopback, and the real key
        local = "localhost" if settings.host in ("0.0.0.0", "::", "127.0.0.1", "::1") else shown
        page = f"http://{local}:{settings.port}/"
        open_when_listening(page + (f"?key={quote(settings.access_key, safe='')}"
                                    if settings.access_key else ""), settings.host, settings.port)
    print(f"viva: loading models; then open http://{shown}:{settings.port}/{key}", flush=True)
    config = uvicorn_config(app, settings.host, settings.port, args.log_level)
    install_redaction()  # after uvicorn.Config, which sets up uvicorn's log handlers
    uvicorn.Server(config).run()
    return 0


def open_when_listening(url: str, host: str, port: int, timeout_s: float = 600) -> threading.Thread:
    """Open the browser on `url` once the server accepts connections: uvicorn binds its
    port only after the lifespan has loaded the models, so the page never meets a
    server that is still starting."""
    def wait_then_open() -> None:
        target = "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else host
        target = "::1" if target == "::" else target
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((target, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.25)
        else:
            return
        if not webbrowser.open(url):
            print(f"viva: no browser to open; open {url}", file=sys.stderr, flush=True)

    opener = threading.Thread(target=wait_then_open, name="open-browser", daemon=True)
    opener.start()
    return opener


def _doctor(args: argparse.Namespace) -> int:
    from server.doctor import report, run_checks

    overrides = {k: v for k, v in {"data_dir": args.data_dir, "host": args.host,
                                   "port": args.port}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except SettingsError as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    checks = run_checks(settings)
    print(f"viva {version()}\n{report(checks)}")
    return 0 if all(c.ok for c in checks) else 1


def version() -> str:
    try:
        return importlib.metadata.version("viva")
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        return f"{__version__} (not installed)"


def _questions(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
        bank = load_bank(settings.questions_dirs)
    except (BankError, SettingsError) as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    if args.id:
        question = bank.get(args.id)
        if question is None:
            print(f"viva: no question {args.id!r}", file=sys.stderr)
            return 1
        if args.json:
            print(question.model_dump_json(indent=2))
            return 0
        print(f"{question.id}  [{question.category}, {question.difficulty}]\n")
        print(question.prompt, "\n")
        print("Key points:")
        for kp in question.key_points:
            print(f"  - ({kp.weight}) {kp.text}")
        print("\nFollow-ups:")
        for f in question.follow_ups:
            print(f"  - [{f.key_point or 'deeper'}] {f.text}")
        print(f"\nHint: {question.hint}\n\nModel answer: {question.answer}")
        return 0
    chosen = bank.filter([args.category] if args.category else None, args.difficulty)
    if args.json:
        print(json.dumps([q.model_dump() for q in chosen], indent=2, ensure_ascii=False))
        return 0
    for q in chosen:
        print(f"{q.id:38} {q.category:14} {q.difficulty:7} {q.prompt[:70]}")
    print(f"\n{len(chosen)} of {len(bank)} questions")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viva", description="voice-first ML mock interviewer")
    parser.add_argument("--version", action="version", version=f"viva {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (bundled models, no key needed)")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (VIVA_HOST)")
    serve.add_argument("--port", type=int, default=None, help="default 8000 (VIVA_PORT)")
    serve.add_argument("--data-dir", type=Path, default=None, help="default ./data")
    serve.add_argument("--access-key", default=None, help="required off loopback")
    serve.add_argument("--stt-model", default=None,
                       help="bundled:tiny.en, a size name like base.en, or a model folder")
    serve.add_argument("--compute-type", default=None, help="CTranslate2 compute type (int8)")
    serve.add_argument("--voice", default=None, help="path to a Piper .onnx voice")
    serve.add_argument("--endpoint-silence-ms", type=int, default=None)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--open", action="store_true",
                       help="open the page in the browser once the server is ready")
    serve.set_defaults(func=_serve)
    doctor = sub.add_parser("doctor", help="check that everything viva serve needs is here")
    doctor.add_argument("--data-dir", type=Path, default=None, help="default ./data")
    doctor.add_argument("--host", default=None, help="default 127.0.0.1 (VIVA_HOST)")
    doctor.add_argument("--port", type=int, default=None, help="default 8000 (VIVA_PORT)")
    doctor.set_defaults(func=_doctor)
    questions = sub.add_parser("questions", help="list, filter or show bank questions")
    questions.add_argument("id", nargs="?", help="show one question")
    questions.add_argument("--category", choices=CATEGORIES)
    questions.add_argument("--difficulty", choices=("easy", "medium", "hard"))
    questions.add_argument("--json", action="store_true")
    questions.set_defaults(func=_questions)
    add_store_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    install_redaction()
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
