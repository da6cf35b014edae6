"""The browser client's pure-logic unit tests (client/tests/*.test.mjs) under node's test runner:
resampling, framing, the socket URL, evidence highlighting, the generated protocol module."""

from __future__ import annotations

import shutil
import subprocess

from tests.conftest import ROOT, need


def test_client_unit_tests_pass() -> None:
    node = shutil.which("node")
    need(node is not None, "node is not installed (needed for the client's unit tests)")
    assert node is not None
    run = subprocess.run([node, "--test", "client/tests/"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
