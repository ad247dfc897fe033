"""Benchmark of the embedded store on synthetic corpora: load, vector, keyword (also filtered), technique
and related queries, technique counts, filter-only browse (an empty-query search with filters), RSS.

Usage: .venv/bin/python bench/store_bench.py [--sizes 10000,100000] [--queries 200] [--only-browse]

Each size runs in two subprocesses: a loader (generates the corpus in chunks and upserts it) and a
server-like reader that opens the finished file and times the queries. Each reports its own peak
RSS, so the reader's figure is what an API process holding the store costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kg.entities import SearchFilters
    from kg.store import GraphStore

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
# The first domain word: the Zipf draw puts it in most abstracts.
COMMON_WORD = WORDS[0]


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


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    """The corpus's unit vectors (deterministic: the reader regenerates them for the numpy floor)."""
    vecs = np.random.default_rng(seed + 1).standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


# One paper in five is listed in one of these awesome-list sections (the others come from arXiv only).
_SECTIONS = (
    ("findings-and-applications/findings-on-features", ["Findings and Applications", "Findings on Features"]),
    ("findings-and-applications/learning-dynamics", ["Findings and Applications", "Learning Dynamics"]),
    ("techniques/probing", ["Techniques", "Probing"]),
    ("tools", ["Tools"]),
)


