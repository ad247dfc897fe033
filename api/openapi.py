"""The OpenAPI 3.0 document of the JSON API, feeds and health checks, served at /api/openapi.json.

Written by hand next to the code it documents; tests/api/test_openapi.py checks that every
route of the app is in it (and nothing else) and that every object of every response is described
with the fields the app really sends, and a schemathesis run checks responses against it.
"""

from __future__ import annotations

import functools
import re
from importlib import metadata
from typing import Any

from flask import Response, jsonify, request

from api.app import JSON_CACHE_CONTROL
from api.errors import ERROR_CODES, RETRY_AFTER_SECONDS
from api.feeds import FEED_CACHE_CONTROL, WINDOW_RULES
from api.gunicorn_conf import limit_request_line as REQUEST_LINE_LIMIT
from api.health import (
    MAX_AGE_DAYS_LIMIT,
    MODEL_STATES,
    MODEL_STATES_TEXT,
    STATUS_NOTICES,
    STATUS_PROBLEMS,
    WEEKLY_MAX_AGE_DAYS,
)
from api.json_api import bp
from api.params import (
    MAX_ID_CHARS,
    MAX_LIKED,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_QUERY_BYTES,
    MAX_QUERY_CHARS,
    RUN_SOURCES,
    SOURCES,
)
from ingest.records import ITEM_TYPES
from kg.browse import SORTS
from kg.entities import TECHNIQUE_MATCHES
from kg.schema import EDGE_SOURCES, RELATIONSHIPS, Rel
from kg.search import MODES, SENTENCE_MODES
from kg.validation import RUN_STATUSES, YEAR_MAX, YEAR_MIN


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "nullable": True, **extra}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, schema: dict[str, Any], description: str, *, where: str = "query",
           required: bool = False, explode: bool | None = None) -> dict[str, Any]:
    p = {"name": name, "in": where, "required": required or where == "path", "description": description,
         "schema": schema}
    if explode is not None:
        p["style"] = "form"
        p["explode"] = explode
    return p


LIMIT = _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
               f"results per page (at most {MAX_LIMIT})")
OFFSET = _param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                f"results to skip (at most {MAX_OFFSET}, a 400 above: paging reaches the first "
                f"{MAX_OFFSET} + limit results, even when `total` counts more)")


def paging_cap(what: str, narrow: str) -> str:
    """The operation's note that `total` may count more results than offset and limit can reach."""
    return (f"{what}, but offset is at most {MAX_OFFSET}, so paging reaches only the first {MAX_OFFSET} "
            f"+ limit of them (at most {MAX_OFFSET + MAX_LIMIT}); to reach the others, {narrow}.")
PAPER_ID = {**_param("paper_id", {"type": "string", "minLength": 1},
                     "paper id (arXiv id or slug; old arXiv ids keep their slash: hep-th/9901001). An id "
                     "that is not stored but is an arXiv id with a version (2211.00593v3) or an arXiv "
                     "abs/pdf URL is answered for the paper stored under the bare id, and a former id "
                     "(a slug since replaced by the arXiv id, or a records file's id of a record merged "
                     "into the paper) for that paper; the answer "
                     "carries the id the paper is stored under (no redirect)",
                     where="path"), "example": "2211.00593"}
# The feed's validators, sent with its 200 and again with a 304 (as RFC 9110 asks).
FEED_HEADERS = {
    "ETag": {"description": "a strong ETag of the body: it changes exactly when the feed does",
             "required": True, "schema": {"type": "string"}},
    "Cache-Control": {"description": f"`{FEED_CACHE_CONTROL}`", "required": True,
                      "schema": {"type": "string", "enum": [FEED_CACHE_CONTROL]}},
}
# A JSON GET's validators (api.app.conditional_json), with its 200 and its 304.
JSON_HEADERS = {
    "ETag": {"description": "a strong ETag of the body", "required": True, "schema": {"type": "string"}},
    "Cache-Control": {"description": f"`{JSON_CACHE_CONTROL}`: revalidate before reusing it; no shared cache",
                      "required": True, "schema": {"type": "string", "enum": [JSON_CACHE_CONTROL]}},
}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "the ETag of the copy the client holds: 304 with no body while it is current"}
DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
SINCE_SCHEMA = {"anyOf": [DATE, DATE_TIME]}
SINCE_TEXT = ("a date (2024-01-31) or an RFC 3339 timestamp with its offset (2024-01-31T12:00:00Z); "
              "anything else, an empty value included, is a 400, as is a moment before 0001-01-01 or "
              "after 9999-12-31 in UTC (such as 0001-01-01T00:00:00+00:01). Encode a + offset as %2B; one "
              "typed unencoded arrives as a space (2024-01-31T12:00:00 02:00), which is read as the +")
# The default window of GET /api/new and the New page (api.feeds.default_new_window).
NEW_DEFAULT_TEXT = ("papers first seen since the weekly arXiv run before the latest one that succeeded ended "
                    "(the latest weekly run's papers and any added since the run before it, so a client "
                    "reading once after each weekly run gets every paper once); with one such run, since it "
                    "started; with none, the 7 days before the latest ingest of any source started; with no "
                    "ingest, the last 7 days")
WINDOW_TEXT = ("given (the since of the request), previous_weekly_run, only_weekly_run, "
               f"week_before_latest_ingest or last_7_days (the default window's cases: {NEW_DEFAULT_TEXT})")
# Every list of paper ids (a JSON body's, GET /api/bibtex's repeated id) is checked by one rule:
# api.params.check_ids.
ID_RULE = (f"each id 1 to {MAX_ID_CHARS} characters of valid Unicode text without NUL (a 400 naming the "
           "list otherwise); a repeated id counts once")
ID_ITEM = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS, "pattern": "^[^\\x00]*$"}
ID_LIST = {"type": "array", "items": ID_ITEM, "description": ID_RULE}
STRINGS = {"type": "array", "items": {"type": "string"}}
ALIASES = {**STRINGS, "description": "the taxonomy's other names for it, those papers are found by"}


BIBTEX_OK = {"description": "BibTeX, one entry a paper, a blank line between entries",
             "content": {"text/x-bibtex": {"schema": {"type": "string"}}}}
# The download's file name (api.json_api._download_name): folded, never refused, so no raw text reaches the
# Content-Disposition header.
BIBTEX_NAME = _param("name", {"type": "string"},
                     "the file name the download is saved as (Content-Disposition), without .bib: folded "
                     "to lower-case a-z, 0-9, '.' and '-' (accents dropped, any other run of characters "
                     "one '-', at most 80 characters), '.bib' appended; without it, or with nothing left, "
                     "papers.bib. The web UI's lists use related-{paper id}, search, technique-{node id} "
                     "and new")
BIBTEX_TEXT = ("The entries `paperkg export papers --format bibtex --id ...` writes: oldest paper first, "
               "each with the citation key the store issued the paper (unique in the store, kept when the "
               "paper is retitled). An id is looked up as GET /api/papers/{paper_id} looks it up (a "
               "versioned arXiv id, an arXiv URL or a former id finds the paper); a repeated id, or two ids "
               "of one paper, give one entry; an id naming no paper is a 422 listing them all in "
               "`unknown_ids`.")

# A taxonomy node's paper counts (GET /api/techniques, /api/topics, /api/techniques/{id}).
OWN_COUNT = {"type": "integer", "minimum": 0,
             "description": "papers tagged with the node itself (not only with a refinement of it)"}
TOTAL_COUNT = {"type": "integer", "minimum": 0,
               "description": "papers tagged with the node or any of its refinements, each counted once "
                              "(what the technique or topic filter finds with refinements=true)"}
# An answer with no papers from a store that has none (kg.store.EMPTY_STORE_MESSAGE).
NOTICE = {**_nullable("string"),
          "description": "set when the answer lists no papers because the store has none at all (nothing "
                         "ingested yet): says how to load some; null otherwise"}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """An object schema whose properties are all always sent, save those named optional."""
    required = [k for k in properties if k not in optional]
    # OpenAPI 3.0 (JSON Schema draft 5) wants a required list to name at least one property.
    return {"type": "object", **({"required": required} if required else {}), "properties": properties,
            **extra}


