"""Text for Piper: ML notation spoken the way an interviewer says it, plain English untouched."""

from __future__ import annotations

import pytest

from server.interviewer.speakable import speakable, split_sentences

CASES = [
    # Attention.
    ("Attention is softmax(QK^T/sqrt(d_k))V.",
     "Attention is softmax of Q K transpose over the square root of d k, times V."),
    ("We compute QK^T first.", "We compute Q K transpose first."),
    ("QKᵀ", "Q K transpose"),
    ("Multiply by W^T.", "Multiply by W transpose."),
    ("Divide by sqrt(d_k).", "Divide by the square root of d k."),
    ("Scale by 1/sqrt(d).", "Scale by 1 over the square root of d."),
    ("√d_k", "the square root of d k"),
    # Complexity.
    ("Sorting is O(n log n).", "Sorting is O of n log n."),
    ("Lookup is O(1) and the loop is O(n^2).", "Lookup is O of one and the loop is O of n squared."),
    ("O(n²)", "O of n squared"),
    ("It costs O(n·d).", "It costs O of n times d."),
    # Scientific notation: "one times ten to the minus three".
    ("Use a learning rate of 1e-3.", "Use a learning rate of 1 times ten to the minus 3."),
    ("Try 3e-4 or 1e-5.", "Try 3 times ten to the minus 4 or 1 times ten to the minus 5."),
    ("2.5e-4", "2.5 times ten to the minus 4"),
    ("A weight decay of 1E-02", "A weight decay of 1 times ten to the minus 2"),
    ("1e6 samples", "1000000 samples"),
    # Norms and metrics.
    ("Compare L1/L2 regularization.", "Compare L one and L two regularization."),
    ("L1 gives sparsity, L2 shrinks.", "L one gives sparsity, L two shrinks."),
    ("the L2-norm", "the L two norm"),
    ("The F1 score balances both.", "The F one score balances both."),
    ("F1-score", "F one score"),
    ("Report ROC-AUC and PR-AUC.", "Report R-O-C A-U-C and P-R A-U-C."),
    ("The AUC is 0.9", "The A-U-C is 0.9"),
    ("AUROC", "R-O-C A-U-C"),
    ("MAE", "M-AE"),
    ("precision@k", "precision at k"),
    # Models and activations.
    ("XGBoost and LightGBM", "X G Boost and Light G B M"),
    ("ReLU vs GELU", "ray-loo versus GELU"),
    ("Leaky ReLU", "leaky ray-loo"),
    ("ReLUs", "ray-loos"),
    ("tanh", "tan h"),
    ("Use k-NN or kNN.", "Use k nearest neighbors or k nearest neighbors."),
    ("k-means++", "k means plus plus"),
    ("LLMs and RNNs and CNNs", "L-L-Ms and R-N-Ns and C-N-Ns"),
    ("RoPE and ALiBi", "rope and alibi"),
    ("NaN loss", "nan loss"),
    ("TF-IDF features", "T-F-I-D-F features"),
    # Abbreviations, numbers, operators.
    ("A/B test", "A-B test"),
    ("e.g. dropout, i.e. noise", "for example dropout, that is noise"),
    ("ML vs. DL", "ML versus DL"),
    ("R^2 is 0.8", "R squared is 0.8"),
    ("x^2 + y^2", "x squared plus y squared"),
    ("e^{-x}", "e to the minus x"),
    ("p < 0.05", "p less than 0.05"),
    ("x >= 5", "x greater than or equal to 5"),
    ("latency under 100ms", "latency under 100 milliseconds"),
    ("95% recall", "95 percent recall"),
    ("~10% of users", "about 10 percent of users"),
    ("10k samples and 1.5M parameters", "10 thousand samples and 1.5 million parameters"),
    ("a 2x speedup", "a 2 times speedup"),
    ("a 3x3 convolution", "a 3 by 3 convolution"),
    ("0.1-0.5", "0.1 to 0.5"),
    ("input->hidden->output", "input, then hidden, then output"),
    ("d_model = 512", "d model equals 512"),
    ("log(p)", "log of p"),
    ("1 - p", "1 minus p"),
    ("exp(-x)", "exp of minus x"),
]

UNCHANGED = [
    "Leaky buckets are fine.",
    "RMSE is the square root of MSE.",
    "Mr. Smith reviewed the model.",
    "It's a well-known trade-off between bias and variance.",
    "Self-attention and k-fold cross validation.",
    "Use dropout, weight decay and early stopping.",
    "GPT-2, BERT and ResNet-50 are pretrained models.",
    "The learning rate was 0.001 and the batch size 32.",
    "Precision is the fraction of flagged cases that are real.",
    "Hello! How are you today?",
    "Think about what happens when the model is too simple.",
    "Question 3. Explain the bias-variance tradeoff.",
    "SHAP values, PCA and SGD with momentum.",
    "t-SNE is for visualization.",
]


@pytest.mark.parametrize(("text", "spoken"), CASES)
def test_notation_is_spoken(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_the_table_is_broad() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("text", UNCHANGED)
def test_plain_english_is_left_alone(text: str) -> None:
    assert speakable(text) == text


def test_words_containing_notation_are_not_mangled() -> None:
    # Rules match whole tokens: "RMSE" keeps its letters, "Leaky" alone stays a word,
    # "relevant" is not "ReLU", "Cauc" holds no "AUC".
    for text in ("RMSE", "Leaky", "relevant", "Relu-like shapes aside", "Cauc", "PRAUC", "versus"):
        out = speakable(text)
        if text in ("Relu-like shapes aside",):
            assert out == "ray-loo-like shapes aside"
        else:
            assert out == text


def test_speakable_is_idempotent_on_its_own_output() -> None:
    for text, _ in CASES:
        once = speakable(text)
        assert speakable(once) == once


def test_bank_text_is_already_speakable() -> None:
    """The bank is written to be said aloud; the normalizer must not garble it."""
    from server.bank import load_bank

    for question in load_bank().questions:
        spoken = speakable(question.prompt)
        assert "  " not in spoken
        assert not any(mark in spoken for mark in ("^", "_", "√"))


def test_split_sentences_keeps_short_fragments_with_a_neighbour() -> None:
    assert split_sentences("Okay. Question 2. Explain dropout. Why does it help?") == [
        "Okay. Question 2.", "Explain dropout. Why does it help?"]
    assert split_sentences("One sentence only") == ["One sentence only"]
    assert split_sentences("") == []
