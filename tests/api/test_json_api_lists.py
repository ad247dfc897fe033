"""GET /api/bibtex (several papers as one BibTeX file) and POST /api/resolve (the current id of saved ids),
over a real SQLite store where a paper moved from a slug to its arXiv id."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

SLUG, MOVED = "math-framework", "2112.99999"
OLD_STYLE = "hep-th/9901001"  # an old-style arXiv id: a "/" inside the id
TITLES = {SLUG: "A Mathematical Framework for Transformer Circuits", "other-paper": "Sparse autoencoders",
          "same-key-1": "Probing syntax", "same-key-2": "Probing syntax again"}


@pytest.fixture(scope="module")
def moved_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """Four papers (two whose citation keys clash: same first author, year and first title word); then
    the slug's paper comes back under its arXiv id and replaces it (a records import), keeping the
    citation key the slug's paper was issued (lovelace2021mathematical: a key never changes once issued
    to a paper with authors, kg.store)."""
    store = taxonomy_store(tmp_path_factory.mktemp("lists") / "paperkg.sqlite3")
    emb = HashEmbedder()
    store.upsert_papers([PaperBundle(paper=Paper(id=i, title=t, authors=["Ada Lovelace"], year=2021,
                                                 embedding=emb.encode([t])[0]))
                         for i, t in TITLES.items()])
    store.upsert_papers([PaperBundle(paper=Paper(id=MOVED, arxiv_id=MOVED, title=TITLES[SLUG],
                                                 authors=["Nelson Elhage"], year=2021,
                                                 embedding=emb.encode([TITLES[SLUG]])[0]),
                                     replaces=[SLUG])])
    store.upsert_papers([PaperBundle(paper=Paper(id=OLD_STYLE, arxiv_id=OLD_STYLE, title="Large N limit",
                                                 authors=["Juan Maldacena"], year=1999,
                                                 embedding=emb.encode(["Large N limit"])[0]))])
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


EXPECTED_BIBTEX = """@misc{lovelace2021mathematical,
  title = {{A Mathematical Framework for Transformer Circuits}},
  author = {Nelson Elhage},
  howpublished = {arXiv:2112.99999},
  year = {2021},
  eprint = {2112.99999},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/2112.99999}
}

@misc{lovelace2021sparse,
  title = {{Sparse autoencoders}},
  author = {Ada Lovelace},
  year = {2021}
}

@misc{lovelace2021probing,
  title = {{Probing syntax}},
  author = {Ada Lovelace},
  year = {2021}
}