# The kinds and the source of the findings ingest/extract.py writes (tests/api/test_openapi.py reads
# them from its Finding(...) calls), and the labels a finding may be about (the ABOUT relationship's).
FINDING_KINDS = ("claim", "title")
FINDING_SOURCES = ("extracted",)
ABOUT_LABELS = RELATIONSHIPS[Rel.ABOUT].end
# Whether a paper is withdrawn (kg.withdrawn): on every paper the API returns.
WITHDRAWN = {"type": "boolean",
             "description": "true when the stored abstract is arXiv's withdrawal notice (\"This paper has "
                            "been withdrawn by the authors ...\"): arXiv lists the paper as withdrawn, its "
                            "earlier versions remain there; the paper is still listed, marked"}
# A paper's url as api.json_api.paper_url gives it: on every paper the API returns.
PAPER_URL = {**_nullable("string"),
             "description": "the paper's URL as stored; when none is stored and the paper has an arXiv id, "
                            "its arXiv abs page (https://arxiv.org/abs/<arxiv_id>), derived for the answer "
                            "(the stored value is not changed); null when it has neither"}
# A paper's item_type: ingest.records.ITEM_TYPES (tests/api/test_openapi.py checks the two agree).
ITEM_TYPE = {"type": "string", "enum": list(ITEM_TYPES)}
# The fields api.json_api.paper_summary adds to every paper in a result list.
SUMMARY_FIELDS: dict[str, Any] = {
    "authors": STRINGS, "year": _nullable("integer"), "published": _nullable("string", format="date"),
    "venue": _nullable("string"), "url": PAPER_URL, "arxiv_id": _nullable("string"),
    "item_type": ITEM_TYPE, "withdrawn": WITHDRAWN,
}
# The shared-node lists of a related paper's parts (ids, best first or sorted) and its authors (names).
RELATED_LISTS = ("shared_techniques", "related_techniques", "shared_topics", "shared_components",
                 "shared_models", "shared_authors")
# The keys of a related paper's parts.weighted: what each kind of reason adds to the score (kg.related).
RELATED_WEIGHTED = ("cosine", "shared_techniques", "related_techniques", "models", "topics", "components",
                    "authors")
# Keys of IngestRun.counts: a run of the list, arxiv or records pipeline (IngestSummary.counts, the
# last four only for a whole list) or of the weekly ingest (WeeklySummary.counts); a run still running
# (or one killed before its first count) has none.
PIPELINE_COUNTS = ("records", "papers", "new", "updated", "unchanged", "moved", "merged", "retagged",
                   "rejected", "unknown_labels", "embedded", "stale_list_rows", "list_rows_pruned",
                   "list_only_papers", "papers_pruned")
WEEKLY_COUNTS = ("queries", "candidates", "known", "kept")