def _chunks(n: int, vecs: np.ndarray, chunk: int, seed: int = 0) -> Iterator[list]:
    """Synthetic papers in chunks (Zipf-distributed words, ~2.5 techniques each, one in five listed in
    an awesome-list section)."""
    from kg.entities import ListRow, Paper, PaperBundle, TechniqueUse
    from kg.taxonomy import load_taxonomy

    rng = np.random.default_rng(seed)
    techniques = [t.id for t in load_taxonomy().nodes if t.label == "Technique"]
    tech_weights = 1.0 / np.arange(1, len(techniques) + 1) ** 0.8
    tech_weights /= tech_weights.sum()
    vocab = np.asarray(_vocabulary(np.random.default_rng(seed)), dtype=object)
    word_weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.0
    word_weights /= word_weights.sum()
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        lengths = rng.integers(100, 200, size)
        tokens = vocab[rng.choice(len(vocab), int(lengths.sum()), p=word_weights)]
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        n_uses = np.clip(rng.poisson(2.5, size), 1, 6)
        bundles = []
        for j in range(size):
            i = start + j
            words = tokens[bounds[j]:bounds[j + 1]]
            year = int(2015 + i % 11)
            uses = rng.choice(len(techniques), n_uses[j], replace=False, p=tech_weights)
            section = _SECTIONS[i % len(_SECTIONS)] if i % 5 == 0 else None
            bundles.append(PaperBundle(
                paper=Paper(id=f"{2000 + i // 100000}.{i % 100000:05d}",
                            title=" ".join(words[:8]).capitalize(), abstract=" ".join(words),
                            authors=[f"Author {int(a)}" for a in rng.integers(0, n // 3 + 10, 3)],
                            year=year, published=f"{year}-{1 + i % 12:02d}-01",
                            sources=["list", "arxiv"] if section else ["arxiv"],
                            embedding=vecs[i], embedding_model="synthetic"),
                techniques=[TechniqueUse(techniques[int(u)], "extracted") for u in uses],
                list_rows=[ListRow(section[0], section[1][-1], section[1])] if section else [],
            ))
        yield bundles


def _query_words(seed: int = 0) -> list[str]:
    """Content words of middle frequency, as people type them."""
    vocab = _vocabulary(np.random.default_rng(seed))
    return vocab[len(_FUNCTION_WORDS):3000]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_load(n: int, path: Path, batch: int) -> dict[str, float]:
    """Generate and upsert n papers into a fresh store at `path`."""
    from kg.embedded import EmbeddedStore
    from kg.taxonomy import load_taxonomy

    vecs = _vectors(n)
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    spent = 0.0
    for bundles in _chunks(n, vecs, batch):
        t0 = time.perf_counter()
        store.upsert_papers(bundles)
        spent += time.perf_counter() - t0  # corpus generation is not counted
    store.close()
    size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
    return {"load_s": spent, "load_rss_mb": _rss_mb(), "db_mb": size / 2**20}


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return _percentile(times, 50), _percentile(times, 95)


def browse_filters() -> dict[str, SearchFilters]:
    """The filter-only browses timed: name -> SearchFilters (an empty query, newest first)."""
    from kg.entities import SearchFilters

    return {
        "year": SearchFilters(year_from=2023, year_to=2023),
        "source": SearchFilters(sources=["arxiv"]),  # every paper
        "section": SearchFilters(section_ids=["findings-and-applications"]),  # two subsections
        "one_tech": SearchFilters(technique_ids=["probing"]),  # paged by papers_by_technique
        "two_tech": SearchFilters(technique_ids=["probing", "sae"]),
        "tech_year": SearchFilters(technique_ids=["probing"], year_from=2020),
        "year_deep": SearchFilters(year_from=2023, year_to=2023),  # page 100 (offset 1980)
    }


def run_browse(store: GraphStore, repeat: int) -> dict[str, float]:
    """Time kg.search.search with an empty query and each browse filter (page 1 of 20; *_deep: page 100)."""
    from kg.search import search
    from kg.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    out: dict[str, float] = {}
    for name, filters in browse_filters().items():
        offset = 1980 if name.endswith("_deep") else 0
        out[f"browse_{name}_total"] = search(
            store, "", filters=filters, limit=20, offset=offset, taxonomy=taxonomy).total
        out[f"browse_{name}_p50"], out[f"browse_{name}_p95"] = _timed(
            lambda f=filters, o=offset: search(store, "", filters=f, limit=20, offset=o, taxonomy=taxonomy),
            repeat)
    return out


def run_queries(n: int, path: Path, queries: int, only_browse: bool = False) -> dict[str, float]:
    """Open the loaded store as a server would and time every kind of query (or only the browses)."""
    from threadpoolctl import threadpool_limits

    from kg.embedded import EmbeddedStore
    from kg.entities import SearchFilters
    from kg.taxonomy import load_taxonomy

    rng = np.random.default_rng(1)
    out: dict[str, float] = {}
    browse_repeat = max(10, queries // 10)
    if only_browse:
        store = EmbeddedStore(path)
        out.update(run_browse(store, browse_repeat))
        store.close()
        return out
    qs = rng.standard_normal((queries, 384)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    store = EmbeddedStore(path)
    t0 = time.perf_counter()
    store.vector_search(qs[0], 10)
    out["open_first_query_s"] = time.perf_counter() - t0  # builds the numpy mirror

    it = iter(range(10**9))
    flt = SearchFilters(technique_ids=["cma"], year_from=2020)
    out["vecf_p50"], out["vecf_p95"] = _timed(
        lambda: store.vector_search(qs[next(it) % queries], 10, flt), max(20, queries // 4)
    )
    words = _query_words()
    out["kw_p50"], out["kw_p95"] = _timed(
        lambda: store.keyword_search(" ".join(rng.choice(words, rng.integers(2, 4))), 10), queries
    )
    out["kwf_p50"], out["kwf_p95"] = _timed(
        lambda: store.keyword_search(" ".join(rng.choice(words, rng.integers(2, 4))), 10, flt), queries
    )
    # A word in most papers with a filter: the case where ranking every match would read every row.
    common = SearchFilters(technique_ids=["cma"])
    out["kwc_p50"], out["kwc_p95"] = _timed(
        lambda: store.keyword_search(COMMON_WORD, 10, common), max(10, queries // 10)
    )
    techniques = [t.id for t in load_taxonomy().nodes if t.label == "Technique"]
    out["tech_p50"], out["tech_p95"] = _timed(
        lambda: store.papers_by_technique(str(rng.choice(techniques)), limit=20), queries
    )
    ids = store.paper_ids()
    t0 = time.perf_counter()
    store.related_candidates(ids[0], limit=200)
    out["rel_first_s"] = time.perf_counter() - t0  # builds the in-memory postings
    out["rel_p50"], out["rel_p95"] = _timed(
        lambda: store.related_candidates(ids[int(rng.integers(0, len(ids)))], limit=200), queries
    )
    t0 = time.perf_counter()
    store.technique_counts()
    out["counts_s"] = time.perf_counter() - t0
    # Kept until the next write (of any process): what every further taxonomy page costs.
    out["counts_again_p50"], _ = _timed(store.technique_counts, max(10, queries // 10))
    out.update(run_browse(store, browse_repeat))
    out["rss_mb"] = _rss_mb()  # before the floor's own copy of the matrix is made

    vecs = _vectors(n)

    def floor(q: np.ndarray) -> None:
        scores = vecs @ q
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]

    # Store and floor alternate query by query, so both see the same machine load.
    store_times, floor_times = [], []
    with threadpool_limits(1, user_api="blas"):
        for q in qs:
            t0 = time.perf_counter()
            store.vector_search(q, 10)
            t1 = time.perf_counter()
            floor(q)
            floor_times.append(time.perf_counter() - t1)
            store_times.append(t1 - t0)
    out["vec_p50"], out["vec_p95"] = _percentile(store_times, 50), _percentile(store_times, 95)
    out["np1_p50"], out["np1_p95"] = _percentile(floor_times, 50), _percentile(floor_times, 95)
    with threadpool_limits(None, user_api="blas"):
        out["np2_p50"], out["np2_p95"] = _timed(lambda: floor(qs[next(it) % queries]), queries)
    store.close()
    return out


def _table(rows: list[dict[str, float]]) -> str:
    header = (
        "| papers | load s | loader peak RSS MB | file MB | first query after open s "
        "| vector top-10 p50/p95 ms | numpy floor (1 BLAS thread) p50/p95 | ratio p95 "
        "| numpy 2 threads p50/p95 "
        "| filtered vector p50/p95 | keyword p50/p95 | filtered keyword p50/p95 "
        f"| {COMMON_WORD!r} with technique cma p50/p95 | papers_by_technique p50/p95 "
        "| related_candidates first call s | related_candidates p50/p95 | technique_counts s "
        "| technique_counts again p50 ms | reader peak RSS MB |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        vec_p50, vec_p95 = r["vec_p50"], r["vec_p95"]
        lines.append(
            f"| {int(r['n']):,} | {r['load_s']:.1f} | {r['load_rss_mb']:.0f} | {r['db_mb']:.0f} "
            f"| {r['open_first_query_s']:.2f} | {vec_p50:.2f} / {vec_p95:.2f} "
            f"| {r['np1_p50']:.2f} / {r['np1_p95']:.2f} | {vec_p95 / r['np1_p95']:.2f}x "
            f"| {r['np2_p50']:.2f} / {r['np2_p95']:.2f} | {r['vecf_p50']:.2f} / {r['vecf_p95']:.2f} "
            f"| {r['kw_p50']:.2f} / {r['kw_p95']:.2f} | {r['kwf_p50']:.2f} / {r['kwf_p95']:.2f} "
            f"| {r['kwc_p50']:.2f} / {r['kwc_p95']:.2f} | {r['tech_p50']:.2f} / {r['tech_p95']:.2f} "
            f"| {r['rel_first_s']:.2f} | {r['rel_p50']:.2f} / {r['rel_p95']:.2f} | {r['counts_s']:.2f} "
            f"| {r['counts_again_p50']:.2f} | {r['rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def _browse_table(rows: list[dict[str, float]]) -> str:
    names = list(browse_filters())
    header = "| papers | load s | " + " | ".join(f"{name} p50 / p95 ms (matches)" for name in names) + " |"
    lines = [header, "|" + "---|" * (len(names) + 2)]
    for r in rows:
        cells = [f"{r[f'browse_{k}_p50']:.1f} / {r[f'browse_{k}_p95']:.1f} ({int(r[f'browse_{k}_total']):,})"
                 for k in names]
        lines.append(f"| {int(r['n']):,} | {r['load_s']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run every size (loader and reader in their own processes) and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=2000, help="papers per upsert_papers call")
    parser.add_argument("--only-browse", action="store_true",
                        help="time only the filter-only browses (empty query with filters)")
    parser.add_argument("--phase", choices=("load", "query"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "load":
        print(json.dumps(run_load(args.n, args.path, args.batch)))
        return
    if args.phase == "query":
        print(json.dumps(run_queries(args.n, args.path, args.queries, args.only_browse)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        row: dict[str, float] = {"n": size}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "paperkg.sqlite3"
            for phase in ("load", "query"):
                proc = subprocess.run(
                    [sys.executable, __file__, "--phase", phase, "--n", str(size), "--path", str(path),
                     "--queries", str(args.queries), "--batch", str(args.batch),
                     *(["--only-browse"] if args.only_browse else [])],
                    capture_output=True, text=True, check=False,
                )
                if proc.returncode != 0:
                    sys.exit(f"{phase} phase for {size} papers failed:\n{proc.stderr}")
                row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        rows.append(row)
        print(f"done {size}", file=sys.stderr)
    if not args.only_browse:
        print(_table(rows))
        print()
    print("Filter-only browse (empty query, 20 a page, newest first; total matches in brackets):")
    print(_browse_table(rows))


if __name__ == "__main__":
    main()
