"""The pair judge: a MiniLM cross-encoder that reads a key point and an answer together
and gives the probability that the answer states the point.

A sentence embedding compares two texts each read alone, so "variance is when it
overfits" sits near every bias-variance point; a cross-encoder attends from the point's
words to the answer's, which is what telling a claim from its topic needs. It is one
feature of the learned matcher (`server/scoring/matcher.py`), for key points without
claims in the bank; bank points are decided by their claims and never run it.

The weights are viva's own: all-MiniLM-L6-v2 (MIT) fine-tuned on the SemEval-2013
Task 7 training split by `python -m bench.train_judge`, exported to ONNX with int8
weights (`server/engines/judge.onnx`, 23 MB). The tokenizer is the embedder's
(the same WordPiece vocabulary, `[CLS] point [SEP] answer [SEP]`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from server.engines.embedder import bundled_minilm, missing_message

#: What it was trained with (bench/train_judge.py): longer pairs lose the answer's end.
MAX_TOKENS = 160
MODEL = Path(__file__).resolve().parent / "judge.onnx"


class PairJudge(Protocol):
    name: str

    def judge(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """For each (key point, answer), the probability the answer states the point."""
        ...


class MiniLMPairJudge:
    def __init__(self, model: Path = MODEL, tokenizer: Path | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if tokenizer is None:
            files = bundled_minilm()
            if files is None:
                raise FileNotFoundError(missing_message())
            tokenizer = files.tokenizer
        if not model.is_file():
            raise FileNotFoundError(f"{model}: the pair judge's weights are missing (reinstall viva)")
        self.name = "viva-judge-minilm-int8"
        options = onnxruntime.SessionOptions()
        # One thread, as the embedder: the other core belongs to Whisper and Piper.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        # One run at a time: concurrent sessions only share the cores.
        self._lock = threading.Lock()

    def judge(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, np.float32)
        encodings = self._tokenizer.encode_batch([(a, b) for a, b in pairs])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(pairs), width), np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, 1, e.type_ids
        with self._lock:
            logits = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": types})[0]
        z = np.clip(np.asarray(logits, np.float64).reshape(-1), -30, 30)
        out: np.ndarray = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        return out



class LazyPairJudge:
    """The pair judge, loaded the first time it is asked: only key points without claims
    ask it, and a server that serves the bank alone never does, so its memory (the int8
    weights unfolded to float by onnxruntime's graph optimizer) is spent only then."""

    def __init__(self, model: Path = MODEL) -> None:
        self._model = model
        self._judge: MiniLMPairJudge | None = None
        self._loading = threading.Lock()

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """`judge(pairs)`; asked with no pairs, it only loads (`ContentScorer.warm`)."""
        if self._judge is None:
            with self._loading:
                if self._judge is None:
                    self._judge = MiniLMPairJudge(self._model)
        return self._judge.judge(pairs)
