"""Related-paper quality on the seed corpus against the awesome-list's own grouping: P@5, R@10, MAP, nDCG@10.

Usage: .venv/bin/python bench/related_eval.py [--data DIR] [--worst 5]

Loads seed_papers.jsonl (--data, else PAPERKG_SHARED_DATA, else shared/data beside the repo) through
the real pipeline (real extractor, real embedding model) into temporary embedded stores, ranks every
other paper for each query paper with kg.related.related under several RelatedWeights, and prints one table
per (store, gold): rows are variants, columns the mean and median over query papers.

Gold relations (binary; a query counts only if it has at least one gold paper):
- section: both papers have a list row in the same leaf (sub)section, e.g. "Findings on circuits /
  Interpreting LM Behaviors" ("Tools" is left out: it holds the one tool). The related score never
  reads list sections: store.paper_profiles and store.related_candidates use technique (uses),
  evaluation, model (studies) and finding-about edges only. The taxonomy's `sections:` map
  (ListRow.topic_ids) reaches list_sections.topic_key, which only the search/browse topic filters
  and technique counts read, so this gold is independent of the score; the "topics=0" row checks
  it anyway. Caveat: "Techniques" and "Evaluation" are broad sections (an SAE paper and a logit-lens
  paper are section-mates there).
- list-tech: both papers carry list Technique labels (source=list) of the same taxonomy family
  (mean ablation and causal scrubbing are both Knockout). CIRCULAR on the "full" store: the pipeline
  writes list labels as `uses` edges, which the techniques part of the score reads. On the "blind"
  store the seed's technique_ids/evaluation_ids and TL;DRs (the same curators' words, which
  extraction reads for techniques) are blanked before ingest, so the score sees only techniques
  extracted from the papers' own text and this gold is independent.

Variants: default weights; cosine-only (every graph weight 0); graph-only (cosine 0); techniques=0;
topics=0; -knockout (default weights, the generic `knockout` node removed from every profile and
from the IDF table, so it neither scores nor gives family credit); random (expected over 200
shuffles). Nothing here tunes weights: the corpus has ~37 papers and any tuning would overfit it.

Also printed: the worst query papers for the default weights (top-5 with gold marks, and the gold
papers missing from the top-10 with their rank), and where the abstract-less "logit-lens" post
ranks in its section-mates' lists: the pipeline embeds an abstract-less paper from its title and its
list TL;DRs, and a "title-only" store (TL;DRs of those papers removed) shows what the title alone gave.
The TL;DR is list text, so the full store's rows for that paper lean on the gold's source.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import DATA_HELP, seed_papers_file  # noqa: E402
from ingest.embed import get_embedder  # noqa: E402
from ingest.extract import Extractor  # noqa: E402
from ingest.pipeline import ingest_records_file  # noqa: E402
from kg.embedded import EmbeddedStore  # noqa: E402
from kg.related import RelatedWeights, related  # noqa: E402
from kg.taxonomy import Taxonomy, load_taxonomy  # noqa: E402

GENERIC_TECHNIQUES = frozenset({"knockout"})
NO_ABSTRACT_NOTE = "abstract-less"
WEIGHT_VARIANTS: dict[str, RelatedWeights] = {
    "default": RelatedWeights(),
    "cosine-only": RelatedWeights(techniques=0, topics=0, components=0, models=0, authors=0),
    "graph-only": RelatedWeights(cosine=0),
    "techniques=0": RelatedWeights(techniques=0),
    "topics=0": RelatedWeights(topics=0),
}
METRICS = ("P@5", "R@10", "MAP", "nDCG@10")


class WithoutTechniques:
    """A read-only view of a store in which some technique ids do not exist (profiles and IDF)."""

    def __init__(self, store: EmbeddedStore, dropped: frozenset[str]) -> None:
        self._store = store
        self._dropped = dropped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def paper_profiles(self, paper_ids: Sequence[str]) -> dict[str, set[str]]:
        """The store's profiles less the dropped ids."""
        return {pid: nodes - self._dropped for pid, nodes in self._store.paper_profiles(paper_ids).items()}

    def technique_document_frequency(self) -> dict[str, int]:
        """The store's counts with the dropped ids at 0 (idf_weights skips them)."""
        counts = self._store.technique_document_frequency()
        return {t: 0 if t in self._dropped else c for t, c in counts.items()}


