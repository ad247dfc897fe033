"""Score finding extraction (claim sentences and their component/model links) against a hand-made gold.

Usage: .venv/bin/python bench/findings_eval.py [--data DIR] [--gold FILE] [--papers] [--errors]

The gold (bench/data/findings_gold.jsonl) judges every sentence of every seed abstract with an abstract in
seed_papers.jsonl (--data, else PAPERKG_SHARED_DATA, else shared/data beside the repo): one row per
sentence, naming it by paper id, sentence index and its first words (a check that the abstract is the one
judged; the abstracts are not copied), whether it states a finding, and the components and models the
finding is about. A finding is a result the paper reports (what was found, shown, measured, proved,
including how well the paper's own method works); not a method description ("we train ...", "by
ablating X we identify ..."), background, motivation, a position ("we argue"), an outlook ("we
anticipate ...") or an artifact ("code is available"). A finding is about a component or model it
makes a claim about; one named only as a tool, a contrast or a restriction of the setting ("for models
with MLPs, we present correlational evidence") is not linked.

Sentences are the gold's own (SENTENCE_END below: a full stop, "?" or "!" before a capital, digit,
bracket or quote, not after "e.g.", "et al." and the like), so the gold stays put when the extractor's
sentencizer changes. An extracted claim marks every gold sentence it covers more than half of; links
of a gold sentence are the union of those of the claims covering it.

Papers are split by a hash of their id: about a third are `test` (rules are tuned on `train` only; the
test numbers say how well the rules generalise). Printed: claim-sentence precision / recall / F1 and
link precision / recall / F1 (end to end: a missed claim's links are missed; and on the sentences both
gold and extraction call claims), per split and overall, micro-averaged over sentences and links.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import DATA_HELP, seed_papers_file  # noqa: E402

GOLD = REPO / "bench" / "data" / "findings_gold.jsonl"
# The link labels scored (a finding is also about topics and objects: not judged here).
LINK_LABELS = ("components", "models")
_LABELS = {"components": "Component", "models": "Model"}
# Words after which a full stop ends no sentence (lower-cased, without the stop).
_NO_END = frozenset({"e.g", "i.e", "et al", "al", "fig", "sec", "eq", "cf", "vs", "approx", "resp", "etc.,"})
# A sentence ends at ".", "?" or "!" (and any closing quote or bracket) before a space and a capital, a
# digit, an opening bracket or a quote.
SENTENCE_END = re.compile(r"[.?!][\"'”’)\]]*(?=\s+[A-Z0-9(\[\"“‘'])")


def sentences(abstract: str) -> list[str]:
    """The gold's sentences of an abstract (whitespace collapsed)."""
    text = " ".join(abstract.split())
    out: list[str] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        if text[match.start() - 1:match.start()] == ".":
            continue  # an ellipsis ("[A][B] ... [A] -> [B]")
        before = text[start:match.start()].rsplit(" ", 2)
        word = before[-1].lower().lstrip("([")
        two = " ".join(before[-2:]).lower()
        if word in _NO_END or two in _NO_END or re.fullmatch(r"[A-Za-z]", word) or re.fullmatch(
                r"(?:[a-z]\.)+[a-z]", word):
            continue  # "e.g.", "et al.", an initial, "w.r.t."
        out.append(text[start:match.end()].strip())
        start = match.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def split_of(paper_id: str) -> str:
    """`test` for about a third of the papers (by a hash of the id), else `train`."""
    return "test" if int(hashlib.sha256(paper_id.encode("utf-8")).hexdigest()[:8], 16) % 3 == 0 else "train"


def prefix(sentence: str, words: int = 5) -> str:
    """The first words of a sentence: the gold's check that it names the sentence it judges."""
    return " ".join(sentence.split()[:words])


