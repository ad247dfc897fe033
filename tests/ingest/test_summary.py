"""ingest/summary.py: what a run's summary says of the new papers that may repeat another's."""

from __future__ import annotations

from ingest.summary import IngestSummary, possible_duplicate_warning


def test_possible_duplicates_in_the_text_and_json_of_a_run() -> None:
    entries = [
        {"arxiv_id": "2611.10005", "title": "Sparse Feature Circuits", "matches": "2403.19647",
         "matches_title": "Sparse Feature Circuits", "stored": True, "authors": "same"},
        {"arxiv_id": "2611.10006", "title": "Toy \x1b[2JModels", "matches": "2611.10001",
         "matches_title": "Toy \x1b[2JModels", "stored": False, "authors": "different"},
    ]
    summary = IngestSummary("run-1", "arxiv", possible_duplicates=entries)
    lines = summary.text().splitlines()
    at = lines.index("  2 new papers with the title of another arXiv paper (possible duplicates, stored "
                     "apart; check them):")
    assert lines[at + 1:at + 3] == [
        "    2611.10005 has the title of the stored paper 2403.19647 ('Sparse Feature Circuits'), the same "
        "authors",
        "    2611.10006 has the title of another paper of this run, 2611.10001 ('Toy Models'), no author in "
        "common"]
    assert summary.to_dict()["possible_duplicates"] == entries
    assert "possible" not in IngestSummary("run-2", "arxiv").text()
    assert possible_duplicate_warning(entries[0]).startswith(
        "possible duplicate: 2611.10005 has the title of the stored paper 2403.19647 ")
