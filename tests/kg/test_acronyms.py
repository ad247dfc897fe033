"""Acronym definitions read from abstracts and spelled out in queries (kg/acronyms.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kg.acronyms import (
    definitions,
    expand,
    expansions,
    known_long_form,
    lowercase_acronyms,
    query_acronyms,
    taxonomy_long_forms,
)
from kg.entities import TaxonomyNode
from kg.schema import Label
from kg.taxonomy import load_taxonomy


@pytest.mark.parametrize(("text", "expected"), [
    ("a natural language task called indirect object identification (IOI). We ...",
     {"IOI": "indirect object identification"}),
    ("when prompted with Chain-of-Thought (CoT) prompts", {"CoT": "Chain-of-Thought"}),
    ("at the core of large language models (LLMs) and of language models (LMs)",
     {"LLMs": "large language models", "LMs": "language models"}),
    ("using Rank-One Model Editing (ROME) and a zero-shot relation extraction (zsRE) task",
     {"ROME": "Rank-One Model Editing", "zsRE": "zero-shot relation extraction"}),
    # Not definitions: a clause break inside, letters that are not there, no capital, a citation.
    ("of its underlying components. Using a 66 billion parameter language model (OPT-66B)", {}),
    ("we study the model (XQZ) in detail", {}),
    ("the results (see below) hold", {}),
    ("as shown before (Olsson)", {}),
])
def test_definitions(text: str, expected: dict[str, str]) -> None:
    assert definitions(text) == expected


def test_query_acronyms_and_expansion() -> None:
    assert query_acronyms("IOI circuit in GPT-2 small, CoT and LLMs; not circuit or Circuit") == [
        "IOI", "CoT", "LLMs"]
    texts = ["the indirect object identification (IOI) task", "Indirect Object Identification (IOI)",
             "the indirect object identification (IOI) circuit", "large language models (LLMs)"]
    long_forms = expansions(["IOI", "CoT"], texts)
    # The most frequent spelling wins (case-folded vote); an acronym no text defines is left alone.
    assert long_forms == {"IOI": "indirect object identification"}
    assert expand("IOI circuit and CoT", long_forms) == "IOI (indirect object identification) circuit and CoT"
    # A plural definition serves the singular acronym.
    assert expansions(["LLM"], texts) == {"LLM": "large language models"}


def test_definitions_serve_either_number_and_never_define_a_form_by_itself() -> None:
    assert expansions(["SAEs"], ["we train sparse autoencoders (SAE) on"]) == {"SAEs": "sparse autoencoders"}
    assert expansions(["SAE"], ["we train sparse autoencoders (SAEs) on"]) == {"SAE": "sparse autoencoders"}
    assert expansions(["SA"], ["we train sparse autoencoders (SAE) on"]) == {}  # not a prefix match
    assert definitions("the IOI task (IOI) is hard") == {}  # the long form may not hold the acronym


def _node(node_id: str, *aliases: str) -> TaxonomyNode:
    return TaxonomyNode("Topic", node_id, node_id.replace("_", " "), aliases=list(aliases))


def test_taxonomy_long_forms_pair_an_acronym_alias_with_the_alias_spelling_it_out() -> None:
    nodes = [
        _node("model_capabilities", "model capabilities", "capability", "in-context learning", "ICL"),
        _node("sae", "SAE", "SAEs", "sparse autoencoder", "sparse coding"),
        # Letters in order but not a spelling-out: another first letter, or more words than letters.
        _node("steering", "ITI", "difference-in-means direction", "inference time intervention tuning x"),
        _node("gpt2", "GPT2", "GPT-2 small"),  # digits: a model name, not a long form
    ]
    assert taxonomy_long_forms(nodes) == {
        "icl": "in-context learning", "sae": "sparse autoencoder", "saes": "sparse autoencoder",
    }


def test_a_component_acronym_no_alias_spells_out_is_read_as_its_synonym() -> None:
    ff = TaxonomyNode("Component", "ff", "MLP / feed-forward layer",
                      aliases=["feed-forward", "feed-forward layers", "FFN", "MLP", "MLPs"])
    # The same aliases on a technique say nothing: a technique family's aliases name different methods.
    technique = TaxonomyNode("Technique", "ff_method", "FF method", aliases=["feed-forward layers", "MLP"])
    assert taxonomy_long_forms([ff]) == {
        "ffn": "feed-forward layers", "mlp": "feed-forward layers", "mlps": "feed-forward layers"}
    assert taxonomy_long_forms([technique]) == {}


def test_known_long_form_serves_either_number_and_any_case() -> None:
    table = {"sae": "sparse autoencoder", "icl": "in-context learning"}
    assert known_long_form("SAEs", table) == "sparse autoencoder"
    assert known_long_form("IcL", table) == "in-context learning"
    assert known_long_form("IOI", table) is None


def test_the_packaged_taxonomy_reads_each_acronym_as_the_field_names_it() -> None:
    """Every reading of the shipped taxonomy. A component's acronym is read as the name papers give the
    part ("MLP": "feed-forward layers"), not as a later alias spelling it out letter by letter
    ("multi-layer perceptron", the ff node's extra alias, which sank the MLP papers); a technique's or a
    topic's is read only as an alias spelling it out ("ITI" has none, so it gets no reading)."""
    assert taxonomy_long_forms(load_taxonomy().nodes) == {
        "acdc": "Automatic Circuit DisCovery", "actadd": "activation addition", "atp": "attribution patching",
        "caa": "contrastive activation addition", "clt": "cross-layer transcoder",
        "cma": "causal mediation analysis", "dla": "direct logit attribution",
        "eap": "edge attribution patching", "ff": "feed-forward layers",
        "ffn": "feed-forward layers", "ffns": "feed-forward layers", "icl": "in-context learning",
        "lat": "linear artificial tomography", "layernorm": "layer norm", "mha": "multi-head attention",
        "mlp": "feed-forward layers", "mlps": "feed-forward layers", "pca": "principal component analysis",
        "repe": "representation engineering", "rome": "rank-one model editing", "rs": "residual stream",
        "sae": "sparse autoencoder", "saes": "sparse autoencoder",
    }


def test_a_lower_case_token_is_an_acronym_only_if_the_taxonomy_has_it_in_capitals_and_it_is_no_word() -> None:
    lowercase = lowercase_acronyms(load_taxonomy().nodes)
    assert {"sae", "saes", "cma", "mlp", "icl", "acdc", "pca"} <= lowercase
    # English words (WordNet lemmas) stay words: ROME and LAT must be typed in capitals; "AtP" and
    # "RepE" are not all capitals, "layernorm" is no acronym.
    assert not {"rome", "lat", "opt", "atp", "repe", "layernorm"} & lowercase
    assert query_acronyms("sae features, Cma and rome in GPT-2 small; IOI", lowercase) == [
        "sae", "Cma", "IOI"]
    assert query_acronyms("sae features and rome") == []  # without the table only capitals count
    assert expand("sae features of sae", {"sae": "sparse autoencoder"}) == (
        "sae (sparse autoencoder) features of sae (sparse autoencoder)")


def test_function_words_and_inflected_forms_are_words_too() -> None:
    """Review: WordNet's lemma list has no "did", "its" or "was", so a taxonomy with DID, ITS or WAS
    read "how did its outcome change? what was measured" as three acronyms."""
    nodes = [TaxonomyNode(id=short.lower(), label=Label.TECHNIQUE, name=f"{short} method", aliases=[short])
             for short in ("DID", "ITS", "WAS", "MODELS", "SAE")]
    lowercase = lowercase_acronyms(nodes)
    assert lowercase == {"sae"}
    assert query_acronyms("how did its outcome change? what was measured in models with sae", lowercase) == [
        "sae"]


def test_the_figures_component_abbreviations_are_read_and_rs_stays_a_word_in_lower_case() -> None:
    """Researcher QA: the figure's "Transformer Components (RS, MHA, FF)" spells out MHA only; a query's
    "RS" and "FF" had no reading. They are the rs and ff components' names. Typed in lower case, "rs" is a
    word (WordNet) and stays one, as "rome" does; "ff" is none, so it is read as "ffn" and "mlp" are."""
    nodes = load_taxonomy().nodes
    long_forms = taxonomy_long_forms(nodes)
    assert (long_forms["rs"], long_forms["ff"], long_forms["mha"]) == (
        "residual stream", "feed-forward layers", "multi-head attention")
    lowercase = lowercase_acronyms(nodes)
    assert "rs" not in lowercase and "ff" in lowercase
    assert query_acronyms("rs and ff directions, RS and FF", lowercase) == ["ff", "RS", "FF"]
    # Ambiguous: alone, "RS" or "FF" in an abstract (a random seed, "ff." for pages) tags no paper.
    by_id = {n.id: n for n in nodes}
    assert "RS" in by_id["rs"].ambiguous_aliases and "FF" in by_id["ff"].ambiguous_aliases


@pytest.mark.parametrize(("query", "expected"), [
    ("RS directions", {"RS": "residual stream"}),
    ("FF layers as memories", {"FF": "feed-forward layers"}),
    ("ff layers as memories", {"ff": "feed-forward layers"}),
    ("rs directions", {}),
])
def test_search_reads_rs_and_ff_as_the_components_they_abbreviate(
        seed_store: Any, model_embedder: Any, query: str, expected: dict[str, str]) -> None:
    from kg.search import search

    page = search(seed_store, query, mode="semantic", embedder=model_embedder, limit=3)
    assert page.acronyms == expected
