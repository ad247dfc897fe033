"""Calibrate and evaluate the weekly relevance gate (ingest/relevance.py) with the real model.

Calibration: the MI corpus is the seed papers (shared seed_papers.jsonl, those with an abstract).
Positives = leave-one-out similarity of each seed paper to the others (mean of its top-5 cosines);
negatives = similarity to the seed corpus of the `calib` split of the hand-written non-MI records in
tests/ingest/data/relevance_set.jsonl. The threshold maximises Youden's J and is printed; copy it to
`SIMILARITY_THRESHOLD` in ingest/relevance.py when it changes.

Evaluation: the full gate (LM cue + technique hits + similarity) on the `test` split (hand-written MI
and non-MI records, never used for calibration): precision, recall, F1, and the same for the
similarity branch alone, plus every misclassified record; and the seed list's own papers judged as
weekly candidates against the others (how many the gate would keep).

Run: .venv/bin/python bench/relevance_eval.py [--data DIR]   (else PAPERKG_SHARED_DATA, else the
shared/data folder beside the repo: bench/shared_data.py)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import DATA_HELP, seed_papers_file  # noqa: E402
from ingest.relevance import (  # noqa: E402
    SIMILARITY_THRESHOLD,
    RelevanceGate,
    calibrate_threshold,
    leave_one_out_similarity,
    top_k_similarity,
)

RELEVANCE_SET = REPO / "tests" / "ingest" / "data" / "relevance_set.jsonl"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_corpus(embedder: Any, seed_papers: Path) -> tuple[list[str], np.ndarray]:
    """Ids and embeddings of the seed papers (seed_papers.jsonl) that have an abstract."""
    from ingest.embed import embedding_text

    seeds = [r for r in load_jsonl(seed_papers) if r.get("abstract")]
    texts = [embedding_text(r["title"], r["abstract"]) for r in seeds]
    return [r["id"] for r in seeds], embedder.encode(texts)


def prf(predicted: list[bool], actual: list[bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean predictions."""
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(embedder: Any, taxonomy: Any, threshold: float, seed_papers: Path) -> dict[str, Any]:
    """Calibrate on seed LOO + calib negatives, evaluate on the test split; returns every number."""
    from ingest.embed import embedding_text

    ids, corpus = seed_corpus(embedder, seed_papers)
    rows = load_jsonl(RELEVANCE_SET)
    positives = leave_one_out_similarity(corpus)
    calib = [r for r in rows if r["split"] == "calib"]
    calib_vectors = embedder.encode([embedding_text(r["title"], r["abstract"]) for r in calib])
    negatives = top_k_similarity(calib_vectors, corpus)
    calibrated = calibrate_threshold(positives.tolist(), negatives.tolist())

    test = [r for r in rows if r["split"] == "test"]
    vectors = embedder.encode([embedding_text(r["title"], r["abstract"]) for r in test])
    gate = RelevanceGate(taxonomy, corpus_ids=ids, corpus=corpus, threshold=threshold)
    decisions = gate.judge_many([(r["id"], r["title"], r["abstract"]) for r in test], vectors)
    # The list's own papers as weekly candidates, each judged against the others (its own row left out).
    seeds = {r["id"]: r for r in load_jsonl(seed_papers) if r.get("item_type", "paper") == "paper"}
    listed = [(i, seeds[i]["title"], seeds[i]["abstract"]) for i in ids if i in seeds]
    seed_decisions = gate.judge_many(listed, corpus[[ids.index(i) for i, _t, _a in listed]])
    actual = [bool(r["label"]) for r in test]
    sims = [d.score for d in decisions]
    return {
        "calibrated": calibrated, "threshold": threshold,
        "positives": positives, "negatives": negatives,
        "gate": prf([d.keep for d in decisions], actual),
        "similarity_only": prf([s >= threshold for s in sims], actual),
        "n_pos": sum(actual), "n_neg": len(actual) - sum(actual),
        "errors": [(r, d) for r, d, a in zip(test, decisions, actual, strict=True) if d.keep != a],
        "by_kind": _by_kind(test, decisions),
        "seed_kept": (sum(d.keep for d in seed_decisions), len(seed_decisions)),
        "seed_rejected": [(i, d) for (i, _t, _a), d in zip(listed, seed_decisions, strict=True)
                          if not d.keep],
    }


def _by_kind(rows: list[dict[str, Any]], decisions: list[Any]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for r, d in zip(rows, decisions, strict=True):
        kept = out.setdefault(r["kind"], [0, 0])
        kept[0] += int(d.keep)
        kept[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    """Print the calibration and the evaluation tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help=DATA_HELP)
    args = parser.parse_args(argv)
    seed_papers = seed_papers_file(parser, args.data)  # a usage error before the model loads
    from ingest.embed import get_embedder
    from kg.taxonomy import load_taxonomy

    result = evaluate(get_embedder(), load_taxonomy(), SIMILARITY_THRESHOLD, seed_papers)
    pos, neg = result["positives"], result["negatives"]
    print("calibration (mean top-5 cosine to the seed corpus)")
    print(f"  {'set':<28} {'n':>4} {'min':>6} {'median':>7} {'max':>6}")
    print(f"  {'seed papers (leave-one-out)':<28} {len(pos):>4} {pos.min():6.3f} {np.median(pos):7.3f} "
          f"{pos.max():6.3f}")
    print(f"  {'calib non-MI records':<28} {len(neg):>4} {neg.min():6.3f} {np.median(neg):7.3f} "
          f"{neg.max():6.3f}")
    print(f"  calibrated threshold (max Youden J): {result['calibrated']:.3f}   "
          f"in ingest/relevance.py: {result['threshold']:.3f}")
    print()
    print(f"evaluation on the held-out test split ({result['n_pos']} MI, {result['n_neg']} non-MI)")
    print(f"  {'decision':<28} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name in ("gate", "similarity_only"):
        p, r, f = result[name]
        print(f"  {name:<28} {p:9.3f} {r:7.3f} {f:6.3f}")
    print()
    print("  kept / total by kind: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in result["by_kind"].items()))
    for row, decision in result["errors"]:
        print(f"  MISCLASSIFIED {row['id']} ({row['kind']}): {decision.reason}")
    print()
    kept, total = result["seed_kept"]
    print(f"seed papers judged as new candidates (each against the others): {kept} of {total} kept")
    for paper_id, decision in result["seed_rejected"]:
        print(f"  REJECTED {paper_id}: {decision.reason}")


if __name__ == "__main__":
    main()