@misc{lovelace2021probinga,
  title = {{Probing syntax again}},
  author = {Ada Lovelace},
  year = {2021}
}
"""
OLD_STYLE_BIBTEX = """@misc{maldacena1999large,
  title = {{Large N limit}},
  author = {Juan Maldacena},
  howpublished = {arXiv:hep-th/9901001},
  year = {1999},
  eprint = {hep-th/9901001},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/hep-th/9901001}
}
"""


def post_bibtex(client: FlaskClient, ids: list[str]) -> TestResponse:
    """POST /api/bibtex with `ids` in its JSON body."""
    return client.post("/api/bibtex", json={"ids": ids})


def get_bibtex(client: FlaskClient, ids: list[str]) -> TestResponse:
    """GET /api/bibtex?id=...&id=..."""
    return client.get("/api/bibtex", query_string=[("id", i) for i in ids])


@pytest.mark.parametrize("ask", [get_bibtex, post_bibtex])
def test_bibtex_of_several_papers_is_the_cli_export_of_them(
    lists_client: FlaskClient, ask: Callable[[FlaskClient, list[str]], TestResponse]
) -> None:
    """The entries oldest first, a suffix on the second key of a clash, a blank line between them."""
    answer = ask(lists_client, ["same-key-1", "same-key-2", MOVED, "other-paper"])
    assert answer.status_code == 200
    assert answer.mimetype == "text/x-bibtex"
    assert answer.headers["Content-Disposition"] == 'inline; filename="papers.bib"'
    assert answer.get_data(as_text=True) == EXPECTED_BIBTEX


@pytest.mark.parametrize("ask", [get_bibtex, post_bibtex])
def test_bibtex_of_an_id_with_a_slash(lists_client: FlaskClient,
                                      ask: Callable[[FlaskClient, list[str]], TestResponse]) -> None:
    """An old-style arXiv id holds a "/": as given, versioned or as an abs URL, one entry."""
    answer = ask(lists_client, [OLD_STYLE, OLD_STYLE + "v2", f"https://arxiv.org/abs/{OLD_STYLE}v3"])
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == OLD_STYLE_BIBTEX


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


def test_post_bibtex_unknown_ids_are_the_same_422(lists_client: FlaskClient) -> None:
    answer = post_bibtex(lists_client, [MOVED, "nope-1", "nope-2"])
    assert answer.status_code == 422
    assert answer.get_json()["error"]["unknown_ids"] == ["nope-1", "nope-2"]


@pytest.mark.parametrize("body, fault", [
    ({}, "is required"), ({"ids": []}, "is required"), ({"ids": "x"}, "must be a list"),
    ({"ids": [MOVED], "id": [MOVED]}, "unknown field"),
    ({"ids": [f"p{i}" for i in range(201)]}, "at most 200 ids"),
])
def test_post_bibtex_bad_bodies_are_a_400(lists_client: FlaskClient, body: object, fault: str) -> None:
    answer = lists_client.post("/api/bibtex", json=body)
    assert answer.status_code == 400
    assert fault in answer.get_json()["error"]["message"]
    assert lists_client.post("/api/bibtex", data="ids=x", content_type="text/plain").status_code == 415


# Every list of paper ids, whichever route and however sent, is checked by one rule (api.params.check_ids).
ID_LISTS: list[tuple[str, Callable[[FlaskClient, list[str]], TestResponse]]] = [
    ("id", get_bibtex), ("ids", post_bibtex),
    ("ids", lambda c, ids: c.post("/api/resolve", json={"ids": ids})),
    ("liked", lambda c, ids: c.post("/api/recommend", json={"liked": ids})),
]


@pytest.mark.parametrize("name, ask", ID_LISTS)
@pytest.mark.parametrize("bad, message", [
    ("a\x00b", "ids must not contain NUL characters"),
    ("x" * 201, "ids must be non-empty strings of at most 200 characters"),
    ("", "ids must be non-empty strings of at most 200 characters"),
])
def test_every_id_list_has_one_rule(lists_client: FlaskClient, name: str,
                                    ask: Callable[[FlaskClient, list[str]], TestResponse],
                                    bad: str, message: str) -> None:
    """Before, a NUL was a 400 in GET /api/bibtex's ids but an unknown id (422) in the JSON bodies."""
    answer = ask(lists_client, [MOVED, bad])
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert (error["parameter"], error["message"]) == (name, f"parameter '{name}': {message}")