def _filter_node(kind: str, papers: str, **extra: Any) -> dict[str, Any]:
    """The schema of a taxonomy node a search filter takes (GET /api/models, /api/components), its papers
    counted as `papers` says."""
    return _object(
        {"id": {"type": "string", "description": f"the {kind} filter's id (GET /api/search?{kind}=)"},
         "label": {"type": "string"},
         "aliases": ALIASES,
         **extra,
         "count": {"type": "integer", "description": f"{papers}: the search's total for the {kind} filter "
                                                    f"alone and the web {kind} select's count; 0 for one no "
                                                    "paper has yet"}})

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(ERROR_CODES),
                         "description": "what went wrong, for a program (the message is for people)"},
                "message": {"type": "string"},
                "parameter": {"type": "string",
                              "description": "sent with code bad_parameter: the query parameter or body "
                                             "field at fault (its first 80 characters)"},
                "unknown_ids": {**STRINGS,
                                "description": "sent with the 422 of POST /api/recommend (every liked or "
                                               "disliked id that names no paper) and GET and POST "
                                               "/api/bibtex (every id naming none); the message shows ten"},
            },
        }},
    },
    "PaperSummary": _object({"id": {"type": "string"}, "title": {"type": "string"}, **SUMMARY_FIELDS}),
    "NewPaper": _object(
        {"id": {"type": "string"}, "title": {"type": "string"}, **SUMMARY_FIELDS,
         "first_seen": {**_nullable("string", format="date-time"),
                        "description": "when the store first saw the paper (UTC)"},
         "techniques": {"type": "array", "items": _object({
             "id": {"type": "string"}, "label": {"type": "string"},
             "matched": {"type": "boolean", "description": "as in search results: true for a technique "
                                                          "of the technique filter or a refinement of one "
                                                          "(false without the filter)"}}),
                        "description": "the paper's techniques, as a search result lists them"},
         "models": {"type": "array",
                    "items": _object({"id": {"type": "string"}, "label": {"type": "string"}}),
                    "description": "the models it studies or reports a finding about"}},
        description="a new paper: a search result's summary fields and techniques, with its models and "
                    "first_seen"),
    "SearchResult": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "score": {"type": "number"},
        "techniques": {"type": "array", "items": _object({
            "id": {"type": "string"}, "label": {"type": "string"}, "matched": {"type": "boolean"}})},
        "why": _object(
            {
                "mode": {"type": "string", "enum": [*MODES, "filter"],
                         "description": "filter: no query, the papers passing the filters newest first"},
                "semantic": _nullable("number"), "keyword": _nullable("number"), "rrf": _nullable("number"),
                "ranks": {"type": "object",
                          "description": "the paper's rank (from 1) in each list it is on (author: the "
                                         "papers by an author the hybrid query names; topic: the papers "
                                         "touching a topic or fundamental object a hybrid query is mostly "
                                         "the name of, or a sub-topic of it)",
                          "properties": {k: {"type": "integer", "minimum": 1}
                                         for k in ("semantic", "keyword", "technique", "model",
                                                   "component", "topic", "author")}},
                "matched_techniques": STRINGS, "matched_technique_labels": STRINGS,
                "matched_evaluations": STRINGS, "matched_evaluation_labels": STRINGS,
                "matched_models": {**STRINGS, "description": "model ids, of the model filter or named in "
                                                             "the query, that the paper studies or reports "
                                                             "a finding about"},
                "matched_model_labels": {**STRINGS, "description": "their names, in the same order"},
                "matched_components": {**STRINGS, "description": "component ids, of the component filter "
                                                                 "or named in the query (or a sub-component "
                                                                 "of one), that a finding of the paper is "
                                                                 "about"},
                "matched_component_labels": {**STRINGS, "description": "their names, in the same order"},
                "best_sentence": _nullable("string"), "best_sentence_score": _nullable("number"),
                "best_sentence_by": _nullable("string", enum=["overlap", "embedding", "evidence", None]),
            },
            description="score parts (semantic cosine, keyword score, ranks per list: semantic, "
                        "keyword and, when the query names a technique or criterion, technique, and when "
                        "a hybrid query names a model and no model filter is given, model: the papers "
                        "studying it, and likewise component: the papers with a finding about a named "
                        "component; rrf), matched techniques, criteria, models and components, and the "
                        "best-matching abstract sentence"),
        **SUMMARY_FIELDS,
    }),
    "SearchPage": {
        "type": "object",
        "required": ["query", "notice", "mode", "total", "limit", "offset", "named_paper", "acronyms",
                     "using_first", "not_tagged", "did_you_mean", "non_latin_query", "filter_counts",
                     "papers_passing_filters", "results", "mode_used", "filters", "paperkg_version"],
        "properties": {
            "query": {"type": "string"},
            "notice": NOTICE,
            "mode": {"type": "string", "enum": list(MODES),
                     "description": "the mode requested (hybrid when not given); mode_used says what ranked "
                                    "the results"},
            "total": {"type": "integer", "description": "ranked candidates the page was cut from "
                      "(keyword: papers matching the terms; semantic: papers passing the filters; "
                      "each counted up to max(100, offset + limit + 50); hybrid: the papers of the "
                      "lists fused for the position tiers the page reaches, each list cut at 100 while "
                      "offset + limit <= 50, else at E + 50, E the first of 100, 200, 400, ... >= "
                      "offset + limit)"},
            "limit": {"type": "integer"}, "offset": {"type": "integer"},
            "named_paper": {**_nullable("string"),
                            "description": "the stored id of the paper the whole query is the arXiv id or "
                                           "URL of (GET /api/papers/{id}); the results are still the "
                                           "search's (the web form opens that paper's page instead)"},
            "acronyms": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "acronyms of the query and the long forms the papers using "
                                        "them define (else the taxonomy's aliases spell out), which the "
                                        "query embedding was given (\"IOI\": \"indirect object "
                                        "identification\"); empty in keyword mode"},
            "using_first": {"type": "array", "items": {"type": "string"},
                            "description": "technique, criterion or topic ids the query only names, a "
                                           "topic by its own name, not an alias (\"logit lens\", \"AI "
                                           "safety\"; not \"jailbreak\"), that some paper passing the "
                                           "filters is tagged with: those papers come first, each part in "
                                           "score order, so scores are not monotonic where they meet"},
            "not_tagged": {"type": "array", "items": {"type": "string"},
                           "description": "technique, criterion, model, component or topic ids a hybrid "
                                          "query names that no paper passing the filters is tagged with, "
                                          "studies or has a finding about (nor a refinement): the results "
                                          "are only the nearest matches"},
            "did_you_mean": {**_nullable("string"), "description": (
                "the query with its misspelt taxonomy names put right (\"activaton patching\": \"activation "
                "patching\"), to offer as a search of its own: only a word that is in no name or alias of "
                "the taxonomy and in no stored paper is changed, to a word of a name or alias the query's "
                "words around it then spell; null when no word is. The results are those of the query as "
                "sent")},
            "non_latin_query": {"type": "boolean", "description": (
                "most letters of the query are of another script than Latin (\"稀疏自编码器\"): the "
                "embedding model and the keyword index read English, so the results are no answer to it; "
                "tell the user to type the English term (\"sparse autoencoder\")")},
            "filter_counts": {
                "type": "array", "nullable": True,
                "items": _object({"filter": {"type": "string"}, "papers": {"type": "integer", "minimum": 0}}),
                "description": "for an answer with no results under filters, each filter alone (\"model "
                               "pythia\") and how many papers pass it; null otherwise"},
            "papers_passing_filters": {**_nullable("integer"), "description": (
                "for an answer with no results under filters, how many papers pass them all: 0, the "
                "filters together emptied it; more, the query's words did; null otherwise")},
            "results": {"type": "array", "items": _ref("SearchResult")},
            "mode_used": {"type": "string", "enum": [*MODES, "filter"], "description": (
                "what ordered the results: the requested mode, or filter when the query is empty (the "
                "papers passing the filters, newest first, whatever the mode; each result's why.mode is "
                "filter then)")},
            "filters": _object(
                {**{name: {**STRINGS, "description": f"the {name} ids ([] when not given)"}
                    for name in ("technique", "topic", "model", "component", "section")},
                 "technique_match": {"type": "string", "enum": list(TECHNIQUE_MATCHES)},
                 "refinements": {"type": "boolean"},
                 "source": {"type": "array", "items": {"type": "string", "enum": list(SOURCES)},
                            "description": "the sources ([] when not given)"},
                 "year_from": _nullable("integer"), "year_to": _nullable("integer")},
                description="every filter as the search applied it, named as its query parameter, "
                            "always all of them: ids as given, split at commas, trimmed and "
                            "deduplicated, sources in lower case; [] (null for a year) when not given, "
                            "technique_match and refinements their defaults (any, true) when not given"),
            "paperkg_version": {"type": "string", "description": (
                "the installed paperkg version that answered (as info.version of this document and "
                "`paperkg --version`; 0+unknown when run from a checkout without installing)")},
        },
    },
    "RelatedResult": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "score": {"type": "number"},
        "reasons": {"type": "array", "minItems": 1, "items": {"type": "string"},
                    "description": "why, strongest first: in the order of what each adds to the score "
                                   "(parts.weighted)"},
        "parts": _object(
            {**{k: {"type": "number"} for k in ("cosine", "techniques", "topics", "components", "models",
                                                 "authors")},
             **{k: STRINGS for k in RELATED_LISTS},
             "related_pairs": {"type": "array", "items": {**STRINGS, "minItems": 2, "maxItems": 2},
                               "description": "[its technique, this paper's technique] for each technique of "
                                              "this paper the result lacks but has a relative of: each "
                                              "counts half (the \"related techniques\" reason's pairs)"},
             "weighted": _object(
                 {k: {"type": "number"} for k in RELATED_WEIGHTED},
                 description="what each reason adds to the score (its weight times its part; the "
                             "technique part split into shared and related techniques): they add up to "
                             "score, give or take rounding")},
            description="the score's parts: the abstracts' cosine and the shares (0 to 1) of this paper's "
                        "techniques (by idf; related ones count in part), topics, components, models "
                        "and authors (two shared count fully) the result has; then the ids it shares "
                        "(technique, topic, component, model), its techniques related to this paper's "
                        "(same family, parent or refinement), the shared authors' names, the related "
                        "pairs and the weighted contributions"),
        **SUMMARY_FIELDS,
    }),
    "RelatedList": _object({"id": {"type": "string"},
                            "results": {"type": "array", "items": _ref("RelatedResult")}}),
    "RecommendResult": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "score": {"type": "number"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "parts": _object(
            {"cosine": {"type": "number"}, "profile": {"type": "number"},
             "shared_techniques": STRINGS},
            description="the score's parts: cosine with the mean of the liked papers' embeddings (less "
                        "the disliked ones' mean), the idf-weighted technique profile similarity, and the "
                        "technique ids the result shares with the liked papers (most shared first)"),
        **SUMMARY_FIELDS,
    }),
    "RecommendRequest": {
        "type": "object", "required": ["liked"], "additionalProperties": False,
        "example": {"liked": ["2211.00593", "2304.14997"], "disliked": ["2209.10652"], "limit": 10},
        "properties": {
            "liked": {**ID_LIST, "minItems": 1, "maxItems": MAX_LIKED},
            "disliked": {**ID_LIST, "maxItems": MAX_LIKED},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
        },
    },
    "BibtexRequest": {
        "type": "object", "required": ["ids"], "additionalProperties": False,
        "example": {"ids": ["2211.00593", "hep-th/9901001", "math-framework"]},
        "properties": {"ids": {**ID_LIST, "minItems": 1, "maxItems": MAX_LIKED}},
    },
    "ResolveRequest": {
        "type": "object", "required": ["ids"], "additionalProperties": False,
        "example": {"ids": ["math-framework", "2211.00593v2"]},
        "properties": {"ids": {**ID_LIST, "maxItems": MAX_LIKED}},
    },
    "ResolvedIds": _object({"results": {"type": "array", "items": _object(
        {"id": {"type": "string"}, "current": _nullable("string"), "title": _nullable("string"),
         **SUMMARY_FIELDS}, optional=tuple(SUMMARY_FIELDS))}}),
    "RecommendList": _object({"liked": STRINGS, "disliked": STRINGS,
                              "results": {"type": "array", "items": _ref("RecommendResult")}}),
    "PaperDetail": _object({
        "id": {"type": "string"}, "title": {"type": "string"}, "abstract": _nullable("string"),
        "arxiv_id": _nullable("string"), "doi": _nullable("string"), "authors": STRINGS,
        "published": _nullable("string", format="date"), "updated": _nullable("string", format="date"),
        # The arXiv version (vN) the metadata is from; null when unknown or not from arXiv.
        "arxiv_version": _nullable("integer"), "year": _nullable("integer"),
        "venue": _nullable("string"), "primary_category": _nullable("string"), "categories": STRINGS,
        "url": PAPER_URL, "pdf_url": _nullable("string"),
        "sources": {"type": "array", "items": {"type": "string", "enum": list(SOURCES)}},
        "item_type": ITEM_TYPE, "first_seen": _nullable("string", format="date-time"),
        "last_seen": _nullable("string", format="date-time"),
        "withdrawn": WITHDRAWN,
        "citation_key": {"type": "string", "example": "nanda2023progress",
                         "description": "The BibTeX citation key of /api/papers/{id}/bibtex and every "
                                        "export: issued when the paper is stored, unique in the store, and "
                                        "kept when it is retitled, its authors reordered or a venue "
                                        "recorded (a paper without authors gets its key once, when they "
                                        "arrive)"},
        "techniques": {"type": "array", "items": _object({
            "id": {"type": "string"}, "label": {"type": "string"},
            "source": {"type": "string", "enum": list(EDGE_SOURCES)},
            "evidence": _nullable("string"), "score": _nullable("number")})},
        "evaluations": {"type": "array", "items": _object({
            "id": {"type": "string"}, "label": {"type": "string"},
            "source": {"type": "string", "enum": list(EDGE_SOURCES)},
            "evidence": _nullable("string")})},
        "findings": {"type": "array", "items": _object({
            "id": {"type": "string"}, "text": {"type": "string"},
            "kind": {"type": "string", "enum": list(FINDING_KINDS),
                     "description": "title: the paper's title read as a finding; claim: an abstract "
                                    "sentence"},
            "source": {"type": "string", "enum": list(FINDING_SOURCES)},
            "about": {"type": "array", "items": _object(
                {"label": {"type": "string", "enum": list(ABOUT_LABELS),
                           "description": "the node's graph label"},
                 "id": {"type": "string"}, "name": {"type": "string"}},
                description="a taxonomy node the finding is about")}})},
        "models": {"type": "array", "items": _object(
            {"id": {"type": "string"}, "label": {"type": "string"}},
            description="a model (family) the paper studies")},
        "list_rows": {"type": "array", "items": _object(
            {"section_id": {"type": "string", "description": "see /api/sections"},
             "section_title": {"type": "string", "description": "the innermost heading"},
             "section_path": {**STRINGS, "description": "every heading from the top section down"},
             "tldr": _nullable("string"),
             "techniques_text": {**_nullable("string"), "description": "the Techniques cell verbatim"},
             "evaluation_text": {**_nullable("string"), "description": "the Evaluation cell verbatim"},
             "title_in_list": _nullable("string"), "url_in_list": _nullable("string"),
             "line": {**_nullable("integer"), "description": "line number in the list's markdown"},
             "topic_ids": {**STRINGS, "description": "the Topic and Object ids the row's section matches "
                                                     "(those the taxonomy's section map gives it and those "
                                                     "its slug holds: the topic counts' rule)"}},
            description="a row of the awesome-list the paper is listed in")},
        "former_ids": {**STRINGS, "description": "ids that lead to this paper, sorted: a slug its arXiv id "
                                                 "replaced, the id a records file gave a record merged into "
                                                 "it; an export read later can map them to this id"},
    }),
    "TreeNode": _object({
        "id": {"type": "string"}, "label": {"type": "string"}, "node_label": _nullable("string"),
        "kind": _nullable("string"), "own_count": OWN_COUNT, "total_count": TOTAL_COUNT,
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/TreeNode"}},
    }),
    "TechniqueTree": _object({g: {"type": "array", "items": _ref("TreeNode")}
                              for g in ("techniques", "evaluations", "topics", "objects")}),
    "TechniqueDetail": _object({
        "id": {"type": "string"}, "label": {"type": "string"}, "kind": _nullable("string"),
        "node_label": {"type": "string"},
        "summary": _nullable("string", description="what the node is, a paragraph from the taxonomy file's "
                                                   "summaries; null when the file has none for it"),
        "parent": _object({"id": {"type": "string"}, "label": {"type": "string"}}, nullable=True,
                          description="the node it refines or belongs to; null for a top-level node"),
        "refinements": {"type": "array", "items": _object(
            {"id": {"type": "string"}, "label": {"type": "string"}, "own_count": OWN_COUNT,
             "total_count": TOTAL_COUNT},
            description="a node refining this one, with its paper counts")},
        "own_count": OWN_COUNT, "total_count": TOTAL_COUNT,
        "cooccurring": {"type": "array", "items": _ref("Cooccurring"),
                        "description": "techniques the node's papers also use, most papers first: each count "
                                       "is the papers technique=<id>&technique=<other>&technique_match=all "
                                       "finds (topic=<id> for a topic or object), refinements of either "
                                       "included; the node's refinements and ancestors are not listed, nor "
                                       "an ancestor with the count of a listed refinement (the same papers)"},
        "cooccurring_evaluations": {"type": "array", "items": _ref("Cooccurring"),
                                    "description": "evaluation criteria the node's papers also use, counted "
                                                   "and listed as cooccurring"},
        "papers_per_year": {"type": "object", "additionalProperties": {"type": "integer"},
                            "description": "papers by year (the year as a string), refinements included as "
                                           "in papers.total; papers without a year are not in it: "
                                           "papers_without_year counts them"},
        "papers_without_year": {"type": "integer", "minimum": 0,
                                "description": "papers (of papers.total) without a year, which "
                                               "papers_per_year leaves out: papers_per_year's counts and "
                                               "this add up to papers.total"},
        "papers": _object({
            "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
            "sort": {"type": "string", "enum": list(SORTS)},
            "results": {"type": "array", "items": _ref("NodePaper")}}),
        "notice": NOTICE,
    }),
    "Cooccurring": _object({"id": {"type": "string"}, "label": {"type": "string"},
                            "count": {"type": "integer"}}),
    "NodePaper": _object(
        {"id": {"type": "string"}, "title": {"type": "string"}, **SUMMARY_FIELDS,
         "because": {"type": "array", "items": _ref("NodeReason"),
                     "description": "why the paper is among the node's papers: each node of the node's "
                                    "family (the node itself, or a refinement) it is tagged with, list "
                                    "first; the web page's \"via … · extracted · <evidence>\""}},
        description="a paper of a taxonomy node: a result list's fields and why it is listed"),
    "NodeReason": _object(
        {"id": {"type": "string", "description": "the node the paper is tagged with"},
         "label": {"type": "string", "description": "its name"},
         "refinement": {"type": "boolean", "description": "true when it is a refinement of the node asked "
                                                          "for (the paper is listed via it), false for the "
                                                          "node itself"},
         "sources": {"type": "array", "items": {"type": "string", "enum": list(EDGE_SOURCES)},
                     "description": "how the paper got the tag, list first: list (the curated awesome-list "
                                    "puts it there) and/or extracted (read from its title and abstract)"},
         "evidence": {**STRINGS, "description": "the quoted text of the paper (or its list row) the tag was "
                                                "read from; for a topic or object, the findings about it"},
         "sections": {**STRINGS, "description": "for a topic or object: the awesome-list sections (heading "
                                                "paths, \"A › B\") that put the paper there; else empty"}},
        description="one tag that lists the paper under the node"),
    "RunCounts": _object(
        {**{k: {"type": "integer"} for k in PIPELINE_COUNTS},
         "window_start": DATE_TIME, "window_end": DATE_TIME,
         **{k: {"type": "integer"} for k in WEEKLY_COUNTS},
         "empty_queries": {"type": "array", "items": {"type": "integer"},
                           "description": "query parts (from 1) arXiv answered with no papers"},
         "load_run": {**_nullable("string"), "description": "the arxiv-weekly-load run that loaded the "
                                                            "kept papers"},
         "gap_from": {**_nullable("string", format="date-time"),
                      "description": "papers from here to window_start were not fetched"},
         "file": {"type": "string", "description": "the records file an ingest records run read (its name "
                                                  "only)"},
         "possible_duplicates": {"type": "array", "items": {"type": "string"},
                                 "description": "new arXiv ids stored with the title of another arXiv "
                                                "paper (kept apart; check them)"}},
        optional=(*PIPELINE_COUNTS, "window_start", "window_end", *WEEKLY_COUNTS, "empty_queries",
                  "load_run", "gap_from", "file", "possible_duplicates"),
        description="what the run did, by name; the names depend on the source: list, arxiv, records "
                    "and arxiv-weekly-load runs count records through embedded (a whole list also "
                    "stale_list_rows through papers_pruned), arxiv-weekly runs window_start through "
                    "gap_from (and new, updated, unchanged, rejected), reextract runs papers, updated, "
                    "unchanged, retagged and embedded; a run still running has none"),
    "IngestRun": _object({
        "id": {"type": "string"}, "source": {"type": "string", "enum": list(RUN_SOURCES)},
        "started": DATE_TIME, "finished": _nullable("string", format="date-time"),
        "status": {"type": "string", "enum": ["running", "succeeded", "failed"]}, "counts": _ref("RunCounts"),
        "watermark": _nullable("string"), "message": _nullable("string")}),
    "Section": _object(
        {"id": {"type": "string", "description": "slug of the heading path (the search's section filter)"},
         "title": {"type": "string", "description": "the innermost heading"},
         "path": {**STRINGS, "description": "every heading from the top section down"},
         "count": {"type": "integer", "description": "papers listed in it; a heading's: the distinct papers "
                                                    "under any of its sections (the search's total for it)"},
         "heading": {"type": "boolean", "description": "true: a heading above stored sections, listed right "
                                                       "before the first of them (a stored section with "
                                                       "sections under it is listed twice, as each)"}}),
    "Model": _filter_node("model", "its distinct papers"),
    "Component": _filter_node(
        "component", "its distinct papers, its sub-components' included",
        parent=_nullable("string", description="the component it is part of (null at the top); listed right "
                                               "before its sub-components")),
    "OpenApiDocument": _object(
        {"openapi": {"type": "string"},
         "info": _object({"title": {"type": "string"}, "version": {"type": "string"},
                          "description": {"type": "string"}}),
         "tags": {"type": "array", "items": _object({"name": {"type": "string"},
                                                     "description": {"type": "string"}})},
         "paths": {"type": "object", "additionalProperties": {
             "type": "object", "additionalProperties": True,
             "description": "a Path Item Object: its operations by method"}},
         "components": _object({g: {"type": "object", "additionalProperties": {
             "type": "object", "additionalProperties": True}} for g in ("schemas", "responses")})},
        description="an OpenAPI 3.0 document (https://spec.openapis.org/oas/v3.0.3): its Path Item, "
                    "Schema and Response Objects are described there"),
    "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "TopicList": _object({"topics": {"type": "array", "items": _ref("TreeNode")}}),
    "SectionList": _object({"sections": {"type": "array", "items": _ref("Section")}}),
    "ModelList": _object({"models": {"type": "array", "items": _ref("Model")}}),
    "ComponentList": _object({"components": {"type": "array", "items": _ref("Component")}}),
    "NewPapersPage": _object({
        "since": {**SINCE_SCHEMA, "description": "the since applied, as a date or an RFC 3339 timestamp: the "
                                                 "one given, else the default window's start (see window)"},
        "window": {"type": "string", "enum": list(WINDOW_RULES),
                   "description": "how since was chosen: " + WINDOW_TEXT},
        "technique": {**STRINGS, "description": "the technique filter applied: the technique ids given, "
                                                "once each, in the order given (empty: every paper)"},
        "author": {**_nullable("string"), "description": "the author filter applied: the author's key "
                                                         "(null: every author)"},
        "total": {"type": "integer", "description": "papers first seen at or after `since` (all of them, "
                                                    "not only this page; with the technique or author "
                                                    "filter, those it keeps)"},
        "limit": {"type": "integer"}, "offset": {"type": "integer"},
        "results": {"type": "array", "items": _ref("NewPaper")}}),
    "RunList": _object({"runs": {"type": "array", "items": _ref("IngestRun")}}),
    "Readiness": _object(
        {"status": {"type": "string", "enum": ["ready"]},
         "model": {"type": "string", "enum": list(MODEL_STATES), "description": MODEL_STATES_TEXT}},
        description="the store answered a ping; the model's state does not change the status (see the "
                    "operation)"),
    "ServiceStatus": _object(
        {"status": {"type": "string", "enum": ["ok", "failing"],
                    "description": "failing (with a 503) when problems lists any; notices never make "
                                   "it failing"},
         "problems": {"type": "array", "items": _object(
             {"code": {"type": "string", "enum": list(STATUS_PROBLEMS)},
              "message": {"type": "string", "description": "what is wrong, in words"}}),
             "description": "what is wrong: " + "; ".join(f"{c}: {t}" for c, t in STATUS_PROBLEMS.items())},
         "notices": {"type": "array", "items": _object(
             {"code": {"type": "string", "enum": list(STATUS_NOTICES)},
              "message": {"type": "string", "description": "what to do, in words"}}),
             "description": "worth knowing, but no failure: the status stays ok (200) when these are all "
                            "there is (alert on them if you want): " + "; ".join(
                                f"{c}: {t}" for c, t in STATUS_NOTICES.items())},
         "model": {"type": "string", "enum": list(MODEL_STATES), "description": MODEL_STATES_TEXT},
         "weekly": {**_object(
             {"last_success": {**_nullable("string", format="date-time"),
                               "description": "when the newest succeeded arxiv-weekly run finished (null: "
                                              "none has)"},
              "age_hours": {**_nullable("number"),
                            "description": "hours since last_success, to 0.1 (null: no success)"},
              "max_age_days": {"type": "integer", "description": "the max_age_days applied"},
              "last_status": {**_nullable("string", enum=["succeeded", "failed", None]),
                              "description": "the status of the newest finished arxiv-weekly run (null: "
                                             "none has finished)"},
              "last_finished": {**_nullable("string", format="date-time"),
                                "description": "when that run finished"},
              "last_message": {**_nullable("string"),
                               "description": "that run's message (a failed run's error, up to 2,000 "
                                              "characters)"},
              "running_since": {**_nullable("string", format="date-time"),
                                "description": "when the newest arxiv-weekly run started, while it is "
                                               "still running"},
              "interrupted_since": {**_nullable("string", format="date-time"),
                                    "description": "when the newest arxiv-weekly run started, if it is "
                                                   "recorded as running but no ingest holds the store lock "
                                                   "(killed or crashed; the next ingest records it as "
                                                   "failed): a weekly_interrupted problem"}}),
             "nullable": True,
             "description": "the weekly arXiv ingest (null: the store could not be read)"}}),
    "Stats": _object({"nodes": {"type": "object", "additionalProperties": {"type": "integer"}},
                      "relationships": {"type": "object", "additionalProperties": {"type": "integer"}}}),
}


