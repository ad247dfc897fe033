"""A hybrid query naming a topic or fundamental object (kg/search.py _topics_named) is answered as one
naming a technique: the papers touching it (or a sub-topic, as the topic filter finds them) are lifted by a
"topic" list, come first when the query is only the topic's own name (`using_first`), and an untagged one is
said (`not_tagged`). Before, "AI safety" put the only paper tagged AI Safety 31st of 38. An alias of a topic
is a cue word findings are tagged by ("deception", "jailbreak"): its list is only fused, as a component's;
it put that paper (tagged through "toxicity") first for every alias of AI Safety. The seed corpus in a
real SQLite file and the real model."""

from __future__ import annotations

from typing import Any

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.search import search


def _tagged(store: EmbeddedStore, topic: str, filters: SearchFilters | None = None) -> set[str]:
    """The papers the topic filter (sub-topics included) passes."""
    base = filters or SearchFilters()
    return store.filter_ids(SearchFilters(**{**base.__dict__, "topic_ids": [topic]}))


@pytest.mark.parametrize(("query", "topic"), [
    ("AI safety", "ai_safety"),
    ("ai SAFETY", "ai_safety"),  # any case
    ("papers on AI safety", "ai_safety"),  # request and stop words aside
    ("knowledge editing", "knowledge_editing"),
    ("superposition", "superposition"),
    ("universality", "universality"),  # a fundamental object: the topic filter takes those too
    ("circuit", "circuits"),  # the name in the singular (an alias the taxonomy lists)
    ("LM enhancement", "lm_enhancement"),  # its papers are its sub-topics' (Knowledge Editing)
])
def test_a_query_that_is_a_topic_puts_its_papers_first(seed_store: EmbeddedStore, model_embedder: Any,
                                                       query: str, topic: str) -> None:
    tagged = _tagged(seed_store, topic)
    assert tagged
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=len(tagged) + 5)
    ids = [h.id for h in page.results]
    assert set(ids[:len(tagged)]) == tagged, ids
    assert page.using_first == [topic] and page.not_tagged == []
    assert all(h.why["ranks"].get("topic") for h in page.results[:len(tagged)])
    assert not any(h.why["ranks"].get("topic") for h in page.results[len(tagged):])


@pytest.mark.parametrize(("query", "topic"), [
    ("deception", "ai_safety"),  # an alias: no paper has the word, yet it is not a request for the topic
    ("jailbreaks", "ai_safety"),  # an alias's plural
    ("refusal", "ai_safety"),
    ("alignment", "ai_safety"),  # an ambiguous alias, alone
    ("safety", "ai_safety"),
    ("model editing", "knowledge_editing"),  # a synonym is still an alias: the words decide
    ("grokking", "learning_dynamics"),
])
def test_a_query_that_is_a_topic_alias_only_fuses_its_list(seed_store: EmbeddedStore, model_embedder: Any,
                                                            query: str, topic: str) -> None:
    tagged = _tagged(seed_store, topic)
    assert tagged
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=50)  # every seed paper
    assert page.using_first == [] and page.not_tagged == []
    # The list was read and fused: its papers carry a topic rank, where the fusion puts them.
    on_list = [h for h in page.results if h.why["ranks"].get("topic")]
    assert {h.id for h in on_list} == tagged


@pytest.mark.parametrize("query", ["safety", "alignment"])
def test_papers_with_an_alias_s_word_come_before_the_topic_s_other_papers(
        seed_store: EmbeddedStore, model_embedder: Any, query: str) -> None:
    # The QA case: the one paper tagged AI Safety (through "toxicity", meaning rank 16 and 37) was first
    # for every alias, above the papers holding the word typed.
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=10)
    ids = [h.id for h in page.results]
    (tagged,) = _tagged(seed_store, "ai_safety")
    assert ids.index(tagged) > 0 and "keyword" in page.results[0].why["ranks"]


