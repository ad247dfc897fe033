"""bench/findings_eval.py: its gold resolves against the real seed abstracts, and its table has the
promised shape (no score is pinned: the numbers move with the rules)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.findings_eval import (
    GOLD,
    Judged,
    known_ids,
    load_gold,
    resolve,
    scores,
    sentences,
    split_of,
)

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "findings_eval.py"
ROW = re.compile(r"^(train|test|all)\s+(claims|links|links on detected)\s+(\d+)\s+(\d+)\s+(\d+)"
                 r"\s+([01]\.\d\d)\s+([01]\.\d\d)\s+([01]\.\d\d)$")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def _papers(shared_data: Path) -> dict[str, dict[str, Any]]:
    lines = (shared_data / "seed_papers.jsonl").read_text(encoding="utf-8").splitlines()
    return {p["id"]: p for p in (json.loads(line) for line in lines if line.strip())}


def test_every_gold_sentence_resolves_to_the_abstract_it_judges(shared_data: Path) -> None:
    papers = _papers(shared_data)
    gold = load_gold()
    assert resolve(gold, papers, known_ids()) == []
    judged = {row["paper"] for row in gold}
    assert judged == {i for i, p in papers.items() if (p.get("abstract") or "").strip()}
    # A reference, not a copy: a few words of each sentence.
    assert all(1 <= len(row["starts"].split()) <= 5 for row in gold)
    assert {row["split"] for row in gold} == {"train", "test"}
    test_papers = {row["paper"] for row in gold if row["split"] == "test"}
    assert len(judged) / 4 <= len(test_papers) <= len(judged) / 2


def test_a_gold_row_naming_another_sentence_or_node_is_reported(shared_data: Path) -> None:
    papers = _papers(shared_data)
    gold = load_gold()
    claim = next(row for row in gold if row["claim"] and row["components"])
    wrong = [dict(row) for row in gold]
    index = gold.index(claim)
    wrong[index] = {**claim, "starts": "Nothing like this sentence", "components": ["no_such_component"]}
    wrong.append({**claim, "sentence": 99})
    problems = resolve(wrong, papers, known_ids())
    where = f"{claim['paper']}#{claim['sentence']}"
    assert any(p.startswith(where) and "gold starts 'Nothing like this sentence'" in p for p in problems)
    assert any(p.startswith(where) and "no_such_component" in p for p in problems)
    assert any(p.startswith(claim["paper"]) and "99" in p for p in problems)


def test_the_script_prints_micro_scores_per_split(shared_data: Path) -> None:
    result = _run("--data", str(shared_data), "--papers")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    gold = load_gold()
    assert lines[0].startswith(f"papers: {len({r['paper'] for r in gold})} (")
    assert f"sentences: {len(gold)}, gold claims: {sum(r['claim'] for r in gold)}" in lines[0]
    rows = [m for m in (ROW.match(line) for line in lines) if m]
    assert [(m[1], m[2]) for m in rows] == [
        (split, measure) for split in ("train", "test", "all")
        for measure in ("claims", "links", "links on detected")]
    for m in rows:
        if m[2] == "claims":  # tp + fn is the split's gold claims, whatever the rules find
            split_rows = [r for r in gold if m[1] == "all" or r["split"] == m[1]]
            assert int(m[3]) + int(m[5]) == sum(r["claim"] for r in split_rows)
    per_paper = [line for line in lines if line.split()[:1] and line.split()[0] in {r["paper"] for r in gold}]
    assert len(per_paper) == len({r["paper"] for r in gold})


def test_a_gold_that_does_not_match_the_abstracts_stops_the_script(shared_data: Path, tmp_path: Path) -> None:
    rows = GOLD.read_text(encoding="utf-8").splitlines()
    first = json.loads(rows[0])
    rows[0] = json.dumps({**first, "starts": "Not the first words"})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _run("--data", str(shared_data), "--gold", str(gold))
    assert result.returncode == 1
    assert f"{first['paper']}#{first['sentence']}: gold starts 'Not the first words'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("Heads matter (e.g. in GPT-2). We find heads. Y. Li et al. (2022) show Z.",
     ["Heads matter (e.g. in GPT-2).", "We find heads.", "Y. Li et al. (2022) show Z."]),
    ("It completes [A][B] ... [A] -> [B]. We find that.",
     ["It completes [A][B] ... [A] -> [B].", "We find that."]),
    ("We find that: (1) A holds. B too. (2) C holds.",
     ["We find that: (1) A holds.", "B too.", "(2) C holds."]),
    ("Scores rise from 49.6% to 93.7% in GPT-3.5. Done.",
     ["Scores rise from 49.6% to 93.7% in GPT-3.5.", "Done."]),
])
def test_the_gold_sentences_are_the_scripts_own(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_scores_count_sentences_and_links() -> None:
    items = [
        Judged("p", 0, "a", gold_claim=True, gold_links={"mha"}, predicted=True, links={"mha", "ff"}),
        Judged("p", 1, "b", gold_claim=True, gold_links={"neuron"}),  # missed: its link is missed too
        Judged("p", 2, "c", gold_claim=False, gold_links=set(), predicted=True, links={"gpt2"}),
    ]
    assert scores(items) == {"claims": (1, 1, 1), "links": (1, 2, 1), "links on detected": (1, 1, 0)}


def test_the_split_is_a_hash_of_the_id() -> None:
    assert {split_of("2209.11895"), split_of("2209.11895")} == {"test"}
    assert split_of("2310.04625") == "train"


def test_help_prints_usage_and_exits_without_evaluating() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: findings_eval.py")
    assert "papers:" not in result.stdout
