"""client/protocol.js is what `python -m server.protocol_js` writes now: the browser
client's message types, literal values and limits cannot drift from server/protocol.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing

from server import protocol as p
from server.protocol_js import render_js
from tests.conftest import ROOT, need

GENERATED = ROOT / "client" / "protocol.js"


def test_the_committed_module_is_what_the_generator_writes() -> None:
    run = subprocess.run([sys.executable, "-m", "server.protocol_js"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    assert run.stdout == render_js()
    assert GENERATED.read_text(encoding="utf-8") == run.stdout, (
        "client/protocol.js is stale: run `python -m server.protocol_js > client/protocol.js`")


def test_the_module_holds_the_models_values() -> None:
    """Read back through node: what the client imports is what the models say."""
    node = shutil.which("node")
    need(node is not None, "node is not installed (needed to import client/protocol.js)")
    assert node is not None
    script = ("import('./client/protocol.js').then((m) => console.log(JSON.stringify("
              "{...m, MESSAGES: m.MESSAGES})))")
    run = subprocess.run([node, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    module = json.loads(run.stdout)
    assert module["PROTOCOL_VERSION"] == p.PROTOCOL_VERSION
    assert module["MAX_FRAME_BYTES"] == p.MAX_FRAME_BYTES
    assert module["MAX_TEXT_CHARS"] == p.MAX_TEXT_CHARS
    assert module["DEFAULT_SAMPLE_RATE"] == p.Start().sample_rate
    assert list(module["ClientType"].values()) == list(p.CLIENT_TYPES)
    assert list(module["ErrorCode"].values()) == list(typing.get_args(p.ErrorCode))
    assert list(module["Command"].values()) == list(typing.get_args(p.CommandName))
    assert list(module["AgentKind"].values()) == list(typing.get_args(p.AgentKind))
    start = module["MESSAGES"]["client"]["start"]
    assert start["ranges"]["num_questions"] == [1, 50]
    assert start["defaults"]["max_follow_ups"] == p.Start().max_follow_ups
    assert module["MESSAGES"]["server"]["audio_start"]["defaults"]["format"] == "pcm_s16le"
