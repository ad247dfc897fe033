"""Search quality per mode on the seed corpus with the real model: nDCG@10, recall@5 and MRR.

Usage: .venv/bin/python bench/search_eval.py [--data DIR]   (--shared-data is the same)
Loads seed_papers.jsonl through the real pipeline into a temporary embedded store, runs the
hand-written query set of tests/kg/search_queries.py in each mode and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import DATA_HELP, seed_papers_file  # noqa: E402
from ingest.embed import get_embedder  # noqa: E402
from ingest.pipeline import ingest_records_file  # noqa: E402
from kg.embedded import EmbeddedStore  # noqa: E402
from kg.search import search  # noqa: E402
from kg.taxonomy import load_taxonomy  # noqa: E402
from tests.kg.search_queries import QUERIES, must_find, ndcg_at_k  # noqa: E402

MODES = ("semantic", "keyword", "hybrid")


def main() -> None:
    """Build the seed store, evaluate every mode, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # --shared-data: this bench's older name for the flag the other benches call --data.
    parser.add_argument("--data", "--shared-data", dest="data", help=DATA_HELP)
    args = parser.parse_args()
    seed_papers = seed_papers_file(parser, args.data)
    embedder = get_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "paperkg.sqlite3")
        store.init_schema()
        taxonomy = load_taxonomy()
        store.load_taxonomy(taxonomy.nodes)
        summary = ingest_records_file(store, seed_papers, embedder=embedder,
                                      progress=False)
        print(f"seed corpus: {summary.papers} papers; {len(QUERIES)} queries; model {embedder.model_name}\n")
        rows: dict[str, dict[str, list[float]]] = {m: {"ndcg": [], "recall5": [], "mrr": [], "ms": []}
                                                  for m in MODES}
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
                rows[mode]["recall5"].append(sum(p in ids[:5] for p in wanted) / len(wanted))
                first = next((i for i, p in enumerate(ids) if relevant.get(p)), None)
                rows[mode]["mrr"].append(0.0 if first is None else 1.0 / (first + 1))
                scores.append(ndcg)
            per_query.append((query, scores))
        store.close()

    width = max(len(q) for q in QUERIES)
    print(f"{'query':<{width}}  " + "  ".join(f"{m:>8}" for m in MODES))
    for query, scores in per_query:
        print(f"{query:<{width}}  " + "  ".join(f"{s:8.3f}" for s in scores))
    print()
    print(f"{'mode':<9} {'nDCG@10':>8} {'recall@5':>9} {'MRR':>6} {'median ms':>9}")
    for mode in MODES:
        r = rows[mode]
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        print(f"{mode:<9} {mean(r['ndcg']):8.3f} {mean(r['recall5']):9.3f} {mean(r['mrr']):6.3f} "
              f"{sorted(r['ms'])[len(r['ms']) // 2]:9.1f}")


if __name__ == "__main__":
    main()