@dataclass
class Judged:
    """One gold sentence and what extraction made of it."""

    paper: str
    index: int
    text: str
    gold_claim: bool
    gold_links: set[str]
    predicted: bool = False
    links: set[str] = field(default_factory=set)
    note: str = ""


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The gold rows."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def resolve(gold: list[dict[str, Any]], papers: dict[str, dict[str, Any]],
            known: dict[str, set[str]] | None = None) -> list[str]:
    """Problems resolving the gold against the abstracts (unknown paper, missing or extra sentence, wrong
    prefix or split) and, given `known` (link label -> taxonomy ids), against the taxonomy."""
    problems: list[str] = []
    for row in gold:
        for label in LINK_LABELS:
            unknown = set(row.get(label, [])) - known[label] if known is not None else set()
            if unknown:
                where = f"{row['paper']}#{row['sentence']}"
                problems.append(f"{where}: no {label} {sorted(unknown)} in the taxonomy")
    by_paper: dict[str, dict[int, dict[str, Any]]] = {}
    for row in gold:
        by_paper.setdefault(row["paper"], {})[row["sentence"]] = row
    for paper_id, rows in sorted(by_paper.items()):
        paper = papers.get(paper_id)
        if paper is None or not (paper.get("abstract") or "").strip():
            problems.append(f"{paper_id}: no such paper with an abstract")
            continue
        sents = sentences(paper["abstract"])
        if sorted(rows) != list(range(len(sents))):
            problems.append(
                f"{paper_id}: gold judges sentences {sorted(rows)}, the abstract has {len(sents)}")
        for index, row in rows.items():
            if index < len(sents) and not sents[index].startswith(row["starts"]):
                problems.append(f"{paper_id}#{index}: gold starts {row['starts']!r}, "
                                f"sentence {prefix(sents[index])!r}")
            if row["split"] != split_of(paper_id):
                problems.append(
                    f"{paper_id}#{index}: split {row['split']!r}, the hash says {split_of(paper_id)!r}")
    for paper_id, paper in papers.items():
        if (paper.get("abstract") or "").strip() and paper_id not in by_paper:
            problems.append(f"{paper_id}: abstract not judged")
    return problems


def known_ids() -> dict[str, set[str]]:
    """The packaged taxonomy's ids per scored link label."""
    from kg.taxonomy import load_taxonomy

    nodes = load_taxonomy().nodes
    return {label: {n.id for n in nodes if n.label == _LABELS[label]} for label in LINK_LABELS}