# ---- gold ----------------------------------------------------------------------------------

def section_gold(papers: list[dict]) -> dict[str, set[str]]:
    """Paper id -> the other papers sharing a leaf list (sub)section with it ("Tools" excluded)."""
    members: dict[str, set[str]] = {}
    for p in papers:
        for row in p.get("list_rows") or []:
            if row.get("section") == "Tools":
                continue
            key = " / ".join(x for x in (row.get("section"), row.get("subsection")) if x)
            members.setdefault(key, set()).add(p["id"])
    return {p["id"]: set().union(*(m for m in members.values() if p["id"] in m), set()) - {p["id"]}
            for p in papers}


def list_technique_gold(papers: list[dict], tax: Taxonomy) -> dict[str, set[str]]:
    """Paper id -> the other papers with a list Technique label of the same taxonomy family."""

    def family(node_id: str) -> str:
        node = tax.by_id[node_id]
        while node.parent in tax.by_id and tax.by_id[node.parent].label == node.label:
            node = tax.by_id[node.parent]
        return node.id

    fams: dict[str, set[str]] = {}
    for p in papers:
        ids = {t for row in p.get("list_rows") or [] for t in row.get("technique_ids") or []}
        fams[p["id"]] = {family(t) for t in ids if t in tax.by_id and tax.by_id[t].label == "Technique"}
    return {pid: {o for o, f in fams.items() if o != pid and f & mine} for pid, mine in fams.items()}


# ---- metrics --------------------------------------------------------------------------------

def metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    """P@5, R@10, average precision over the whole ranking and binary nDCG@10."""
    hits = [pid in gold for pid in ranked]
    ap_terms = [sum(hits[: i + 1]) / (i + 1) for i, h in enumerate(hits) if h]
    dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hits[:10]) if h)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(gold))))
    return {"P@5": sum(hits[:5]) / 5, "R@10": sum(hits[:10]) / len(gold),
            "MAP": sum(ap_terms) / len(gold), "nDCG@10": dcg / idcg}


