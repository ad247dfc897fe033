"""The local arXiv server serves a record's version as its arxiv_id gives it ("2409.90001v2")."""

from __future__ import annotations

from ingest.arxiv_server import LocalArxivServer, entry_from_record


def test_the_version_of_a_records_arxiv_id_is_served() -> None:
    from ingest.arxiv_source import ArxivSource

    revised = {"arxiv_id": "2409.90001v2", "title": "Revised", "published": "2024-09-02",
               "updated": "2024-10-01"}
    entry = entry_from_record(revised)
    assert entry is not None and (entry["arxiv_id"], entry["version"]) == ("2409.90001", 2)
    with LocalArxivServer([revised]) as server:
        [record] = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=0).fetch_by_ids(["2409.90001"])
    assert (record.arxiv_id, record.version) == ("2409.90001", 2)


def test_an_explicit_version_wins_and_none_is_version_1() -> None:
    assert entry_from_record({"arxiv_id": "2409.90001v2", "version": 3, "title": "T"})["version"] == 3  # type: ignore[index]
    assert entry_from_record({"arxiv_id": "2409.90001", "title": "T"})["version"] == 1  # type: ignore[index]