def judge(papers: dict[str, dict[str, Any]], gold: list[dict[str, Any]]) -> list[Judged]:
    """Every gold sentence with the extraction's verdict and links (the real extractor, packaged taxonomy)."""
    from ingest.extract import Extractor
    from kg.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    wanted = {_LABELS[label] for label in LINK_LABELS}
    ids = sorted({row["paper"] for row in gold})
    extractions = Extractor(taxonomy).extract_many(
        [(i, papers[i]["title"], papers[i]["abstract"]) for i in ids])
    judged: list[Judged] = []
    for paper_id, extraction in zip(ids, extractions, strict=True):
        text = " ".join(papers[paper_id]["abstract"].split())
        sents = sentences(papers[paper_id]["abstract"])
        spans, at = [], 0
        for sent in sents:
            at = text.index(sent, at)
            spans.append((at, at + len(sent)))
            at += len(sent)
        rows = {row["sentence"]: row for row in gold if row["paper"] == paper_id}
        items = [Judged(paper_id, i, sents[i], bool(rows[i]["claim"]),
                        {n for label in LINK_LABELS for n in rows[i].get(label, [])},
                        note=rows[i].get("note", ""))
                 for i in range(len(sents))]
        for finding in extraction.findings:
            if finding.kind != "claim":
                continue
            start = text.find(finding.text)
            if start < 0:
                continue
            end = start + len(finding.text)
            links = {a.id for a in finding.about if str(a.label) in wanted}
            for item, (s, e) in zip(items, spans, strict=True):
                if min(e, end) - max(s, start) > (e - s) / 2:
                    item.predicted = True
                    item.links |= links
        judged.extend(items)
    return judged


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def scores(items: list[Judged]) -> dict[str, tuple[int, int, int]]:
    """(tp, fp, fn) of claim sentences, end-to-end links and links on sentences both call claims."""
    out: dict[str, Counter[str]] = {"claims": Counter(), "links": Counter(), "links on detected": Counter()}
    for item in items:
        c = out["claims"]
        c["tp"] += item.predicted and item.gold_claim
        c["fp"] += item.predicted and not item.gold_claim
        c["fn"] += item.gold_claim and not item.predicted
        gold = item.gold_links if item.gold_claim else set()
        for name in ("links", "links on detected"):
            if name == "links on detected" and not (item.gold_claim and item.predicted):
                continue
            out[name]["tp"] += len(item.links & gold)
            out[name]["fp"] += len(item.links - gold)
            out[name]["fn"] += len(gold - item.links)
    return {k: (v["tp"], v["fp"], v["fn"]) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--gold", type=Path, default=GOLD, help="the gold file (default: %(default)s)")
    parser.add_argument("--papers", action="store_true", help="a row per paper")
    parser.add_argument("--errors", action="store_true", help="every missed or extra claim and link")
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = seed_papers_file(parser, args.data)
    papers = {p["id"]: p for p in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                                   if line.strip())}
    if args.dump:
        _dump(papers)
        return
    gold = load_gold(args.gold)
    problems = resolve(gold, papers, known_ids())
    if problems:
        print("the gold does not match the abstracts:\n  " + "\n  ".join(problems), file=sys.stderr)
        raise SystemExit(1)
    items = judge(papers, gold)
    splits = {row["paper"]: row["split"] for row in gold}
    print(f"papers: {len(splits)} ({sum(s == 'train' for s in splits.values())} train, "
          f"{sum(s == 'test' for s in splits.values())} test); sentences: {len(items)}, "
          f"gold claims: {sum(i.gold_claim for i in items)}")
    print(f"{'split':<7}{'measure':<19}{'tp':>5}{'fp':>5}{'fn':>5}{'P':>7}{'R':>7}{'F1':>7}")
    for split in ("train", "test", "all"):
        subset = [i for i in items if split == "all" or splits[i.paper] == split]
        for name, (tp, fp, fn) in scores(subset).items():
            p, r, f = prf(tp, fp, fn)
            print(f"{split:<7}{name:<19}{tp:>5}{fp:>5}{fn:>5}{p:>7.2f}{r:>7.2f}{f:>7.2f}")
    if args.papers:
        print(f"\n{'paper':<26}{'split':<7}{'sent':>5}{'gold':>5}{'tp':>4}{'fp':>4}{'fn':>4}")
        for paper_id in sorted(splits):
            tp, fp, fn = scores([i for i in items if i.paper == paper_id])["claims"]
            n = sum(i.paper == paper_id for i in items)
            print(f"{paper_id:<26}{splits[paper_id]:<7}{n:>5}{tp + fn:>5}{tp:>4}{fp:>4}{fn:>4}")
    if args.errors:
        print()
        for item in items:
            gold_links = item.gold_links if item.gold_claim else set()
            if item.predicted != item.gold_claim or (item.predicted and item.links != gold_links):
                kind = ("MISSED" if item.gold_claim and not item.predicted else
                        "EXTRA" if item.predicted and not item.gold_claim else "LINKS")
                print(f"{kind:<6} {item.paper}#{item.index} [{splits[item.paper]}] {prefix(item.text, 10)!r}"
                      f"  links {sorted(item.links)} gold {sorted(gold_links)}")


def _dump(papers: dict[str, dict[str, Any]]) -> None:
    """Every sentence with the extractor's verdict: the starting point for writing the gold by hand."""
    rows = [{"paper": pid, "split": split_of(pid), "sentence": i, "starts": prefix(s), "claim": False,
             "components": [], "models": []}
            for pid, p in papers.items() if (p.get("abstract") or "").strip()
            for i, s in enumerate(sentences(p["abstract"]))]
    items = judge(papers, rows)
    for item in items:
        print(f"{item.paper} [{split_of(item.paper)}] #{item.index} {'CLAIM' if item.predicted else '-'} "
              f"{sorted(item.links)} :: {item.text}")


if __name__ == "__main__":
    main()
