"""Search quality per mode on the seed corpus with the real model: nDCG@10, recall@5 and MRR.

Usage: .venv/bin/python bench/search_eval.py [--data DIR]   (--shared-data is the same)
Loads seed_papers.jsonl through the real pipeline (tagged with the packaged MI taxonomy, whatever
PAPERKG_TAXONOMY says) into a temporary embedded store, runs the hand-written query set of
tests/kg/search_queries.py in each mode and prints a table. nDCG@10 is also given for the 12 queries
written independently of a search feature and for the 4 development queries (DEVELOPMENT_QUERIES)
added with the features that raise their scores: quote the first of those two rows as the headline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import DATA_HELP, seed_papers_file  # noqa: E402
from ingest.embed import get_embedder  # noqa: E402
from ingest.extract import Extractor  # noqa: E402
from ingest.pipeline import ingest_records_file  # noqa: E402
from ingest.summary import IngestSummary  # noqa: E402
from kg.embedded import EmbeddedStore  # noqa: E402
from kg.search import search  # noqa: E402
from kg.taxonomy import Taxonomy, load_taxonomy  # noqa: E402
from tests.kg.search_queries import DEVELOPMENT_QUERIES, QUERIES, must_find, ndcg_at_k  # noqa: E402

MODES = ("semantic", "keyword", "hybrid")

def build_store(
    path: Path, seed_papers: Path, embedder: Any, taxonomy: Taxonomy
) -> tuple[EmbeddedStore, IngestSummary]:
    """A fresh store at path holding the seed papers, tagged with `taxonomy` (never PAPERKG_TAXONOMY's)."""
    store = EmbeddedStore(path)
    store.init_schema()
    store.load_taxonomy(taxonomy.nodes)
    # The extractor names the taxonomy: without one the pipeline tags by PAPERKG_TAXONOMY's, so the eval's
    # scores would depend on the caller's environment.
    summary = ingest_records_file(store, seed_papers, embedder=embedder, extractor=Extractor(taxonomy),
                                  progress=False)
    return store, summary


def query_sets(queries: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The rows of the nDCG@10 table by query set: all queries, the others, the development ones."""
    others = [q for q in queries if q not in DEVELOPMENT_QUERIES]
    development = [q for q in queries if q in DEVELOPMENT_QUERIES]
    return [(f"all {len(queries)} queries", list(queries)),
            (f"{len(others)} other queries", others),
            (f"{len(development)} development queries", development)]


def mean_by_set(scores: Mapping[str, float], queries: Sequence[str]) -> list[tuple[str, float]]:
    """The mean score of each query set of `queries` (nan for an empty set)."""
    return [(name, statistics.fmean(scores[q] for q in members) if members else float("nan"))
            for name, members in query_sets(queries)]


def main() -> None:
    """Build the seed store, evaluate every mode, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # --shared-data: this bench's older name for the flag the other benches call --data.
    parser.add_argument("--data", "--shared-data", dest="data", help=DATA_HELP)
    args = parser.parse_args()
    seed_papers = seed_papers_file(parser, args.data)
    embedder = get_embedder()
    taxonomy = load_taxonomy()
    with tempfile.TemporaryDirectory() as tmp:
        store, summary = build_store(Path(tmp) / "paperkg.sqlite3", seed_papers, embedder, taxonomy)
        print(f"seed corpus: {summary.papers} papers; {len(QUERIES)} queries "
              f"({len(DEVELOPMENT_QUERIES)} development, marked *); model {embedder.model_name}\n")
        rows: dict[str, dict[str, list[float]]] = {m: {"ndcg": [], "recall5": [], "mrr": [], "ms": []}
                                                  for m in MODES}
        ndcg_of: dict[str, dict[str, float]] = {m: {} for m in MODES}
        per_query: list[tuple[str, list[float]]] = []
        for query, relevant in QUERIES.items():
            scores = []
            for mode in MODES:
                start = time.perf_counter()
                # One shared taxonomy, as the app passes: without it every query rebuilds the labels.
                page = search(store, query, mode=mode, embedder=embedder, limit=10, taxonomy=taxonomy,
                              sentence_mode="overlap")
                rows[mode]["ms"].append((time.perf_counter() - start) * 1000)
                ids = [h.id for h in page.results]
                ndcg = ndcg_at_k(ids, relevant)
                wanted = must_find(relevant)
                rows[mode]["ndcg"].append(ndcg)
                ndcg_of[mode][query] = ndcg
                rows[mode]["recall5"].append(sum(p in ids[:5] for p in wanted) / len(wanted))
                first = next((i for i, p in enumerate(ids) if relevant.get(p)), None)
                rows[mode]["mrr"].append(0.0 if first is None else 1.0 / (first + 1))
                scores.append(ndcg)
            per_query.append((query, scores))
        store.close()

    width = max(len(q) for q in QUERIES) + 2
    print(f"{'query (* development)':<{width}}  " + "  ".join(f"{m:>8}" for m in MODES))
    for query, scores in per_query:
        label = f"{query} *" if query in DEVELOPMENT_QUERIES else query
        print(f"{label:<{width}}  " + "  ".join(f"{s:8.3f}" for s in scores))
    print()
    print(f"{'mode':<9} {'nDCG@10':>8} {'recall@5':>9} {'MRR':>6} {'median ms':>9}   (all queries)")
    for mode in MODES:
        r = rows[mode]
        print(f"{mode:<9} {statistics.fmean(r['ndcg']):8.3f} {statistics.fmean(r['recall5']):9.3f} "
              f"{statistics.fmean(r['mrr']):6.3f} {statistics.median(r['ms']):9.1f}")
    print()
    by_set = {mode: mean_by_set(ndcg_of[mode], list(QUERIES)) for mode in MODES}
    names = [name for name, _ in by_set[MODES[0]]]
    set_width = max(len(n) for n in names)
    print(f"{'nDCG@10 by query set':<{set_width}}  " + "  ".join(f"{m:>8}" for m in MODES))
    for i, name in enumerate(names):
        print(f"{name:<{set_width}}  " + "  ".join(f"{by_set[m][i][1]:8.3f}" for m in MODES))


if __name__ == "__main__":
    main()
