"""What an ingest summary says changed about a paper besides its title: a withdrawal or reinstatement
(kg.withdrawn, stored abstract before vs written), and a move to another id (a list-only slug to its
arXiv id), in the text and in --json, for `ingest arxiv`, `ingest list` and the weekly run; and the list
run's warning for a list line that names a withdrawn paper.

Real embedded stores and the local arXiv API (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.records import Record
from ingest.summary import IngestSummary
from ingest.weekly import run_weekly
from kg.cli import main
from kg.store import GraphStore
from kg.withdrawn import is_withdrawn
from tests.embedders import HashEmbedder

ARXIV_ID = "2611.90001"
TITLE = "Sparse Autoencoders Find Factual Recall Features in GPT-2"
V1 = {
    "arxiv_id": ARXIV_ID, "version": 1, "title": TITLE, "authors": ["Bob Tester", "Alice Qa"],
    "published": "2026-11-20", "updated": "2026-11-20", "primary_category": "cs.LG",
    "categories": ["cs.LG", "cs.CL"],
    "abstract": "We train sparse autoencoders on the residual stream of GPT-2 small and find features that "
                "recall facts about cities. Activation patching shows the features are causally used.",
}
NOTICE = "This paper has been withdrawn by the authors due to an error in the main result."
V2_WITHDRAWN = {**V1, "version": 2, "updated": "2026-11-21", "abstract": "", "comment": NOTICE}
V3_BACK = {**V1, "version": 3, "updated": "2026-11-22"}


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@contextmanager
def _arxiv(monkeypatch: pytest.MonkeyPatch, served: list[dict[str, Any]]) -> Iterator[LocalArxivServer]:
    """The local arXiv API serving `served`, PAPERKG_ARXIV_* pointing at it."""
    with LocalArxivServer(served) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        monkeypatch.setenv("PAPERKG_ARXIV_TIMEOUT", "5")
        monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
        yield server


def _ingest_arxiv(monkeypatch: pytest.MonkeyPatch, served: dict[str, Any], *json_flag: str) -> Any:
    with _arxiv(monkeypatch, [served]):
        result = _cli("ingest", "arxiv", "--ids", ARXIV_ID, *json_flag)
    assert result.exit_code == 0, result.output
    return result


def test_ingest_arxiv_says_when_a_paper_is_withdrawn_and_when_it_is_no_longer(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, plumbing: HashEmbedder
) -> None:
    first = _ingest_arxiv(monkeypatch, V1, "--json")
    assert "withdrawn_change" not in json.loads(first.stdout)["new_papers"][0]

    withdrawn = _ingest_arxiv(monkeypatch, V2_WITHDRAWN)
    assert f"  updated:\n    {TITLE} [{ARXIV_ID}] (withdrawn)\n" in withdrawn.output
    # The same version again: unchanged, nothing said.
    again = _ingest_arxiv(monkeypatch, V2_WITHDRAWN, "--json")
    doc = json.loads(again.stdout)
    assert (doc["updated"], doc["unchanged"], doc["updated_papers"]) == (0, 1, [])

    back = _ingest_arxiv(monkeypatch, V3_BACK, "--json")
    (entry,) = json.loads(back.stdout)["updated_papers"]
    assert entry == {"paper_id": ARXIV_ID, "title": TITLE, "lines": [], "withdrawn_change": "reinstated"}
    assert f"\n    {TITLE} [{ARXIV_ID}] (no longer withdrawn)" in _text_of(entry)


def test_ingest_arxiv_json_says_withdrawn_for_the_run_that_withdrew_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, plumbing: HashEmbedder
) -> None:
    _ingest_arxiv(monkeypatch, V1)
    doc = json.loads(_ingest_arxiv(monkeypatch, V2_WITHDRAWN, "--json").stdout)
    assert [(e["paper_id"], e.get("withdrawn_change")) for e in doc["updated_papers"]] == [
        (ARXIV_ID, "withdrawn")]
    # Reinstated in text: the v3 that is live again.
    assert f"    {TITLE} [{ARXIV_ID}] (no longer withdrawn)" in _ingest_arxiv(monkeypatch, V3_BACK).output


def _list(tmp_path: Path, link: str, name: str = "list.md", above: str = "") -> Path:
    path = tmp_path / name
    path.write_text(f"# A list\n\n## Circuits\n{above}| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
                    f"| [{TITLE}]({link}) | | one |\n", encoding="utf-8")
    return path


SLUG = "sparse-autoencoders-find-factual-recall-features-in-gpt-2"


def test_a_list_run_that_gives_a_list_only_paper_its_arxiv_id_names_the_old_id(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plumbing: HashEmbedder
) -> None:
    first = _cli("ingest", "list", "--source", str(_list(tmp_path, "https://example.org/recall")),
                 "--no-arxiv", "--json")
    assert first.exit_code == 0, first.output
    assert [e["paper_id"] for e in json.loads(first.stdout)["new_papers"]] == [SLUG]

    linked = _list(tmp_path, f"https://arxiv.org/abs/{ARXIV_ID}", "linked.md")
    with _arxiv(monkeypatch, [V1]):
        text = _cli("ingest", "list", "--source", str(linked))
    assert text.exit_code == 0, text.output
    assert f"  updated:\n    {TITLE} [{ARXIV_ID}], line 6 (was id {SLUG})\n" in text.output

    moved = _list(tmp_path, f"https://arxiv.org/abs/{ARXIV_ID}", "moved.md", above="A table of circuits.\n\n")
    with _arxiv(monkeypatch, [V2_WITHDRAWN]):
        doc = _cli("ingest", "list", "--source", str(moved), "--json")
    assert doc.exit_code == 0, doc.output
    (entry,) = json.loads(doc.stdout)["updated_papers"]
    # Moved already: no previous_id; withdrawn in this run.
    assert entry == {"paper_id": ARXIV_ID, "title": TITLE, "lines": [8], "withdrawn_change": "withdrawn"}


def test_a_list_line_naming_a_withdrawn_paper_is_warned_of_with_its_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plumbing: HashEmbedder
) -> None:
    _ingest_arxiv(monkeypatch, V2_WITHDRAWN)  # stored withdrawn, not on the list
    linked = _list(tmp_path, f"https://arxiv.org/abs/{ARXIV_ID}")
    warning = f"  withdrawn on arXiv but still in the list, line 6: {TITLE} [{ARXIV_ID}]"
    added = _cli("ingest", "list", "--source", str(linked), "--no-arxiv")
    assert added.exit_code == 0, added.output
    assert warning in added.output.splitlines()
    # Every run that the list still names it (unchanged now), in --json too.
    doc = json.loads(_cli("ingest", "list", "--source", str(linked), "--no-arxiv", "--json").stdout)
    assert doc["unchanged"] == 1
    assert doc["listed_withdrawn"] == [{"paper_id": ARXIV_ID, "title": TITLE, "lines": [6]}]
    # A live paper on the list: no warning.
    with _arxiv(monkeypatch, [V3_BACK]):
        live = _cli("ingest", "list", "--source", str(linked))
    assert live.exit_code == 0, live.output
    assert "withdrawn on arXiv" not in live.output and "(no longer withdrawn)" in live.output


def _text_of(entry: dict[str, Any]) -> str:
    """The text summary of a run that updated one paper, `entry` its updated_papers entry."""
    return IngestSummary(run_id="run", source="list", papers=1, updated=1, updated_papers=[entry]).text()


def test_the_text_gives_one_note_of_each_kind() -> None:
    entry = {"paper_id": ARXIV_ID, "title": TITLE, "lines": [6, 9], "previous_id": SLUG,
             "previous_title": "Old Title", "withdrawn_change": "withdrawn"}
    assert _text_of(entry).splitlines()[1:] == [
        "  updated:", f"    {TITLE} [{ARXIV_ID}], lines 6, 9 (was id {SLUG}) (was 'Old Title') (withdrawn)"]


# -- the weekly run ----------------------------------------------------------------------------------
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


WEEKLY_V1 = {**V1, "arxiv_id": "2611.90020", "published": _day(NOW - timedelta(days=2)),
             "updated": _day(NOW - timedelta(days=2))}


def _weekly(store: GraphStore, served: list[dict[str, Any]], extractor: Extractor) -> Any:
    with LocalArxivServer(served) as server:
        source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=3, backoff=0.01, page_size=100)
        return run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, now=NOW)


def test_a_weekly_run_names_the_papers_it_moved_to_their_arxiv_id(
    store: GraphStore, extractor: Extractor
) -> None:
    listed = Record(source="list", source_id="recall", title=TITLE, explicit_id=SLUG)
    run_ingest(store, [listed], source="list", embedder=HashEmbedder(), extractor=extractor, progress=False)
    summary = _weekly(store, [WEEKLY_V1], extractor)
    assert (summary.known, summary.updated) == (1, 1)
    (entry,) = summary.to_dict()["updated_papers"]
    assert (entry["paper_id"], entry["previous_id"]) == ("2611.90020", SLUG)
    assert "withdrawn_change" not in entry
    assert f"; updated: {TITLE} [2611.90020] (was id {SLUG})" in summary.text()
    assert "\n" not in summary.text()  # the scheduler logs it as one record


def test_a_weekly_run_names_the_papers_it_found_withdrawn(store: GraphStore, extractor: Extractor) -> None:
    _weekly(store, [WEEKLY_V1], extractor)
    withdrawn = {**WEEKLY_V1, "version": 2, "abstract": "", "comment": NOTICE,
                 "updated": _day(NOW - timedelta(days=1))}
    summary = _weekly(store, [withdrawn], extractor)
    assert summary.updated == 1
    detail = store.get_paper("2611.90020")
    assert detail is not None and is_withdrawn(detail.paper.abstract)
    assert [e.get("withdrawn_change") for e in summary.to_dict()["updated_papers"]] == ["withdrawn"]
    assert f"; updated: {TITLE} [2611.90020] (withdrawn)" in summary.text()
    back = {**withdrawn, "version": 3, "comment": None, "abstract": V1["abstract"], "updated": _day(NOW)}
    reinstated = _weekly(store, [back], extractor)
    assert f"; updated: {TITLE} [2611.90020] (no longer withdrawn)" in reinstated.text()
    # An update with nothing to note is counted, not named.
    edited = {**withdrawn, "version": 4, "comment": None, "abstract": V1["abstract"] + " We add a figure.",
              "updated": _day(NOW)}
    quiet = _weekly(store, [edited], extractor)
    assert quiet.updated == 1 and "; updated:" not in quiet.text()


def test_a_weekly_run_names_a_new_paper_arxiv_lists_as_withdrawn(store: GraphStore,
                                                                 extractor: Extractor) -> None:
    """Re-test: `ingest arxiv` marked a paper arriving withdrawn "(withdrawn)", the weekly text did not."""
    arrived = {**WEEKLY_V1, "version": 2, "comment": NOTICE}
    summary = _weekly(store, [arrived], extractor)
    assert summary.new == 1
    assert [e.get("withdrawn_change") for e in summary.to_dict()["new_papers"]] == ["withdrawn"]
    assert f"; new: {TITLE} [2611.90020] (withdrawn)" in summary.text()
