"""Benchmark of the embedded store on synthetic corpora: load, vector, keyword, technique queries, RSS.

Usage: .venv/bin/python bench/store_bench.py [--sizes 10000,100000] [--queries 200]
Each size runs in its own subprocess so the peak RSS reported is that corpus's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_WORD_TEXT = """
model models layer layers attention head heads neuron neurons feature features circuit circuits
residual stream token tokens embedding embeddings activation activations patching probe probing
linear sparse autoencoder autoencoders dictionary superposition polysemantic monosemantic
transformer transformers language behaviour behavior mechanism mechanisms interpretability
mechanistic causal mediation ablation knockout logit lens tuned steering vector vectors
representation representations training dynamics grokking induction copy suppression name mover
indirect object identification factual recall knowledge editing memory mlp gpt pythia llama
gemma bert small large scale scaling law evaluation faithfulness completeness minimality
plausibility explanation automated score we find show that this paper study analysis method
methods results experiments demonstrate propose novel approach across different tasks data
dataset benchmark performance improve understanding internal computation information flow path
graph attribution gradient integrated saliency
"""
WORDS = _WORD_TEXT.split()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def _split(text: str) -> list[str]:
    return text.split()


_FUNCTION_WORDS = _split("the of and a in to we that is for this with on by as are from")
_SYLLABLES = _split("ka lo mi ne ru ta ve so pi de gra tor ment ing al ic ous ure ex con pro")


def _vocabulary(rng: np.random.Generator, size: int = 6000) -> list[str]:
    """Function words, the domain words, then pseudo-words: ranked for a Zipf distribution."""
    pseudo = {"".join(rng.choice(_SYLLABLES, rng.integers(2, 5))) for _ in range(size * 2)}
    return _FUNCTION_WORDS + WORDS + sorted(pseudo - set(WORDS))[:size]


def _corpus(n: int, seed: int = 0) -> tuple[list, np.ndarray, list[str]]:
    """n synthetic papers (Zipf-distributed words, ~2.5 techniques each) and their unit vectors."""
    from kg.entities import Paper, PaperBundle, TechniqueUse
    from kg.taxonomy import load_taxonomy

    rng = np.random.default_rng(seed)
    techniques = [t.id for t in load_taxonomy().nodes if t.label == "Technique"]
    tech_weights = 1.0 / np.arange(1, len(techniques) + 1) ** 0.8
    tech_weights /= tech_weights.sum()
    vocab = np.asarray(_vocabulary(rng))
    word_weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.0
    word_weights /= word_weights.sum()
    vecs = rng.standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    lengths = rng.integers(100, 200, n)
    tokens = vocab[rng.choice(len(vocab), int(lengths.sum()), p=word_weights)]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    n_uses = np.clip(rng.poisson(2.5, n), 1, 6)
    bundles = []
    for i in range(n):
        abstract = " ".join(tokens[bounds[i]:bounds[i + 1]])
        title = " ".join(tokens[bounds[i]:bounds[i] + 8]).capitalize()
        year = int(2015 + i % 11)
        uses = rng.choice(len(techniques), n_uses[i], replace=False, p=tech_weights)
        bundles.append(PaperBundle(
            paper=Paper(id=f"{2000 + i // 100000}.{i % 100000:05d}", title=title, abstract=abstract,
                        authors=[f"Author {int(a)}" for a in rng.integers(0, n // 3 + 10, 3)],
                        year=year, published=f"{year}-{1 + i % 12:02d}-01", sources=["arxiv"],
                        embedding=vecs[i], embedding_model="synthetic"),
            techniques=[TechniqueUse(techniques[int(u)], "extracted") for u in uses],
        ))
    # Queries use content words of middle frequency, as people type them.
    query_words = list(vocab[len(_FUNCTION_WORDS):3000])
    return bundles, vecs, query_words


def run_one(n: int, queries: int, batch: int) -> dict[str, float]:
    """Load a synthetic corpus of n papers into a fresh store and time the queries."""
    from threadpoolctl import threadpool_limits

    from kg.embedded import EmbeddedStore
    from kg.taxonomy import load_taxonomy

    bundles, vecs, query_words = _corpus(n)
    rng = np.random.default_rng(1)
    out: dict[str, float] = {"n": n}
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "paperkg.sqlite3")
        store.load_taxonomy(load_taxonomy().nodes)
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            store.upsert_papers(bundles[start:start + batch])
        out["load_s"] = time.perf_counter() - t0
        del bundles
        qs = rng.standard_normal((queries, 384)).astype(np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)
        t0 = time.perf_counter()
        store.vector_search(qs[0], 10)
        out["mirror_s"] = time.perf_counter() - t0
        # Same process reopening: the cost an API worker pays at its first query.
        fresh = EmbeddedStore(Path(tmp) / "paperkg.sqlite3")
        t0 = time.perf_counter()
        fresh.vector_search(qs[0], 10)
        out["open_first_query_s"] = time.perf_counter() - t0
        fresh.close()

        times = []
        for q in qs:
            t0 = time.perf_counter()
            store.vector_search(q, 10)
            times.append(time.perf_counter() - t0)
        out["vec_p50"], out["vec_p95"] = _percentile(times, 50), _percentile(times, 95)

        def floor(q: np.ndarray) -> None:
            scores = vecs @ q
            top = np.argpartition(-scores, 10)[:10]
            top[np.argsort(-scores[top])]

        for label, threads in (("np1", 1), ("np2", None)):
            times = []
            with threadpool_limits(threads, user_api="blas"):
                for q in qs:
                    t0 = time.perf_counter()
                    floor(q)
                    times.append(time.perf_counter() - t0)
            out[f"{label}_p50"], out[f"{label}_p95"] = _percentile(times, 50), _percentile(times, 95)

        from kg.entities import SearchFilters

        flt = SearchFilters(technique_ids=["cma"], year_from=2020)
        times = []
        for q in qs[: max(20, queries // 4)]:
            t0 = time.perf_counter()
            store.vector_search(q, 10, flt)
            times.append(time.perf_counter() - t0)
        out["vecf_p50"], out["vecf_p95"] = _percentile(times, 50), _percentile(times, 95)

        times = []
        for _ in range(queries):
            text = " ".join(rng.choice(query_words, rng.integers(2, 4)))
            t0 = time.perf_counter()
            store.keyword_search(text, 10)
            times.append(time.perf_counter() - t0)
        out["kw_p50"], out["kw_p95"] = _percentile(times, 50), _percentile(times, 95)

        techniques = [t.id for t in load_taxonomy().nodes if t.label == "Technique"]
        times = []
        for _ in range(queries):
            t0 = time.perf_counter()
            store.papers_by_technique(str(rng.choice(techniques)), limit=20)
            times.append(time.perf_counter() - t0)
        out["tech_p50"], out["tech_p95"] = _percentile(times, 50), _percentile(times, 95)

        ids = store.paper_ids()
        times = []
        for _ in range(max(20, queries // 4)):
            t0 = time.perf_counter()
            store.related_candidates(ids[int(rng.integers(0, len(ids)))], limit=200)
            times.append(time.perf_counter() - t0)
        out["rel_p50"], out["rel_p95"] = _percentile(times, 50), _percentile(times, 95)

        t0 = time.perf_counter()
        store.technique_counts()
        out["counts_s"] = time.perf_counter() - t0
        store.close()
        out["db_mb"] = (Path(tmp) / "paperkg.sqlite3").stat().st_size / 2**20
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| papers | load s | vector p50/p95 ms | numpy floor 1 thr p50/p95 | ratio p95 | numpy 2 thr p50/p95 "
        "| filtered vector p50/p95 | keyword p50/p95 | by technique p50/p95 | related cand. p50/p95 "
        "| technique_counts s | first query after open s | peak RSS MB |",
        "|" + "---|" * 13,
    ]
    for r in rows:
        lines.append(
            f"| {int(r['n']):,} | {r['load_s']:.1f} | {r['vec_p50']:.2f} / {r['vec_p95']:.2f} "
            f"| {r['np1_p50']:.2f} / {r['np1_p95']:.2f} | {r['vec_p95'] / r['np1_p95']:.2f}x "
            f"| {r['np2_p50']:.2f} / {r['np2_p95']:.2f} | {r['vecf_p50']:.2f} / {r['vecf_p95']:.2f} "
            f"| {r['kw_p50']:.2f} / {r['kw_p95']:.2f} | {r['tech_p50']:.2f} / {r['tech_p95']:.2f} "
            f"| {r['rel_p50']:.1f} / {r['rel_p95']:.1f} | {r['counts_s']:.2f} "
            f"| {r['open_first_query_s']:.2f} | {r['rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run every size in a subprocess and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=2000, help="papers per upsert_papers call")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.queries, args.batch)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--queries", str(args.queries),
             "--batch", str(args.batch)],
            capture_output=True, text=True, check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"done {size}", file=sys.stderr)
    print(_table(rows))


if __name__ == "__main__":
    main()
