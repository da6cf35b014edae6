"""The claim matcher alone: concepts on stems, word gaps, negation. Pure logic, no model."""

from __future__ import annotations

from server.scoring.claims import Claim, Phrasing, claim_words, find


def stated(requires: list[list[str]], text: str) -> bool:
    return Claim.of([tuple(g) for g in requires]).stated_in(claim_words(text))


def test_stems_join_word_forms():
    assert claim_words("Underfits, underfitting, underfitted") == ["underfit"] * 3
    assert stated([["overfit"]], "the model is overfitting")


def test_every_concept_is_needed():
    decomposition = [["bias squared"], ["variance"], ["noise", "irreducible"]]
    assert stated(decomposition, "Total error is bias squared plus variance plus irreducible noise.")
    assert not stated(decomposition, "Variance is when it overfits.")
    assert not stated(decomposition, "total error is bias squared")


def test_words_in_order_with_a_short_gap():
    assert find(claim_words("more of the training data"), Phrasing.of("more training data"))
    assert not find(claim_words("more of the other kind of training data"), Phrasing.of("more training data"))
    assert not find(claim_words("training data, more"), Phrasing.of("more training data"))


def test_negation_before_or_inside_a_phrase_undoes_it():
    reduce = Phrasing.of("reduce variance")
    assert find(claim_words("it will reduce variance"), reduce)
    assert not find(claim_words("it does not reduce variance"), reduce)
    assert not find(claim_words("it doesn't really reduce variance"), reduce)
    assert not find(claim_words("it can never reduce the variance"), reduce)


def test_a_phrasing_that_says_not_matches_either_spelling():
    unchanged = Phrasing.of("doesn't change bias")
    assert unchanged.negative
    assert find(claim_words("more data does not change bias"), unchanged)
    assert find(claim_words("more data doesn't change the bias"), unchanged)


def test_contractions_split():
    assert claim_words("can't cannot won't isn't") == ["can", "not", "can", "not", "will", "not", "is", "not"]


def test_a_claim_without_concepts_is_never_stated():
    assert not Claim.of([]).stated_in(claim_words("anything at all"))
