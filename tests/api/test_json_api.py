"""The JSON API on the seed corpus (real store, real model): endpoints, filters, pagination,
limits, errors, hostile input and BibTeX (the Atom feed, health checks and the OpenAPI document
are in test_feeds.py, test_health.py and test_openapi.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.config import load_config
from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle, SearchFilters
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

IOI = "2211.00593"


def error_of(response: Any, status: int) -> dict[str, str]:
    """Assert a JSON error with the given status and return its error object."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type.startswith("application/json")
    body = response.get_json()
    # `parameter` names the parameter of every bad_parameter (and only there); `unknown_ids` is the 422's.
    extra = {"parameter"} if body["error"].get("code") == "bad_parameter" else (
        {"unknown_ids"} if status == 422 else set())
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} | extra
    assert "Traceback" not in body["error"]["message"]
    return body["error"]


def snapshot(store: EmbeddedStore) -> tuple[Any, ...]:
    """Everything a hostile request could change: counts, ids, titles, technique counts."""
    ids = sorted(store.paper_ids())
    return (store.stats(), ids, [p.title for p in store.get_papers(ids)],
            sorted((c.id, c.own_count) for c in store.technique_counts()))


# -- search ----------------------------------------------------------------------------------------
def test_search_hybrid_returns_explained_results(client: FlaskClient) -> None:
    body = client.get("/api/search?q=indirect+object+identification").get_json()
    assert body["mode"] == "hybrid" and body["total"] >= len(body["results"]) > 0
    top = body["results"][0]
    assert top["id"] == IOI
    assert {"id", "title", "score", "techniques", "why"} <= set(top)
    why = top["why"]
    assert why["semantic"] is not None and why["keyword"] is not None
    assert why["ranks"]["semantic"] >= 1 and why["ranks"]["keyword"] >= 1
    ranks = why["ranks"]
    # Every list it is on adds its vote: here also LM Behavior's, which "indirect object identification"
    # (a cue word of that topic) is the name of.
    assert ranks.get("topic") == 1
    assert why["rrf"] == pytest.approx(sum(1 / (60 + r) for r in ranks.values()), abs=1e-4)
    assert "indirect object identification" in why["best_sentence"].lower()
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_explain_embedding_picks_the_closest_sentence(client: FlaskClient) -> None:
    fast = client.get("/api/search?q=copy+suppression&limit=1").get_json()["results"][0]
    slow = client.get("/api/search?q=copy+suppression&limit=1&explain=embedding").get_json()["results"][0]
    assert fast["id"] == slow["id"] == "2310.04625"
    assert fast["why"]["best_sentence_by"] == "overlap" and slow["why"]["best_sentence_by"] == "embedding"
    assert 0 < slow["why"]["best_sentence_score"] <= 1
    assert "suppress" in slow["why"]["best_sentence"].lower()


