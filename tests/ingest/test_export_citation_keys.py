"""Citation keys are the store's: one paper has one key on its page, on /api/papers/{id}/bibtex, in
/api/bibtex (GET and POST), in every `paperkg export papers --format bibtex` (all, --since, --id) and in
the JSON and CSV exports; papers ingested later never take a key an earlier one has, and a retitle or a
new author order keeps the key. A real SQLite store written by the real pipeline (run_ingest)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from api.app import create_app
from ingest.extract import Extractor
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.taxonomy import Taxonomy
from tests.api.test_bibtex import parse_bib
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

NANDA = ["Neel Nanda", "Lawrence Chan"]
CIRCUITS = "https://transformer-circuits.pub/2024"


def _nanda(n: int, title: str) -> Record:
    return Record(source="arxiv", source_id=f"2301.0521{n}", arxiv_id=f"2301.0521{n}", title=title,
                  abstract="We study grokking in small transformers.", authors=list(NANDA),
                  published="2023-01-12", year=2023, categories=["cs.LG"])


def _anthropic(slug: str, title: str) -> Record:
    """A list-only transformer-circuits.pub page: no authors."""
    return Record(source="records", source_id=slug, explicit_id=slug, title=title, url=f"{CIRCUITS}/{slug}/",
                  abstract="A Transformer Circuits Thread post.", year=2024)


def _export(*args: str) -> Result:
    from kg.cli import main

    result = CliRunner().invoke(main, ["export", "papers", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _keys(text: str) -> dict[str, str]:
    """{eprint or url: key} of a BibTeX file's entries."""
    return {fields.get("eprint") or fields["url"]: key for _kind, key, fields in parse_bib(text)}


@pytest.fixture
def ingested(data_dir: Path, taxonomy: Taxonomy) -> tuple[EmbeddedStore, str]:
    """Three ingests a week apart, as a user's weekly runs: the keys are issued in the order papers are
    stored. The time between the first two ingests is `since`."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    ingest = {"embedder": HashEmbedder(), "extractor": Extractor(taxonomy), "progress": False}
    run_ingest(store, [_nanda(7, "Progress measures for grokking via mechanistic interpretability"),
                       _anthropic("scaling-monosemanticity", "Scaling Monosemanticity")],
               source="arxiv", **ingest)
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    run_ingest(store, [_nanda(8, "Progress in circuit discovery"),
                       _anthropic("dictionary-scaling", "Scaling Laws for Dictionary Learning")],
               source="arxiv", **ingest)
    run_ingest(store, [_nanda(9, "Progress on superposition")], source="arxiv", **ingest)
    return store, since


def _client(store: EmbeddedStore, tmp: Path) -> FlaskClient:
    config = {"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp)}),
              "STORE": store}
    return create_app(config).test_client()


EXPECTED = {
    "2301.05217": "nanda2023progress", "2301.05218": "nanda2023progressa", "2301.05219": "nanda2023progressb",
    f"{CIRCUITS}/scaling-monosemanticity/": "anthropic2024scaling",
    f"{CIRCUITS}/dictionary-scaling/": "anthropic2024scalinga",
}


def test_every_path_gives_a_paper_the_key_the_store_issued_it(
    ingested: tuple[EmbeddedStore, str], tmp_path: Path
) -> None:
    store, since = ingested
    assert _keys(_export("--format", "bibtex").stdout) == EXPECTED
    # The weekly export of the papers since: the keys they have in the full one (a thesis.bib holding
    # the older export and this one has no repeated entry).
    weekly = _keys(_export("--format", "bibtex", "--since", since).stdout)
    first_week = ("2301.05217", f"{CIRCUITS}/scaling-monosemanticity/")
    assert weekly == {k: v for k, v in EXPECTED.items() if k not in first_week}
    single = _export("--format", "bibtex", "--id", "2301.05219").stdout
    assert _keys(single) == {"2301.05219": "nanda2023progressb"}
    client = _client(store, tmp_path)
    papers = {p.arxiv_id or p.url: p.id for p in store.get_papers(store.paper_ids())}
    two = client.get("/api/bibtex?id=2301.05218&id=2301.05219")
    assert _keys(two.get_data(as_text=True)) == {"2301.05218": "nanda2023progressa",
                                                 "2301.05219": "nanda2023progressb"}
    dictionary = f"{CIRCUITS}/dictionary-scaling/"
    posted = client.post("/api/bibtex", json={"ids": [papers[dictionary], "2301.05219"]})
    assert _keys(posted.get_data(as_text=True)) == {dictionary: "anthropic2024scalinga",
                                                    "2301.05219": "nanda2023progressb"}
    objects = {o["id"]: o for o in map(json.loads, _export().stdout.splitlines())}
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(_export("--format", "csv").stdout_bytes.decode()))}
    for cited, key in EXPECTED.items():
        paper_id = papers[cited]
        one = client.get(f"/api/papers/{paper_id}/bibtex")
        assert _keys(one.get_data(as_text=True)) == {cited: key}
        assert one.headers["Content-Disposition"] == f'inline; filename="{key}.bib"'
        assert f"@misc{{{key},".encode() in client.get(f"/papers/{paper_id}").data  # the page's BibTeX
        assert client.get(f"/api/papers/{paper_id}").get_json()["citation_key"] == key
        assert objects[paper_id]["citation_key"] == key
        assert rows[paper_id]["citation_key"] == key


def test_a_retitle_or_a_new_author_order_keeps_the_key(data_dir: Path, taxonomy: Taxonomy) -> None:
    """arXiv v1 "Tracing ...", v3 retitled "Sparse ...", v4 with the authors in another order: the key
    v1 was issued stays (it was qa2026tracing, then qa2026sparse, then tester2026sparse)."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    ingest = {"embedder": HashEmbedder(), "extractor": Extractor(taxonomy), "progress": False}

    def version(n: int, title: str, authors: list[str]) -> Record:
        return Record(source="arxiv", source_id="2611.90001", arxiv_id="2611.90001", title=title,
                      abstract="We trace features.", authors=authors, published="2026-11-02",
                      updated=f"2026-11-{10 + n}", year=2026, version=n, categories=["cs.LG"])

    run_ingest(store, [version(1, "Tracing features in sparse models", ["Ann Qa", "Tom Tester"])],
               source="arxiv", **ingest)
    for n, authors in ((3, ["Ann Qa", "Tom Tester"]), (4, ["Tom Tester", "Ann Qa"])):
        run_ingest(store, [version(n, "Sparse feature circuits", authors)], source="arxiv", **ingest)
    paper = store.get_papers(["2611.90001"])[0]
    assert (paper.title, paper.authors, paper.arxiv_version) == (
        "Sparse feature circuits", ["Tom Tester", "Ann Qa"], 4)
    assert _keys(_export("--format", "bibtex").stdout) == {"2611.90001": "qa2026tracing"}
    assert paper.citation_key == "qa2026tracing"
    # A new paper whose key would be v1's gets a suffix: the key is taken for good.
    run_ingest(store, [Record(source="arxiv", source_id="2611.90002", arxiv_id="2611.90002",
                              title="Tracing again", authors=["Ann Qa"], year=2026, published="2026-11-20",
                              abstract="More tracing.")], source="arxiv", **ingest)
    assert store.get_papers(["2611.90002"])[0].citation_key == "qa2026tracinga"
