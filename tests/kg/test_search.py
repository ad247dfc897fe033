"""Search quality and behaviour on the seed corpus with the real model (kg/search.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, ScoredId, SearchFilters, TaxonomyNode, TechniqueUse
from kg.explain import Labels, split_sentences
from kg.schema import Label
from kg.search import SearchHit, rrf_fuse, search
from tests.embedders import HashEmbedder
from tests.kg.search_queries import QUERIES, must_find, ndcg_at_k
from tests.seed_store import taxonomy_store


@pytest.fixture(scope="session")
def store(seed_store: EmbeddedStore) -> EmbeddedStore:
    """The seed corpus loaded through the real pipeline with the real model."""
    return seed_store


@pytest.fixture(scope="session")
def embedder(model_embedder: Any) -> Any:
    """The real all-MiniLM-L6-v2."""
    return model_embedder


def ranked(store: EmbeddedStore, embedder: Any, query: str, mode: str, limit: int = 10) -> list[str]:
    """Result ids of one search."""
    page = search(store, query, mode=mode, embedder=embedder, limit=limit, sentence_mode="overlap")
    return [h.id for h in page.results]


@pytest.mark.parametrize("query", list(QUERIES))
def test_expected_papers_in_hybrid_top5(store: EmbeddedStore, embedder: Any, query: str) -> None:
    top5 = ranked(store, embedder, query, "hybrid", limit=5)
    missing = [pid for pid in must_find(QUERIES[query]) if pid not in top5]
    assert not missing, f"{query!r}: {missing} not in top 5 {top5}"


def test_hybrid_ndcg_not_worse_than_either_mode(store: EmbeddedStore, embedder: Any) -> None:
    mean = {
        mode: float(np.mean([ndcg_at_k(ranked(store, embedder, q, mode), rel) for q, rel in QUERIES.items()]))
        for mode in ("semantic", "keyword", "hybrid")
    }
    assert mean["hybrid"] >= mean["semantic"] - 1e-9, mean
    assert mean["hybrid"] >= mean["keyword"] - 1e-9, mean
    assert mean["hybrid"] > 0.8, mean


def test_rrf_fuse_by_hand() -> None:
    fused = rrf_fuse({
        "semantic": [ScoredId("a", 0.9), ScoredId("b", 0.8), ScoredId("c", 0.1)],
        "keyword": [ScoredId("b", 10.0), ScoredId("d", 5.0)],
    })
    scores = {i: s for i, s, _ in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert [i for i, _, _ in fused] == ["b", "a", "d", "c"]
    assert dict((i, r) for i, _, r in fused)["b"] == {"semantic": 2, "keyword": 1}
    # A swapped pair ties on RRF; the retriever that preferred its paper more decisively wins.
    tie = rrf_fuse({"semantic": [ScoredId("x", 0.50), ScoredId("y", 0.49)],
                    "keyword": [ScoredId("y", 10.0), ScoredId("x", 2.0)]})
    assert [i for i, _, _ in tie] == ["y", "x"]


def test_why_has_score_parts_techniques_and_best_sentence(store: EmbeddedStore, embedder: Any) -> None:
    page = search(store, "logit lens", mode="hybrid", embedder=embedder, limit=10, sentence_mode="embedding")
    tuned = next(h for h in page.results if h.id == "2303.08112")
    assert tuned.why["semantic"] > 0.2 and tuned.why["keyword"] > 0
    assert tuned.why["rrf"] == pytest.approx(tuned.score, abs=1e-4)
    assert "logit_lens" in tuned.why["matched_techniques"] and tuned.techniques[0] == "logit_lens"
    assert "Logit Lens" in tuned.why["matched_technique_labels"]
    # Embedding mode: the chosen sentence is the abstract sentence closest to the query.
    sentences = split_sentences(tuned.paper.abstract)
    sims = embedder.encode(sentences) @ embedder.encode_query("logit lens")
    assert tuned.why["best_sentence_by"] == "embedding"
    assert tuned.why["best_sentence"] == sentences[int(np.argmax(sims))]
    assert tuned.why["best_sentence_score"] == pytest.approx(float(np.max(sims)), abs=1e-3)
    # Overlap mode: the sentence sharing the most query words.
    ioi = search(store, "indirect object identification", mode="keyword", limit=1, sentence_mode="overlap")
    hit = ioi.results[0]
    assert hit.id == "2211.00593" and hit.why["best_sentence_by"] == "overlap"
    assert "indirect object identification" in hit.why["best_sentence"].lower()
    assert hit.why["semantic"] is None and hit.why["ranks"] == {"keyword": 1}


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_filters_apply_in_every_mode(store: EmbeddedStore, embedder: Any, mode: str) -> None:
    filters = SearchFilters(technique_ids=["cma"], year_from=2023)
    allowed = store.filter_ids(filters)
    assert allowed
    page = search(store, "circuits attention heads", mode=mode, filters=filters, embedder=embedder, limit=50)
    assert page.results and {h.id for h in page.results} <= allowed
    assert all(h.paper.year >= 2023 for h in page.results)
    assert all(h.why["matched_techniques"] for h in page.results)


def test_pagination_and_total(store: EmbeddedStore, embedder: Any) -> None:
    whole = search(store, "neurons", mode="hybrid", embedder=embedder, limit=30, sentence_mode="overlap")
    pages = [search(store, "neurons", mode="hybrid", embedder=embedder, limit=10, offset=o,
                    sentence_mode="overlap") for o in (0, 10, 20)]
    assert [h.id for p in pages for h in p.results] == [h.id for h in whole.results]
    # Semantic candidates cover every paper with an embedding: total is the whole corpus here.
    assert whole.total == len(store.paper_ids())
    keyword = search(store, "neurons", mode="keyword", limit=100)
    assert keyword.total == len(keyword.results) < whole.total
    assert all("neuron" in (h.title + h.paper.abstract).lower() for h in keyword.results)


@pytest.mark.parametrize("technique", ["cma", "logit_lens", "sae"])
def test_empty_query_with_a_technique_lists_its_papers_newest_first(
        store: EmbeddedStore, technique: str) -> None:
    filters = SearchFilters(technique_ids=[technique])
    expected = sorted(store.get_papers(sorted(store.filter_ids(filters))),
                      key=lambda p: p.published or (str(p.year) if p.year else ""), reverse=True)
    assert expected
    whole = search(store, "", filters=filters, limit=100)
    assert whole.total == len(expected)
    assert {h.id for h in whole.results} == {p.id for p in expected}
    dates = [h.paper.published or str(h.paper.year or "") for h in whole.results]
    assert dates == sorted(dates, reverse=True)
    pages = [search(store, "", filters=filters, limit=2, offset=o).results
             for o in range(0, len(expected), 2)]
    assert [h.id for page in pages for h in page] == [h.id for h in whole.results]


def test_a_filter_only_page_says_what_each_paper_matched(store: EmbeddedStore) -> None:
    """API client QA: a filter-only page's hits said matched_techniques [] for technique=sae, and
    matched_models [] for model=gpt2, though the same hits list them when a query is given."""
    family = Labels(store.taxonomy_nodes()).descendants("cma")
    page = search(store, "", filters=SearchFilters(technique_ids=["cma"], model_ids=["gpt2"]), limit=50)
    assert page.results
    for hit in page.results:
        assert hit.why["matched_models"] == ["gpt2"] and hit.why["matched_model_labels"] == ["GPT-2"]
        matched = hit.why["matched_techniques"]
        assert matched and set(matched) <= family and hit.techniques[:len(matched)] == matched


class _CountingStore:
    """The seed store, noting how many papers each get_papers call loads."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.loaded: list[int] = []

    def get_papers(self, paper_ids: list[str]) -> Any:
        """Load papers from the real store, noting how many were asked for."""
        self.loaded.append(len(paper_ids))
        return self.store.get_papers(paper_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.mark.parametrize("filters", [
    SearchFilters(year_from=2023, year_to=2023),
    SearchFilters(year_from=2020, year_to=2022),  # papers with a year and no date among them
    SearchFilters(sources=["records"]),
    SearchFilters(section_ids=["findings-and-applications"]),
    SearchFilters(technique_ids=["cma", "sae"]),
    SearchFilters(technique_ids=["cma", "logit_lens"], include_refinements=False),
    SearchFilters(technique_ids=["cma"], year_from=2023),
    SearchFilters(technique_ids=["cma"], sources=["records"], year_to=2023),
], ids=["year", "years", "source", "section", "two-techniques", "no-refinements", "technique-year",
        "technique-source-year"])
def test_empty_query_with_filters_lists_them_newest_first_a_page_at_a_time(
        store: EmbeddedStore, filters: SearchFilters) -> None:
    expected = sorted(store.get_papers(sorted(store.filter_ids(filters))),
                      key=lambda p: (p.published or (str(p.year) if p.year else ""), p.id), reverse=True)
    assert len(expected) > 3, filters
    counting = _CountingStore(store)
    pages = [search(counting, "", filters=filters, limit=3, offset=o)  # type: ignore[arg-type]
             for o in range(0, len(expected) + 3, 3)]
    assert [h.id for page in pages for h in page.results] == [p.id for p in expected]
    assert {page.total for page in pages} == {len(expected)}
    assert pages[-1].results == []  # past the end
    assert max(counting.loaded) <= 3  # only the page's papers are loaded, not every match
    hit = pages[0].results[0]
    assert hit.paper == expected[0] and hit.why["mode"] == "filter"


def test_bad_arguments(store: EmbeddedStore, embedder: Any) -> None:
    with pytest.raises(ValueError, match="mode"):
        search(store, "x", mode="fuzzy", embedder=embedder)
    with pytest.raises(ValueError, match="embedder"):
        search(store, "x", mode="semantic")
    assert search(store, "   ", embedder=embedder).results == []


def test_sentences_do_not_end_at_abbreviations() -> None:
    text = ("Visualizations work in Python (e.g. Jupyter Lab) and JavaScript. We follow Olsson et al. "
            "2022 closely, cf. Section 2. Results hold (i.e. Both models agree). See Fig. 3! Done.")
    assert split_sentences(text) == [
        "Visualizations work in Python (e.g. Jupyter Lab) and JavaScript.",
        "We follow Olsson et al. 2022 closely, cf. Section 2.",
        "Results hold (i.e. Both models agree).",
        "See Fig. 3!",
        "Done.",
    ]


def test_a_named_technique_puts_the_papers_using_it_first(store: EmbeddedStore, embedder: Any) -> None:
    """Hybrid search for "activation patching" ranks the papers using it (or a refinement) above
    those that only share its words or meaning, and says so in each hit's ranks."""
    users = store.filter_ids(SearchFilters(technique_ids=["activation_patching"]))
    assert len(users) >= 3
    page = search(store, "activation patching", mode="hybrid", embedder=embedder, limit=10)
    ids = [h.id for h in page.results]
    assert set(ids[:len(users)]) == users
    assert all("technique" in h.why["ranks"] for h in page.results[:len(users)])
    assert not any("technique" in h.why["ranks"] for h in page.results[len(users):])
    # A technique filter of the user's own decides instead: no third list.
    filtered = search(store, "activation patching", mode="hybrid", embedder=embedder, limit=10,
                      filters=SearchFilters(technique_ids=["sae"]))
    assert not any("technique" in h.why["ranks"] for h in filtered.results)
    # Semantic and keyword modes stay pure.
    for mode in ("semantic", "keyword"):
        pure = search(store, "activation patching", mode=mode, embedder=embedder, limit=10)
        assert not any("technique" in h.why["ranks"] for h in pure.results)


def test_a_named_criterion_joins_the_fusion_without_forcing_order(store: EmbeddedStore, embedder: Any,
                                                                 ) -> None:
    """ "evaluating the faithfulness of circuits" adds a list of papers evaluating faithfulness; with
    another content word ("circuits") it joins the fusion instead of going first."""
    evaluating = store.filter_ids(SearchFilters(technique_ids=["faithfulness"]))
    page = search(store, "evaluating the faithfulness of circuits", mode="hybrid", embedder=embedder,
                  limit=10)
    listed = [h for h in page.results if "technique" in h.why["ranks"]]
    assert listed and {h.id for h in listed} <= evaluating
    flags = ["technique" in h.why["ranks"] for h in page.results]
    # Not partitioned: some paper outside the list ranks above one in it.
    assert any(not a and b for i, a in enumerate(flags) for b in flags[i + 1:])


def test_a_one_word_criterion_alias_adds_no_list(store: EmbeddedStore, embedder: Any) -> None:
    """ "faithful" also describes chain-of-thought: it is not read as the Faithfulness criterion."""
    page = search(store, "faithful chain-of-thought reasoning", mode="hybrid", embedder=embedder, limit=10)
    assert page.results and not any("technique" in h.why["ranks"] for h in page.results)


def test_a_named_model_adds_a_list_of_the_papers_studying_it(store: EmbeddedStore, embedder: Any) -> None:
    """ "circuits in Pythia" put the one seed paper studying Pythia (Successor Heads) at #11: the model
    reads "Pythia" as Python and ranks it 25th. Hybrid search adds the nearest papers studying a named
    model as a list of the fusion, and each hit says which named model it studies."""
    studying = store.filter_ids(SearchFilters(model_ids=["pythia"]))
    assert studying == {"2312.09230"}
    page = search(store, "circuits in Pythia", mode="hybrid", embedder=embedder, limit=10)
    first = page.results[0]
    assert first.id == "2312.09230"
    assert first.why["ranks"]["model"] == 1
    assert first.why["matched_models"] == ["pythia"] and first.why["matched_model_labels"] == ["Pythia"]
    assert all("model" not in h.why["ranks"] and h.why["matched_models"] == [] for h in page.results[1:])
    # The list joins the fusion; it does not force its papers first ("neurons in OPT": the OPT paper
    # that is not about neurons, ranked below papers about neurons it is not).
    opt = search(store, "neurons in OPT", mode="hybrid", embedder=embedder, limit=10)
    assert {h.id for h in opt.results if "model" in h.why["ranks"]} == store.filter_ids(
        SearchFilters(model_ids=["opt"]))
    # A model filter of the user's own decides instead; semantic and keyword modes stay pure.
    filtered = search(store, "circuits in Pythia", mode="hybrid", embedder=embedder, limit=10,
                      filters=SearchFilters(model_ids=["gpt2"]))
    assert not any("model" in h.why["ranks"] for h in filtered.results)
    assert {h.id for h in filtered.results} <= store.filter_ids(SearchFilters(model_ids=["gpt2"]))
    # Matched: the filter's models and the query's (Successor Heads studies GPT-2 and Pythia).
    assert all("gpt2" in h.why["matched_models"] for h in filtered.results)
    assert {h.id for h in filtered.results if "pythia" in h.why["matched_models"]} == studying
    for mode in ("semantic", "keyword"):
        pure = search(store, "circuits in Pythia", mode=mode, embedder=embedder, limit=10)
        assert not any("model" in h.why["ranks"] for h in pure.results)


@pytest.mark.parametrize(("query", "models"), [
    ("neurons in OPT", {"opt"}),
    ("how to opt out of neuron analysis", set()),  # "opt" is an English word: OPT only in capitals
    ("gpt2 induction heads", {"gpt2"}),
    ("GPT-2 small", {"gpt2"}),
    ("bert and llama-2", {"bert", "llama"}),  # "bert" is no English word
    ("toy model of superposition", set()),  # an ambiguous alias names nothing
    ("gpt 2 circuits", {"gpt2"}),  # a space for the hyphen (QA: not read as a model)
    ("circuits in gpt 2 small", {"gpt2"}),
    ("llama 2 and gemma 2", {"llama", "gemma"}),
    ("top 2 heads", set()),
])
def test_which_models_a_query_names(store: EmbeddedStore, embedder: Any, query: str,
                                    models: set[str]) -> None:
    page = search(store, query, mode="hybrid", embedder=embedder, limit=50)
    listed = {h.id for h in page.results if "model" in h.why["ranks"]}
    assert listed == (store.filter_ids(SearchFilters(model_ids=sorted(models))) if models else set())
    assert {m for h in page.results for m in h.why["matched_models"]} <= models


def test_a_named_component_adds_a_list_of_the_papers_with_findings_about_it(
    store: EmbeddedStore, embedder: Any
) -> None:
    """QA: "feed-forward layers in GPT-2" ranked Copy Suppression (an attention head) #3 and left Geva's
    Key-Value Memories out of the top 5; "induction heads" ranked Successor Heads above A Mathematical
    Framework, whose finding is about induction heads. Hybrid search adds the nearest papers with a finding
    about a named component (or a sub-component) as a list of the fusion, as for a named model."""
    memories, copy_suppression = "2012.14913", "2310.04625"
    framework, successor = "math-framework", "2312.09230"
    ff = store.filter_ids(SearchFilters(component_ids=["ff"]))
    assert memories in ff and copy_suppression not in ff
    page = search(store, "feed-forward layers in GPT-2", mode="hybrid", embedder=embedder, limit=10)
    ids = [h.id for h in page.results]
    assert memories in ids[:5] and ids.index(memories) < ids.index(copy_suppression)
    listed = [h for h in page.results if "component" in h.why["ranks"]]
    assert listed and {h.id for h in listed} <= ff
    family = {"ff", "neuron"}  # ff and its sub-component
    assert all(h.why["matched_components"] and set(h.why["matched_components"]) <= family for h in listed)
    assert all(h.why["matched_component_labels"] == [
        {"ff": "MLP / feed-forward layer", "neuron": "Neurons"}[c] for c in h.why["matched_components"]]
        for h in listed)
    heads = store.filter_ids(SearchFilters(component_ids=["induction_head"]))
    assert framework in heads and successor not in heads
    ids = [h.id for h in search(store, "induction heads", mode="hybrid", embedder=embedder, limit=10).results]
    assert ids.index(framework) < ids.index(successor)
    # A component filter of the user's own decides instead; semantic and keyword modes stay pure.
    filtered = search(store, "induction heads", mode="hybrid", embedder=embedder, limit=10,
                      filters=SearchFilters(component_ids=["ff"]))
    assert filtered.results and not any("component" in h.why["ranks"] for h in filtered.results)
    assert {h.id for h in filtered.results} <= ff
    for mode in ("semantic", "keyword"):
        pure = search(store, "induction heads", mode=mode, embedder=embedder, limit=10)
        assert not any("component" in h.why["ranks"] for h in pure.results)


@pytest.mark.parametrize(("query", "components", "listed"), [
    ("induction heads", {"induction_head"}, True),
    ("feed forward layers in GPT-2", {"ff"}, True),  # a space for the hyphen, as for models
    ("MLP neurons", {"neuron"}, True),  # the longest name, not MLP too
    ("papers about name mover heads and copy suppression", {"name_mover_head", "copy_suppression_head"},
     True),
    ("residual stream", {"rs"}, True),
    ("RS and FF", set(), False),  # ambiguous aliases name nothing
    # A component qualifying another subject adds no list: "neurons" lifted every neuron paper above
    # ROME (search_eval's nDCG@10 1.000 -> 0.790 for this query).
    ("locating and editing factual knowledge in neurons", {"neuron"}, False),
    ("what do MLPs store", {"ff"}, False),
])
def test_which_components_a_query_names(store: EmbeddedStore, embedder: Any, query: str,
                                        components: set[str], listed: bool) -> None:
    page = search(store, query, mode="hybrid", embedder=embedder, limit=50)
    about = store.filter_ids(SearchFilters(component_ids=sorted(components))) if components else set()
    assert {h.id for h in page.results if "component" in h.why["ranks"]} == (about if listed else set())
    # Named, listed or not: a hit with a finding about one (or a sub-component) says which.
    family = {d for c in components for d in Labels(store.taxonomy_nodes()).descendants(c)}
    assert {c for h in page.results for c in h.why["matched_components"]} <= family
    assert all(bool(h.why["matched_components"]) == (h.id in about) for h in page.results)


def test_a_component_filter_alone_lists_its_papers_with_what_they_matched(store: EmbeddedStore) -> None:
    """An empty query lists the papers passing the component filter; each hit names the components (the
    filter's or their sub-components) its findings are about."""
    page = search(store, "", filters=SearchFilters(component_ids=["mha"]), limit=100)
    assert {h.id for h in page.results} == store.filter_ids(SearchFilters(component_ids=["mha"]))
    labels = Labels(store.taxonomy_nodes())
    assert all(h.why["matched_components"] and set(h.why["matched_components"]) <= labels.descendants("mha")
               for h in page.results)
    assert any(h.why["matched_components"] == ["induction_head"] for h in page.results)


def test_the_topic_filter_finds_the_papers_the_list_files_under_the_topic(store: EmbeddedStore) -> None:
    """The list's "Interpreting Transformer Components" section is lm_components by the taxonomy's
    section map, though its slug does not name the topic."""
    listed = {"2202.05262", "2305.01610", "2305.15054", "logit-lens"}  # ROME, Neurons in a Haystack ...
    assert listed <= store.filter_ids(SearchFilters(topic_ids=["lm_components"]))


@pytest.mark.parametrize(("topic", "paper"), [
    ("superposition", "2209.10652"),              # "Toy Models of Superposition": only its title says so
    ("polysemanticity", "towards-monosemanticity"),  # "monosemanticity" is an alias
])
def test_topic_filters_find_papers_whose_title_names_the_topic(store: EmbeddedStore, topic: str, paper: str,
                                                                ) -> None:
    assert paper in store.filter_ids(SearchFilters(topic_ids=[topic]))


def test_an_acronym_is_read_with_the_long_form_papers_define(store: EmbeddedStore, embedder: Any) -> None:
    """ "IOI circuit": the model does not know "IOI"; the IOI paper defines it, so the query is embedded
    as "IOI (indirect object identification) circuit" and the IOI paper ranks near the top."""
    page = search(store, "IOI circuit", mode="semantic", embedder=embedder, limit=3)
    assert page.acronyms == {"IOI": "indirect object identification"}
    assert "2211.00593" in [h.id for h in page.results]
    keyword = search(store, "IOI circuit", mode="keyword", limit=3)
    assert keyword.acronyms == {}  # keyword search matches the words as typed


def test_an_acronym_no_paper_defines_is_read_as_the_taxonomy_spells_it_out(
        store: EmbeddedStore, embedder: Any) -> None:
    """No seed abstract defines "ICL", but the taxonomy lists it beside "in-context learning"."""
    page = search(store, "ICL", mode="semantic", embedder=embedder, limit=3)
    assert page.acronyms == {"ICL": "in-context learning"}
    assert page.results[0].id == "2209.11895"  # In-context Learning and Induction Heads


def test_a_long_form_the_papers_define_wins_over_the_taxonomy(store: EmbeddedStore) -> None:
    import kg.search as search_module

    labels = Labels([TaxonomyNode(Label.TOPIC, "x", "X", aliases=["IOI", "input output inference"])])
    assert labels.acronym_long_forms == {"ioi": "input output inference"}
    assert search_module._spell_out_acronyms(store, "IOI heads", labels)[1] == {
        "IOI": "indirect object identification"}


def test_mlp_is_read_as_the_feed_forward_layers_the_papers_study(store: EmbeddedStore, embedder: Any) -> None:
    """Researcher QA: read as "multi-layer perceptron" (an alias of the ff component spelling MLP out),
    "MLP" put the feed-forward papers (Geva et al. 2020, 2022) at #15 and #16 in hybrid; the component's
    own name brings them into the first ten."""
    geva = {"2012.14913", "2203.14680"}
    semantic = search(store, "MLP", mode="semantic", embedder=embedder, limit=6)
    assert semantic.acronyms == {"MLP": "feed-forward layers"}
    assert geva <= {h.id for h in semantic.results}
    hybrid = search(store, "MLPs", mode="hybrid", embedder=embedder, limit=10)
    assert hybrid.acronyms == {"MLPs": "feed-forward layers"}
    assert geva <= {h.id for h in hybrid.results}


def test_a_lower_case_acronym_is_read_as_in_capitals_but_an_english_word_is_not(
        store: EmbeddedStore, embedder: Any) -> None:
    """Researcher QA: "cma" put the CMA paper at #5 (#1 for "CMA"); "sae", in semantic mode, the SAE paper
    at #15."""
    for typed, capitals in (("cma", "CMA"), ("sae", "SAE")):
        lower = search(store, typed, mode="semantic", embedder=embedder, limit=10)
        upper = search(store, capitals, mode="semantic", embedder=embedder, limit=10)
        assert lower.acronyms == {typed: upper.acronyms[capitals]}
        assert [h.id for h in lower.results] == [h.id for h in upper.results]
    assert search(store, "sae", mode="semantic", embedder=embedder, limit=1).results[0].id == "2309.08600"
    assert search(store, "cma", mode="hybrid", embedder=embedder, limit=1).results[0].id == "2305.15054"
    # "rome" is also a word (WordNet): read only when typed "ROME".
    assert search(store, "rome", mode="semantic", embedder=embedder, limit=1).acronyms == {}
    assert search(store, "ROME", mode="semantic", embedder=embedder, limit=1).acronyms == {
        "ROME": "Rank-One Model Editing"}


def test_an_acronym_hit_is_explained_by_the_sentence_spelling_it_out(
        store: EmbeddedStore, embedder: Any) -> None:
    """Researcher QA: for "SAE" 2309.08600 was explained by its first sentence (score 0), which names no
    autoencoder, while "using sparse autoencoders" is in its abstract. The long form counts as the acronym,
    and only whole: a sentence with "sparse" alone ("k-sparse linear classifiers") matches nothing."""
    page = search(store, "SAE", mode="hybrid", embedder=embedder, limit=10, sentence_mode="overlap")
    hits = {h.id: h for h in page.results}
    sae = hits["2309.08600"]
    assert "using sparse autoencoders" in sae.why["best_sentence"]
    assert sae.why["best_sentence_score"] == 1.0 and sae.why["best_sentence_by"] == "overlap"
    assert hits["2305.01610"].why["best_sentence_score"] == 0.0
    cma = search(store, "CMA", mode="hybrid", embedder=embedder, limit=10, sentence_mode="overlap")
    top = cma.results[0]
    assert top.id == "2305.15054" and "causal mediation analysis" in top.why["best_sentence"].lower()
    assert top.why["best_sentence_score"] == 1.0


def test_a_hit_tagged_from_its_title_is_explained_by_the_abstract_sentence_naming_the_technique(
        store: EmbeddedStore, embedder: Any) -> None:
    """Researcher QA: "probing" explained 2305.01610 (tagged Probing from its title, "Sparse Probing") by its
    first sentence, with no word of the query; its abstract names the technique as "(probes)"."""
    page = search(store, "probing", mode="hybrid", embedder=embedder, limit=10, sentence_mode="overlap")
    hit = next(h for h in page.results if h.id == "2305.01610")
    assert hit.why["best_sentence_by"] == "evidence"
    assert "linear classifiers (probes)" in hit.why["best_sentence"]


@pytest.mark.parametrize("query", ["logit lens", "logit lenses", "papers using the logit lens"])
def test_a_query_that_is_only_a_technique_name_puts_its_papers_first_plural_too(
        store: EmbeddedStore, embedder: Any, query: str) -> None:
    page = search(store, query, mode="hybrid", embedder=embedder, limit=10)
    flags = ["technique" in h.why["ranks"] for h in page.results]
    n = sum(flags)
    assert n >= 3 and flags == [True] * n + [False] * (len(flags) - n), flags


def test_the_acronym_cache_is_bounded(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made-up acronyms are remembered as undefined, but only the newest ACRONYM_CACHE_SIZE."""
    import kg.search as search_module

    monkeypatch.setattr(search_module, "ACRONYM_CACHE_SIZE", 3)
    for token in ("QXA", "QXB", "QXC", "QXD", "QXE"):
        assert search_module._spell_out_acronyms(store, f"{token} circuits") == (f"{token} circuits", {})
    assert list(search_module._ACRONYM_CACHE[store])[-3:] == ["QXC", "QXD", "QXE"]
    assert len(search_module._ACRONYM_CACHE[store]) == 3


class RecordingEmbedder:
    """The hashing test embedder, recording every text it is asked to encode."""

    def __init__(self) -> None:
        self.inner = HashEmbedder()
        self.texts: list[str] = []
        self.queries: list[str] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Record the texts, then encode them."""
        self.texts += list(texts)
        return self.inner.encode(texts, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """Record the query, then encode it."""
        self.queries.append(text)
        return self.inner.encode_query(text)


def _paper(pid: str, abstract: str) -> PaperBundle:
    return PaperBundle(paper=Paper(id=pid, title=f"Paper {pid}", abstract=abstract, year=2024,
                                   sources=["records"]))


def test_embedding_explanations_read_a_bounded_number_of_sentences(tmp_path: Path) -> None:
    """A stored abstract of thousands of sentences (or one 900 KB sentence) is not embedded whole:
    the best sentence is chosen among the first ones, within the per-hit bounds."""
    import kg.search as search_module

    fillers = [f"Filler number {i} says nothing." for i in range(5000)]
    long_abstract = " ".join(["Attention heads are studied here.", *fillers,
                              "Induction heads induction heads."])
    huge_sentence = "induction heads " + "word " * 180_000
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers([_paper("long", long_abstract), _paper("huge", huge_sentence)])
        embedder = RecordingEmbedder()
        page = search(store, "induction heads", mode="keyword", embedder=embedder, limit=10,
                      sentence_mode="embedding")
    finally:
        store.close()
    hits = {h.id: h for h in page.results}
    assert set(hits) == {"long", "huge"}
    assert len(embedder.texts) <= 2 * search_module.MAX_EMBED_SENTENCES_PER_HIT
    assert max(map(len, embedder.texts)) <= search_module.MAX_EMBED_CHARS_PER_HIT
    considered = [t for t in embedder.texts if t in split_sentences(long_abstract)]
    assert considered == split_sentences(long_abstract)[:len(considered)] and considered
    # The best of the sentences considered (the closing one, past the bound, was never read).
    long_hit = hits["long"]
    assert long_hit.why["best_sentence_by"] == "embedding"
    assert long_hit.why["best_sentence"] == "Attention heads are studied here."
    sims = embedder.inner.encode(considered) @ embedder.inner.encode_query("induction heads")
    assert long_hit.why["best_sentence"] == considered[int(np.argmax(sims))]
    # The 900 KB sentence is embedded by its first characters but reported whole, as overlap does.
    assert hits["huge"].why["best_sentence_by"] == "embedding"
    assert hits["huge"].why["best_sentence"] == huge_sentence.strip()


def test_embedding_explanations_stop_at_the_request_budget(tmp_path: Path) -> None:
    """A 30-hit page of full-length abstracts: the first hits in rank order are explained by
    embedding until the request's budget is spent, the rest by overlap (and say so)."""
    import kg.search as search_module

    per_hit = search_module.MAX_EMBED_SENTENCES_PER_HIT
    bundles = []
    for n in range(30):
        # ~75 characters a sentence: a full hit fits both per-hit bounds.
        sentences = [f"Sentence {i} of paper {n} on circuits and attention heads in models."
                     for i in range(per_hit)]
        bundles.append(_paper(f"p{n:02d}", " ".join(sentences)))
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers(bundles)
        embedder = RecordingEmbedder()
        page = search(store, "circuits", mode="keyword", embedder=embedder, limit=30,
                      sentence_mode="embedding")
    finally:
        store.close()
    assert len(page.results) == 30
    assert len(embedder.texts) <= search_module.MAX_EMBED_SENTENCES
    assert sum(map(len, embedder.texts)) <= search_module.MAX_EMBED_CHARS
    by = [h.why["best_sentence_by"] for h in page.results]
    n = by.count("embedding")
    assert n >= 10 and by == ["embedding"] * n + ["overlap"] * (30 - n), by
    assert len(embedder.texts) == n * per_hit  # the explained hits were read whole
    assert all(h.why["best_sentence"] for h in page.results)


@pytest.mark.parametrize("query", ["the residual stream as a guess of the output refined layer by layer",
                                   "iteratively refined predictions across layers"])
def test_a_paper_without_abstract_is_found_by_its_list_tldr(store: EmbeddedStore, embedder: Any,
                                                             query: str) -> None:
    # The logit-lens post has no abstract. Embedded from its title alone it ranked 26th and 37th of 38
    # for these; its TL;DRs ("...the RS as an LM's current guess...") now stand in for the abstract.
    assert "logit-lens" in ranked(store, embedder, query, "semantic", limit=3)


@pytest.mark.parametrize(("query", "technique"), [("steering vectors", "steering_vector"),
                                                  ("crosscoders", "crosscoder")])
def test_a_named_technique_no_paper_is_tagged_with_is_reported_not_put_first(
        store: EmbeddedStore, embedder: Any, query: str, technique: str) -> None:
    """No seed abstract mentions steering vectors or crosscoders: the answer must not claim that papers
    tagged with them come first, and says that none is."""
    assert not store.filter_ids(SearchFilters(technique_ids=[technique]))
    page = search(store, query, mode="hybrid", embedder=embedder, limit=10)
    assert page.results
    assert page.using_first == [] and page.not_tagged == [technique]
    assert not any("technique" in h.why["ranks"] for h in page.results)


def test_only_the_named_techniques_a_paper_is_tagged_with_come_first(
        store: EmbeddedStore, embedder: Any) -> None:
    users = store.filter_ids(SearchFilters(technique_ids=["activation_patching"]))
    page = search(store, "activation patching and steering vectors", mode="hybrid", embedder=embedder,
                  limit=10)
    assert page.using_first == ["activation_patching"] and page.not_tagged == ["steering_vector"]
    assert set(h.id for h in page.results[:len(users)]) == users
    # A tagged technique is not reported as untagged.
    named = search(store, "logit lens", mode="hybrid", embedder=embedder, limit=10)
    assert named.using_first == ["logit_lens"] and named.not_tagged == []
    # Filters that leave no paper tagged with it (no logit lens paper is from 2021): nothing comes
    # first and the answer says so.
    filtered = search(store, "logit lens", mode="hybrid", embedder=embedder, limit=10,
                      filters=SearchFilters(year_from=2021, year_to=2021))
    assert filtered.results and filtered.using_first == [] and filtered.not_tagged == ["logit_lens"]


@pytest.mark.parametrize(("query", "node"), [
    ("ablation", "knockout"), ("ablations", "knockout"), ("which papers use ablation", "knockout"),
    ("probe", "probing"), ("faithful", "faithfulness"),
])
def test_a_query_that_is_only_an_ambiguous_alias_names_its_node(
        store: EmbeddedStore, embedder: Any, query: str, node: str) -> None:
    """ "ablation" alone can only mean the technique, though in an abstract it may not."""
    tagged = store.filter_ids(SearchFilters(technique_ids=[node]))
    assert 0 < len(tagged) < 10
    page = search(store, query, mode="hybrid", embedder=embedder, limit=10)
    assert page.using_first == [node]
    assert {h.id for h in page.results[:len(tagged)]} == tagged
    assert all("technique" in h.why["ranks"] for h in page.results[:len(tagged)])


def test_an_ambiguous_alias_among_other_words_names_nothing(store: EmbeddedStore, embedder: Any) -> None:
    page = search(store, "ablation of attention heads", mode="hybrid", embedder=embedder, limit=10)
    assert page.results and page.using_first == [] and page.not_tagged == []
    assert not any("technique" in h.why["ranks"] for h in page.results)


def test_a_criterion_adjective_said_of_something_names_it_but_not_before_a_noun(
        store: EmbeddedStore, embedder: Any) -> None:
    """ "whether circuits are faithful" asks about Faithfulness; "complete list" is an ordinary phrase."""
    faithful = store.filter_ids(SearchFilters(technique_ids=["faithfulness"]))
    page = search(store, "which papers test whether circuits are faithful", mode="hybrid", embedder=embedder,
                  limit=10)
    listed = {h.id for h in page.results if "technique" in h.why["ranks"]}
    assert listed and listed <= faithful
    everything = len(store.paper_ids())
    # The IOI paper evaluates completeness: every paper is on these pages, so it is checked.
    asked = search(store, "how complete are SAE features", mode="hybrid", embedder=embedder, limit=everything)
    ioi = next(h for h in asked.results if h.id == "2211.00593")
    assert "completeness" in ioi.why["matched_evaluations"] and "technique" in ioi.why["ranks"]
    plain = search(store, "complete list of SAE papers", mode="hybrid", embedder=embedder, limit=everything)
    ioi = next(h for h in plain.results if h.id == "2211.00593")
    assert ioi.why["matched_evaluations"] == [] and "technique" not in ioi.why["ranks"]


def test_a_hit_tagged_with_the_named_technique_is_explained_by_its_evidence(
        store: EmbeddedStore, embedder: Any) -> None:
    """For "logit lens", 2209.02535's best word overlap is none (its first sentence); the sentence that
    tagged it Logit Lens says why it is here. A sentence naming the technique still wins."""
    page = search(store, "logit lens", mode="hybrid", embedder=embedder, limit=10, sentence_mode="overlap")
    hits = {h.id: h for h in page.results}
    detail = store.get_paper("2209.02535")
    assert detail is not None
    evidence = next(u.evidence for u in detail.techniques
                    if u.technique_id == "logit_lens" and u.source == "extracted")
    assert evidence and evidence in hits["2209.02535"].why["best_sentence"]
    assert hits["2209.02535"].why["best_sentence_by"] == "evidence"
    tuned = hits["2303.08112"]
    assert tuned.why["best_sentence_by"] == "overlap" and '"logit lens"' in tuned.why["best_sentence"]
    # Without a named technique the overlap choice stands.
    plain = search(store, "embedding space parameters", mode="keyword", limit=10, sentence_mode="overlap")
    assert all(h.why["best_sentence_by"] == "overlap" for h in plain.results)


def test_framing_words_do_not_stop_number_variants(store: EmbeddedStore) -> None:
    """ "activation patching to find circuits" has three content words, so "circuits" also matches
    "circuit": the IOI paper's title word (its abstract has neither form)."""
    ioi = store.get_papers(["2211.00593"])[0]
    assert "circuit" not in (ioi.abstract or "").lower() and "Circuit" in ioi.title
    page = search(store, "activation patching to find circuits", mode="keyword", limit=50)
    assert "2211.00593" in [h.id for h in page.results]


def test_a_hit_tagged_from_its_list_tldr_is_explained_by_that_tldr_sentence(
        store: EmbeddedStore, embedder: Any) -> None:
    """Researcher QA: IOI's abstract names no patching method (its list TL;DR does), so for "path
    patching" its why-sentence was an unrelated first sentence, with score 0."""
    page = search(store, "path patching", mode="hybrid", embedder=embedder, limit=10, sentence_mode="overlap")
    ioi = next(h for h in page.results if h.id == "2211.00593")
    assert ioi.why["best_sentence_by"] == "evidence"
    assert ioi.why["best_sentence"] == (
        "List TL;DR: The paper proposes to use mean-ablation for activation and path patching.")
    assert ioi.why["best_sentence_score"] == 2.0  # "path" and "patching"
    # The "List TL;DR: " mark is shown, but its words match nothing (review 2).
    page = search(store, "list path patching", mode="hybrid", embedder=embedder, limit=10,
                  sentence_mode="overlap")
    ioi = next(h for h in page.results if h.id == "2211.00593")
    assert ioi.why["best_sentence"].startswith("List TL;DR: ") and ioi.why["best_sentence_score"] == 2.0


@pytest.mark.parametrize(("query", "node_field"), [("Knockout", "matched_techniques"),
                                                   ("whether circuits are faithful", "matched_evaluations")])
def test_the_evidence_of_a_page_is_read_once_not_per_hit(
        store: EmbeddedStore, embedder: Any, monkeypatch: pytest.MonkeyPatch, query: str,
        node_field: str) -> None:
    """The why-sentence of hits tagged with a named technique (USES) or criterion (EVALUATES) comes from
    one tag_evidence read for the page, no paper detail per hit, and is still the abstract sentence
    holding the evidence that tagged the hit."""
    calls: dict[str, list[Any]] = {"get_paper": [], "tag_evidence": []}
    get_paper, tag_evidence = store.get_paper, store.tag_evidence

    def counted_get_paper(paper_id: str) -> Any:
        calls["get_paper"].append(paper_id)
        return get_paper(paper_id)

    def counted_tag_evidence(paper_ids: Sequence[str], node_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        calls["tag_evidence"].append((list(paper_ids), list(node_ids)))
        return tag_evidence(paper_ids, node_ids)

    monkeypatch.setattr(store, "get_paper", counted_get_paper)
    monkeypatch.setattr(store, "tag_evidence", counted_tag_evidence)
    page = search(store, query, mode="hybrid", embedder=embedder, limit=20, sentence_mode="overlap")
    monkeypatch.undo()
    assert calls["get_paper"] == []
    assert len(calls["tag_evidence"]) == 1
    by_evidence = [h for h in page.results if h.why["best_sentence_by"] == "evidence"]
    assert by_evidence
    assert {h.id for h in by_evidence} <= set(calls["tag_evidence"][0][0])
    for hit in by_evidence:
        detail = store.get_paper(hit.id)
        assert detail is not None
        stored = {u.technique_id: u.evidence for u in detail.techniques if u.source == "extracted"}
        stored |= {e.evaluation_id: e.evidence for e in detail.evaluations if e.source == "extracted"}
        texts = [" ".join((stored.get(n) or "").split()) for n in hit.why[node_field]]
        sentence = hit.why["best_sentence"]
        if sentence.startswith("List TL;DR: "):  # a TL;DR sentence is shown as it was stored
            assert sentence in texts, (hit.id, sentence, texts)
            continue
        assert sentence in split_sentences(detail.paper.abstract)
        assert any(t and (t in sentence or sentence in t) for t in texts), (hit.id, sentence, texts)


def test_a_page_no_hit_of_which_needs_evidence_reads_none(
        store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a named technique, or when every hit's sentence has the query's words, no evidence is read."""
    read: list[list[str]] = []
    tag_evidence = store.tag_evidence

    def counted(paper_ids: Sequence[str], node_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        read.append(list(paper_ids))
        return tag_evidence(paper_ids, node_ids)

    monkeypatch.setattr(store, "tag_evidence", counted)
    page = search(store, "embedding space parameters", mode="keyword", limit=10, sentence_mode="overlap")
    assert page.results and read == []


class CachedQueries:
    """The real model, each query encoded once: a walk through every page asks the same query hundreds
    of times, and the vectors are the model's either way."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode texts with the real model."""
        return self.inner.encode(texts, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """Encode a query with the real model, once."""
        if text not in self.cache:
            self.cache[text] = self.inner.encode_query(text)
        return self.cache[text]


DEEP_PAPERS = 320  # past positions 200: hybrid pages reach the fourth tier ([200, 400), windows of 450)


@pytest.fixture(scope="module")
def deep_store(tmp_path_factory: pytest.TempPathFactory, store: EmbeddedStore,
               embedder: Any) -> Iterator[EmbeddedStore]:
    """DEEP_PAPERS papers recombining the seed abstracts' sentences, embedded with the real model, in a
    real SQLite file: more than the 100 candidates a first page fuses. Years 2019-2024 in turn; every
    third paper uses activation patching (over 100 of them: the technique list is cut too)."""
    from ingest.embed import embedding_text

    pool = sorted({s for p in store.get_papers(store.paper_ids()) for s in split_sentences(p.abstract)})
    assert len(pool) > 100
    rng = random.Random(20240131)
    bundles = []
    for i in range(DEEP_PAPERS):
        sentences = rng.sample(pool, 4)
        title = " ".join(rng.choice(pool).split()[:8]).rstrip(".,;:")
        uses = [TechniqueUse("activation_patching", "list")] if i % 3 == 0 else []
        bundles.append(PaperBundle(paper=Paper(id=f"deep-{i:03d}", title=title, abstract=" ".join(sentences),
                                               year=2019 + i % 6, sources=["records"]), techniques=uses))
    vectors = embedder.encode([embedding_text(b.paper.title, b.paper.abstract) for b in bundles])
    for bundle, vector in zip(bundles, vectors, strict=True):
        bundle.paper.embedding = np.asarray(vector, dtype=np.float32)
        bundle.paper.embedding_model = embedder.model_name
    deep = taxonomy_store(tmp_path_factory.mktemp("deep") / "paperkg.sqlite3")
    deep.upsert_papers(bundles)
    yield deep
    deep.close()


def _walk(store: EmbeddedStore, embedder: Any, query: str, limit: int,
          filters: SearchFilters | None = None) -> tuple[list[SearchHit], int]:
    """Every hybrid page of `limit` hits, as a client pages: until a page is empty or reaches `total`."""
    hits: list[SearchHit] = []
    while True:
        page = search(store, query, mode="hybrid", embedder=embedder, limit=limit, offset=len(hits),
                      filters=filters)
        hits += page.results
        if not page.results or len(hits) >= page.total:
            return hits, page.total


@pytest.mark.parametrize(("query", "filters"), [
    ("circuits", None),
    ("activation patching", None),  # a third list, and the papers using it first
    ("circuits", SearchFilters(year_from=2021)),
])
def test_hybrid_pages_of_any_size_give_every_candidate_once_in_one_order(
        deep_store: EmbeddedStore, embedder: Any, query: str, filters: SearchFilters | None) -> None:
    """Walking the hybrid pages with limit 1, 3, 7, 10 or 50 gives one sequence: every paper passing the
    filters (all have an embedding, so all are semantic candidates) exactly once. The windows used to
    grow with the offset, so deeper pages re-fused papers shown already above papers not shown yet."""
    cached = CachedQueries(embedder)
    allowed = deep_store.filter_ids(filters) if filters is not None else set(deep_store.paper_ids())
    assert len(allowed) > 200
    walks = {}
    for limit in (1, 3, 7, 10, 50):
        hits, total = _walk(deep_store, cached, query, limit, filters)
        ids = [h.id for h in hits]
        assert len(ids) == len(set(ids)), f"limit {limit}: a paper shown twice"
        assert set(ids) == allowed and total == len(allowed), f"limit {limit}: papers skipped"
        walks[limit] = hits
        # Past the end: nothing more.
        assert not search(deep_store, query, mode="hybrid", embedder=cached, limit=limit, offset=len(ids),
                          filters=filters).results
    order = [h.id for h in walks[1]]
    assert all([h.id for h in hits] == order for hits in walks.values())
    # Every hit is explained by the fusion that placed it, whatever the page: the same score and ranks.
    for hits in walks.values():
        assert [(h.score, h.why["ranks"]) for h in hits] == [(h.score, h.why["ranks"]) for h in walks[1]]
    for hit in walks[1]:
        assert hit.why["rrf"] == pytest.approx(sum(1 / (60 + r) for r in hit.why["ranks"].values()), abs=1e-4)
    # The first 50 positions fuse each list's top 100; the deeper ones, deeper lists.
    assert all(r <= 100 for h in walks[1][:50] for r in h.why["ranks"].values())
    assert any(r > 100 for h in walks[1][50:] for r in h.why["ranks"].values())
    if query == "activation patching":  # the papers using it first, in every tier
        flags = ["technique" in h.why["ranks"] for h in walks[1]]
        users = sum(flags)
        assert users > 100 and flags == [True] * users + [False] * (len(flags) - users)


def test_a_hybrid_first_page_is_the_fusion_of_the_top_100_of_each_list(
        deep_store: EmbeddedStore, embedder: Any) -> None:
    """A page within the first 50 positions is cut from the fusion of each list's top 100, as before
    the tiers (the search benchmark measures such pages): same papers, order, scores and total."""
    embedder = CachedQueries(embedder)
    vector = embedder.encode_query("circuits")
    keyword = deep_store.keyword_search("circuits", 100)
    assert len(keyword) == 100  # more papers match than a first page fuses
    fused = rrf_fuse({"semantic": deep_store.vector_search(vector, 100), "keyword": keyword})
    page = search(deep_store, "circuits", mode="hybrid", embedder=embedder, limit=50)
    assert [(h.id, h.score) for h in page.results] == [(i, pytest.approx(s)) for i, s, _ in fused[:50]]
    assert page.total == len(fused)
    for limit, offset in ((10, 0), (7, 21), (1, 49)):
        part = search(deep_store, "circuits", mode="hybrid", embedder=embedder, limit=limit, offset=offset)
        assert [h.id for h in part.results] == [i for i, _, _ in fused[offset:offset + limit]]
        assert part.total == len(fused)
    # With a third list and its papers first.
    vector = embedder.encode_query("activation patching")
    using = deep_store.vector_search(vector, 100, SearchFilters(technique_ids=["activation_patching"]))
    fused = rrf_fuse({"semantic": deep_store.vector_search(vector, 100),
                      "keyword": deep_store.keyword_search("activation patching", 100), "technique": using})
    fused.sort(key=lambda item: item[0] not in {h.id for h in using})
    page = search(deep_store, "activation patching", mode="hybrid", embedder=embedder, limit=50)
    assert [(h.id, h.why["ranks"]) for h in page.results] == [(i, r) for i, _, r in fused[:50]]
    assert page.using_first == ["activation_patching"] and page.total == len(fused)
