"""Score extraction from title + abstract alone against the awesome-list's own Techniques/Evaluation labels.

Usage: .venv/bin/python bench/extraction_eval.py [--data DIR] [--errors]

Gold for a paper is the union of `technique_ids` / `evaluation_ids` over its list rows in
seed_papers.jsonl (--data, else PAPERKG_SHARED_DATA, else shared/data beside the repo). An empty
cell means "not labelled", not "uses nothing": a paper enters the technique scoring only if the list
gives it at least one technique, and the evaluation scoring only if it gives at least one evaluation.
Papers without an abstract are excluded (the count is printed).

Three numbers:
- strict: a predicted id is correct only if it is exactly a gold id.
- roll-up: ids are compared along the taxonomy's refinement chains (same label): a prediction
  is correct if it is a gold id, an ancestor of one (predicting `cma` for gold
  `activation_patching`) or a refinement of one (`tuned_lens` for gold `logit_lens`); a gold id
  is recalled if any prediction lies on its chain. Siblings (`mean_ablation` vs `zero_ablation`)
  never count.
- named: roll-up precision, but recall only over the gold labels whose node, ancestor or
  refinement is named (any name or alias as whole words, plural allowed) in the title or
  abstract. It measures the extractor on what the text can support; it is not the issue's aim,
  which counts every label.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import DATA_HELP, seed_papers_file
from ingest.extract import Extractor
from kg.explain import phrase_pattern
from kg.taxonomy import Taxonomy, load_taxonomy


def _chain(tax: Taxonomy, node_id: str) -> set[str]:
    """The node, its ancestors and its refinements (same label)."""
    node = tax.by_id.get(node_id)
    out = set(tax.descendants(node_id))
    while node is not None and node.parent in tax.by_id and tax.by_id[node.parent].label == node.label:
        out.add(node.parent)
        node = tax.by_id[node.parent]
    return out


def _named_in(tax: Taxonomy, gold_id: str, text: str) -> bool:
    """Whether any name or alias (ambiguous ones too) of the gold id's chain occurs as words in the text."""
    names = {n.casefold() for node_id in _chain(tax, gold_id)
             for n in (tax.by_id[node_id].name, *tax.by_id[node_id].aliases,
                       *tax.by_id[node_id].ambiguous_aliases)}
    # Whole words with an optional plural, so "ICA" does not count inside "specific".
    pattern = phrase_pattern(names)
    return bool(pattern and pattern.search(text))


def _score(
    pred: set[str], gold: set[str], tax: Taxonomy, rollup: bool
) -> tuple[set[str], set[str], set[str]]:
    """(true-positive predictions, false-positive predictions, missed gold)."""
    if not rollup:
        return pred & gold, pred - gold, gold - pred
    tp = {p for p in pred if any(p in _chain(tax, g) for g in gold)}
    missed = {g for g in gold if not any(p in _chain(tax, g) for p in pred)}
    return tp, pred - tp, missed


