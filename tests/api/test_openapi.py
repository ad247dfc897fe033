"""The OpenAPI document (api/openapi.py) against the running app: every route documented and nothing
else, the search rule, `since` and the 405s exactly as declared, and every response object typed with
the fields the app really sends."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.openapi import build_document
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config, plumbing_bundles, serving
from tests.api.test_json_api import error_of
from tests.embedders import HashEmbedder


def test_openapi_documents_the_unknown_section_400() -> None:
    search = build_document()["paths"]["/api/search"]["get"]
    section = next(p for p in search["parameters"] if p["name"] == "section")
    assert "400" in search["responses"] and "unknown id is a 400" in section["description"]


@pytest.mark.parametrize("url", ["/api/new", "/feeds/new.atom"])
def test_since_takes_exactly_what_the_document_declares(client: FlaskClient, url: str) -> None:
    # OpenAPI: `since` is a date or an RFC 3339 date-time (seconds and offset required).
    schema = next(p for p in build_document()["paths"][url]["get"]["parameters"] if p["name"] == "since")
    assert schema["schema"] == {"anyOf": [{"type": "string", "format": "date"},
                                          {"type": "string", "format": "date-time"}]}
    for since in ("2024-01-31", "2024-01-31T12:00:00Z", "2024-01-31t12:00:00.5z",
                  "2024-01-31T12:00:00+02:00"):
        assert client.get(url, query_string={"since": since}).status_code == 200, since
    for since in ("", " ", "2024-01-31T12:00:00", "2024-01-31T12:00Z", "2024-02-30", "20240131",
                  " 2024-01-31", "2024-01-31 12:00:00Z", "yesterday"):
        err = error_of(client.get(url, query_string={"since": since}), 400)
        assert err["message"].startswith(
            "parameter 'since': must be a date like 2024-01-31 or an RFC 3339 timestamp"), since
    assert "not an empty value" in error_of(client.get(f"{url}?since="), 400)["message"]


def test_runs_source_description_names_every_run_source() -> None:
    from api.params import RUN_SOURCES

    source = next(p for p in build_document()["paths"]["/api/runs"]["get"]["parameters"]
                  if p["name"] == "source")
    assert source["schema"]["enum"] == list(RUN_SOURCES)
    named = set(re.findall(r"[\w-]+", source["description"]))
    assert set(RUN_SOURCES) <= named, set(RUN_SOURCES) - named


def test_feed_declares_the_headers_it_sends() -> None:
    responses = build_document()["paths"]["/feeds/new.atom"]["get"]["responses"]
    assert set(responses["200"]["headers"]) == {"ETag", "Cache-Control"}
    assert "ETag" in responses["304"]["headers"]


def test_json_gets_declare_their_etag_and_304(client: FlaskClient) -> None:
    """QA: the JSON GETs answer If-None-Match with a 304 (api.app.conditional_json), and a generated client
    met it undeclared; only the feed's was."""
    paths = build_document()["paths"]
    conditional = {p for p, item in paths.items() if "304" in item.get("get", {}).get("responses", {})}
    json_gets = {p for p, item in paths.items() if p.startswith("/api/") and "get" in item
                 and "application/json" in item["get"]["responses"]["200"].get("content", {})}
    assert conditional == json_gets - {"/api/status"} | {"/feeds/new.atom"}
    stats = paths["/api/stats"]["get"]
    assert "If-None-Match" in {p["name"] for p in stats["parameters"]}
    etag = client.get("/api/stats").headers["ETag"]
    again = client.get("/api/stats", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    for name, header in stats["responses"]["304"]["headers"].items():
        assert again.headers[name] in header["schema"].get("enum", [again.headers[name]])


def test_openapi_states_the_search_rule_and_its_400(client: FlaskClient) -> None:
    op = build_document()["paths"]["/api/search"]["get"]
    assert "a query" in op["description"] and "at least one filter" in op["description"]
    assert "neither a query nor a filter" in op["responses"]["400"]["description"]
    err = error_of(client.get("/api/search"), 400)  # schema-valid, and the documented 400
    assert err["message"] == "parameter 'q': give a query or at least one filter"
    assert client.get("/api/search?topic=superposition").status_code == 200  # a filter alone is enough


def test_405_is_documented_as_it_happens(app: Flask, client: FlaskClient) -> None:
    # No operation can declare a 405 (it answers methods a path has no operation for): the
    # document's description says so, and every documented path answers other methods that way.
    doc = build_document()
    assert "405 with an Allow header" in doc["info"]["description"]
    assert "E405" not in doc["components"]["responses"]
    for path, ops in doc["paths"].items():
        assert "405" not in {code for op in ops.values() for code in op["responses"]}
        url = re.sub(r"{\w+}", "2211.00593", path)
        response = client.delete(url)
        assert response.status_code == 405, path
        assert {m.lower() for m in response.headers["Allow"].split(", ")} >= set(ops), path


def test_head_and_options_are_answered_as_the_description_says(app: Flask) -> None:
    """QA: OPTIONS /api/search answered 200 (Flask answers OPTIONS itself) where the description said
    a method without an operation gets a 405. It now says how HEAD and OPTIONS are answered; checked on
    a real server for every documented path."""
    doc = build_document()
    assert ("HEAD (on every path with a GET) and OPTIONS (on every path: 200, an Allow header, an empty "
            "body) are answered without being listed as operations") in doc["info"]["description"]
    with serving(app) as port:
        for path, ops in doc["paths"].items():
            url = re.sub(r"{\w+}", "2211.00593", path)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("OPTIONS", url)
                response = conn.getresponse()
                body = response.read()
                assert (response.status, body) == (200, b""), path
                allow = {m.strip().lower() for m in response.getheader("Allow", "").split(",")}
                assert allow == set(ops) | {"options"} | ({"head"} if "get" in ops else set()), path
                if "get" in ops:  # HEAD is GET without the body: the same status (a 400 for a bare search)
                    conn.request("GET", url)
                    get = conn.getresponse()
                    get.read()
                    conn.request("HEAD", url)
                    head = conn.getresponse()
                    assert (head.status, head.read()) == (get.status, b""), path
            finally:
                conn.close()


def test_the_documented_query_and_request_line_limits_are_the_ones_applied() -> None:
    """q's byte cap and gunicorn's request-line limit are stated with the values the code uses."""
    from api.gunicorn_conf import limit_request_line
    from api.params import MAX_QUERY_BYTES

    doc = build_document()
    q = next(p for p in doc["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    stated = f"and {MAX_QUERY_BYTES:,} bytes as UTF-8, so at most {MAX_QUERY_BYTES // 3} CJK characters"
    assert stated in q["description"]
    assert f"a request line may be at most {limit_request_line:,} bytes" in doc["info"]["description"]
    assert "an escape that does not decode as UTF-8 (%EF), or a raw byte outside ASCII, is a 400" in (
        doc["info"]["description"])


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_documents_every_route_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc == json.loads(json.dumps(build_document()))
    assert doc["openapi"].startswith("3.")
    routed: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api", "/feeds")) or rule.rule in ("/healthz", "/readyz"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((_flask_to_openapi(rule.rule), method.lower()))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routed == documented, (
        f"routes without an operation in api/openapi.py: {sorted(routed - documented)}; "
        f"operations without a route: {sorted(documented - routed)}")
    # Every path parameter of the template is declared on its operation.
    for path, ops in doc["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_paged_operations_say_total_counts_more_than_offset_reaches() -> None:
    """total may count more papers than offset (at most MAX_OFFSET) and limit can reach: each paged
    operation says so and how to reach the rest."""
    from api.params import MAX_OFFSET

    paths = build_document()["paths"]
    for path in ("/api/search", "/api/new", "/api/techniques/{technique_id}"):
        op = paths[path]["get"]
        assert f"offset is at most {MAX_OFFSET}, so paging reaches only the first {MAX_OFFSET} + limit" \
            in op["description"], path
        assert "to reach the others" in op["description"], path
        offset = next(p for p in op["parameters"] if p["name"] == "offset")
        assert "even when `total` counts more" in offset["description"], path


# -- response schemas: every object typed, every field sent documented --------------------------------
# Locations name a schema the way a client generator would: a component by its name, then .field,
# [] for an array's items, .* for a map's values and |i for the i-th anyOf/oneOf branch; an inline
# response schema by its operation and status.
def _deref(doc: dict[str, Any], schema: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema, where = doc["components"]["schemas"][name], name
    return schema, where


def _json_responses(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(path, method, status, schema) of every JSON response the document declares."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                for media, content in response.get("content", {}).items():
                    if media == "application/json":
                        yield path, method, status, content["schema"]


def _response_object_schemas(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every object schema a JSON response can contain, by location."""
    found: dict[str, dict[str, Any]] = {}

    def walk(schema: dict[str, Any], where: str) -> None:
        schema, where = _deref(doc, schema, where)
        if where in found:  # a component met again (TreeNode's children are TreeNodes)
            return
        if schema.get("type") == "object" or "properties" in schema:
            found[where] = schema
        for key, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{key}")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{where}.*")
        if "items" in schema:
            walk(schema["items"], f"{where}[]")
        for i, sub in enumerate(schema.get("anyOf", []) + schema.get("oneOf", [])):
            walk(sub, f"{where}|{i}")

    for path, method, status, schema in _json_responses(doc):
        walk(schema, f"{method.upper()} {path} {status}")
    return found


def test_every_response_object_schema_says_what_it_holds() -> None:
    """An object with neither properties nor additionalProperties ({"type": "object"}) is a plain dict
    to a client generator: each says its fields (or, for a map, its value type)."""
    untyped = [where for where, schema in _response_object_schemas(build_document()).items()
               if "properties" not in schema and "additionalProperties" not in schema]
    assert untyped == []


def test_response_object_schemas_require_only_properties_they_declare() -> None:
    for where, schema in _response_object_schemas(build_document()).items():
        assert set(schema.get("required", [])) <= set(schema.get("properties", {})), where
        assert schema.get("required", [None]), f"{where}: an empty required list is not OpenAPI 3.0"


_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                       "boolean": (bool,), "array": (list,), "object": (dict,)}


def _problems(doc: dict[str, Any], value: Any, schema: dict[str, Any], where: str,
              seen: set[str]) -> list[str]:
    """How `value` breaks `schema`, read strictly: a field an object schema does not declare (unless
    it is a map: additionalProperties) is a problem, as OpenAPI's default would let it pass. Records in
    `seen` each object schema a non-empty object was checked against."""
    schema, where = _deref(doc, schema, where)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        tried = [_problems(doc, value, sub, f"{where}|{i}", seen) for i, sub in enumerate(branches)]
        return [] if any(not p for p in tried) else [f"{where}: matches no branch: {tried}"]
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null, not nullable"]
    kind = schema.get("type")
    if kind not in _TYPES:
        return [f"{where}: no type"]
    if not isinstance(value, _TYPES[kind]) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if kind == "string" and not _has_format(value, schema.get("format")):
        return [f"{where}: {value!r} is not a {schema['format']}"]
    out: list[str] = []
    if kind == "array":
        for item in value:
            out += _problems(doc, item, schema["items"], f"{where}[]", seen)
    elif kind == "object":
        if value:
            seen.add(where)
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        out += [f"{where}: required {k!r} missing" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                out += _problems(doc, item, props[key], f"{where}.{key}", seen)
            elif isinstance(extra, dict):
                out += _problems(doc, item, extra, f"{where}.*", seen)
            elif extra is not True:
                out.append(f"{where}: undocumented field {key!r}")
    return out


_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_TIME = _DATE + r"[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"


def _has_format(value: str, fmt: str | None) -> bool:
    """True when `value` is what a declared format says: a date is YYYY-MM-DD, a date-time an RFC 3339
    timestamp with its offset (what a generated client parses)."""
    pattern = {"date": _DATE, "date-time": _DATE_TIME}.get(fmt or "")
    if pattern is None:
        return True
    if re.fullmatch(pattern, value) is None:
        return False
    try:
        if fmt == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # 2024-02-30
        return False
    return True


def _real_responses(client: FlaskClient, seed_store: EmbeddedStore) -> Iterator[tuple[str, str, Any]]:
    """(path template, method, response) for every operation, answered by the seed app: every paper,
    every taxonomy node, searches in every mode, and the errors each operation declares."""
    from api.params import MAX_LIMIT

    ids = sorted(seed_store.paper_ids())
    for q in ("indirect object identification", "IOI circuit", "logit lens"):
        for mode in ("hybrid", "semantic", "keyword"):
            yield "/api/search", "get", client.get("/api/search", query_string={
                "q": q, "mode": mode, "limit": MAX_LIMIT})
    # Embedding the page's sentences takes seconds: one search picks its sentences that way.
    yield "/api/search", "get", client.get("/api/search", query_string={"q": "IOI circuit",
                                                                         "explain": "embedding"})
    # A model named in a hybrid query adds a list (why.ranks.model); a model filter matches models.
    yield "/api/search", "get", client.get("/api/search", query_string={"q": "circuits in Pythia"})
    for filters in ({"technique": "activation_patching"}, {"topic": "superposition"}, {"model": "gpt2"},
                    {"model": "gpt2", "q": "circuits"}, {"model": "GPT-2"}, {"q": "x", "year_form": 2020},
                    {"year_from": 2020, "source": "records"}, {}, {"mode": "nope", "q": "x"},
                    {"model": "pythia", "component": "induction_head"}):  # empty: filter_counts
        yield "/api/search", "get", client.get("/api/search", query_string={**filters, "limit": MAX_LIMIT})
    for pid in [*ids, "no-such-paper"]:
        yield "/api/papers/{paper_id}", "get", client.get(f"/api/papers/{pid}")
        yield "/api/papers/{paper_id}/related", "get", client.get(f"/api/papers/{pid}/related?limit=50")
        yield "/api/papers/{paper_id}/bibtex", "get", client.get(f"/api/papers/{pid}/bibtex")
    yield "/api/papers/{paper_id}/related", "get", client.get(f"/api/papers/{ids[0]}/related?limit=0")
    for body in ({"liked": ids[:2], "disliked": ids[2:3], "limit": MAX_LIMIT}, {"liked": ids[-1:]},
                 {"liked": ["no-such-paper"]}, {"liked": ids[:1], "disliked": ids[:1]}):
        yield "/api/recommend", "post", client.post("/api/recommend", json=body)
    yield "/api/recommend", "post", client.post("/api/recommend", data="{}", content_type="text/plain")
    yield "/api/recommend", "post", client.post("/api/recommend", json={"liked": ["x" * 70_000]})
    for query in ([("id", i) for i in ids[:5]], [("id", ids[0]), ("id", "no-such-paper")], [], [("id", "")]):
        yield "/api/bibtex", "get", client.get("/api/bibtex", query_string=query)
    for body in ({"ids": ids[:5]}, {"ids": [ids[0], "no-such-paper"]}, {"ids": []}, {"ids": ids[:1], "x": 1}):
        yield "/api/bibtex", "post", client.post("/api/bibtex", json=body)
    yield "/api/bibtex", "post", client.post("/api/bibtex", data="{}", content_type="text/plain")
    yield "/api/bibtex", "post", client.post("/api/bibtex", json={"ids": ["x" * 70_000]})
    for body in ({"ids": [*ids[:3], "no-such-paper"]}, {"ids": []}, {"ids": "x"}, {"ids": ids[:1], "x": 1}):
        yield "/api/resolve", "post", client.post("/api/resolve", json=body)
    yield "/api/resolve", "post", client.post("/api/resolve", data="{}", content_type="text/plain")
    yield "/api/resolve", "post", client.post("/api/resolve", json={"ids": ["x" * 70_000]})
    yield "/api/techniques", "get", client.get("/api/techniques")
    for node in [*(n.id for n in seed_store.taxonomy_nodes()), "no-such-node"]:
        for sort in ("date", "centrality"):
            yield "/api/techniques/{technique_id}", "get", client.get(f"/api/techniques/{node}?sort={sort}")
    yield "/api/techniques/{technique_id}", "get", client.get("/api/techniques/probing?sort=nope")
    for key in ("christopher olah", "Neel Nanda", "no such author"):
        yield "/api/authors/{key}", "get", client.get(f"/api/authors/{key}?limit={MAX_LIMIT}")
    yield "/api/authors/{key}", "get", client.get("/api/authors/neel nanda?offset=x")
    yield "/feeds/new.atom", "get", client.get("/feeds/new.atom?author=christopher+olah")
    yield "/feeds/new.atom", "get", client.get("/feeds/new.atom?author=no+such+author")
    for path in ("/api/topics", "/api/sections", "/api/models", "/api/components", "/api/runs", "/api/stats",
                 "/api/openapi.json", "/api/status", "/healthz", "/readyz"):
        yield path, "get", client.get(path)
        # A query string that is not percent-encoded UTF-8: the 400 of every operation.
        yield path, "get", client.get(f"{path}?x=%EF")
    yield "/api/runs", "get", client.get("/api/runs?source=nope")
    yield "/api/runs", "get", client.get("/api/runs?status=succeeded&limit=1")
    # The seed store has no weekly run: a problem when one is required (the 503 and its problems).
    yield "/api/status", "get", client.get("/api/status?require_weekly=true")
    yield "/api/status", "get", client.get("/api/status?max_age_days=0")
    for path in ("/api/new", "/feeds/new.atom"):
        yield path, "get", client.get(f"{path}?since=1970-01-01&limit={MAX_LIMIT}")
        yield path, "get", client.get(f"{path}?since=yesterday")
    # The reader's copy is current: the feed's 304.
    etag = client.get("/feeds/new.atom").headers["ETag"]
    yield "/feeds/new.atom", "get", client.get("/feeds/new.atom", headers={"If-None-Match": etag})


@pytest.fixture
def stale_client(empty_store: EmbeddedStore, tmp_path: Path) -> FlaskClient:
    """A client of an app on a store whose one paper was extracted by another extractor: GET /api/status's
    notice (extraction_stale), which the seed store, extracted by this one, never has."""
    bundle = plumbing_bundles(HashEmbedder())[1]
    bundle.paper.extraction_hash = "an older extractor's"
    empty_store.upsert_papers([bundle])
    return create_app(app_config(tmp_path, STORE=empty_store)).test_client()


def test_real_responses_send_only_documented_fields(client: FlaskClient, seed_store: EmbeddedStore,
                                                    stale_client: FlaskClient) -> None:
    """Every response of every operation on the seed store: its status and content type declared, and
    each JSON body with every field documented, typed as declared and every required one present;
    each object schema of the document is met by at least one non-empty object."""
    doc = build_document()
    problems: list[str] = []
    seen: set[str] = set()
    called: set[tuple[str, str]] = set()
    notice = ("/api/status", "get", stale_client.get("/api/status"))
    assert notice[2].get_json()["notices"][0]["code"] == "extraction_stale"
    for path, method, response in [*_real_responses(client, seed_store), notice]:
        called.add((path, method))
        status = str(response.status_code)
        declared = doc["paths"][path][method]["responses"].get(status)
        where = f"{method.upper()} {path} {status}"
        if declared is None:
            problems.append(f"{where}: status not declared")
            continue
        if "$ref" in declared:
            declared = doc["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
        for name, header in declared.get("headers", {}).items():
            value = response.headers.get(name)
            if value is None:
                problems += [f"{where}: header {name} missing"] if header.get("required") else []
            elif value not in header["schema"].get("enum", [value]):
                problems.append(f"{where}: header {name}: {value!r} not in {header['schema']['enum']}")
        media = response.mimetype
        if "content" not in declared:
            if response.data:
                problems.append(f"{where}: a body, but none declared")
        elif media not in declared["content"]:
            problems.append(f"{where}: {media} not declared")
        elif media == "application/json":
            problems += _problems(doc, response.get_json(), declared["content"][media]["schema"], where, seen)
    never = {(path, method) for path, ops in doc["paths"].items() for method in ops} - called
    assert not never, f"documented operations never called: add calls for {sorted(never)} to _real_responses"
    assert problems == []
    # The seed store has no weekly run: the run counts' weekly fields are checked in the next test.
    assert set(_response_object_schemas(doc)) - seen == set()


def test_run_counts_schema_matches_what_ingest_records() -> None:
    """IngestRun.counts as the pipeline (a whole list too) and the weekly ingest write them."""
    from ingest.reextract import ReextractSummary
    from ingest.summary import IngestSummary
    from ingest.weekly import WeeklySummary

    doc = build_document()
    schema = {"$ref": "#/components/schemas/RunCounts"}
    weekly = WeeklySummary("run-1", "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z", queries=2,
                           empty_queries=[2], load_run="run-0", gap_from="2023-12-01T00:00:00Z")
    for counts in (IngestSummary("run-1", "records").counts(),
                   IngestSummary("run-1", "list", whole_list=True).counts(),
                   weekly.counts(),
                   # Its window as ingest.weekly.iso writes it (RFC 3339 in UTC, to the second).
                   WeeklySummary("run-1", "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z").counts(),
                   ReextractSummary("run-1", "reextract").counts(), {}):
        assert _problems(doc, counts, schema, "RunCounts", set()) == [], counts


def _readme_api_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return text.split("\n## JSON API\n", 1)[1].split("\n## ", 1)[0]


def test_the_readmes_json_api_section_names_every_operation_and_nothing_else() -> None:
    """The README's table was kept in step with the routes by hand only (contributor QA): a new route
    with its OpenAPI entry but no README row passed every check."""
    mentions = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^\s`?]*)", _readme_api_section())
    named = {(method.lower(), re.sub(r"{\w+}", "{}", path)) for method, path in mentions}
    documented = {(method, re.sub(r"{\w+}", "{}", path))
                  for path, ops in build_document()["paths"].items() for method in ops}
    missing, extra = sorted(documented - named), sorted(named - documented)
    assert not missing and not extra, f"not in the README's JSON API section: {missing}; README only: {extra}"


def test_every_paper_schema_requires_the_withdrawn_flag_the_app_sends(tmp_path: Path) -> None:
    """`withdrawn` (a paper whose abstract is arXiv's withdrawal notice) is a required boolean of every
    paper object the document describes, and the answers about a store holding a withdrawn paper and
    one that is not (true and false) match the document exactly."""
    from api.app import create_app
    from tests.api.conftest import app_config
    from tests.api.test_json_api import KEPT_ID, WITHDRAWN_ID, withdrawn_store
    from tests.embedders import HashEmbedder

    doc = build_document()
    for name in ("PaperSummary", "NewPaper", "SearchResult", "RelatedResult", "RecommendResult",
                 "PaperDetail"):
        schema = doc["components"]["schemas"][name]
        assert schema["properties"]["withdrawn"]["type"] == "boolean", name
        assert "withdrawn" in schema["required"], name
    store = withdrawn_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        calls = [("/api/search", "get", client.get("/api/search?q=activation+patching")),
                 ("/api/new", "get", client.get("/api/new?since=2000-01-01")),
                 ("/api/techniques/{technique_id}", "get", client.get("/api/techniques/activation_patching")),
                 ("/api/recommend", "post", client.post("/api/recommend", json={"liked": [KEPT_ID]}))]
        for pid in (WITHDRAWN_ID, KEPT_ID):
            calls += [("/api/papers/{paper_id}", "get", client.get(f"/api/papers/{pid}")),
                      ("/api/papers/{paper_id}/related", "get", client.get(f"/api/papers/{pid}/related"))]
        for path, method, response in calls:
            assert response.status_code == 200, path
            schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
            assert _problems(doc, response.get_json(), schema, path, set()) == [], path
        sent = {flag for _, _, response in calls
                for flag in re.findall(r'"withdrawn": ?(\w+)', response.get_data(as_text=True))}
        assert sent == {"true", "false"}
    finally:
        store.close()


def test_papers_without_year_and_derived_urls_are_documented_as_sent(tmp_path: Path) -> None:
    """Analyst QA: a technique's papers_per_year left out its undated papers silently, and `url` was null
    for records papers with an arXiv id. papers_without_year is a required integer of TechniqueDetail
    that says what it counts, every paper's url says it may be derived, and the answers about a store
    with an undated paper and derived URLs match the document exactly."""
    from api.app import create_app
    from tests.api.conftest import app_config
    from tests.api.test_json_api import OWN_URL_ID, UNDATED_ID, records_store
    from tests.embedders import HashEmbedder

    doc = build_document()
    detail = doc["components"]["schemas"]["TechniqueDetail"]
    assert "papers_without_year" in detail["required"]
    without = detail["properties"]["papers_without_year"]
    assert (without["type"], without["minimum"]) == ("integer", 0)
    assert "papers_per_year leaves out" in without["description"]
    assert "papers_without_year" in detail["properties"]["papers_per_year"]["description"]
    for name in ("PaperSummary", "NewPaper", "SearchResult", "RelatedResult", "RecommendResult",
                 "PaperDetail"):
        url = doc["components"]["schemas"][name]["properties"]["url"]
        assert url["nullable"] is True and "https://arxiv.org/abs/<arxiv_id>" in url["description"], name
        assert "the stored value is not changed" in url["description"], name
    store = records_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        calls = [("/api/techniques/{technique_id}", "get", client.get("/api/techniques/sae")),
                 ("/api/techniques/{technique_id}", "get", client.get("/api/techniques/probing")),
                 ("/api/search", "get", client.get("/api/search?technique=sae")),
                 ("/api/new", "get", client.get("/api/new?since=2000-01-01")),
                 ("/api/recommend", "post", client.post("/api/recommend", json={"liked": [OWN_URL_ID]}))]
        for pid in (UNDATED_ID, OWN_URL_ID, "sae-blog"):
            calls += [("/api/papers/{paper_id}", "get", client.get(f"/api/papers/{pid}")),
                      ("/api/papers/{paper_id}/related", "get", client.get(f"/api/papers/{pid}/related"))]
        for path, method, response in calls:
            assert response.status_code == 200, path
            schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
            assert _problems(doc, response.get_json(), schema, path, set()) == [], path
        assert calls[0][2].get_json()["papers_without_year"] == 1
        assert calls[1][2].get_json()["papers_without_year"] == 0
    finally:
        store.close()


# -- for generated clients -------------------------------------------------------------------------------
def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_every_operation_has_a_stable_snake_case_id_and_a_declared_tag() -> None:
    """A generator names a client's methods by operationId (else by path: getApiPapersPaperIdRelated)
    and groups them by tag."""
    doc = build_document()
    ids = [op.get("operationId") for _, _, op in _operations(doc)]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z]+(_[a-z]+)*", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    declared = {t["name"] for t in doc["tags"]}
    assert all(len(op.get("tags", [])) == 1 and op["tags"][0] in declared for _, _, op in _operations(doc))
    search = doc["paths"]["/api/search"]["get"]
    assert (search["operationId"], doc["paths"]["/api/papers/{paper_id}"]["get"]["operationId"]) == (
        "search_papers", "get_paper")


def test_every_operation_declares_the_400_of_a_malformed_query_string(app: Flask) -> None:
    """?x=%EF is a 400 on every route (api/errors.py refuses it before any view): each operation says so."""
    client = app.test_client()
    for path, method, op in _operations(build_document()):
        url = path.replace("{paper_id}", "2211.00593").replace("{technique_id}", "probing")
        response = client.open(f"{url}?x=%EF", method=method.upper(), json={"liked": ["2211.00593"]})
        assert response.status_code == 400, url
        assert "400" in op["responses"], f"{method.upper()} {path} does not declare its 400"


# The fields that hold dates (YYYY-MM-DD) and timestamps (RFC 3339): as a generated client parses them.
DATE_FIELDS = {
    ("PaperDetail", "published"): "date", ("PaperDetail", "updated"): "date",
    ("PaperDetail", "first_seen"): "date-time", ("PaperDetail", "last_seen"): "date-time",
    ("PaperSummary", "published"): "date", ("NewPaper", "published"): "date",
    ("NewPaper", "first_seen"): "date-time",
    ("SearchResult", "published"): "date", ("RelatedResult", "published"): "date",
    ("RecommendResult", "published"): "date", ("IngestRun", "started"): "date-time",
    ("IngestRun", "finished"): "date-time", ("RunCounts", "window_start"): "date-time",
    ("RunCounts", "window_end"): "date-time", ("RunCounts", "gap_from"): "date-time",
}


def test_date_fields_declare_their_format() -> None:
    schemas = build_document()["components"]["schemas"]
    found = {key: schemas[key[0]]["properties"][key[1]].get("format") for key in DATE_FIELDS}
    assert found == DATE_FIELDS


def test_fields_of_fixed_values_are_enums_of_the_values_the_code_writes() -> None:
    """item_type, sources, a tag's source, a finding's kind, source and about label, an error's code: the
    lists the code writes them from (a finding's kind and source read from ingest/extract.py's calls)."""
    from api.errors import ERROR_CODES
    from api.params import SOURCES
    from ingest.records import ITEM_TYPES
    from kg.schema import EDGE_SOURCES

    schemas = build_document()["components"]["schemas"]
    detail = schemas["PaperDetail"]["properties"]
    finding = detail["findings"]["items"]["properties"]
    extract = (Path(__file__).resolve().parents[2] / "ingest" / "extract.py").read_text(encoding="utf-8")
    calls = re.findall(r"Finding\([^()]*?kind=\"(\w+)\", source=\"(\w+)\"", extract)
    assert calls
    assert detail["item_type"]["enum"] == list(ITEM_TYPES) == schemas["PaperSummary"]["properties"][
        "item_type"]["enum"]
    assert detail["sources"]["items"]["enum"] == list(SOURCES)
    assert detail["evaluations"]["items"]["properties"]["source"]["enum"] == list(EDGE_SOURCES)
    assert detail["techniques"]["items"]["properties"]["source"]["enum"] == list(EDGE_SOURCES)
    assert set(finding["kind"]["enum"]) == {k for k, _ in calls}
    assert set(finding["source"]["enum"]) == {s for _, s in calls}
    about = finding["about"]["items"]["properties"]["label"]["enum"]
    assert about == ["Topic", "Component", "Model", "Object"]
    error = schemas["Error"]["properties"]["error"]
    assert error["properties"]["code"]["enum"] == list(ERROR_CODES)
    assert set(error["properties"]) == {"code", "message", "parameter", "unknown_ids"}
    assert error["required"] == ["code", "message"]


def test_error_codes_raised_anywhere_are_in_the_enum() -> None:
    """Every code the API's modules pass to ApiError or error_response is one of ERROR_CODES."""
    from api.errors import ERROR_CODES

    api = Path(__file__).resolve().parents[2] / "api"
    used = {code for module in api.glob("*.py")
            for code in re.findall(r"(?:ApiError|error_response)\([^()]*?\"([a-z_]+)\"\)",
                                   module.read_text(encoding="utf-8"))}
    assert used and used <= set(ERROR_CODES), used - set(ERROR_CODES)


def test_503_declares_retry_after() -> None:
    from api.errors import RETRY_AFTER_SECONDS

    header = build_document()["components"]["responses"]["E503"]["headers"]["Retry-After"]
    assert header["required"] and re.fullmatch(header["schema"]["pattern"], str(RETRY_AFTER_SECONDS))


def test_info_version_is_the_package_version() -> None:
    from importlib import metadata

    assert build_document()["info"]["version"] == metadata.version("paperkg")


def test_every_json_200_is_a_named_schema() -> None:
    """An inline response schema gets a generated name (GetApiNewResponse200): each is a component."""
    inline = [f"{method} {path}" for path, method, status, schema in _json_responses(build_document())
              if status == "200" and "$ref" not in schema]
    assert inline == []


def test_the_model_filter_and_its_match_fields_are_documented() -> None:
    doc = build_document()
    search = doc["paths"]["/api/search"]["get"]
    model = next(p for p in search["parameters"] if p["name"] == "model")
    assert model["schema"]["type"] == "array" and model["explode"] is True
    why = doc["components"]["schemas"]["SearchResult"]["properties"]["why"]
    assert {"matched_models", "matched_model_labels"} <= set(why["required"])
    assert "model" in why["properties"]["ranks"]["properties"]
    assert "model" in search["description"]