def package_version() -> str:
    """The installed paperkg package's version (pyproject.toml's), else "0+unknown" (a checkout run
    without installing it)."""
    try:
        return metadata.version("paperkg")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _openapi_path(rule: str) -> str:
    """A Flask rule as the document's path template (/api/papers/<path:paper_id>: /api/papers/{paper_id})."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@functools.cache
def _query_parameters() -> dict[tuple[str, str], dict[str, bool]]:
    """Each operation's query parameters and whether each repeats (an array), by (path, method)."""
    return {(path, method): {p["name"]: p["schema"].get("type") == "array"
                             for p in op["parameters"] if p["in"] == "query"}
            for path, ops in build_document()["paths"].items() for method, op in ops.items()}


def declared_query_parameters(rule: str, method: str) -> tuple[str, dict[str, bool]] | None:
    """For a Flask rule and a method, the operation's path template and the query parameters it declares
    (each with whether it repeats); None when the document has no such operation."""
    path = _openapi_path(rule)
    declared = _query_parameters().get((path, method))
    return None if declared is None else (path, declared)


# Every operation can answer 400: a query string that is not percent-encoded UTF-8 text (on every
# path), and on /api/... a parameter the operation does not declare or a single-valued one given twice.
BAD_REQUEST = ("Bad request: the query string is not percent-encoded UTF-8 text (code bad_request); on "
               "/api/... also a query parameter the operation does not declare, or one it takes once given "
               "twice, or a value out of its limits (code bad_parameter, the parameter named in the message "
               "and in `parameter`)")