def main() -> None:
    """Run the evaluation and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--errors", action="store_true", help="print each paper's misses and false hits")
    args = parser.parse_args()
    path = seed_papers_file(parser, args.data)
    papers = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tax = load_taxonomy()
    extractor = Extractor(tax)

    no_abstract = [p for p in papers if not (p.get("abstract") or "").strip()]
    with_abstract = [p for p in papers if (p.get("abstract") or "").strip()]
    t0 = time.perf_counter()
    extractions = extractor.extract_many([(p["id"], p["title"], p["abstract"]) for p in with_abstract])
    elapsed = time.perf_counter() - t0

    kinds = {"technique": "technique_ids", "evaluation": "evaluation_ids"}
    per_id: dict[str, dict[str, Counter[str]]] = {"strict": {}, "roll-up": {}, "named": {}}
    micro = {mode: Counter() for mode in per_id}
    scored = {kind: 0 for kind in kinds}
    surface: Counter[str] = Counter()  # gold labels with / without any alias of their chain in the text
    errors: list[str] = []
    for paper, ext in zip(with_abstract, extractions, strict=True):
        predicted = {
            "technique": {t.technique_id for t in ext.techniques},
            "evaluation": {e.evaluation_id for e in ext.evaluations},
        }
        for kind, key in kinds.items():
            gold = {g for row in paper.get("list_rows", []) for g in row.get(key) or []}
            # The list sometimes puts a technique in the Evaluation column (and topics such as
            # knowledge_editing): score each gold id under its own label.
            wanted = "Technique" if kind == "technique" else "Evaluation"
            gold = {g for g in gold if g in tax.by_id and tax.by_id[g].label == wanted}
            if not gold:
                continue
            scored[kind] += 1
            text = f"{paper['title']} {paper['abstract']}".casefold()
            named = {g for g in gold if _named_in(tax, g, text)}
            surface["mentioned"] += len(named)
            surface["absent"] += len(gold - named)
            for mode in per_id:
                tp, fp, fn = _score(predicted[kind], gold, tax, rollup=(mode != "strict"))
                # "named": precision still counts against every list label, recall only against
                # the labels the text names, so an unnamed label is neither a hit nor a miss.
                recall_gold = named if mode == "named" else gold
                fn &= recall_gold
                for g in recall_gold:
                    per_id[mode].setdefault(g, Counter())
                for p in predicted[kind]:
                    per_id[mode].setdefault(p, Counter())
                for p in tp:
                    per_id[mode][p]["tp_pred"] += 1
                for p in fp:
                    per_id[mode][p]["fp"] += 1
                for g in recall_gold:
                    per_id[mode][g]["gold"] += 1
                    if g not in fn:
                        per_id[mode][g]["tp_gold"] += 1
                micro[mode]["tp_pred"] += len(tp)
                micro[mode]["fp"] += len(fp)
                micro[mode]["gold"] += len(recall_gold)
                micro[mode]["tp_gold"] += len(recall_gold) - len(fn)
                if mode == "strict" and (fp or fn):
                    errors.append(f"  {paper['id']:<24} {kind:<10} missed={sorted(fn)} extra={sorted(fp)}")

    print(f"seed papers: {len(papers)}; excluded for no abstract: {len(no_abstract)} "
          f"({', '.join(p['id'] for p in no_abstract) or '-'})")
    print(f"scored: {scored['technique']} papers with technique labels, "
          f"{scored['evaluation']} with evaluation labels; "
          f"{len(with_abstract) - len({p['id'] for p in with_abstract if _has_gold(p)})} papers with an "
          "abstract but no list labels were not scored")
    print(f"first call (builds the spaCy pipeline): {elapsed * 1000:.0f} ms "
          f"for {len(with_abstract)} abstracts")
    corpus = [(f"{p['id']}#{i}", p["title"], p["abstract"]) for i in range(50) for p in with_abstract]
    t0 = time.perf_counter()
    extractor.extract_many(corpus)
    rate = len(corpus) / (time.perf_counter() - t0)
    nlp, _ = extractor._pipeline()
    t0 = time.perf_counter()
    for _, title, abstract in corpus:
        nlp.make_doc(title + "\n" + abstract)
    tok_rate = len(corpus) / (time.perf_counter() - t0)
    print(f"throughput: {rate:.0f} abstracts/s over {len(corpus)} abstracts (the seed abstracts x50); "
          f"spaCy tokenizer alone {tok_rate:.0f}/s (ratio {rate / tok_rate:.2f})")
    print(f"gold labels whose node (or an ancestor/refinement) has any alias or name as whole words in "
          f"title+abstract: {surface['mentioned']}/{surface['mentioned'] + surface['absent']} "
          "(about what text matching alone can recall, roll-up; lemma and word-order variants the "
          "extractor matches are not counted here)")
    for mode, table in per_id.items():
        print(f"\n{mode}: precision / recall / F1 per id (P over predictions, R over gold)")
        print(f"{'id':<30}{'gold':>6}{'pred':>6}{'P':>7}{'R':>7}{'F1':>7}")
        for node_id in sorted(table):
            print(_prf_row(node_id, table[node_id]))
        print(_prf_row("MICRO", micro[mode]))
    if args.errors:
        print("\nstrict errors:")
        print("\n".join(errors))


def _prf_row(name: str, c: Counter) -> str:
    """One table row: gold and predicted counts, precision, recall, F1."""
    n_pred = c["tp_pred"] + c["fp"]
    p = c["tp_pred"] / n_pred if n_pred else 0.0
    r = c["tp_gold"] / c["gold"] if c["gold"] else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"{name:<30}{c['gold']:>6}{n_pred:>6}{p:>7.2f}{r:>7.2f}{f:>7.2f}"


def _has_gold(paper: dict) -> bool:
    return any(row.get("technique_ids") or row.get("evaluation_ids") for row in paper.get("list_rows", []))


if __name__ == "__main__":
    main()
