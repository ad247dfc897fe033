"""bench/search_eval.py: the store it evaluates is tagged with the packaged MI taxonomy whatever
PAPERKG_TAXONOMY says, and nDCG@10 is reported for all queries, the others and the development ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.search_eval import build_store, mean_by_set, query_sets
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.kg.search_queries import DEVELOPMENT_QUERIES, QUERIES

BIO_TAXONOMY = Path(__file__).resolve().parents[1] / "ingest" / "data" / "bio_taxonomy.yaml"


def test_the_store_is_tagged_with_the_given_taxonomy_not_paperkg_taxonomy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Taxonomy
) -> None:
    records = tmp_path / "seed_papers.jsonl"
    records.write_text(json.dumps({
        "id": "mi-1", "title": "Activation patching of induction heads", "authors": ["A. Author"],
        "year": 2023,
        "abstract": "We use activation patching and linear probes on GPT-2 small to locate induction heads.",
    }) + "\n", encoding="utf-8")
    # Tagged by this taxonomy, the paper would silently get no technique: the eval's scores then change.
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(BIO_TAXONOMY))
    store, summary = build_store(tmp_path / "eval.sqlite3", records, HashEmbedder(), taxonomy)
    try:
        detail = store.get_paper("mi-1")
    finally:
        store.close()
    assert summary.papers == 1
    assert detail is not None
    techniques = {use.technique_id for use in detail.techniques}
    mi_techniques = {n.id for n in taxonomy.nodes if n.label == "Technique"}
    assert {"activation_patching", "probing"} <= techniques <= mi_techniques, techniques


def test_the_development_queries_are_four_of_the_query_set() -> None:
    development_queries = {"activation patching", "papers that use probing",
                           "evaluating the faithfulness of circuits", "IOI circuit"}
    assert development_queries == DEVELOPMENT_QUERIES
    assert set(QUERIES) >= DEVELOPMENT_QUERIES
    sets = query_sets(list(QUERIES))
    assert [name for name, _ in sets] == [f"all {len(QUERIES)} queries", f"{len(QUERIES) - 4} other queries",
                                          "4 development queries"]
    all_queries, others, development = (members for _, members in sets)
    assert all_queries == list(QUERIES)
    assert set(others) | set(development) == set(QUERIES) and not set(others) & set(development)
    assert set(development) == DEVELOPMENT_QUERIES


def test_mean_by_set_averages_each_set() -> None:
    queries = ["logit lens", "activation patching", "toy models of superposition", "IOI circuit"]
    scores = {"logit lens": 1.0, "activation patching": 0.5, "toy models of superposition": 0.8,
              "IOI circuit": 0.1}
    assert mean_by_set(scores, queries) == [
        ("all 4 queries", pytest.approx(0.6)), ("2 other queries", pytest.approx(0.9)),
        ("2 development queries", pytest.approx(0.3))]