def summarize(per_query: dict[str, dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Metric -> (mean, median) over query papers."""
    return {m: (statistics.fmean(q[m] for q in per_query.values()),
                statistics.median(q[m] for q in per_query.values())) for m in METRICS}


def random_baseline(
    all_ids: list[str], gold: dict[str, set[str]], rounds: int = 200
) -> dict[str, dict[str, float]]:
    """Per query, each metric's mean over `rounds` seeded shuffles of the other papers."""
    rng = random.Random(0)
    out: dict[str, dict[str, float]] = {}
    for pid, g in gold.items():
        others = [o for o in all_ids if o != pid]
        acc = {m: 0.0 for m in METRICS}
        for _ in range(rounds):
            rng.shuffle(others)
            for m, v in metrics(others, g).items():
                acc[m] += v / rounds
        out[pid] = acc
    return out


# ---- stores and rankings --------------------------------------------------------------------

def build_store(
    path: Path, records: list[dict], tax: Taxonomy, embedder: Any, extractor: Any
) -> EmbeddedStore:
    """A real embedded store holding the taxonomy and `records` ingested by the real pipeline."""
    jsonl = path.with_suffix(".jsonl")
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    store = EmbeddedStore(path)
    store.init_schema()
    store.load_taxonomy(tax.nodes)
    ingest_records_file(store, jsonl, embedder=embedder, extractor=extractor, progress=False)
    return store


def blind(records: list[dict]) -> list[dict]:
    """The records with every list Technique/Evaluation label and TL;DR blanked (sections kept): the
    TL;DRs are the labels' curators' words, and extraction reads them for techniques."""
    out = json.loads(json.dumps(records))
    for r in out:
        for row in r.get("list_rows") or []:
            row["technique_ids"], row["evaluation_ids"], row["tldr"] = [], [], None
    return out


def title_only(records: list[dict]) -> list[dict]:
    """The records with the list TL;DRs of abstract-less papers removed (they embed from the title alone)."""
    out = json.loads(json.dumps(records))
    for r in out:
        if not (r.get("abstract") or "").strip():
            for row in r.get("list_rows") or []:
                row["tldr"] = None
    return out


Ranker = Callable[[str], list[str]]


def ranker(store: Any, weights: RelatedWeights, tax: Taxonomy, n: int) -> Ranker:
    """Query paper id -> every other paper id, best first, under `weights`."""
    return lambda pid: [h.id for h in related(store, pid, limit=n, weights=weights, taxonomy_nodes=tax.nodes)]


@dataclass
class Run:
    """One store's full rankings per variant."""

    name: str
    rankings: dict[str, dict[str, list[str]]]  # variant -> query id -> ranking


def rank_all(name: str, store: EmbeddedStore, ids: list[str], tax: Taxonomy) -> Run:
    """Rank every paper under every weight variant and the -knockout view."""
    rankers = {v: ranker(store, w, tax, len(ids)) for v, w in WEIGHT_VARIANTS.items()}
    without = WithoutTechniques(store, GENERIC_TECHNIQUES)
    rankers["-knockout"] = ranker(without, RelatedWeights(), tax, len(ids))
    return Run(name, {v: {pid: r(pid) for pid in ids} for v, r in rankers.items()})


# ---- printing -------------------------------------------------------------------------------

def print_table(title: str, run: Run, gold: dict[str, set[str]], all_ids: list[str]) -> None:
    """One table: rows = variants (plus random), columns = mean / median of each metric."""
    gold = {q: g for q, g in gold.items() if g}
    sizes = sorted(len(g) for g in gold.values())
    print(f"\n{title}: {len(gold)} queries, gold size median {statistics.median(sizes):g} "
          f"(min {sizes[0]}, max {sizes[-1]})")
    print(f"{'variant':<14}" + "".join(f"{m + ' mean':>14}{'median':>8}" for m in METRICS)
          + f"{'AP vs default +/=/-':>22}")
    rows = {v: {q: metrics(r[q], gold[q]) for q in gold} for v, r in run.rankings.items()}
    rows["random"] = random_baseline(all_ids, gold)
    for variant, per_query in rows.items():
        s = summarize(per_query)
        # Paired per-query comparison: with ~37 overlapping queries a mean gap of a few hundredths
        # can be two or three papers, so the win/tie/loss split says more than the means.
        diffs = [per_query[q]["MAP"] - rows["default"][q]["MAP"] for q in gold]
        split = "/".join(str(sum(f(d) for d in diffs)) for f in (lambda d: d > 1e-9, lambda d: abs(d) <= 1e-9,
                                                                 lambda d: d < -1e-9))
        print(f"{variant:<14}" + "".join(f"{s[m][0]:14.3f}{s[m][1]:8.3f}" for m in METRICS) + f"{split:>22}")


def print_worst(run: Run, gold: dict[str, set[str]], titles: dict[str, str], n: int) -> None:
    """The n query papers with the lowest default-weights AP: top-5 and missing gold."""
    default = run.rankings["default"]
    scored = sorted(((metrics(default[q], g)["MAP"], q) for q, g in gold.items() if g))
    print(f"\nworst {n} queries ({run.name} store, section gold, default weights, by AP); * = gold")
    for ap, q in scored[:n]:
        ranking = default[q]
        print(f"\n  {q}  AP {ap:.3f}  {titles[q][:70]}")
        for i, pid in enumerate(ranking[:5], 1):
            print(f"    {i}. {'*' if pid in gold[q] else ' '} {pid:<24} {titles[pid][:62]}")
        missing = [(ranking.index(g) + 1, g) for g in gold[q] if g not in ranking[:10]]
        for rank, g in sorted(missing):
            print(f"    missing gold at rank {rank:>2}: {g:<24} {titles[g][:50]}")


def generic_reasons(store: EmbeddedStore, ids: list[str], tax: Taxonomy, gold: dict[str, set[str]]) -> str:
    """How often a generic technique is shared by a default top-5 pair, and how often that pair is gold."""
    pairs = shared = only = shared_gold = 0
    for pid in ids:
        for hit in related(store, pid, limit=5, taxonomy_nodes=tax.nodes):
            pairs += 1
            techs = set(hit.parts["shared_techniques"])
            if techs & GENERIC_TECHNIQUES:
                shared += 1
                only += techs <= GENERIC_TECHNIQUES
                shared_gold += hit.id in gold.get(pid, set())
    return (f"generic techniques {sorted(GENERIC_TECHNIQUES)} (full store, default top-5): shared by "
            f"{shared}/{pairs} pairs, the only shared technique in {only}; {shared_gold} of the {shared} "
            "are section-gold")


def print_abstract_less(runs: dict[str, Run], gold: dict[str, set[str]], tech_gold: dict[str, set[str]],
                        no_abstract: list[str]) -> None:
    """Where each abstract-less paper ranks in its gold mates' lists, per store and variant."""
    for pid in no_abstract:
        for label, g in (("section", gold), ("list-tech", tech_gold)):
            mates = sorted(g.get(pid) or [])
            if not mates:
                continue
            print(f"\n{NO_ABSTRACT_NOTE} {pid}: its rank in its {len(mates)} {label}-mates' related lists "
                  f"(of {len(next(iter(runs.values())).rankings['default']) - 1}); in top-10 count; "
                  "its own AP as query")
            for run in runs.values():
                for variant in ("default", "cosine-only", "graph-only", "techniques=0"):
                    r = run.rankings[variant]
                    ranks = [r[m].index(pid) + 1 for m in mates]
                    own = metrics(r[pid], g[pid])["MAP"]
                    print(f"  {run.name:<14}{variant:<14} median {statistics.median(ranks):5.1f}  "
                          f"top-10 {sum(k <= 10 for k in ranks):>2}/{len(ranks)}  own AP {own:.3f}  "
                          f"ranks {ranks}")


def main() -> None:
    """Build the stores, rank every paper under every variant, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--worst", type=int, default=5, help="worst queries to print (default 5)")
    args = parser.parse_args()
    path = seed_papers_file(parser, args.data)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tax = load_taxonomy()
    embedder = get_embedder()
    extractor = Extractor(tax)  # one spaCy pipeline for the three ingests
    ids = sorted(r["id"] for r in records)
    titles = {r["id"]: r["title"] for r in records}
    no_abstract = [r["id"] for r in records if not (r.get("abstract") or "").strip()]
    sec = section_gold(records)
    tech = list_technique_gold(records, tax)

    start = time.perf_counter()
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = (("full", records), ("blind", blind(records)), ("title-only", title_only(records)))
        for name, recs in variants:
            store = build_store(Path(tmp) / f"{name}.sqlite3", recs, tax, embedder, extractor)
            try:
                runs[name] = rank_all(name, store, ids, tax)
                if name == "full":
                    generic = generic_reasons(store, ids, tax, sec)
            finally:
                store.close()
    print(f"seed corpus: {len(ids)} items; model {embedder.model_name}; no abstract: "
          f"{', '.join(no_abstract) or '-'}; 3 stores built and ranked in "
          f"{time.perf_counter() - start:.0f} s")
    print("gold 'section' is independent of the score; 'list-tech' is CIRCULAR on the full store "
          "(list labels are `uses` edges the score reads) and independent on the blind store")

    print_table("full store x section gold [independent]", runs["full"], sec, ids)
    print_table("full store x list-tech gold [CIRCULAR]", runs["full"], tech, ids)
    print_table("blind store x list-tech gold [independent]", runs["blind"], tech, ids)
    print_table("blind store x section gold [independent]", runs["blind"], sec, ids)
    print_table("title-only store x section gold [independent]", runs["title-only"], sec, ids)
    print_worst(runs["full"], sec, titles, args.worst)
    print(f"\n{generic}")
    print_abstract_less({k: runs[k] for k in ("full", "title-only")}, sec, tech, no_abstract)


if __name__ == "__main__":
    main()