RETRY_AFTER = {"Retry-After": {
    "description": f"seconds to wait before trying again ({RETRY_AFTER_SECONDS}); a damaged store or a "
                   "missing or mismatched embedding model needs the operator, so a client that keeps "
                   "getting the 503 should back off further",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$", "example": str(RETRY_AFTER_SECONDS)}}}


def _error_responses() -> dict[str, Any]:
    # No 405 here: a 405 answers a method a path has no operation for (with an Allow header), so
    # no operation can declare it; the document's description says so.
    text = {400: BAD_REQUEST, 404: "Not found",
            413: "Request body over 64 KB (also when sent chunked, without Content-Length)",
            415: "Content-Type is not application/json",
            422: "Unknown paper ids (all of them in `unknown_ids`)",
            500: "Internal error (no details are exposed)",
            503: "The graph store (or, for a search, the embedding model) is unavailable"}
    out = {f"E{c}": _json(_ref("Error"), t) for c, t in text.items()}
    out["E503"]["headers"] = RETRY_AFTER
    return out


def _op(operation_id: str, tag: str, summary: str, responses: dict[str, Any],
        params: list[dict[str, Any]] | None = None, *, codes: tuple[str, ...] = ("400", "500", "503"),
        **extra: Any) -> dict[str, Any]:
    """An operation: its id (a generated client's method name) and tag, and the error responses every
    operation of the kind can give (`codes`) beside those it declares itself."""
    out = {"operationId": operation_id, "tags": [tag], "summary": summary, "parameters": params or [],
           "responses": responses | {c: {"$ref": f"#/components/responses/E{c}"}
                                     for c in sorted(set(codes) - set(responses))}}
    out.update(extra)
    return out


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return _json(schema, description)


def _err(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


# GET /api/authors/{key}: one author's papers (GraphStore.author_papers).
AUTHOR_PAGE = _object(
    {"key": {"type": "string", "description": "the author key (kg.validation.author_key)"},
     "names": {**STRINGS, "description": "the names stored for the key: the Author node's first, then the "
                                         "other spellings the papers' author lists give"},
     "total": {"type": "integer", "description": "all the author's papers"},
     "limit": {"type": "integer"}, "offset": {"type": "integer"},
     "papers": {"type": "array", "items": _ref("PaperSummary")},
     "coauthors": {"type": "array", "description": "at most 10 authors sharing most papers with this one",
                   "items": _object({"key": {"type": "string"}, "name": {"type": "string"},
                                     "papers": {"type": "integer", "description": "papers together"}})}})
SCHEMAS["AuthorPage"] = AUTHOR_PAGE
# The author filter of the views of new papers (GET /api/new, the feed).
NEW_AUTHOR = _param(
    "author", {"type": "string", "minLength": 1},
    "an author key (GET /api/authors/{key}) or a name as written: only that author's papers first seen at or "
    "after since, newest stored first as without it (a paper stored today with an old date comes first); "
    "an author no paper has is a 400, as is technique given too")

# The technique filter of the views of new papers (GET /api/new, the feed): the search filter's ids and
# rule (matching any), refinements always included.
NEW_TECHNIQUE = _param(
    "technique", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
    "technique or evaluation id, as search's technique filter takes (repeatable or comma-separated; an "
    "unknown id is a 400, with a \"did you mean\" for a near misspelling): only the papers using one of "
    "them or a refinement of one (sae; cma takes activation_patching)", explode=True)

FILTER_PARAMS = [
    _param("technique", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "technique or evaluation id (repeatable; refinements included unless refinements=false; "
           "an unknown id is a 400; several ids match any of them unless technique_match=all)",
           explode=True),
    _param("technique_match", {"type": "string", "enum": list(TECHNIQUE_MATCHES), "default": "any"},
           "how several technique ids combine: any (papers using at least one of them) or all (papers "
           "using each of them, or a refinement of each unless refinements=false)"),
    _param("topic", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "topic or fundamental-object id (repeatable or comma-separated; several match any of them; an "
           "unknown id is a 400): papers with a finding about it or listed in a section named after it or "
           "filed under it by the taxonomy's section map, or, unless refinements=false, so for a sub-topic "
           "of it (applications takes ai_safety)", explode=True),
    _param("model", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "model id of the taxonomy, e.g. gpt2 or pythia (see /api/models; repeatable; several match any "
           "of them; an unknown id is a 400 listing the model ids): papers studying the model or reporting "
           "a finding about it", explode=True),
    _param("component", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "transformer component id of the taxonomy, e.g. induction_head, ff or rs (see /api/components; "
           "repeatable; several match any of them; an unknown id is a 400 listing the component ids): papers "
           "with a finding about the component or, unless refinements=false, a sub-component of it (mha "
           "takes induction_head)", explode=True),
    _param("section", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "list section id, or a heading above sections, matching the sections below it (repeatable or "
           "comma-separated; several match any of them; see /api/sections; an unknown id is a 400)",
           explode=True),
    _param("source", {"type": "array", "items": {"type": "string", "enum": list(SOURCES)}, "maxItems": 50},
           "a source the paper has (repeatable; several match any of them). A paper has every source "
           "that gave it a record: a list paper with arXiv metadata is both list and arxiv, so arxiv is "
           "not only the papers the weekly arXiv ingest found", explode=True),
    _param("year_from", {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX}, "first year"),
    _param("year_to", {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX}, "last year"),
    _param("refinements", {"type": "boolean", "default": True},
           "include refinements of techniques (and topics) and sub-components of components"),
]


# OpenAPI 3.0 cannot say "one of these parameters is required", so the rule is written out, and
# its 400 is declared with it.
SEARCH_RULE = ("A search needs a query (q, not blank) or at least one filter: technique, topic, model, "
               "component, section, source, year_from or year_to (refinements or technique_match alone is "
               "not a filter). Without either the answer is a 400, as GET /api/search with no parameters "
               "is. A parameter not listed here (a misspelt year_form, since, page) is a 400 too, as is one "
               "that is not repeatable given twice (`_`, `utm_*` and an empty name are ignored).")
SEARCH_400 = ("Bad parameter, named in the message and in `parameter`: neither a query nor a filter; an "
              "unknown technique, topic, model, component or section id; year_from after year_to; a value "
              "out of its limits; a parameter the operation does not take, or a single-valued one given "
              "twice; or (code bad_request) a query string that is not percent-encoded UTF-8 text")
# The tags operations are grouped under (a generated client's classes or modules).
TAGS = [
    {"name": "papers", "description": "search, papers, related papers, recommendations, new papers"},
    {"name": "taxonomy",
     "description": "techniques, topics, models, components and list sections with paper counts"},
    {"name": "feeds", "description": "the Atom feed of new papers"},
    {"name": "operations", "description": "ingest runs, counts, health checks and this document"},
]


def _conditional_json_gets(paths: dict[str, Any]) -> None:
    """Declare the ETag, Cache-Control and 304 of every JSON GET under /api/ (api.app.conditional_json)
    but /api/status, which is never stored (no-store)."""
    for path, item in paths.items():
        get = item.get("get")
        ok = get["responses"].get("200", {}) if get else {}
        if (not path.startswith("/api/") or path == "/api/status"
                or "application/json" not in ok.get("content", {})):
            continue
        ok["headers"] = {**ok.get("headers", {}), **JSON_HEADERS}
        get["responses"]["304"] = {"description": "If-None-Match named the current ETag: no body",
                                   "headers": JSON_HEADERS}
        get["parameters"].append(IF_NONE_MATCH)


def build_document() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    paths: dict[str, Any] = {
        "/api/search": {"get": _op(
            "search_papers", "papers",
            "Search papers (hybrid = reciprocal rank fusion of semantic and keyword)",
            {"200": _ok(_ref("SearchPage")),
             "400": _json(_ref("Error"), SEARCH_400)},
            [
                _param("q", {"type": "string", "maxLength": MAX_QUERY_CHARS},
                       f"query text (at most {MAX_QUERY_CHARS} characters and {MAX_QUERY_BYTES:,} bytes "
                       f"as UTF-8, so at most {MAX_QUERY_BYTES // 3} CJK characters; may be empty or absent "
                       "when a filter is given: then the filtered papers are listed newest first; with "
                       "neither a query nor a filter the answer is a 400)"),
                _param("mode", {"type": "string", "enum": list(MODES), "default": "hybrid"}, "search mode"),
                _param("explain", {"type": "string", "enum": list(SENTENCE_MODES), "default": "overlap"},
                       "how to pick the best abstract sentence: overlap (query terms, fast), "
                       "embedding (cosine with the query; encodes the page's sentences) or auto "
                       "(embedding unless mode=keyword)"),
                *FILTER_PARAMS, LIMIT, OFFSET,
            ],
            description=SEARCH_RULE + " " + paging_cap(
                "With no query, `total` counts all the papers passing the filters (with one, the ranked "
                "candidates described at SearchPage.total)",
                "narrow the filters (a year range, a refinement)"),
        )},
        "/api/papers/{paper_id}": {"get": _op(
            "get_paper", "papers",
            "A paper with techniques (evidence), evaluations, findings, models, list rows, authors",
            {"200": _ok(_ref("PaperDetail"))} | _err(404), [PAPER_ID])},
        "/api/papers/{paper_id}/related": {"get": _op(
            "get_related_papers", "papers", "Related papers, each with readable reasons",
            {"200": _ok(_ref("RelatedList"))} | _err(400, 404), [PAPER_ID, LIMIT])},
        "/api/papers/{paper_id}/bibtex": {"get": _op(
            "get_paper_bibtex", "papers", "BibTeX entry of a paper",
            {"200": {"description": "BibTeX", "content": {"text/x-bibtex": {"schema": {"type": "string"}}}}}
            | _err(404), [PAPER_ID])},
        "/api/recommend": {"post": _op(
            "recommend_papers", "papers",
            "Recommendations from liked (and disliked) papers, each with reasons",
            {"200": _ok(_ref("RecommendList"))} | _err(400, 413, 415, 422), [],
            description="liked and disliked are lists of paper ids (null is not a list: 400); a repeated "
                        "id counts once (first occurrence kept, as the answer echoes them); an id both "
                        "liked and disliked is a 400 naming it; an unknown id is a 422. A former id (a "
                        "slug since replaced by the arXiv id, or a records file's id of a record merged "
                        "into the paper) stands for that paper; the "
                        "answer's liked and disliked carry the current ids.",
            requestBody={"required": True,
                         "content": {"application/json": {"schema": _ref("RecommendRequest")}}})},
        "/api/bibtex": {"get": _op(
            "get_papers_bibtex", "papers", "BibTeX entries of several papers (a reading list)",
            {"200": BIBTEX_OK} | _err(400, 422),
            [_param("id", {"type": "array", "items": ID_ITEM, "minItems": 1, "maxItems": MAX_LIKED},
                    f"paper id (repeat it: ?id=a&id=b; at least one, at most {MAX_LIKED}; not split on "
                    f"commas; {ID_RULE})", required=True, explode=True), BIBTEX_NAME],
            description=BIBTEX_TEXT + " A long list does not fit in a request line (a server such as "
                        "gunicorn answers 414 past 8190 bytes): POST it."),
            "post": _op(
            "post_papers_bibtex", "papers", "BibTeX entries of a list of papers given in a JSON body",
            {"200": BIBTEX_OK} | _err(400, 413, 415, 422), [BIBTEX_NAME],
            description=BIBTEX_TEXT + " The ids in a JSON body, checked as GET's id (the web UI's For you "
                        "posts its stars here: 200 ids of 80 characters do not fit in a URL).",
            requestBody={"required": True,
                         "content": {"application/json": {"schema": _ref("BibtexRequest")}}})},
        "/api/resolve": {"post": _op(
            "resolve_paper_ids", "papers", "The current id of each paper id given",
            {"200": _ok(_ref("ResolvedIds"))} | _err(400, 413, 415), [],
            description="For ids saved by a client (the web UI's stars): each id given, once, in the order "
                        "given, with the id its paper has now (itself when it is a stored id; for a "
                        "former id, a versioned arXiv id or an arXiv URL, the paper's id) and its title, "
                        "both null when it names no paper; a paper found also has the fields of a result "
                        "list's paper (authors, year, venue, url ...), for a list of ids to show bylines.",
            requestBody={"required": True,
                         "content": {"application/json": {"schema": _ref("ResolveRequest")}}})},
        "/api/techniques": {"get": _op(
            "get_taxonomy_tree", "taxonomy",
            "Taxonomy tree (techniques, evaluations, topics, objects) with paper counts",
            {"200": _ok(_ref("TechniqueTree"))})},
        "/api/techniques/{technique_id}": {"get": _op(
            "get_technique", "taxonomy",
            "A technique: papers (paginated), refinements, co-occurring techniques, papers per year",
            {"200": _ok(_ref("TechniqueDetail"))} | _err(400, 404),
            [{**_param("technique_id", {"type": "string", "minLength": 1},
                       "taxonomy id: a technique, evaluation, topic or object (an unknown one is a 404, "
                       "with a \"did you mean\" for a name, an alias or a near misspelling of one)",
                       where="path"),
              "example": "activation_patching"},
             _param("sort", {"type": "string", "enum": list(SORTS), "default": "date"},
                    "date: newest first; centrality: most connected first"),
             {**LIMIT, "schema": {**LIMIT["schema"], "default": 20}}, OFFSET],
            description=paging_cap("`papers.total` counts all the node's papers (refinements included)",
                                   "search them with GET /api/search, this id as its technique filter "
                                   "(techniques, evaluations) or topic filter (topics, objects) plus a year "
                                   "range, or page through its refinements"))},
        "/api/topics": {"get": _op(
            "list_topics", "taxonomy", "Findings topics with paper counts", {"200": _ok(_ref("TopicList"))})},
        "/api/sections": {"get": _op(
            "list_sections", "taxonomy", "Awesome-list sections and their headings with paper counts",
            {"200": _ok(_ref("SectionList"))})},
        "/api/models": {"get": _op(
            "list_models", "taxonomy", "The taxonomy's models with paper counts (the model filter's ids)",
            {"200": _ok(_ref("ModelList"))})},
        "/api/components": {"get": _op(
            "list_components", "taxonomy",
            "The taxonomy's transformer components with paper counts (the component filter's ids)",
            {"200": _ok(_ref("ComponentList"))})},
        "/api/new": {"get": _op(
            "list_new_papers", "papers",
            "Papers first seen at or after a date, newest first, a page at a time",
            {"200": _ok(_ref("NewPapersPage"))} | _err(400),
            [_param("since", SINCE_SCHEMA, f"first seen at or after: {SINCE_TEXT} (default: the New page's "
                                           f"window: {NEW_DEFAULT_TEXT})"),
             NEW_TECHNIQUE, NEW_AUTHOR, {**LIMIT, "schema": {**LIMIT["schema"], "default": 50}}, OFFSET],
            description="One page of the papers: while offset + the number of results is below total, "
                        f"more follow (ask again with offset increased by limit, the same since) as far as "
                        f"offset {MAX_OFFSET}. Pages are "
                        "newest first: papers ingested while a client pages push the older ones back, so "
                        "a paper may then come on two pages (none is skipped). "
                        + paging_cap("`total` counts every paper first seen at or after since",
                                     "list the older ones with GET /api/search and year_from and "
                                     "year_to (no query: newest first)"))},
        "/api/authors/{key}": {"get": _op(
            "get_author", "papers", "An author's papers, newest first (paginated), names and top coauthors",
            {"200": _ok(_ref("AuthorPage"))} | _err(400, 404),
            [{**_param("key", {"type": "string", "minLength": 1},
                       "the author's key: the name in Unicode NFC, format characters removed, whitespace "
                       "collapsed, case folded (chris olah); a name as written (Chris Olah) is read as its "
                       "key. An author no paper has is a 404", where="path"), "example": "chris olah"},
             {**LIMIT, "schema": {**LIMIT["schema"], "default": 20}}, OFFSET],
            description="The author page's data (/authors/{key} on the web UI). Papers newest first "
                        "(published, else year; undated last). "
                        + paging_cap("`total` counts all the author's papers", "search with GET /api/search, "
                                     "the name as q and a year range"))},
        "/api/runs": {"get": _op(
            "list_ingest_runs", "operations", "Recent ingest runs, newest first",
            {"200": _ok(_ref("RunList"))} | _err(400),
            [_param("source", {"type": "string", "enum": list(RUN_SOURCES)},
                    f"only runs of this source: {', '.join(RUN_SOURCES[:-1])} or {RUN_SOURCES[-1]} "
                    "(another is a 400)"),
             _param("status", {"type": "string", "enum": list(RUN_STATUSES)},
                    f"only runs with this status: {', '.join(RUN_STATUSES)} (another is a 400)"),
             {**LIMIT, "schema": {**LIMIT["schema"], "default": 50}}],
            description="The newest succeeded weekly run: ?source=arxiv-weekly&status=succeeded&limit=1. "
                        "GET /api/status says whether the weekly ingest is late or failing.")},
        "/api/status": {"get": _op(
            "get_status", "operations", "Is the weekly ingest fresh and the embedding model loaded",
            {"200": _ok(_ref("ServiceStatus"), "No problem (notices may be listed)"),
             "503": {**_json(_ref("ServiceStatus"), "A problem (listed in problems), the store's included"),
                     "headers": RETRY_AFTER}},
            [_param("max_age_days", {"type": "integer", "minimum": 1, "maximum": MAX_AGE_DAYS_LIMIT,
                                     "default": WEEKLY_MAX_AGE_DAYS},
                    "a newest weekly success older than this many days is a problem (weekly_stale)"),
             _param("require_weekly", {"type": "boolean", "default": False},
                    "true: a store where no weekly run has succeeded is a problem (weekly_missing); by "
                    "default it is not, as a store loaded from the list or a records file alone has none")],
            codes=("400", "500"),
            description="For monitoring (safe to poll every 30 s: a few small queries, the model is "
                        "never loaded for it): 200 with status ok, or 503 with status failing and the "
                        "problems; notices (stored papers to re-extract) leave it 200. It reads this "
                        "process's model state (each gunicorn worker has its own) and the store's "
                        "arxiv-weekly runs. Unlike /readyz, a late or failed weekly ingest "
                        "and a missing model are problems here: a load balancer should keep probing "
                        "/readyz.")},
        "/api/stats": {"get": _op(
            "get_stats", "operations", "Node and relationship counts", {"200": _ok(_ref("Stats"))})},
        "/api/openapi.json": {"get": _op(
            "get_openapi_document", "operations", "This document", {"200": _ok(_ref("OpenApiDocument"))},
            codes=("400",))},
        "/feeds/new.atom": {"get": _op(
            "get_new_papers_feed", "feeds", "Atom 1.0 feed of the newest papers",
            {"200": {"description": "Atom feed", "headers": FEED_HEADERS,
                     "content": {"application/atom+xml": {"schema": {"type": "string"}}}},
             "304": {"description": "If-None-Match named the current ETag: no body",
                     "headers": FEED_HEADERS},
             "301": {"description": "A technique was given by a name, an alias or another spelling of one "
                                    "node's id (SAE, activation-patching; an id the taxonomy renamed, kept "
                                    "as an alias of the new one), as the New page redirects: the same feed "
                                    "with those ids, the other parameters kept",
                     "headers": {"Location": {"description": "the feed's URL with the technique ids",
                                              "required": True, "schema": {"type": "string"}}},
                     "content": {"text/html": {"schema": {"type": "string"}}}}} | _err(400),
            [_param("since", SINCE_SCHEMA, f"first seen at or after: {SINCE_TEXT} (default: everything: a "
                                           "reader tells entries apart by id, so the feed needs no window)"),
             NEW_TECHNIQUE, NEW_AUTHOR, {**LIMIT, "schema": {**LIMIT["schema"], "default": 50}},
             IF_NONE_MATCH],
            description="An entry's id is permanent: the paper's arXiv abs URL when it was stored under its "
                        "arXiv id from the start, else urn:paperkg:paper:<the id it was first stored under> "
                        "(a list paper that later got its arXiv id keeps its URN). Titles, summaries and "
                        "author names are arXiv's TeX read as the text it stands for ($\\ell_1$ is ℓ₁). "
                        "Categories: the arXiv categories (no scheme), each technique of the paper (scheme "
                        "urn:paperkg:technique, term its taxonomy id, label its name) and, for a withdrawn "
                        "paper, withdrawn (scheme urn:paperkg:status). With technique ids the feed is "
                        "a feed of its own: its id is urn:paperkg:feeds:new:technique:<the ids, sorted, "
                        "comma-separated> (without: urn:paperkg:feeds:new), its title \"paperkg: new "
                        "papers using <the techniques' names>\" and its alternate link the New page so "
                        "filtered. With an author, its id is urn:paperkg:feeds:new:author:<the key, "
                        "percent-encoded>, its title \"paperkg: new papers by <the name>\" and its "
                        "alternate link the author's page.")},
        "/healthz": {"get": _op("check_liveness", "operations", "The process is up",
                                {"200": _ok(_ref("Status"))}, codes=("400",))},
        "/readyz": {"get": _op("check_readiness", "operations", "The store answers",
                               {"200": _ok(_ref("Readiness"))}, codes=("400", "503"),
                               description="A cheap probe for a load balancer: one small query, 503 "
                                           "only when the store cannot be used. A missing embedding "
                                           "model leaves it 200 with model unavailable (keyword search, "
                                           "the pages, the feed and the API still work, and every "
                                           "instance has the same model); GET /api/status reports it, "
                                           "and a late or failed weekly ingest, with a 503.")},
    }
    _conditional_json_gets(paths)
    return {
        "openapi": "3.0.3",
        "info": {"title": "paperkg API", "version": package_version(),
                 "description": "Search, related papers, recommendations and technique browse over a "
                                "knowledge graph of research papers (mechanistic interpretability with the "
                                "shipped taxonomy). Errors are "
                                '{"error": {"code", "message"}} (with `parameter` on a bad_parameter '
                                "400 and `unknown_ids` on the 422 of POST /api/recommend and GET and "
                                "POST /api/bibtex). An id in the path naming nothing stored (a paper, "
                                "a taxonomy node, an author) is a 404, no such resource; paper ids in a "
                                "query's or a body's list naming no paper are a 422: the operation exists "
                                "and the request is well formed, but names papers the store lacks. A method "
                                "a path has no operation for "
                                "is answered 405 with an Allow header listing the methods it takes (the "
                                "message names them too: \"; use GET\"); HEAD "
                                "(on every path with a GET) and OPTIONS (on every path: 200, an Allow "
                                "header, an empty body) are answered without being listed as operations. "
                                "A query string must be percent-encoded UTF-8 text: an escape that does "
                                "not decode as UTF-8 (%EF), or a raw byte outside ASCII, is a 400 (gunicorn "
                                "refuses the raw byte itself, with an HTML 400). Under "
                                "gunicorn (api/gunicorn_conf.py) a request line may be at most "
                                f"{REQUEST_LINE_LIMIT:,} bytes: gunicorn itself refuses a longer one (an "
                                "HTML 414); q's limits keep a search with one value per parameter well "
                                "within it, many long filter values can exceed it. On /api/... a query "
                                "parameter an operation does not declare, or a single-valued one given "
                                "twice, is a 400 naming it (`_`, `utm_*` and an empty name are "
                                "ignored; the feed and the health checks ignore others). A 503 "
                                "carries Retry-After. info.version is the paperkg "
                                "package's version."},
        "tags": TAGS,
        "paths": paths,
        "components": {"schemas": SCHEMAS, "responses": _error_responses()},
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document; served under a path prefix (SCRIPT_NAME), it names that prefix as its server,
    so a client resolves its /api/... paths there and not at the host's root."""
    document = build_document()
    if request.script_root:
        document["servers"] = [{"url": request.script_root}]
    return jsonify(document)