def test_an_untagged_topic_is_said(seed_store: EmbeddedStore, model_embedder: Any) -> None:
    assert not _tagged(seed_store, "lm_generation_steering")
    page = search(seed_store, "steering", mode="hybrid", embedder=model_embedder, limit=10)
    assert page.results and page.not_tagged == ["lm_generation_steering"] and page.using_first == []
    # Filters that leave no paper on a topic some paper is on: said too.
    tagged = _tagged(seed_store, "ai_safety")
    years = {p.year for p in seed_store.get_papers(sorted(tagged))}
    other = next(y for y in range(2015, 2030) if y not in years)
    filtered = search(seed_store, "AI safety", mode="hybrid", embedder=model_embedder, limit=10,
                      filters=SearchFilters(year_from=other, year_to=other))
    assert filtered.not_tagged == ["ai_safety"] and filtered.using_first == []
    # Named by an alias, it is said the same way: its list was read and holds no paper.
    alias = search(seed_store, "jailbreaks", mode="hybrid", embedder=model_embedder, limit=10,
                   filters=SearchFilters(year_from=other, year_to=other))
    assert alias.not_tagged == ["ai_safety"] and alias.using_first == []


def test_a_topic_filter_of_the_users_decides_instead(seed_store: EmbeddedStore, model_embedder: Any) -> None:
    filters = SearchFilters(topic_ids=["superposition"])
    page = search(seed_store, "AI safety", mode="hybrid", embedder=model_embedder, limit=10, filters=filters)
    assert page.using_first == [] and page.not_tagged == []
    assert not any("topic" in h.why["ranks"] for h in page.results)


def test_a_topic_among_other_words_only_joins_the_fusion(seed_store: EmbeddedStore,
                                                         model_embedder: Any) -> None:
    # Mostly names ("chain-of-thought" and "reasoning" are Model Capabilities): the list is read, nothing
    # is put first.
    page = search(seed_store, "mechanisms of chain-of-thought reasoning", mode="hybrid",
                  embedder=model_embedder, limit=10)
    assert page.using_first == [] and any(h.why["ranks"].get("topic") for h in page.results)
    # Only topics' own names: those papers first, named in using_first.
    only = search(seed_store, "superposition and universality", mode="hybrid", embedder=model_embedder,
                  limit=10)
    assert only.using_first == ["superposition", "universality"]
    # Only names, but aliases ("grokking" of Learning Dynamics, "modular addition" of LM Behavior;
    # "jailbreaks" of AI Safety beside a name): the list is only fused.
    for query in ("grokking modular addition", "superposition and jailbreaks"):
        aliases = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=10)
        assert aliases.using_first == [] and any(h.why["ranks"].get("topic") for h in aliases.results)
    # Mostly other words: no list ("toy models of superposition" names a paper, not only the topic).
    other = search(seed_store, "toy models of superposition", mode="hybrid", embedder=model_embedder,
                   limit=10)
    assert other.using_first == [] and not any("topic" in h.why["ranks"] for h in other.results)


@pytest.mark.parametrize("query", [
    "deceptive",  # a derived word, not a form of "deception": no paper was tagged AI Safety for it
    "refuse",
    "alignment of representations",  # an ambiguous alias among other words stays words
    "induction heads",  # the component (an example of LM Components) answers, by its own list
    "evaluating the faithfulness of circuits",  # beside a criterion, Circuits only qualifies it
    "circuits in Pythia",  # and beside a model
])
def test_what_names_no_topic(seed_store: EmbeddedStore, model_embedder: Any, query: str) -> None:
    page = search(seed_store, query, mode="hybrid", embedder=model_embedder, limit=10)
    assert not any("topic" in h.why["ranks"] for h in page.results)
    assert not {"ai_safety", "lm_components", "circuits"} & {*page.using_first, *page.not_tagged}


def test_keyword_and_semantic_modes_read_no_topic(seed_store: EmbeddedStore, model_embedder: Any) -> None:
    for mode in ("keyword", "semantic"):
        page = search(seed_store, "AI safety", mode=mode, embedder=model_embedder, limit=10)
        assert page.using_first == [] and page.not_tagged == []
