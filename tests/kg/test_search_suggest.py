"""Search's suggestions on the seed corpus (kg/search.py suggest_query, mostly_non_latin): a "did you
mean" for a misspelt taxonomy name, a flag for a query in another script; the results never change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.explain import Labels
from kg.search import mostly_non_latin, search, suggest_query
from kg.taxonomy import load_taxonomy
from tests.embedders import HashEmbedder
from tests.kg.search_queries import QUERIES
from tests.seed_store import taxonomy_store


@pytest.fixture(scope="module")
def labels() -> Labels:
    """The packaged taxonomy's labels (the seed store's taxonomy)."""
    return Labels(load_taxonomy().nodes)


@pytest.mark.parametrize(("query", "meant"), [
    ("activaton patching", "activation patching"),
    ("superpositon", "superposition"),
    ("grokkking", "grokking"),
    ("inducton heads", "induction heads"),
    # The case typed is kept, and the rest of the query as typed.
    ("Superpositon in toy models", "Superposition in toy models"),
    ("papers on atribution patching", "papers on attribution patching"),
    ("indirect object identificaton", "indirect object identification"),
    # A slip that keeps the letters counts as one typo, however low difflib's ratio of a short word: two
    # neighbours swapped (0.83 from the name), a doubled letter doubled in the wrong place, and in a word
    # of 5 letters (too short for any other typo).
    ("Pythai", "Pythia"), ("Cluade", "Claude"), ("Calude", "Claude"), ("Lamma", "Llama"),
    ("Gemam", "Gemma"), ("circuits in Pythai", "circuits in Pythia"), ("Lamma 2", "Llama 2"),
    # A common word a swap away: only where the words around it then spell a name.
    ("casual tracing", "causal tracing"), ("spares autoencoders", "sparse autoencoders"),
    # Words of 5 letters are tried apart: six of them leave the longer words their turn.
    ("abcde fghij klmno pqrst uvwxy zabcd activaton patching",
     "abcde fghij klmno pqrst uvwxy zabcd activation patching"),
])
def test_a_misspelt_taxonomy_name_gets_the_name(seed_store: EmbeddedStore, labels: Labels, query: str,
                                                meant: str) -> None:
    assert suggest_query(seed_store, query, labels) == meant


@pytest.mark.parametrize("query", [
    *QUERIES,  # the search eval's queries
    "papers on grokking", "what do transformers learn in context", "which papers use probing",
    # A word of no name alone: nothing around it confirms which name it would be ("induction heads"?).
    "inducton", "activaton",
    # A word with a prefix is no typo, however close ("misalignment": "alignment").
    "emergent misalignment",
    # Too short to correct, not Latin letters, numbers.
    "probs", "稀疏自编码器", "gpt2 smal", "2211.00593",
    # A swap or moved doubling of a name's word that spells no name with the words around it, and words of
    # 5 letters a letter from a name ("gamma": Gemma, "lemma", "Lama"), or a name spelt right.
    "casual", "casual conversation", "spares", "gamma", "lemma", "Lama", "comma", "Llama", "Pythia",
    "Claude", "Gemma 2",
    "",
])
def test_real_and_unconfirmed_words_get_no_suggestion(seed_store: EmbeddedStore, labels: Labels,
                                                      query: str) -> None:
    assert suggest_query(seed_store, query, labels) is None


def test_a_word_some_paper_has_is_never_corrected(tmp_path: Path, labels: Labels) -> None:
    """"activaton" is a typo until a stored paper has the word: then it is a word of the corpus."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        embedder = HashEmbedder()

        def bundle(pid: str, abstract: str) -> PaperBundle:
            vector = np.asarray(embedder.encode_query(abstract), dtype=np.float32)
            return PaperBundle(Paper(id=pid, title=f"Paper {pid}", abstract=abstract, sources=["records"],
                                     embedding=vector, embedding_model=embedder.model_name))

        store.upsert_papers([bundle("p1", "We study activation patching in small models.")])
        assert suggest_query(store, "activaton patching", labels) == "activation patching"
        store.upsert_papers([bundle("p2", "The activaton spelling appears in this abstract.")])
        assert suggest_query(store, "activaton patching", labels) is None
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_search_suggests_in_every_mode(seed_store: EmbeddedStore, model_embedder: Any, mode: str) -> None:
    page = search(seed_store, "grokkking", mode=mode, embedder=model_embedder, limit=5)
    assert page.did_you_mean == "grokking" and not page.non_latin_query
    assert search(seed_store, "grokking", mode=mode, embedder=model_embedder, limit=5).did_you_mean is None


def test_a_suggestion_leaves_the_results_those_of_the_query_as_typed(seed_store: EmbeddedStore,
                                                                      model_embedder: Any) -> None:
    """Suggested, not searched: the misspelt query names no technique and its keyword search has no
    match, where the suggestion would have both."""
    typed = search(seed_store, "activaton patching", mode="hybrid", embedder=model_embedder)
    meant = search(seed_store, "activation patching", mode="hybrid", embedder=model_embedder)
    assert typed.did_you_mean == "activation patching" and meant.did_you_mean is None
    assert typed.using_first == [] and meant.using_first == ["activation_patching"]
    keyword = search(seed_store, "grokkking", mode="keyword")
    assert keyword.did_you_mean == "grokking" and keyword.results == [] and keyword.total == 0
    assert search(seed_store, "grokking", mode="keyword").total > 0


@pytest.mark.parametrize(("query", "non_latin"), [
    ("稀疏自编码器", True),
    ("разреженный автоэнкодер", True),
    ("稀疏 autoencoder", False),  # more Latin letters than others: the English word is read
    ("SAEの論文", False),
    ("Søgaard probing", False),  # accented Latin letters are Latin
    ("ℓ1 norm", False),
    ("12345", False),
    ("", False),
])
def test_mostly_non_latin(query: str, non_latin: bool) -> None:
    assert mostly_non_latin(query) is non_latin


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_search_flags_a_query_in_another_script(seed_store: EmbeddedStore, model_embedder: Any,
                                                mode: str) -> None:
    page = search(seed_store, "稀疏自编码器", mode=mode, embedder=model_embedder, limit=5)
    assert page.non_latin_query and page.did_you_mean is None
    assert not search(seed_store, "sparse autoencoder", mode=mode, embedder=model_embedder,
                      limit=5).non_latin_query
