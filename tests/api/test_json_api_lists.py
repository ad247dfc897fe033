"""GET /api/bibtex (several papers as one BibTeX file) and POST /api/resolve (the current id of saved ids),
over a real SQLite store where a paper moved from a slug to its arXiv id."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from ingest.export_papers import export_lines
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

SLUG, MOVED = "math-framework", "2112.99999"
TITLES = {SLUG: "A Mathematical Framework for Transformer Circuits", "other-paper": "Sparse autoencoders",
          "same-key-1": "Probing syntax", "same-key-2": "Probing syntax again"}


@pytest.fixture(scope="module")
def moved_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """Four papers (two whose citation keys clash: same first author, year and first title word); then
    the slug's paper comes back under its arXiv id and replaces it (a records import)."""
    store = taxonomy_store(tmp_path_factory.mktemp("lists") / "paperkg.sqlite3")
    emb = HashEmbedder()
    store.upsert_papers([PaperBundle(paper=Paper(id=i, title=t, authors=["Ada Lovelace"], year=2021,
                                                 embedding=emb.encode([t])[0]))
                         for i, t in TITLES.items()])
    store.upsert_papers([PaperBundle(paper=Paper(id=MOVED, arxiv_id=MOVED, title=TITLES[SLUG],
                                                 authors=["Nelson Elhage"], year=2021,
                                                 embedding=emb.encode([TITLES[SLUG]])[0]),
                                     replaces=[SLUG])])
    yield store
    store.close()


@pytest.fixture(scope="module")
def lists_client(moved_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """A test client of an app on the moved store."""
    return create_app(app_config(tmp_path_factory.mktemp("lists-app"), STORE=moved_store,
                                 EMBEDDER=HashEmbedder())).test_client()


def keys(bib: str) -> list[str]:
    """The citation keys of a BibTeX text, in order."""
    return re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE)


def test_bibtex_of_several_papers_is_the_cli_export_of_them(lists_client: FlaskClient,
                                                            moved_store: EmbeddedStore) -> None:
    ids = ["same-key-1", "same-key-2", MOVED, "other-paper"]
    answer = lists_client.get("/api/bibtex", query_string=[("id", i) for i in ids])
    assert answer.status_code == 200
    assert answer.mimetype == "text/x-bibtex"
    assert answer.headers["Content-Disposition"] == 'inline; filename="papers.bib"'
    text = answer.get_data(as_text=True)
    # `paperkg export papers --format bibtex --id ...` writes the same text (one code path).
    assert text == "".join(export_lines(moved_store, fmt="bibtex", only=ids))
    assert len(keys(text)) == 4 and len(set(keys(text))) == 4
    clash = [k for k in keys(text) if k.startswith("lovelace2021probing")]
    assert sorted(clash) == ["lovelace2021probing", "lovelace2021probinga"]
    assert "\n\n@" in text  # a blank line between entries


def test_bibtex_takes_former_ids_and_counts_a_paper_once(lists_client: FlaskClient) -> None:
    """A star saved under the slug, and the same paper under its arXiv id: one entry, the current one."""
    text = lists_client.get("/api/bibtex", query_string=[("id", SLUG), ("id", MOVED), ("id", MOVED + "v2")]
                            ).get_data(as_text=True)
    assert len(keys(text)) == 1 and "Elhage" in text and MOVED in text


def test_bibtex_unknown_ids_are_the_422_of_recommend(lists_client: FlaskClient) -> None:
    answer = lists_client.get("/api/bibtex", query_string=[("id", MOVED), ("id", "nope-1"), ("id", "nope-2")])
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["unknown_ids"] == ["nope-1", "nope-2"]
    assert error["message"] == "unknown paper ids: 'nope-1', 'nope-2'"


@pytest.mark.parametrize("query, fault", [
    ([], "is required"),
    ([("id", "")], "non-empty"),
    ([("id", "x" * 201)], "at most 200 characters"),
    ([("id", f"p{i}") for i in range(201)], "at most 200 ids"),
    ([("id", "a\x00b")], "NUL"),
    ([("id", MOVED), ("ids", MOVED)], "'ids'"),
])
def test_bibtex_bad_ids_are_a_400_naming_id(lists_client: FlaskClient, query: list[tuple[str, str]],
                                            fault: str) -> None:
    answer = lists_client.get("/api/bibtex", query_string=query)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "bad_parameter" and fault in error["message"]


def test_bibtex_ids_are_not_split_on_commas(lists_client: FlaskClient) -> None:
    """An id may hold a comma: `a,b` is one id (unknown here), not two."""
    answer = lists_client.get("/api/bibtex", query_string={"id": f"{MOVED},other-paper"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["unknown_ids"] == [f"{MOVED},other-paper"]


def test_resolve_gives_each_saved_id_its_current_id(lists_client: FlaskClient) -> None:
    given = [SLUG, "other-paper", "gone", MOVED + "v3", SLUG]
    answer = lists_client.post("/api/resolve", json={"ids": given})
    assert answer.status_code == 200
    assert answer.get_json() == {"results": [
        {"id": SLUG, "current": MOVED, "title": TITLES[SLUG]},
        {"id": "other-paper", "current": "other-paper", "title": TITLES["other-paper"]},
        {"id": "gone", "current": None, "title": None},
        {"id": MOVED + "v3", "current": MOVED, "title": TITLES[SLUG]}]}


@pytest.mark.parametrize("body, status", [
    ({}, 400), ({"ids": "x"}, 400), ({"ids": [1]}, 400), ({"ids": [SLUG], "extra": 1}, 400),
    ({"ids": [f"p{i}" for i in range(201)]}, 400), ({"ids": None}, 400),
])
def test_resolve_bad_bodies_are_a_400(lists_client: FlaskClient, body: object, status: int) -> None:
    assert lists_client.post("/api/resolve", json=body).status_code == status


def test_resolve_wants_json(lists_client: FlaskClient) -> None:
    assert lists_client.post("/api/resolve", data="ids=x", content_type="text/plain").status_code == 415
    assert lists_client.get("/api/resolve").status_code == 405


def test_both_are_in_the_openapi_document(lists_client: FlaskClient) -> None:
    paths = lists_client.get("/api/openapi.json").get_json()["paths"]
    assert paths["/api/bibtex"]["get"]["operationId"] == "get_papers_bibtex"
    assert "422" in paths["/api/bibtex"]["get"]["responses"]
    assert paths["/api/resolve"]["post"]["operationId"] == "resolve_paper_ids"