def test_bibtex_ids_are_not_split_on_commas(lists_client: FlaskClient) -> None:
    """An id may hold a comma: `a,b` is one id (unknown here), not two."""
    answer = lists_client.get("/api/bibtex", query_string={"id": f"{MOVED},other-paper"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["unknown_ids"] == [f"{MOVED},other-paper"]


def _ids_and_titles(body: dict[str, Any]) -> dict[str, Any]:
    """A resolve answer's id, current and title of each result (the byline fields left out)."""
    return {"results": [{k: r[k] for k in ("id", "current", "title")} for r in body["results"]]}


def test_resolve_gives_a_found_paper_the_fields_of_a_result_list(lists_client: FlaskClient) -> None:
    """QA: a printed For you starred list was titles only; the stars keep ids and titles alone."""
    found, gone = lists_client.post("/api/resolve", json={"ids": [SLUG, "gone"]}).get_json()["results"]
    paper = lists_client.get(f"/api/papers/{MOVED}").get_json()
    assert found["authors"] == paper["authors"] and found["year"] == paper["year"]
    assert {"venue", "url", "arxiv_id", "published", "item_type", "withdrawn"} <= set(found)
    assert gone == {"id": "gone", "current": None, "title": None}


def test_resolve_gives_each_saved_id_its_current_id(lists_client: FlaskClient) -> None:
    given = [SLUG, "other-paper", "gone", MOVED + "v3", SLUG]
    answer = lists_client.post("/api/resolve", json={"ids": given})
    assert answer.status_code == 200
    assert _ids_and_titles(answer.get_json()) == {"results": [
        {"id": SLUG, "current": MOVED, "title": TITLES[SLUG]},
        {"id": "other-paper", "current": "other-paper", "title": TITLES["other-paper"]},
        {"id": "gone", "current": None, "title": None},
        {"id": MOVED + "v3", "current": MOVED, "title": TITLES[SLUG]}]}


def test_resolve_an_id_with_a_slash(lists_client: FlaskClient) -> None:
    given = [OLD_STYLE, f"{OLD_STYLE}v2", f"https://arxiv.org/abs/{OLD_STYLE}", "hep-th/0000000"]
    answer = lists_client.post("/api/resolve", json={"ids": given})
    assert _ids_and_titles(answer.get_json()) == {"results": [
        {"id": OLD_STYLE, "current": OLD_STYLE, "title": "Large N limit"},
        {"id": f"{OLD_STYLE}v2", "current": OLD_STYLE, "title": "Large N limit"},
        {"id": f"https://arxiv.org/abs/{OLD_STYLE}", "current": OLD_STYLE, "title": "Large N limit"},
        {"id": "hep-th/0000000", "current": None, "title": None}]}


@pytest.fixture
def store_calls(moved_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    """The store's get_papers and successor_of calls (the real methods run), by name."""
    calls: dict[str, list[object]] = {"get_papers": [], "successor_of": []}
    for name in calls:
        real = getattr(moved_store, name)

        def counted(arg: object, _real: Callable[[object], object] = real, _name: str = name) -> object:
            calls[_name].append(arg)
            return _real(arg)

        monkeypatch.setattr(moved_store, name, counted)
    return calls


def test_resolve_of_200_ids_reads_the_store_in_one_batch(lists_client: FlaskClient,
                                                         store_calls: dict[str, list[object]]) -> None:
    """For you resolves every star on each load: one get_papers for all of them (was one, plus one
    successor_of, per id: hundreds of Neo4j round trips), successor_of only for the ids still missing."""
    given = [SLUG, "other-paper"] + [f"gone-{i}" for i in range(198)]
    results = lists_client.post("/api/resolve", json={"ids": given}).get_json()["results"]
    assert [r["current"] for r in results[:3]] == [MOVED, "other-paper", None]
    assert len(store_calls["get_papers"]) == 2  # every id, then the successors found (MOVED)
    assert list(store_calls["get_papers"][1]) == [MOVED]  # type: ignore[call-overload]
    assert sorted(store_calls["successor_of"]) == sorted(i for i in given if i != "other-paper")


def test_bibtex_of_200_ids_reads_the_store_in_one_batch(lists_client: FlaskClient,
                                                        store_calls: dict[str, list[object]]) -> None:
    ids = [MOVED, "other-paper", OLD_STYLE, "same-key-1", "same-key-2"]
    assert post_bibtex(lists_client, ids).status_code == 200
    assert store_calls["successor_of"] == []
    # One look-up of the ids, then the export's own reads (first_seen a page, each paper's details).
    lookups = [c for c in store_calls["get_papers"] if len(list(c)) > 1]  # type: ignore[call-overload]
    assert len(lookups) == 2


def test_the_redirect_from_a_former_id_keeps_the_query(lists_client: FlaskClient) -> None:
    """/papers/<old id>?related=20 asked for the longer related list: the 301 lost it."""
    answer = lists_client.get(f"/papers/{SLUG}?related=20&x=a%2Fb")
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"/papers/{MOVED}?related=20&x=a%2Fb"
    answer = lists_client.get(f"/papers/{MOVED}v2")
    assert (answer.status_code, answer.headers["Location"]) == (301, f"/papers/{MOVED}")
    # A CR or LF sent raw in the query stays escaped: never a header of its own.
    answer = lists_client.get(f"/papers/{SLUG}", environ_overrides={"QUERY_STRING": "a=1\r\nSet-Cookie: x=1"})
    assert answer.status_code == 301 and "\n" not in answer.headers["Location"]
    assert "Set-Cookie" not in answer.headers


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
    post = paths["/api/bibtex"]["post"]
    assert post["operationId"] == "post_papers_bibtex" and "422" in post["responses"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/BibtexRequest"}
    assert paths["/api/resolve"]["post"]["operationId"] == "resolve_paper_ids"


def test_the_openapi_document_states_the_one_id_rule(lists_client: FlaskClient) -> None:
    """Every id list in the document: 1 to 200 characters, no NUL (the rule check_ids applies)."""
    document = lists_client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    lists = [schemas["BibtexRequest"]["properties"]["ids"], schemas["ResolveRequest"]["properties"]["ids"],
             schemas["RecommendRequest"]["properties"]["liked"],
             schemas["RecommendRequest"]["properties"]["disliked"],
             document["paths"]["/api/bibtex"]["get"]["parameters"][0]["schema"]]
    for schema in lists:
        assert schema["items"] == {"type": "string", "minLength": 1, "maxLength": 200,
                                   "pattern": "^[^\\x00]*$"}
    assert "without NUL" in schemas["BibtexRequest"]["properties"]["ids"]["description"]
    assert "without NUL" in document["paths"]["/api/bibtex"]["get"]["parameters"][0]["description"]

