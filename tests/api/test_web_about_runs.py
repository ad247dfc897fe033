"""The About page's ingest runs table (api/templates/about.html): a failed run says why, and counts without a
value are left out (QA: no message shown; "load_run None, gap_from None, empty_queries " for a weekly run)."""

from __future__ import annotations

import re
from pathlib import Path

from api.app import close_app, create_app
from kg.schema import RUN_SOURCE_WEEKLY
from tests.api.conftest import app_config
from tests.seed_store import taxonomy_store


def _runs_table(tmp_path: Path, message: str, counts: dict[str, object]) -> str:
    """The About page's runs table after one weekly run that failed with `message` and `counts`."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        run = store.start_run(RUN_SOURCE_WEEKLY)
        store.finish_run(run.id, "failed", counts, message=message)
        app = create_app(app_config(tmp_path, STORE=store))
        response = app.test_client().get("/about")
        close_app(app)
    finally:
        store.close()
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html.split('<table class="runs">', 1)[1].split("</table>", 1)[0]


def test_a_failed_runs_message_is_shown_escaped(tmp_path: Path) -> None:
    message = ("WeeklyError: arXiv returned no candidates at all for 2026-10-30 to 2026-11-27 "
               "<script>alert(1)</script> & more")
    table = _runs_table(tmp_path, message, {"queries": 4})
    assert "<th>message</th>" in table
    assert ("WeeklyError: arXiv returned no candidates at all for 2026-10-30 to 2026-11-27 "
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") in table
    assert "<script>" not in table


def test_a_long_message_is_cut_and_kept_whole_in_the_title(tmp_path: Path) -> None:
    message = "ModelMissing: " + "word " * 390 + "END"  # about the 2,000 characters a run keeps
    table = _runs_table(tmp_path, message, {})
    cell = re.search(r'<td class="small" title="([^"]*)">([^<]*)</td>', table)
    assert cell is not None
    assert cell.group(1) == message and cell.group(2).endswith("…") and len(cell.group(2)) == 300
    assert "END" not in cell.group(2)


def test_counts_without_a_value_are_left_out(tmp_path: Path) -> None:
    counts = {"window_start": "2026-10-30T09:35:56Z", "queries": 4, "candidates": 0, "new": 0,
              "empty_queries": [], "load_run": None, "gap_from": None, "file": ""}
    table = _runs_table(tmp_path, "WeeklyError: x", counts)
    cell = re.findall(r'<td class="small">([^<]*)</td>', table)[0]
    assert cell == "window_start 2026-10-30T09:35:56Z, queries 4, candidates 0, new 0"
    assert "None" not in table