def test_search_says_which_named_techniques_no_paper_is_tagged_with(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    assert not seed_store.filter_ids(SearchFilters(technique_ids=["steering_vector"]))
    body = client.get("/api/search", query_string={"q": "steering vectors"}).get_json()
    assert body["not_tagged"] == ["steering_vector"] and body["using_first"] == []
    named = client.get("/api/search", query_string={"q": "logit lens"}).get_json()
    assert named["not_tagged"] == [] and named["using_first"] == ["logit_lens"]


@pytest.mark.parametrize("mode", ["semantic", "keyword"])
def test_search_single_modes(client: FlaskClient, mode: str) -> None:
    body = client.get(f"/api/search?q=induction+heads&mode={mode}&limit=5").get_json()
    assert body["mode"] == mode
    assert "2209.11895" in [r["id"] for r in body["results"]]
    other = "keyword" if mode == "semantic" else "semantic"
    assert all(r["why"][mode] is not None and r["why"][other] is None for r in body["results"])


def test_search_technique_filter_includes_refinements(client: FlaskClient, seed_store: EmbeddedStore) -> None:
    # "cma" (causal mediation analysis) is refined by activation patching, path patching, ACDC...
    body = client.get("/api/search?q=circuits+in+language+models&technique=cma&limit=50").get_json()
    allowed = seed_store.filter_ids(_filters(technique_ids=["cma"]))
    ids = [r["id"] for r in body["results"]]
    assert ids and set(ids) <= allowed
    assert body["total"] == len(allowed)  # every filtered paper is a semantic candidate
    patching_only = [r for r in body["results"]
                     if not any(t["id"] == "cma" for t in r["techniques"])]
    assert patching_only, "a paper using only a refinement of cma must pass the filter"
    for r in body["results"]:
        assert any(t["matched"] for t in r["techniques"]), r["id"]
    narrow = client.get("/api/search?q=circuits&technique=cma&refinements=false&limit=50").get_json()
    assert {r["id"] for r in narrow["results"]} <= allowed
    assert len(narrow["results"]) < len(ids)


def test_search_technique_match_all_keeps_the_papers_using_each_technique(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    """technique_match=all: papers using each given id (a technique, or a criterion as the technique filter
    takes it) or one of its refinements; any (the default) is the union. Every mode, and no query, alike."""
    ids = ("cma", "faithfulness")  # a technique refined by the patchings, and an evaluation criterion
    each = [seed_store.filter_ids(_filters(technique_ids=[i])) for i in ids]
    both, either = each[0] & each[1], each[0] | each[1]
    assert both and len(both) < len(either)
    asked = "technique=cma&technique=faithfulness&limit=100"
    for search in ("", "&q=circuits+in+language+models", "&q=circuits+in+language+models&mode=semantic"):
        every = client.get(f"/api/search?{asked}&technique_match=all{search}").get_json()
        assert {r["id"] for r in every["results"]} == both and every["total"] == len(both), search
        anyone = client.get(f"/api/search?{asked}&technique_match=any{search}").get_json()
        assert {r["id"] for r in anyone["results"]} == either, search
        assert client.get(f"/api/search?{asked}{search}").get_json() == anyone  # any is the default
    keyword = client.get(f"/api/search?{asked}&technique_match=all&q=circuits&mode=keyword").get_json()
    assert keyword["results"] and {r["id"] for r in keyword["results"]} <= both
    # Without refinements each id counts only itself.
    exact = [seed_store.filter_ids(_filters(technique_ids=[i], include_refinements=False)) for i in ids]
    narrow = client.get(f"/api/search?{asked}&technique_match=all&refinements=false").get_json()
    assert {r["id"] for r in narrow["results"]} == exact[0] & exact[1]
    assert len(exact[0] & exact[1]) < len(both)


def test_openapi_documents_technique_match(client: FlaskClient) -> None:
    """The document declares technique_match with its values and default, as the API applies them."""
    doc = client.get("/api/openapi.json").get_json()
    [param] = [p for p in doc["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "technique_match"]
    assert param["in"] == "query" and not param.get("required", False)
    assert param["schema"] == {"type": "string", "enum": ["any", "all"], "default": "any"}
    assert "refinement" in param["description"]
    for value in param["schema"]["enum"]:
        assert client.get(f"/api/search?technique=cma&technique_match={value}").status_code == 200


def _filters(**kw: Any) -> Any:
    from kg.entities import SearchFilters

    return SearchFilters(**kw)


def test_search_year_and_source_filters(client: FlaskClient) -> None:
    body = client.get("/api/search?q=neurons&year_from=2023&year_to=2023&limit=50").get_json()
    assert body["results"] and all(r["year"] == 2023 for r in body["results"])
    none = client.get("/api/search?q=neurons&source=arxiv").get_json()
    assert none["results"] == [] and none["total"] == 0  # the seed corpus came from a records file
    assert client.get("/api/search?q=neurons&source=records&limit=3").get_json()["results"]


def test_search_section_filter_takes_sections_and_headings_only(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    section = "findings-and-applications/findings-on-features"
    for value in (section, "findings-and-applications"):  # a heading above sections matches them all
        body = client.get(f"/api/search?section={value}&limit=100").get_json()
        ids = {r["id"] for r in body["results"]}
        assert ids and ids == seed_store.filter_ids(_filters(section_ids=[value])), value
    # One unknown id among known ones is a 400 naming it, not an empty 200; so is a partial slug.
    for bad in ("findings-on-nothing", "findings-and", section + "/deeper"):
        err = error_of(client.get(f"/api/search?q=x&section={section}&section={bad}"), 400)
        assert err["code"] == "bad_parameter"
        assert "'section'" in err["message"] and repr(bad) in err["message"]
        assert "/api/sections" in err["message"]


def test_search_empty_query_with_filter_lists_newest_first(client: FlaskClient) -> None:
    body = client.get("/api/search?technique=logit_lens&limit=20").get_json()
    dates = [r["published"] or str(r["year"]) for r in body["results"]]
    assert body["total"] == len(body["results"]) >= 3
    assert dates == sorted(dates, reverse=True)


def test_search_pagination_is_a_consistent_slice(client: FlaskClient) -> None:
    full = client.get("/api/search?q=attention+heads&limit=20").get_json()
    first = client.get("/api/search?q=attention+heads&limit=5&offset=0").get_json()
    second = client.get("/api/search?q=attention+heads&limit=5&offset=5").get_json()
    ids = [r["id"] for r in full["results"]]
    assert [r["id"] for r in first["results"]] == ids[:5]
    assert [r["id"] for r in second["results"]] == ids[5:10]
    beyond = client.get("/api/search?q=attention+heads&offset=10000").get_json()
    assert beyond["results"] == [] and beyond["total"] == full["total"]


@pytest.mark.parametrize(("query", "param", "fragment"), [
    ("q=" + "a" * 1001, "q", "1000"),
    ("q=x&limit=101", "limit", "100"),
    ("q=x&limit=0", "limit", "between 1 and 100"),
    ("q=x&limit=ten", "limit", "integer"),
    ("q=x&offset=10001", "offset", "10000"),
    ("q=x&offset=-1", "offset", "between 0"),
    ("q=x&mode=fuzzy", "mode", "'fuzzy' is not a search mode; use hybrid, semantic or keyword"),
    ("q=x&technique=not_a_technique", "technique", "unknown technique"),
    ("q=x&topic=nope", "topic", "unknown topic"),
    ("q=x&section=no-such-section", "section", "unknown section"),
    ("q=x&year_from=2024&year_to=2020", "year_from",
     "2024 is after year_to 2020; swap them or widen the range"),
    ("q=x&year_from=99999", "year_from", "between"),
    ("q=x&source=web", "source", "'web' is not a source; use list, arxiv or records"),
    ("q=x&refinements=maybe", "refinements", "'maybe' is neither true nor false; use true or false"),
    ("q=x&technique=cma&technique_match=every", "technique_match",
     "'every' is not a way to match techniques; use any or all"),
    ("technique=cma&technique_match=", "technique_match",
     "an empty value is not a way to match techniques; use any or all"),
    ("q=x&explain=why", "explain", "'why' is not a way to explain; use auto, embedding or overlap"),
    ("", "q", "query or at least one filter"),
])
def test_search_bad_parameters_are_named_400s(
    client: FlaskClient, query: str, param: str, fragment: str
) -> None:
    err = error_of(client.get(f"/api/search?{query}"), 400)
    assert err["code"] == "bad_parameter"
    assert f"'{param}'" in err["message"] and fragment in err["message"]


HOSTILE = [
    "') OR 1=1 --",
    '" MATCH (n) DETACH DELETE n //',
    "probing AND NOT circuits OR NEAR(a b) * ^ \"unbalanced",
    'title:logit* OR {abstract}:"lens" -sae',
    "'; DROP TABLE papers; --",
    "\\\\ %00 \u0000 \ufffd",
    "\U0001f9e0 mécanisme d'interprétabilité 機械論的解釈可能性 تفسير",
]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_hostile_queries_are_plain_text_and_change_nothing(
    client: FlaskClient, seed_store: EmbeddedStore, mode: str
) -> None:
    before = snapshot(seed_store)
    for text in HOSTILE:
        response = client.get("/api/search", query_string={"q": text, "mode": mode})
        if "\u0000" in text:
            assert error_of(response, 400)["message"].startswith("parameter 'q'")
            continue
        assert response.status_code == 200, (text, response.get_data(as_text=True)[:300])
        assert isinstance(response.get_json()["results"], list)
    # FTS5 syntax is matched literally: the operator words are just words.
    literal = client.get("/api/search", query_string={"q": "probing AND NOT", "mode": "keyword"}).get_json()
    assert "2305.01610" in [r["id"] for r in literal["results"]]
    big = "\u00e9\u6a5f\U0001f9e0" * 3500  # ~10 KB of unicode
    err = error_of(client.get("/api/search", query_string={"q": big, "mode": mode}), 400)
    assert "at most 1000 characters" in err["message"]
    # 1,000 characters of 3 bytes on average are 3,000 bytes as UTF-8: over the byte cap, which keeps a
    # percent-encoded query within gunicorn's request line; 666 of them (1,998 bytes) are within it.
    err = error_of(client.get("/api/search", query_string={"q": big[:1000], "mode": mode}), 400)
    assert err["message"].startswith("parameter 'q': at most 2000 bytes as UTF-8 allowed (got 2999;")
    ok = client.get("/api/search", query_string={"q": big[:666], "mode": mode})
    assert ok.status_code == 200
    for text in HOSTILE[:3]:
        assert error_of(client.get(f"/api/papers/{text}"), 404)["code"] == "not_found"
        assert error_of(client.post("/api/recommend", json={"liked": [text]}), 422)
    assert snapshot(seed_store) == before


# -- papers ----------------------------------------------------------------------------------------
def test_paper_detail_has_neighbourhood(client: FlaskClient) -> None:
    body = client.get(f"/api/papers/{IOI}").get_json()
    assert body["id"] == IOI and body["arxiv_id"] == IOI
    assert "Kevin Wang" in body["authors"]
    assert body["techniques"]
    assert all({"id", "label", "source", "evidence"} <= set(t) for t in body["techniques"])
    assert {t["source"] for t in body["techniques"]} <= {"list", "extracted"}
    assert any(t["id"] == "mean_ablation" and t["source"] == "list" for t in body["techniques"])
    assert body["list_rows"] and all("section_id" in r for r in body["list_rows"])
    assert isinstance(body["findings"], list) and isinstance(body["evaluations"], list)
    assert "embedding" not in body


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    for url in ("/api/papers/0000.00000", "/api/papers/0000.00000/related", "/api/papers/nope/bibtex",
                "/api/techniques/not_a_technique", "/api/no/such/route"):
        assert error_of(client.get(url), 404)["code"] == "not_found"


@pytest.mark.parametrize("given", [f"{IOI}v3", f"{IOI}v1", f"https://arxiv.org/abs/{IOI}v3",
                                   f"https://arxiv.org/pdf/{IOI}v2.pdf", f"arXiv:{IOI}v3"])
def test_versioned_arxiv_ids_are_answered_with_the_canonical_id(client: FlaskClient, given: str) -> None:
    # Ingest stores 2211.00593v3 as 2211.00593: the API answers for that paper (no redirect), and
    # the body carries the canonical id.
    detail = client.get(f"/api/papers/{given}")
    assert detail.status_code == 200 and detail.get_json()["id"] == IOI
    related = client.get(f"/api/papers/{given}/related?limit=3")
    assert related.status_code == 200
    assert related.get_json() == client.get(f"/api/papers/{IOI}/related?limit=3").get_json()
    bib = client.get(f"/api/papers/{given}/bibtex")
    assert bib.status_code == 200 and bib.get_data() == client.get(f"/api/papers/{IOI}/bibtex").get_data()


def test_versions_of_unknown_ids_stay_404(client: FlaskClient) -> None:
    for url in ("/api/papers/0000.00000v2", "/api/papers/0000.00000v2/related",
                "/api/papers/https://arxiv.org/abs/0000.00000v1/bibtex", "/api/papers/logit-lensv2"):
        assert error_of(client.get(url), 404)["code"] == "not_found", url
    assert "'0000.00000v2'" in error_of(client.get("/api/papers/0000.00000v2"), 404)["message"]


def test_related_endpoint(client: FlaskClient) -> None:
    body = client.get(f"/api/papers/{IOI}/related?limit=5").get_json()
    assert len(body["results"]) == 5
    assert all(r["reasons"] and r["id"] != IOI for r in body["results"])
    assert error_of(client.get(f"/api/papers/{IOI}/related?limit=500"), 400)["message"].startswith(
        "parameter 'limit'")


# -- recommend -------------------------------------------------------------------------------------
def test_recommend_excludes_liked_and_disliked(client: FlaskClient) -> None:
    liked, disliked = [IOI, "2304.14997"], ["2310.08744"]
    body = client.post("/api/recommend", json={"liked": liked, "disliked": disliked, "limit": 8}).get_json()
    ids = [r["id"] for r in body["results"]]
    assert len(ids) == 8 and not set(ids) & {*liked, *disliked}
    assert all(r["reasons"] for r in body["results"])


def test_recommend_errors(client: FlaskClient) -> None:
    assert error_of(client.post("/api/recommend", data="{not json", content_type="application/json"),
                    400)["code"] == "malformed_json"
    assert error_of(client.post("/api/recommend", data="liked=1", content_type="text/plain"),
                    415)["code"] == "unsupported_media_type"
    assert error_of(client.post("/api/recommend", data='{"liked":["x"]}'), 415)  # no content type
    assert "request body must be a JSON object" in error_of(
        client.post("/api/recommend", json=[IOI]), 400)["message"]
    assert "'liked'" in error_of(client.post("/api/recommend", json={}), 400)["message"]
    assert "'liked'" in error_of(client.post("/api/recommend", json={"liked": []}), 400)["message"]
    assert "'liked'" in error_of(client.post("/api/recommend", json={"liked": [1, 2]}), 400)["message"]
    assert "'limit'" in error_of(client.post("/api/recommend", json={"liked": [IOI], "limit": 101}),
                                 400)["message"]
    assert "'limit'" in error_of(client.post("/api/recommend", json={"liked": [IOI], "limit": True}),
                                 400)["message"]
    assert "'extra'" in error_of(client.post("/api/recommend", json={"liked": [IOI], "extra": 1}),
                                 400)["message"]
    too_many = error_of(client.post("/api/recommend", json={"liked": [f"p{i}" for i in range(201)]}), 400)
    assert "at most 200" in too_many["message"]
    unknown = error_of(client.post("/api/recommend", json={"liked": [IOI, "nope-1"]}), 422)
    assert "nope-1" in unknown["message"]
    huge = json.dumps({"liked": ["x" * 100_000]})
    assert "65536" in error_of(client.post("/api/recommend", data=huge, content_type="application/json"),
                               413)["message"]
    assert error_of(client.get("/api/recommend"), 405)["code"] == "method_not_allowed"
    assert error_of(client.delete("/api/search"), 405)


def test_recommend_rejects_null_lists(client: FlaskClient) -> None:
    # The document declares liked and disliked as arrays, not nullable: null is a 400, not "none".
    for body, name in (({"liked": [IOI], "disliked": None}, "disliked"), ({"liked": None}, "liked")):
        err = error_of(client.post("/api/recommend", json=body), 400)
        assert err["code"] == "bad_parameter" and f"parameter '{name}'" in err["message"]
        assert "not null" in err["message"]


def test_recommend_rejects_an_id_both_liked_and_disliked(client: FlaskClient) -> None:
    body = {"liked": [IOI, "2304.14997"], "disliked": ["2310.08744", "2304.14997"]}
    err = error_of(client.post("/api/recommend", json=body), 400)
    assert "parameter 'disliked'" in err["message"] and "'2304.14997'" in err["message"]
    assert "also in liked" in err["message"]


def test_recommend_drops_repeated_ids(client: FlaskClient) -> None:
    body = {"liked": ["2304.14997", IOI, "2304.14997", IOI], "disliked": ["2310.08744", "2310.08744"],
            "limit": 5}
    answer = client.post("/api/recommend", json=body).get_json()
    assert answer["liked"] == ["2304.14997", IOI] and answer["disliked"] == ["2310.08744"]
    once = client.post("/api/recommend", json={"liked": ["2304.14997", IOI], "disliked": ["2310.08744"],
                                               "limit": 5}).get_json()
    assert answer["results"] == once["results"]


def test_recommend_json_null_body_is_not_called_malformed(client: FlaskClient) -> None:
    for raw in ("null", "[]", "3", '"liked"'):
        err = error_of(client.post("/api/recommend", data=raw, content_type="application/json"), 400)
        assert err == {"code": "bad_request", "message": "the request body must be a JSON object"}, raw
    for raw in ("{not json", "", "nul"):
        err = error_of(client.post("/api/recommend", data=raw, content_type="application/json"), 400)
        assert err["code"] == "malformed_json", raw


# -- browse, runs, stats ---------------------------------------------------------------------------
def test_technique_tree_counts(client: FlaskClient, seed_store: EmbeddedStore) -> None:
    tree = client.get("/api/techniques").get_json()
    cma = next(n for n in tree["techniques"] if n["id"] == "cma")
    assert cma["label"] == "Causal Mediation Analysis (CMA)"
    children = {c["id"]: c for c in cma["children"]}
    assert "activation_patching" in children
    assert cma["total_count"] == len(seed_store.filter_ids(_filters(technique_ids=["cma"])))
    assert cma["total_count"] >= cma["own_count"] + children["activation_patching"]["own_count"] - 1
    assert {"techniques", "evaluations", "topics"} <= set(tree)


def test_technique_detail_paginates(client: FlaskClient, seed_store: EmbeddedStore) -> None:
    full = client.get("/api/techniques/cma?limit=100").get_json()
    assert full["label"] == "Causal Mediation Analysis (CMA)"
    assert {r["id"] for r in full["refinements"]} >= {"activation_patching", "path_patching"}
    total = full["papers"]["total"]
    assert total == len(full["papers"]["results"]) >= 3
    page = client.get("/api/techniques/cma?limit=2&offset=2").get_json()
    assert [p["id"] for p in page["papers"]["results"]] == [p["id"] for p in full["papers"]["results"][2:4]]
    years = [p["year"] for p in full["papers"]["results"]]
    assert years == sorted(years, reverse=True)  # newest first (papers without a date sort by year)
    assert sum(full["papers_per_year"].values()) == total
    assert all(c["count"] >= 1 and c["id"] != "cma" for c in full["cooccurring"])
    # The criteria CMA's papers are evaluated with, each count the AND search of the two (the web page's).
    evaluations = {c["id"]: c["count"] for c in full["cooccurring_evaluations"]}
    assert evaluations and set(evaluations) <= {n.id for n in seed_store.taxonomy_nodes()
                                                if n.label == "Evaluation"}
    for criterion, count in evaluations.items():
        both = _filters(technique_ids=["cma", criterion], technique_match="all")
        assert count == len(seed_store.filter_ids(both)) >= 1
    central = client.get("/api/techniques/cma?sort=centrality&limit=100").get_json()
    assert {p["id"] for p in central["papers"]["results"]} == {p["id"] for p in full["papers"]["results"]}
    assert error_of(client.get("/api/techniques/cma?sort=random"), 400)


def test_topics_sections_new_runs_stats(client: FlaskClient, seed_store: EmbeddedStore) -> None:
    topics = client.get("/api/topics").get_json()["topics"]
    superposition = next(t for t in topics if t["id"] == "superposition")
    assert superposition["total_count"] >= 1
    # A topic's page lists the papers the topic filter finds, as many as the tree counts.
    detail = client.get("/api/techniques/superposition?limit=100").get_json()
    assert detail["node_label"] == "Topic"
    assert detail["papers"]["total"] == superposition["total_count"] == len(detail["papers"]["results"])
    assert {p["id"] for p in detail["papers"]["results"]} == seed_store.filter_ids(
        _filters(topic_ids=["superposition"]))
    sections = client.get("/api/sections").get_json()["sections"]
    assert any(s["title"] == "Techniques" and s["count"] >= 5 for s in sections)
    new = client.get("/api/new?since=2000-01-01&limit=100").get_json()
    assert len(new["results"]) == len(seed_store.paper_ids())
    assert client.get("/api/new?since=2999-01-01").get_json()["results"] == []
    assert "'since'" in error_of(client.get("/api/new?since=yesterday"), 400)["message"]
    assert client.get("/api/new?since=2000-01-01T00:00:00Z&limit=100").get_json()["results"] == new["results"]
    runs = client.get("/api/runs").get_json()["runs"]
    assert runs and runs[0]["status"] == "succeeded" and runs[0]["source"] == "records"
    assert client.get("/api/stats").get_json() == seed_store.stats()


def test_runs_refuse_a_source_no_run_has(client: FlaskClient) -> None:
    """`?source=` names one of the sources runs are recorded under; a typo (arxiv_weekly for arxiv-weekly)
    is a 400 naming the parameter and the sources, not an empty list as if no such run had happened."""
    runs = client.get("/api/runs?source=records").get_json()["runs"]
    assert runs and {r["source"] for r in runs} == {"records"}
    assert client.get("/api/runs?source=arxiv-weekly").get_json() == {"runs": []}
    for bad in ("arxiv_weekly", "", "Recordz"):  # "Records" is records: a choice is read in any case
        error = error_of(client.get("/api/runs", query_string={"source": bad}), 400)
        assert error["code"] == "bad_parameter"
        shown = repr(bad) if bad else "an empty value"
        assert error["message"] == (f"parameter 'source': {shown} is not a source; use list, arxiv, records, "
                                    "arxiv-weekly, arxiv-weekly-load or reextract"), bad


def test_new_pages_through_a_backfill_larger_than_the_limit(tmp_path: Path) -> None:
    """130 papers first seen since a date (more than limit's maximum, 100): total counts them all and
    offset pages on, so a client reads every one exactly once (offset used to be ignored: page 2
    repeated page 1, and nothing said there were more)."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers([PaperBundle(Paper(id=f"backfill-{i:03d}", title=f"Backfilled paper {i}"))
                             for i in range(130)])
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        first = client.get("/api/new?since=2000-01-01&limit=100").get_json()
        assert first["since"] == "2000-01-01"
        assert (first["total"], first["limit"], first["offset"], len(first["results"])) == (130, 100, 0, 100)
        rest = client.get("/api/new?since=2000-01-01&limit=100&offset=100").get_json()
        assert (rest["total"], rest["offset"], len(rest["results"])) == (130, 100, 30)
        read = [r["id"] for r in first["results"] + rest["results"]]
        assert sorted(read) == sorted(store.paper_ids())  # every paper, none twice
        assert read == [p.id for p in store.new_papers("2000-01-01", limit=200)]  # newest first
        past = client.get("/api/new?since=2000-01-01&offset=500").get_json()
        assert (past["total"], past["results"]) == (130, [])
        default = client.get("/api/new").get_json()  # the last 7 days: all of them were just stored
        assert (default["total"], default["limit"], default["offset"]) == (130, 50, 0)
        assert len(default["results"]) == 50
        for bad in ("-1", "10001", "x", ""):
            assert "parameter 'offset'" in error_of(client.get(f"/api/new?offset={bad}"), 400)["message"]
    finally:
        store.close()


# -- BibTeX ----------------------------------------------------------------------------------------
def test_bibtex(client: FlaskClient) -> None:
    response = client.get(f"/api/papers/{IOI}/bibtex")
    assert response.status_code == 200 and response.mimetype == "text/x-bibtex"
    text = response.get_data(as_text=True)
    # ICLR 2023, arXiv 2022: the key keeps the paper's own year, so a venue arriving never changes it.
    assert text.startswith("@inproceedings{wang2022interpretability,")
    assert "booktitle = {International Conference on Learning Representations (ICLR 2023)}" in text
    assert "note =" not in text
    assert "eprint = {2211.00593}" in text and "archivePrefix = {arXiv}" in text
    assert "author = {Kevin Wang and Alexandre Variengien" in text
    assert text.count("{") == text.count("}")


def test_bibtex_escapes_hostile_fields(plumbing_client: FlaskClient) -> None:
    text = plumbing_client.get("/api/papers/hostile-1/bibtex").get_data(as_text=True)
    title_line = next(line for line in text.splitlines() if line.strip().startswith("title"))
    # {braces} is a TeX group and $x_1$ math, read as text first (arXiv titles are TeX).
    assert "braces" in title_line and r"\{braces\}" not in title_line
    assert r"100\%" in title_line and r"x$_{1}$" in title_line
    assert r"\&" in title_line and r"\#" in title_line and r"\~{}" in title_line
    depth = 0
    for ch in re.sub(r"\\[{}]", "", text):  # braces must balance once escaped braces are removed
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert "\x01" not in text and "\x7f" not in text


# -- empty values, old-style ids, a missing model, acronyms, former ids ----------------------------
def test_empty_values_are_not_taken_for_absent_ones(client: FlaskClient) -> None:
    # `?limit=` is a value the document does not allow (an integer is declared): a 400, not the default.
    for url, name in (("/api/new?limit=", "limit"), ("/feeds/new.atom?limit=", "limit"),
                      ("/api/search?q=x&offset=", "offset"), ("/api/search?q=x&mode=", "mode"),
                      ("/api/search?q=x&refinements=", "refinements"), ("/api/runs?limit=", "limit"),
                      ("/api/search?q=x&limit=1_0", "limit"), ("/api/search?q=x&limit=%205", "limit")):
        assert f"parameter '{name}'" in error_of(client.get(url), 400)["message"], url
    huge = "9" * 5000
    assert "between 1 and 100" in error_of(client.get(f"/api/search?q=x&limit={huge}"), 400)["message"]


def test_old_style_arxiv_ids_with_a_slash_are_routed(tmp_path: Path) -> None:
    # Pre-2007 arXiv ids ("hep-th/9901001") are paper ids with a slash: every /api/papers route
    # must reach them, as the web UI's paper page (which links to the BibTeX route) does.
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    try:
        store.init_schema()
        store.upsert_papers([PaperBundle(Paper(
            id="hep-th/9901001", title="An old paper on attention", abstract="Old ideas. Still good.",
            authors=["Ada Lovelace"], arxiv_id="hep-th/9901001", year=1999, sources=["arxiv"],
        ))])
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        assert client.get("/api/papers/hep-th/9901001").get_json()["id"] == "hep-th/9901001"
        assert client.get("/api/papers/hep-th/9901001/related").get_json()["id"] == "hep-th/9901001"
        bib = client.get("/api/papers/hep-th/9901001/bibtex")
        assert bib.status_code == 200 and "eprint = {hep-th/9901001}" in bib.get_data(as_text=True)
        assert error_of(client.get("/api/papers/hep-th/0000000"), 404)["code"] == "not_found"
    finally:
        store.close()


def test_missing_model_is_a_503_that_says_what_needs_no_model(
    seed_store: EmbeddedStore, tmp_path: Path
) -> None:
    config = replace(load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)}),
                     embedding_model=str(tmp_path / "no-model-here"))
    client = create_app({"TESTING": True, "STORE": seed_store, "PAPERKG_CONFIG": config}).test_client()
    for mode in ("hybrid", "semantic"):
        error = error_of(client.get("/api/search", query_string={"q": "induction heads", "mode": mode}), 503)
        assert error == {"code": "model_unavailable", "message": "semantic search is unavailable: the server "
                         "has no usable embedding model; mode=keyword needs none"}
        assert "no-model-here" not in error["message"]  # the server's paths stay in its log
    keyword = client.get("/api/search", query_string={"q": "indirect object", "mode": "keyword"})
    assert IOI in [r["id"] for r in keyword.get_json()["results"]]
    # QA: a keyword search wants the model only for explain=embedding; the hint named the mode it had.
    error = error_of(client.get("/api/search", query_string={"q": "indirect object", "mode": "keyword",
                                                             "explain": "embedding"}), 503)
    assert error == {"code": "model_unavailable", "message": "explain=embedding is unavailable: the server "
                     "has no usable embedding model; leave explain out (explain=overlap needs none)"}
    # A semantic search with explain=embedding needs the model twice: keyword mode alone is not enough.
    error = error_of(client.get("/api/search", query_string={"q": "induction heads", "mode": "semantic",
                                                             "explain": "embedding"}), 503)
    assert error["message"].endswith("; mode=keyword without explain=embedding needs none"), error
    for explain in ("overlap", "auto"):  # neither needs the model in keyword mode
        answer = client.get("/api/search", query_string={"q": "indirect object", "mode": "keyword",
                                                         "explain": explain})
        assert answer.status_code == 200 and IOI in [r["id"] for r in answer.get_json()["results"]], explain


def test_search_reports_the_acronyms_it_spelled_out(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": "IOI circuit", "mode": "hybrid"}).get_json()
    assert body["acronyms"] == {"IOI": "indirect object identification"}
    assert "2211.00593" in [r["id"] for r in body["results"][:3]]
    keyword = client.get("/api/search", query_string={"q": "IOI circuit", "mode": "keyword"}).get_json()
    assert keyword["acronyms"] == {}


def test_recommend_takes_former_ids_for_the_papers_that_replaced_them(tmp_path: Path) -> None:
    """Stars saved in the browser before a paper moved (slug -> arXiv id) still count."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    embedder = HashEmbedder()
    titles = {"a-circuit-for-ioi": "A circuit for indirect object identification",
              "other-paper": "Sparse autoencoders find features", "third": "Induction heads"}
    store.upsert_papers([PaperBundle(paper=Paper(id=i, title=t, embedding=embedder.encode([t])[0]))
                         for i, t in titles.items()])
    title = titles["a-circuit-for-ioi"]
    store.upsert_papers([PaperBundle(paper=Paper(id="2211.00593", title=title, arxiv_id="2211.00593",
                                                 embedding=embedder.encode([title])[0]),
                                     replaces=["a-circuit-for-ioi"])])
    client = create_app({"STORE": store, "EMBEDDER": embedder, "TESTING": True}).test_client()
    answer = client.post("/api/recommend", json={"liked": ["a-circuit-for-ioi", "2211.00593"],
                                                 "disliked": ["third"]})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["liked"] == ["2211.00593"] and body["disliked"] == ["third"]
    assert [r["id"] for r in body["results"]] == ["other-paper"]
    clash = client.post("/api/recommend", json={"liked": ["a-circuit-for-ioi"], "disliked": ["2211.00593"]})
    assert clash.status_code == 400 and "is also in liked" in clash.get_json()["error"]["message"]
    unknown = client.post("/api/recommend", json={"liked": ["a-circuit-for-ioi", "never-stored"]})
    assert unknown.status_code == 422 and "never-stored" in unknown.get_json()["error"]["message"]
    assert "a-circuit-for-ioi" not in unknown.get_json()["error"]["message"]
    store.close()


def test_recommend_takes_ids_as_a_paper_page_does(client: FlaskClient) -> None:
    """QA: /api/recommend refused 2211.00593v2 (422) while /papers/2211.00593v2, /related and BibTeX take
    it: a versioned id or an abs URL names the stored paper."""
    plain = client.post("/api/recommend", json={"liked": [IOI], "disliked": ["2310.08744"], "limit": 5})
    for liked, disliked in ((f"{IOI}v2", "2310.08744v1"), (f"https://arxiv.org/abs/{IOI}v3", "2310.08744")):
        answer = client.post("/api/recommend", json={"liked": [liked], "disliked": [disliked], "limit": 5})
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert body["liked"] == [IOI] and body["disliked"] == ["2310.08744"]
        assert body["results"] == plain.get_json()["results"]
    clash = client.post("/api/recommend", json={"liked": [IOI], "disliked": [f"{IOI}v2"]})
    assert clash.status_code == 400
    assert "is also in liked (under another id for it)" in clash.get_json()["error"]["message"]


# -- QA: `since` near year 1 or 9999, lone surrogates in recommended ids ----------------------------
@pytest.mark.parametrize("url", ["/api/new", "/feeds/new.atom"])
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00"])
def test_a_since_outside_the_datetime_range_is_a_400_naming_it(
    client: FlaskClient, url: str, since: str
) -> None:
    """Valid RFC 3339, but its moment in UTC is before year 1 or after year 9999: a 500 before (the
    OverflowError of converting it to UTC)."""
    err = error_of(client.get(url, query_string={"since": since}), 400)
    assert err["code"] == "bad_parameter"
    assert err["message"] == ("parameter 'since': must be a date like 2024-01-31 or an RFC 3339 timestamp "
                              "like 2024-01-31T12:00:00Z, from 0001-01-01 to 9999-12-31 in UTC, not "
                              f"{since!r}")
    # The ends of the range themselves are fine: everything, and nothing.
    assert client.get(url, query_string={"since": "0001-01-01T00:00:00Z"}).status_code == 200
    assert client.get(url, query_string={"since": "9999-12-31"}).status_code == 200
    assert client.get("/api/new", query_string={"since": "9999-12-31T23:59:59Z"}).get_json()["results"] == []


@pytest.mark.parametrize("body", [
    '{"liked": ["\\udc80"]}', '{"liked": ["\\ud800x"]}', '{"liked": ["2211.00593", "\\udfff"]}',
    '{"liked": ["2211.00593"], "disliked": ["\\udc80"]}',
    '{"liked": ["2211.00593"], "disliked": ["a\\ud800"]}',
])
def test_recommend_refuses_ids_with_lone_surrogates(client: FlaskClient, body: str) -> None:
    """JSON may escape half a surrogate pair ("\\udc80"): no paper id is such a string, and it reached the
    store's UTF-8 encoder (UnicodeEncodeError, a 500) before; a 400 naming the list now."""
    field = "disliked" if "disliked" in body else "liked"
    err = error_of(client.post("/api/recommend", data=body, content_type="application/json"), 400)
    assert err["code"] == "bad_parameter"
    assert err["message"].startswith(f"parameter '{field}': ids must be valid Unicode text"), err
    assert "lone surrogate '\\ud" in err["message"], err  # named, escaped: the message stays valid text
    # A NUL is a 400 too, as in every list of ids (api.params.check_ids): no paper id holds one.
    assert error_of(client.post("/api/recommend", json={"liked": ["a\x00"]}), 400)


# -- withdrawn papers: marked on every paper the API returns, not hidden -----------------------------
WITHDRAWN_ID, KEPT_ID = "2611.66601", "2611.66602"
WITHDRAWAL_NOTICE = ("This paper has been withdrawn by the authors due to an error in the patching "
                     "experiments of Section 4.")


def withdrawn_store(path: Path) -> EmbeddedStore:
    """A real SQLite store, written as arXiv ingests do: a paper whose v2 replaced its abstract by arXiv's
    withdrawal notice (v1 ingested first, then the withdrawing v2), and a paper on the same technique
    whose abstract discusses withdrawn papers (not withdrawn itself). Both use activation patching."""
    from ingest.extract import Extractor
    from ingest.pipeline import run_ingest
    from ingest.records import Record
    from kg.taxonomy import load_taxonomy

    store = taxonomy_store(path)
    kw: dict[str, Any] = {"embedder": HashEmbedder(), "extractor": Extractor(load_taxonomy()),
                          "progress": False}
    v1 = Record(source="arxiv", source_id=WITHDRAWN_ID, arxiv_id=WITHDRAWN_ID, version=1,
                published="2026-11-20", updated="2026-11-20", authors=["Ada Lovelace"],
                title="Activation Patching Finds a Refusal Circuit in Llama",
                abstract="We use activation patching to find a circuit of attention heads that implements "
                         "refusal in Llama-2.")
    kept = Record(source="arxiv", source_id=KEPT_ID, arxiv_id=KEPT_ID, version=1, published="2026-11-21",
                  authors=["Grace Hopper"], title="Activation Patching on Papers Withdrawn by Their Authors",
                  abstract="We use activation patching on language models trained on papers withdrawn by "
                           "their authors and find the refusal circuit that recalls why.")
    run_ingest(store, [v1, kept], source="arxiv", **kw)
    summary = run_ingest(store, [replace(v1, abstract=WITHDRAWAL_NOTICE, version=2, updated="2026-11-25")],
                         source="arxiv", **kw)
    assert summary.updated == 1
    return store


def test_every_paper_the_api_returns_says_whether_it_is_withdrawn(tmp_path: Path) -> None:
    """Year-of-runs QA: a withdrawn paper (its abstract is arXiv's notice) was left out of the suggested
    list rows only; search, paper, related, recommend, new and technique answers showed it unmarked.
    Every paper object now carries `withdrawn`, true for it and false for the other."""
    store = withdrawn_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()

        def flags(results: list[dict[str, Any]]) -> dict[str, bool]:
            return {r["id"]: r["withdrawn"] for r in results}

        both = {WITHDRAWN_ID: True, KEPT_ID: False}
        for query in ({"q": "activation patching refusal circuit", "mode": "keyword"},
                      {"q": "activation patching refusal circuit"}, {"technique": "activation_patching"}):
            body = client.get("/api/search", query_string=query).get_json()
            assert flags(body["results"]) == both, query
        withdrawn = client.get(f"/api/papers/{WITHDRAWN_ID}").get_json()
        assert withdrawn["withdrawn"] is True and withdrawn["abstract"] == WITHDRAWAL_NOTICE
        assert client.get(f"/api/papers/{WITHDRAWN_ID}v1").get_json()["withdrawn"] is True
        assert client.get(f"/api/papers/{KEPT_ID}").get_json()["withdrawn"] is False
        related = client.get(f"/api/papers/{KEPT_ID}/related").get_json()["results"]
        assert flags(related) == {WITHDRAWN_ID: True}
        assert flags(client.get(f"/api/papers/{WITHDRAWN_ID}/related").get_json()["results"]) == {
            KEPT_ID: False}
        recommended = client.post("/api/recommend", json={"liked": [KEPT_ID]}).get_json()["results"]
        assert flags(recommended) == {WITHDRAWN_ID: True}
        assert flags(client.get("/api/new?since=2000-01-01").get_json()["results"]) == both
        technique = client.get("/api/techniques/activation_patching").get_json()
        assert flags(technique["papers"]["results"]) == both
    finally:
        store.close()


# -- a records file's papers: undated ones counted, arXiv URLs derived (analyst QA) ---------------------
UNDATED_ID, OWN_URL_ID, OLD_STYLE_ID = "2401.00002", "2401.00003", "hep-th/9901001"
SAE_ROW = {"section": "Techniques", "technique_ids": ["sae"]}
SAE_RECORDS: list[dict[str, Any]] = [
    # An arXiv id, but neither a year nor a date nor a URL (as 160 of an analyst's 341 records were).
    {"id": "sae-undated", "arxiv_id": UNDATED_ID, "title": "Sparse autoencoders without a date",
     "abstract": "We train sparse autoencoders on a small model.", "list_rows": [SAE_ROW]},
    {"id": "sae-own-url", "arxiv_id": OWN_URL_ID, "title": "Sparse autoencoders with their own page",
     "abstract": "We train sparse autoencoders.", "year": 2024, "url": "https://example.org/sae",
     "list_rows": [SAE_ROW]},
    {"id": "sae-blog", "title": "Sparse autoencoders on a blog", "abstract": "We train sparse autoencoders.",
     "year": 2023, "list_rows": [SAE_ROW]},
    {"id": "sae-old", "arxiv_id": OLD_STYLE_ID, "title": "An old paper on sparse codes",
     "abstract": "Sparse autoencoders, long ago.", "year": 1999, "list_rows": [SAE_ROW]},
]


def records_store(path: Path) -> EmbeddedStore:
    """A real SQLite store with SAE_RECORDS ingested as a records file through the pipeline: one undated
    paper (arXiv id, no URL), one with its own URL, one with neither arXiv id nor URL, one old-style id."""
    from ingest.pipeline import ingest_records_file

    store = taxonomy_store(path)
    records = path.with_name("records.jsonl")
    records.write_text("".join(json.dumps(r) + "\n" for r in SAE_RECORDS), encoding="utf-8")
    summary = ingest_records_file(store, records, embedder=HashEmbedder(), progress=False)
    assert summary.new == len(SAE_RECORDS)
    return store


def test_technique_detail_counts_the_papers_without_a_year(
    tmp_path: Path, plumbing_client: FlaskClient
) -> None:
    """Analyst QA: /api/techniques/sae said total_count 127 while its papers_per_year summed to 126,
    silently (a records paper without a year). papers_without_year counts such papers: with
    papers_per_year it adds up to the node's papers."""
    store = records_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        body = client.get("/api/techniques/sae").get_json()
        assert body["papers_per_year"] == {"1999": 1, "2023": 1, "2024": 1}
        assert (body["total_count"], body["papers"]["total"], body["papers_without_year"]) == (4, 4, 1)
        assert sum(body["papers_per_year"].values()) + body["papers_without_year"] == body["total_count"]
        undated = [p["id"] for p in body["papers"]["results"] if p["year"] is None]
        assert undated == [UNDATED_ID]
        # A node none of whose papers lacks a year, and one with no papers at all: 0.
        assert client.get("/api/techniques/probing").get_json()["papers_without_year"] == 0
    finally:
        store.close()
    dated = plumbing_client.get("/api/techniques/sae").get_json()
    assert (dated["papers_per_year"], dated["papers_without_year"]) == ({"2024": 1}, 0)


def test_papers_with_an_arxiv_id_and_no_url_carry_the_abs_url(tmp_path: Path) -> None:
    """Analyst QA: `url` was null for records-file papers with an arXiv id (arXiv-ingested ones carry the
    abs URL; BibTeX and the feed already derived it). Every paper object of the API now derives it when
    no URL is stored; a stored URL is kept, a paper with neither stays null, and the store is unchanged."""
    store = records_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        expected = {UNDATED_ID: f"https://arxiv.org/abs/{UNDATED_ID}", OWN_URL_ID: "https://example.org/sae",
                    "sae-blog": None, OLD_STYLE_ID: f"https://arxiv.org/abs/{OLD_STYLE_ID}"}

        def urls(results: list[dict[str, Any]]) -> dict[str, str | None]:
            return {r["id"]: r["url"] for r in results}

        for pid, url in expected.items():
            assert client.get(f"/api/papers/{pid}").get_json()["url"] == url, pid
        assert urls(client.get("/api/techniques/sae").get_json()["papers"]["results"]) == expected
        assert urls(client.get("/api/search?technique=sae").get_json()["results"]) == expected
        assert urls(client.get("/api/search?q=sparse+autoencoders&mode=keyword").get_json()["results"]) == (
            expected)
        assert urls(client.get("/api/new?since=2000-01-01").get_json()["results"]) == expected
        related = client.get(f"/api/papers/{OWN_URL_ID}/related").get_json()["results"]
        assert urls(related) == {k: v for k, v in expected.items() if k != OWN_URL_ID}
        recommended = client.post("/api/recommend", json={"liked": ["sae-blog"]}).get_json()["results"]
        assert urls(recommended) == {k: v for k, v in expected.items() if k != "sae-blog"}
        stored = {p.id: p.url for p in store.get_papers(list(expected))}
        assert stored == {UNDATED_ID: None, OWN_URL_ID: "https://example.org/sae", "sae-blog": None,
                          OLD_STYLE_ID: None}
    finally:
        store.close()


# -- the model filter, unknown parameters, machine-readable errors ------------------------------------
def test_search_model_filter_keeps_the_papers_studying_the_model(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    """?model= (repeatable) keeps the papers studying a model or reporting a finding about it, listed
    alone or searched, and each hit says which of the filter's models it matches."""
    studying = seed_store.filter_ids(SearchFilters(model_ids=["gpt2"]))
    assert studying  # the seed corpus has GPT-2 papers
    listed = client.get("/api/search", query_string={"model": "gpt2", "limit": 100}).get_json()
    assert {r["id"] for r in listed["results"]} == studying and listed["total"] == len(studying)
    searched = client.get("/api/search", query_string={"q": "circuits", "model": "gpt2"}).get_json()
    assert searched["results"] and {r["id"] for r in searched["results"]} <= studying
    assert all(r["why"]["matched_models"] == ["gpt2"] and r["why"]["matched_model_labels"] == ["GPT-2"]
               for r in searched["results"])
    both = seed_store.filter_ids(SearchFilters(model_ids=["gpt2", "pythia"]))
    either = client.get("/api/search", query_string=[("model", "gpt2"), ("model", "pythia"),
                                                     ("limit", "100")]).get_json()
    assert {r["id"] for r in either["results"]} == both
    err = error_of(client.get("/api/search", query_string={"model": "GPT-2"}), 400)
    assert (err["code"], err["parameter"]) == ("bad_parameter", "model")
    assert err["message"].startswith("parameter 'model': unknown model id 'GPT-2' (did you mean 'gpt2'? ")
    err = error_of(client.get("/api/search", query_string={"technique": "pythia"}), 400)
    assert "it is a model: use the model filter" in err["message"]


def test_search_component_filter_keeps_the_papers_with_findings_about_the_component(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    """QA: `topic=induction_head` was a 400 ("a component, which no filter takes"). ?component= (repeatable)
    keeps the papers with a finding about the component or a sub-component of it, unless refinements=false;
    each hit says which of them its findings are about."""
    heads = seed_store.filter_ids(SearchFilters(component_ids=["induction_head"]))
    assert heads  # the seed corpus has induction-head findings
    listed = client.get("/api/search", query_string={"component": "induction_head", "limit": 100}).get_json()
    assert {r["id"] for r in listed["results"]} == heads and listed["total"] == len(heads)
    assert all(r["why"]["matched_components"] == ["induction_head"]
               and r["why"]["matched_component_labels"] == ["Induction head"] for r in listed["results"])
    attention = client.get("/api/search", query_string={"component": "mha", "limit": 100}).get_json()
    assert heads < {r["id"] for r in attention["results"]}  # mha takes its sub-components' papers
    exact = client.get("/api/search", query_string={"component": "mha", "refinements": "false",
                                                    "limit": 100}).get_json()
    assert {r["id"] for r in exact["results"]} == seed_store.filter_ids(
        SearchFilters(component_ids=["mha"], include_refinements=False))
    searched = client.get("/api/search", query_string={"q": "circuits", "component": "mha"}).get_json()
    assert searched["results"] and {r["id"] for r in searched["results"]} <= {
        r["id"] for r in attention["results"]}
    err = error_of(client.get("/api/search", query_string={"topic": "induction_head"}), 400)
    assert (err["code"], err["parameter"]) == ("bad_parameter", "topic")
    assert "it is a component: use the component filter" in err["message"]
    err = error_of(client.get("/api/search", query_string={"component": "induction heads"}), 400)
    assert err["message"].startswith("parameter 'component': unknown component id 'induction heads' (did you "
                                     "mean 'induction_head'? ")


@pytest.mark.parametrize(("url", "parameter", "hint"), [
    # QA: each of these answered 200 with unfiltered results.
    ("/api/search?q=sae&since=2030-01-01", "since", "did you mean 'year_from'? "),
    ("/api/search?q=sae&year_form=2030", "year_form", "did you mean 'year_from'? "),
    ("/api/search?q=sae&tecnique=nope", "tecnique", "did you mean 'technique'? "),
    ("/api/search?q=sae&page=2", "page", "did you mean 'offset'? "),
    ("/api/search?q=sae&sort=date", "sort", ""),
    ("/api/new?sinse=2024-01-01", "sinse", "did you mean 'since'? "),
    ("/api/techniques/probing?page=2", "page", "did you mean 'offset'? "),
    (f"/api/papers/{IOI}?limit=5", "limit", ""),
    (f"/api/papers/{IOI}/related?limt=5", "limt", "did you mean 'limit'? "),
    ("/api/stats?verbose=1", "verbose", ""),
    ("/api/openapi.json?format=yaml", "format", ""),
])
def test_a_parameter_the_operation_does_not_take_is_a_400_naming_it(
    client: FlaskClient, url: str, parameter: str, hint: str
) -> None:
    err = error_of(client.get(url), 400)
    assert (err["code"], err["parameter"]) == ("bad_parameter", parameter)
    assert err["message"].startswith(f"parameter '{parameter}': unknown parameter: {hint}"), err["message"]
    assert client.head(url).status_code == 400


def test_a_single_valued_parameter_given_twice_is_a_400(client: FlaskClient) -> None:
    """QA: limit=5&limit=7 silently used 5."""
    err = error_of(client.get("/api/search?q=sae&limit=5&limit=7"), 400)
    assert err["parameter"] == "limit"
    assert err["message"] == "parameter 'limit': given 2 times; it takes one value"
    assert error_of(client.get("/api/new?since=2024-01-01&since=2024-02-01"), 400)["parameter"] == "since"
    # Repeatable filters repeat.
    repeated = "/api/search?technique=sae&technique=probing&source=list&source=arxiv"
    assert client.get(repeated).status_code == 200


@pytest.mark.parametrize("url", [
    "/api/search?q=circuits&_=1732671234567",  # jQuery's cache buster ($.ajax cache: false)
    "/api/search?q=circuits&_=1&_=2",
    "/api/search?q=circuits&utm_source=newsletter&utm_medium=email&utm_campaign=weekly",
    "/api/search?=x&q=circuits",  # a stray "=": werkzeug reads the empty name
    "/api/stats?utm_source=x&_=5",
])
def test_cache_busters_link_trackers_and_empty_names_are_ignored(client: FlaskClient, url: str) -> None:
    """?_=12345, utm_source=x and ?=x were 400s ("parameter '': unknown parameter"): clients and shared
    links add them to any URL, and none is a filter that was ignored."""
    answered = client.get(url)
    assert answered.status_code == 200, answered.get_data(as_text=True)


@pytest.mark.parametrize(("url", "parameter"), [
    ("/api/search?q=circuits&utm=x", "utm"),  # not utm_*: a real unknown name
    ("/api/search?q=circuits&__=1", "__"),
    ("/api/search?q=circuits&_=1&year_form=2030", "year_form"),
    ("/api/search?q=circuits&utm_source=x&limit=5&limit=7", "limit"),
])
def test_unknown_names_beside_ignored_ones_are_still_400s(
    client: FlaskClient, url: str, parameter: str,
) -> None:
    err = error_of(client.get(url), 400)
    assert (err["code"], err["parameter"]) == ("bad_parameter", parameter)


def test_the_web_pages_and_the_feed_stay_lenient(client: FlaskClient) -> None:
    """Only the JSON API refuses what it does not take: a page's link or a feed reader's tracking
    parameter is not worth a 400 page."""
    assert client.get("/search?q=sae&year_form=2030").status_code == 200
    assert client.get("/feeds/new.atom?utm_source=reader").status_code == 200
    assert client.open("/api/search?q=sae&bogus=1", method="OPTIONS").status_code == 200


def test_recommend_422_lists_every_unknown_id(client: FlaskClient) -> None:
    """The message shows ten; `unknown_ids` lists them all, for a client to drop them and ask again."""
    unknown = [f"nope-{i}" for i in range(12)]
    err = error_of(client.post("/api/recommend", json={"liked": [IOI, *unknown]}), 422)
    assert err["unknown_ids"] == unknown and "nope-9" in err["message"] and "nope-10" not in err["message"]
    err = error_of(client.post("/api/recommend", json={"liked": [IOI], "extra": 1}), 400)
    assert err["parameter"] == "extra"


def test_search_names_the_paper_a_query_is_the_arxiv_id_of(client: FlaskClient) -> None:
    """Author QA: `q=2211.00593` ranked IOI #3 and its abs URL #9, with nothing saying the query is its id."""
    # An id pasted from a PDF with a zero-width space is read as search reads it.
    for q in ("2211.00593", "https://arxiv.org/abs/2211.00593v2", "arXiv:2211.00593", "\u200b2211.00593"):
        body = client.get("/api/search", query_string={"q": q, "mode": "keyword"}).get_json()
        assert body["named_paper"] == IOI, q
    assert client.get("/api/search?q=indirect+object&mode=keyword").get_json()["named_paper"] is None


def test_an_empty_filtered_answer_counts_each_filter_alone(client: FlaskClient) -> None:
    """Novelty-reviewer QA: total 0 and nothing else; now each filter alone and all of them together."""
    body = client.get("/api/search?technique=attribution_patching&model=pythia&component=induction_head"
                      ).get_json()
    assert body["total"] == 0 and body["papers_passing_filters"] == 0
    assert [c["filter"] for c in body["filter_counts"]] == [
        "technique attribution_patching", "model pythia", "component induction_head"]
    assert client.get("/api/search?q=induction+heads").get_json()["filter_counts"] is None
