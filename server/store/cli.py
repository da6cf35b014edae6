"""`viva sessions`, `viva export` and `viva backup`: the store from the command line.

Registered on the main parser by `server.cli` through `add_subcommands`. These
commands migrate the schema if needed but never mark sessions interrupted: a
server may be running beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from server.config import Settings, SettingsError
from server.store import SessionStore, StoreError, open_store
from server.store.check import backup
from server.store.db import database_url
from server.store.export import review, to_json, to_markdown


def add_subcommands(subparsers: Any) -> None:
    """Add `sessions` and `export` to an `argparse` subparsers object."""
    listing = subparsers.add_parser("sessions", help="list stored sessions, newest first")
    listing.add_argument("--limit", type=int, default=30)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--data-dir", type=Path, default=None, help="default ./data")
    listing.set_defaults(func=sessions_command)
    export = subparsers.add_parser("export", help="print or save one session (md or json)")
    export.add_argument("id", help="the session id (see `viva sessions`)")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    export.add_argument("--data-dir", type=Path, default=None, help="default ./data")
    export.set_defaults(func=export_command)
    copy = subparsers.add_parser("backup", help="copy the SQLite database, safely while "
                                 "viva runs (recordings stay in the data folder's audio/)")
    copy.add_argument("path", type=Path, help="the new file to write")
    copy.add_argument("--data-dir", type=Path, default=None, help="default ./data")
    copy.set_defaults(func=backup_command)


def _settings(args: argparse.Namespace) -> Settings:
    data_dir = getattr(args, "data_dir", None)
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _no_database(settings: Settings) -> bool:
    """True for a SQLite file that does not exist: say so rather than create one."""
    url = database_url(settings.database_url, settings.data_dir)
    return url.get_backend_name() == "sqlite" and not Path(url.database or "").exists()


async def _with_store(settings: Settings, work: Any) -> Any:
    store: SessionStore = open_store(settings)
    try:
        await store.init(recover=False)
        return await work(store)
    finally:
        await store.close()


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def sessions_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    if _no_database(settings):
        print(f"no sessions yet (no database in {settings.data_dir})", file=sys.stderr)
        if args.json:
            print("[]")
        return 0

    async def work(store: SessionStore) -> list[dict[str, Any]]:
        return [row.model_dump(mode="json")
                | {"review_path": f"/review/{row.id}?token={await store.review_grant(row.id)}"}
                for row in await store.list_sessions(args.limit)]

    try:
        rows = asyncio.run(_with_store(settings, work))
    except (StoreError, OSError) as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no sessions yet", file=sys.stderr)
        return 0
    print(f"{'id':14} {'started':16} {'mode':9} {'status':11} {'q':>3} {'overall':>7}  categories")
    for row in rows:
        overall = row["overall"]
        cats = ", ".join(f"{c} {round(v)}" for c, v in sorted((row["categories"] or {}).items()))
        print(f"{row['id']:14} {_when(row['created_at']):16} {row['mode']:9} {row['status']:11} "
              f"{row['question_count']:>3} {'—' if overall is None else round(overall):>7}  {cats}")
    print(f"\n{len(rows)} session(s). `viva export ID` prints one; `--json` adds review links.")
    return 0


def export_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    if _no_database(settings):
        print(f"viva: no session {args.id!r} (no database in {settings.data_dir})",
              file=sys.stderr)
        return 1
    try:
        session = asyncio.run(_with_store(settings, lambda store: store.read_session(args.id)))
    except (StoreError, OSError) as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    if session is None:
        print(f"viva: no session {args.id!r}", file=sys.stderr)
        return 1
    shown = review(session, _bank(settings))
    text = to_markdown(shown) if args.format == "md" else to_json(shown)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _bank(settings: Settings) -> Any:
    # The model answers come from the bank; an export without them beats no export.
    from server.bank import BankError, load_bank

    try:
        return load_bank(settings.questions_dirs)
    except BankError:
        return None


def backup_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        count = backup(settings, args.path)
    except (SettingsError, StoreError, OSError) as exc:
        print(f"viva: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {count} session(s) to {args.path}", file=sys.stderr)
    return 0
