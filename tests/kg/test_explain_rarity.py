"""kg.explain.best_sentence_by_overlap weighs a shared word by how few of the abstract's sentences
have it, so the query's rarer words pick the sentence (QA: an AI-policy analyst's plain questions)."""

from __future__ import annotations

from kg.explain import best_sentence_by_overlap, split_sentences

# The tuned lens abstract (arXiv 2303.08112), as the seed corpus holds it.
TUNED_LENS = (
    "We analyze transformers from the perspective of iterative inference, seeking to understand how model "
    "predictions are refined layer by layer. To do so, we train an affine probe for each block in a frozen "
    "pretrained model, making it possible to decode every hidden state into a distribution over the "
    "vocabulary. Our method, the tuned lens, is a refinement of the earlier \"logit lens\" technique, which "
    "yielded useful insights but is often brittle. We test our method on various autoregressive language "
    "models with up to 20B parameters, showing it to be more predictive, reliable and unbiased than the "
    "logit lens. With causal experiments, we show the tuned lens uses similar features to the model itself. "
    "We also find the trajectory of latent predictions can be used to detect malicious inputs with high "
    "accuracy. All code needed to reproduce our results can be found at "
    "https://github.com/AlignmentResearch/tuned-lens."
)


def test_the_rarer_shared_word_picks_the_sentence() -> None:
    """"model" is in four of the sentences, "detect" in one: the sentence answering the question is the
    one that detects, not the first claim that mentions the model (each shares one word)."""
    sentences = split_sentences(TUNED_LENS)
    sentence, shared = best_sentence_by_overlap("can we detect if a model is lying", sentences)
    assert sentence is not None and sentence.endswith("detect malicious inputs with high accuracy.")
    assert shared == 1.0  # still the number of the query's words it shares


def test_two_shared_words_still_beat_one_rarer_word() -> None:
    """The weight is smoothed: a sentence with both words beats one with only the rarer of them."""
    sentences = ["A model detects lies.", "The model is big.", "The model is small.", "We detect things."]
    assert best_sentence_by_overlap("detect model", sentences) == (sentences[0], 2.0)
    # Words every sentence has weigh alike in all of them: ties still go to the first (or the claim).
    assert best_sentence_by_overlap("model", sentences[:3]) == (sentences[0], 1.0)
