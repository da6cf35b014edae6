"""viva installed as a user installs it: the wheel holds the code, the page, the bank and
the prompts, and the Dockerfile's steps, run in a fresh virtual environment instead of
a container (no container engine can pull a base image here), give a `viva serve` that
starts from another folder, off loopback with a key, and serves all three."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

SHIPPED = ("client", "questions", "prompts")


def build_wheel(out: Path) -> Path:
    """`pip wheel` of the source tree (what `python -m build --wheel` runs, without
    needing the `build` package in the test environment)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--disable-pip-version-check", "-w", str(out), str(ROOT)],
                   check=True, timeout=300, capture_output=True)
    return next(out.glob("viva-*.whl"))


def test_the_wheel_holds_every_package_and_every_shipped_file(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    for init in (ROOT / "server").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names, "pyproject's package list misses it"
    expected = [p for name in SHIPPED for p in (ROOT / name).glob("*")
                if p.suffix in (".html", ".js", ".css", ".yaml", ".md") and p.name != "README.md"]
    assert expected
    for path in expected:
        assert f"server/{path.relative_to(ROOT).as_posix()}" in names
    assert not any(name.startswith("server/client/tests/") for name in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).read(metadata).decode()
    assert "License-Expression: GPL-3.0-or-later" in text


# ---------------------------------------------------------------------------------------
# The Dockerfile's steps in a fresh virtual environment
# ---------------------------------------------------------------------------------------


class Stage:
    """One FROM stage: an empty folder standing for the image's root file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = "/"
        self.env: dict[str, str] = {}
        self.cmd: list[str] = []

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def rewrite(self, command: str, image_dirs: set[str]) -> str:
        """The image's own absolute paths (/src, /dist, ...) as paths under `root`."""
        for name in sorted(image_dirs, key=len, reverse=True):
            command = re.sub(rf"(?<![\w./-])/{re.escape(name)}(?=[/\s]|$)",
                             str(self.root / name), command)
        return command


def run_dockerfile(dockerfile: Path, context: Path, scratch: Path, python: Path) -> Stage:
    """Carry out COPY, WORKDIR, ENV, RUN and CMD of each stage with `python`'s `bin/`
    first on PATH (its pip and python stand for the base image's)."""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    text = dockerfile.read_text().replace("\\\n", " ")
    # The folders the Dockerfile itself makes (COPY targets, WORKDIR, VOLUME, ENV paths):
    # RUN lines naming them get the stage's copy, never the host's /dist or /data.
    image_dirs = {match for line in text.splitlines()
                  if line.split(" ", 1)[0].upper() in ("COPY", "WORKDIR", "VOLUME", "ENV")
                  for match in re.findall(r"(?<![\w.-])/(\w+)", line)}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = rest.split()
            stage = Stage(scratch / f"stage{len(stages)}")
            stage.root.mkdir()
            stages[parts[2] if len(parts) == 3 else str(len(stages))] = stage
            continue
        assert stage is not None
        if op == "WORKDIR":
            stage.workdir = rest
            stage.path(rest).mkdir(parents=True, exist_ok=True)
        elif op == "ENV":
            stage.env.update(pair.split("=", 1) for pair in shlex.split(rest))
        elif op == "COPY":
            args = rest.split()
            source_root, args = ((stages[args[0].split("=", 1)[1]].root, args[1:])
                                 if args[0].startswith("--from=") else (context, args))
            *sources, target = args
            destination = stage.path(target if target.startswith("/")
                                     else f"{stage.workdir.rstrip('/')}/{target}")
            for source in sources:
                found = source_root / source.lstrip("/")
                if found.is_dir():
                    shutil.copytree(found, destination, dirs_exist_ok=True)
                else:
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(found, destination / found.name)
        elif op == "RUN":
            env = {**os.environ, **stage.env,
                   "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
            env.pop("PYTHONPATH", None)
            env.pop("VIRTUAL_ENV", None)
            # An image keeps no pip cache; this machine's may, as docker's layer cache would.
            env.pop("PIP_NO_CACHE_DIR", None)
            command = stage.rewrite(rest, image_dirs)
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", command],
                                  cwd=stage.path(stage.workdir), env=env, timeout=1500,
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"RUN {rest}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        elif op == "CMD":
            stage.cmd = json.loads(rest)
    assert stage is not None
    return stage


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.slow
def test_the_dockerfile_steps_install_a_viva_that_serves_off_loopback_with_a_key(
        tmp_path: Path) -> None:
    venv_dir = tmp_path / "venv"
    venv.create(venv_dir, with_pip=True)
    python = venv_dir / "bin" / "python"
    started = time.monotonic()
    image = run_dockerfile(ROOT / "Dockerfile", ROOT, tmp_path, python)
    installed_s = time.monotonic() - started
    assert not list(image.root.glob("dist")), "the wheel is removed after installing"
    # Nothing of the source tree in the image: only the installed package.
    assert sorted(p.name for p in image.root.iterdir()) == ["data"]

    port, key = free_port(), "test-key-19"
    data_dir = image.path(image.env["VIVA_DATA_DIR"])
    env = {**os.environ, **image.env, "VIVA_PORT": str(port), "VIVA_ACCESS_KEY": key,
           "VIVA_DATA_DIR": str(data_dir), "VIVA_TTS_PREWARM": "0",
           "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    assert env["VIVA_HOST"] == "0.0.0.0"
    server = subprocess.Popen(image.cmd, cwd=image.path(image.workdir), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                status, body = get(f"{base}/healthz?key={key}")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "viva serve did not come up"
            time.sleep(0.5)
        ready_s = time.monotonic() - started - installed_s
        health = json.loads(body)
        assert health["status"] == "ok" and health["questions"] > 0
        assert health["models"]["embedder"] == "all-MiniLM-L6-v2-int8"
        status, page = get(f"{base}/?key={key}")
        assert status == 200 and b"<html" in page.lower()
        status, script = get(f"{base}/static/app.js?key={key}")
        assert status == 200 and script
        status, bank = get(f"{base}/api/questions?key={key}")
        assert status == 200 and json.loads(bank)["questions"]
        print(f"installed in {installed_s:.0f} s, answering in {ready_s:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    site = subprocess.run([str(python), "-c", "import server, sys; print(server.__file__)"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(venv_dir) in site.stdout, "viva ran from the installed wheel"
