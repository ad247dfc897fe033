"""`paperkg stats` says USES and EVALUATES count edges, one per source, and gives the distinct pairs the
technique counts add up to (QA: "USES 74" beside technique counts summing to 61)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from kg.cli import main
from tests.seed_store import seed_db_path


def test_stats_gives_the_distinct_pairs_beside_the_edges(data_dir: Path, shared_data: Path) -> None:
    shutil.copy(seed_db_path(shared_data), data_dir / "paperkg.sqlite3")
    with sqlite3.connect(data_dir / "paperkg.sqlite3") as conn:
        uses, uses_pairs = conn.execute(
            "SELECT count(*), count(DISTINCT paper_id || char(0) || technique_id) FROM uses").fetchone()
        evaluates, evaluates_pairs = conn.execute(
            "SELECT count(*), count(DISTINCT paper_id || char(0) || evaluation_id) FROM evaluates").fetchone()
    conn.close()
    assert uses > uses_pairs  # the seed corpus has pairs tagged by the list and by the extractor
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"  USES           {uses}  ({uses_pairs} distinct paper-technique pairs)" in lines
    assert f"  EVALUATES      {evaluates}  ({evaluates_pairs} distinct paper-criterion pairs)" in lines
    assert lines[-1].startswith("note: USES and EVALUATES count edges, one per source")
    data = json.loads(CliRunner().invoke(main, ["stats", "--json"]).output)
    assert data["distinct_pairs"] == {"USES": uses_pairs, "EVALUATES": evaluates_pairs}
    assert data["relationships"]["USES"] == uses
    # What `paperkg filters` counts: each technique's own papers add up to the distinct pairs.
    tree = json.loads(CliRunner().invoke(main, ["filters", "--json"]).output)

    def own(items: list[dict[str, object]]) -> int:
        return sum(int(str(i["own_count"])) + own(i["children"]) for i in items)  # type: ignore[arg-type]

    assert own(tree["techniques"]) == uses_pairs and own(tree["evaluations"]) == evaluates_pairs
