"""kg/validation.py: the other spellings keyword search looks for on both backends (British and American
spellings, a hyphenated word joined), at query time, so no store is re-indexed."""

from __future__ import annotations

import pytest

from kg import cypher
from kg.validation import MAX_VARIED_WORDS, search_terms


@pytest.mark.parametrize(("word", "variants"), [
    ("behaviour", ["behavior"]), ("behavior", ["behaviour"]), ("behavioural", ["behavioral"]),
    ("Behaviours", ["Behaviors"]), ("colour", ["color"]), ("favourite", ["favorite"]),
    ("neighbours", ["neighbors"]), ("generalisation", ["generalization"]),
    ("generalization", ["generalisation"]), ("visualisation", ["visualization"]),
    ("optimise", ["optimize"]), ("optimizer", ["optimiser"]), ("tokenisers", ["tokenizers"]),
    ("summarised", ["summarized"]), ("analyse", ["analyze"]), ("analysing", ["analyzing"]),
    ("modelling", ["modeling"]), ("modeled", ["modelled"]), ("labelled", ["labeled"]),
    ("signalling", ["signaling"]), ("centre", ["center"]), ("centered", ["centred"]),
    ("fibres", ["fibers"]), ("defence", ["defense"]), ("judgement", ["judgment"]),
    ("dialogue", ["dialog"]), ("artefacts", ["artifacts"]),
    # False friends and words of one spelling: none.
    ("four", []), ("hour", []), ("our", []), ("your", []), ("for", []), ("pour", []), ("tour", []),
    ("author", []), ("error", []), ("rigorous", []), ("laboratory", []),
    ("supervised", []), ("unsupervised", []), ("pairwise", []), ("otherwise", []), ("promise", []),
    ("noise", []), ("denoising", []), ("precise", []), ("rise", []), ("size", []), ("prize", []),
    ("analysis", []), ("called", []), ("controlled", []), ("filled", []), ("revealed", []),
    ("parameter", []), ("diameter", []), ("cluster", []), ("after", []), ("SAE", []), ("GPT-2", []),
])
def test_spelling_variants(word: str, variants: list[str]) -> None:
    from kg.validation import spelling_variants

    assert spelling_variants(word) == variants


def test_a_short_query_looks_for_both_spellings_in_both_numbers() -> None:
    """ "behaviour" found 2 seed papers, "behavior" 11: each now looks for the other spelling too."""
    assert search_terms("behaviour") == ["behaviour", "behaviours", "behavior", "behaviors"]
    assert search_terms("generalization") == [
        "generalization", "generalizations", "generalisation", "generalisations"]
    # The short-query rule of number variants holds for spellings: a longer query matches on its other words.
    long_query = "behaviour of induction heads in small models"
    assert len(long_query.split()) > MAX_VARIED_WORDS
    assert "behavior" not in search_terms(long_query)
    # A variant that is a stop word is never looked for.
    assert "for" not in search_terms("four circuits") and "our" not in search_terms("hour")


def test_a_hyphenated_word_is_also_looked_for_joined() -> None:
    """ "auto-encoder" is cut into "auto" and "encoder" by both indexes, which never match "autoencoder"."""
    assert search_terms("auto-encoder") == ["auto", "autos", "encoder", "encoders", "autoencoder",
                                            "autoencoders"]
    # At any length (bench/search_eval.py: no query's nDCG@10 moved), without its variants when long.
    long_terms = search_terms("circuit for indirect object identification in GPT-2 small")
    assert long_terms[-1] == "GPT2" and "circuits" not in long_terms
    # No pair with a stop word: no paper writes "stateof" or "incontext".
    assert not {"stateof", "ofthe", "theart", "incontext"} & {t.casefold() for t in search_terms(
        "state-of-the-art in-context")}
    assert search_terms("sparse-auto-encoder")[-2:] == ["autoencoder", "autoencoders"]


def test_both_backends_look_for_the_same_spellings() -> None:
    """The Neo4j full-text query is built from search_terms too, so the backends stay in step."""
    assert cypher.fulltext_terms("behaviour") == "behaviour OR behaviours OR behavior OR behaviors"
    assert cypher.fulltext_terms("auto-encoder").endswith("OR autoencoder OR autoencoders")
