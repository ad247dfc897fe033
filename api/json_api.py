"""The JSON API blueprint under /api (documented in api/openapi.py)."""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from api.app import ModelLoading, get_query_embedder, get_store, get_taxonomy, paperkg_config
from api.bibtex import citation_key, to_bibtex
from api.errors import ApiError, bad_parameter, not_found
from api.feeds import NewWindow, author_filter, default_new_window, technique_filter
from api.params import (
    MAX_LIKED,
    MAX_LIMIT,
    MAX_OFFSET,
    RUN_SOURCES,
    SearchRequest,
    check_ids,
    check_known_args,
    choice_arg,
    id_list,
    int_arg,
    json_body,
    optional_choice_arg,
    search_request,
    since_arg,
)
from api.public_text import public_runs
from api.sections import sections_with_headings
from api.taxonomy_file import node_summary
from api.web_reasons import node_reasons
from kg import browse
from kg.entities import Paper, PaperDetail, SearchFilters
from kg.explain import Labels
from kg.lookup import find_paper, find_related, paper_named_by_query
from kg.recommend import recommend
from kg.related import RelatedHit, UnknownPaper
from kg.safe_output import arxiv_abs_url
from kg.schema import Label
from kg.search import SearchHit, SearchPage, normalise_query, search, why_empty
from kg.store import EMPTY_STORE_MESSAGE, GraphStore
from kg.taxonomy import node_spelt_nearly
from kg.validation import author_key
from kg.withdrawn import is_withdrawn

if TYPE_CHECKING:
    from ingest.embed import Embedder

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def _only_declared_parameters() -> None:
    """A 400 for a query parameter the operation's OpenAPI entry does not declare, or a single-valued
    one given twice: a misspelt filter (year_form) or one of another operation (since) was ignored, and
    the answer read as if it had been applied. The web pages (another blueprint) stay lenient."""
    from api.openapi import declared_query_parameters  # the document imports this module

    if request.url_rule is None or request.method == "OPTIONS":
        return  # no route (a 404 or 405 follows), or OPTIONS, which takes no parameters of its own
    method = "get" if request.method == "HEAD" else request.method.lower()
    operation = declared_query_parameters(request.url_rule.rule, method)
    if operation is not None:
        path, declared = operation
        checked = MultiDict([(name, value) for name, value in request.args.items(multi=True)
                             if name in declared or not _ignored_parameter(name)])
        check_known_args(declared, f"{method.upper()} {path}", checked)


def _ignored_parameter(name: str) -> bool:
    """Whether an undeclared query parameter is left alone rather than refused with a 400."""
    # Clients add these to any URL without meaning a filter: jQuery's cache buster `_=<time>`, the
    # link trackers' `utm_source`/`utm_medium`/... that a shared or mailed link picks up, and the empty
    # name werkzeug reads from `?=x` (a stray `=`). Refusing them broke such clients and links, and
    # ignoring them cannot change an answer: no operation takes a parameter of these names.
    return name in ("", "_") or name.startswith("utm_")


# -- serialisation -------------------------------------------------------------------------------
def paper_url(paper: Paper) -> str | None:
    """The paper's stored URL; with none stored, its arXiv abs page when it has an arXiv id; else None."""
    # A records file often gives the arXiv id without a URL, where an arXiv ingest stores the abs page:
    # the answer derives it (as BibTeX and the feed do) so both kinds of paper carry one. The stored
    # value is not changed.
    if paper.url and paper.url.strip():
        return paper.url
    if paper.arxiv_id:
        return arxiv_abs_url(paper.arxiv_id)
    return None


def paper_summary(paper: Paper) -> dict[str, Any]:
    """The fields a result list shows."""
    return {
        "authors": list(paper.authors), "year": paper.year, "published": paper.published,
        "venue": paper.venue, "url": paper_url(paper), "arxiv_id": paper.arxiv_id,
        "item_type": paper.item_type,
        # Read from the stored abstract (arXiv's withdrawal notice), the rule the list rows use: a
        # withdrawn paper is marked wherever it is listed, not hidden.
        "withdrawn": is_withdrawn(paper.abstract),
    }


def paper_dict(paper: Paper) -> dict[str, Any]:
    """Every public property of a paper (no embedding)."""
    return {
        "id": paper.id, "title": paper.title, "abstract": paper.abstract, "arxiv_id": paper.arxiv_id,
        "doi": paper.doi, "authors": list(paper.authors), "published": paper.published,
        "updated": paper.updated, "arxiv_version": paper.arxiv_version, "year": paper.year,
        "venue": paper.venue, "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "url": paper_url(paper), "pdf_url": paper.pdf_url, "sources": list(paper.sources),
        "item_type": paper.item_type, "first_seen": paper.first_seen, "last_seen": paper.last_seen,
        "withdrawn": is_withdrawn(paper.abstract),
        # The key its BibTeX entry has (the store's, kept for good): a note can name it.
        "citation_key": citation_key(paper),
    }


def detail_dict(detail: PaperDetail, labels: dict[str, str]) -> dict[str, Any]:
    """A paper with techniques (evidence), evaluations, findings, models and list rows."""
    out = paper_dict(detail.paper)
    out["techniques"] = [
        {"id": t.technique_id, "label": t.label or labels.get(t.technique_id, t.technique_id),
         "source": t.source, "evidence": t.evidence, "score": t.score}
        for t in detail.techniques
    ]
    out["evaluations"] = [
        {"id": e.evaluation_id, "label": e.label or labels.get(e.evaluation_id, e.evaluation_id),
         "source": e.source, "evidence": e.evidence}
        for e in detail.evaluations
    ]
    out["findings"] = [
        {"id": f.id, "text": f.text, "kind": f.kind, "source": f.source,
         "about": [{"label": a.label, "id": a.id, "name": a.name or labels.get(a.id, a.id)} for a in f.about]}
        for f in detail.findings
    ]
    out["models"] = [{"id": m.id, "label": m.name or labels.get(m.id, m.id)} for m in detail.models]
    out["list_rows"] = [asdict(r) for r in detail.list_rows]
    out["former_ids"] = list(detail.former_ids)
    return out


def hit_dict(hit: SearchHit, labels: dict[str, str]) -> dict[str, Any]:
    """A search result."""
    matched = set(hit.why.get("matched_techniques", []))
    return {
        "id": hit.id, "title": hit.title, "score": round(hit.score, 6),
        "techniques": [{"id": t, "label": labels.get(t, t), "matched": t in matched} for t in hit.techniques],
        "why": hit.why, **paper_summary(hit.paper),
    }


def related_dict(hit: RelatedHit) -> dict[str, Any]:
    """A related or recommended paper with its reasons."""
    return {"id": hit.id, "title": hit.title, "score": hit.score, "reasons": list(hit.reasons),
            "parts": hit.parts, **paper_summary(hit.paper)}


def _labels() -> dict[str, str]:
    return {n.id: n.name for n in get_taxonomy().nodes}


# -- search ----------------------------------------------------------------------------------------
@bp.get("/search")
def search_papers() -> Response:
    """Search papers (hybrid, semantic or keyword) with filters; every hit explains itself."""
    params = search_request(get_taxonomy(), lambda: (str(s["id"]) for s in get_store().list_sections()))
    query, mode, explain = params.query, params.mode, params.explain
    needs_embedder = query.strip() and (mode != "keyword" or explain == "embedding")
    embedder = _query_embedder(mode, explain) if needs_embedder else None
    page = search(
        get_store(), query, mode=mode, filters=params.filters, limit=params.limit, offset=params.offset,
        embedder=embedder, taxonomy=get_taxonomy(), sentence_mode=explain if embedder else "overlap",
    )
    named = paper_named_by_query(get_store(), query)
    return jsonify(search_page_dict(params, page, _labels(), named, why_empty(get_store(), params.filters,
                                                                             page.total),
                                    notice=empty_store_notice(get_store(), page.total)))


def empty_store_notice(store: GraphStore, total: int) -> str | None:
    """kg.store.EMPTY_STORE_MESSAGE for an answer listing no papers from a store that has none (one count,
    only then), else None: "no results" from a store nothing was loaded into is no answer to the query."""
    if total:
        return None
    return EMPTY_STORE_MESSAGE if store.holds_no_papers() else None


def search_page_dict(params: SearchRequest, page: SearchPage, labels: dict[str, str],
                     named_paper: str | None = None,
                     empty: tuple[list[tuple[str, int]], int | None] = ([], None), *,
                     notice: str | None = None) -> dict[str, Any]:
    """The /api/search answer for a search's parameters and page (`paperkg search --json` prints it too);
    `named_paper`: the stored paper the whole query is the arXiv id or URL of (paper_named_by_query);
    `empty`: why an answer with no results under filters is empty (kg.search.why_empty); `notice`:
    empty_store_notice's."""
    facets, passing = empty
    return {
        "query": params.query, "mode": params.mode, "total": page.total, "limit": params.limit,
        "offset": params.offset, "named_paper": named_paper, "acronyms": page.acronyms,
        "using_first": page.using_first, "not_tagged": page.not_tagged,
        "did_you_mean": page.did_you_mean, "non_latin_query": page.non_latin_query, "notice": notice,
        "filter_counts": None if passing is None else [{"filter": name, "papers": n} for name, n in facets],
        "papers_passing_filters": passing,
        "results": [hit_dict(h, labels) for h in page.results],
        # What a methods section states: the search as run (filters as read, the ranking used) and the
        # software that ran it. No store revision: neither backend has a public accessor for one.
        "mode_used": search_mode_used(params), "filters": filters_dict(params.filters),
        "paperkg_version": paperkg_version(),
    }


def search_mode_used(params: SearchRequest) -> str:
    """What ordered the results: the requested mode, or "filter" when the query is empty (kg.search then
    lists the papers passing the filters newest first, whatever the mode; each hit's why.mode says so)."""
    return params.mode if normalise_query(params.query) else "filter"


def filters_dict(filters: SearchFilters) -> dict[str, Any]:
    """Every search filter as the search applied it, keyed by its query parameter: ids split at commas,
    trimmed and deduplicated, sources in lower case; [] or null for a filter not given."""
    return {
        "technique": list(filters.technique_ids), "technique_match": filters.technique_match,
        "refinements": filters.include_refinements, "topic": list(filters.topic_ids),
        "model": list(filters.model_ids), "component": list(filters.component_ids),
        "section": list(filters.section_ids), "source": list(filters.sources),
        "year_from": filters.year_from, "year_to": filters.year_to,
    }


@functools.cache
def paperkg_version() -> str:
    """The installed paperkg version, as /api/openapi.json's info.version gives it (read once: the running
    code is the version that was installed when the process started)."""
    from api.openapi import package_version  # the document imports this module

    return package_version()


def _query_embedder(mode: str, explain: str) -> Embedder:
    """The app's embedder for a search's mode and explain; a missing model is a 503 that says what needs
    none (keyword mode; for a keyword search, leaving out explain=embedding), not a bare 500."""
    from ingest.embed import ModelMismatch, ModelMissing

    # A keyword search wants the model only for explain=embedding: the hint must name that, not the mode
    # the request already has.
    if mode == "keyword":
        wanted, hint = "explain=embedding", "leave explain out (explain=overlap needs none)"
    elif explain == "embedding":
        wanted, hint = "semantic search", "mode=keyword without explain=embedding needs none"
    else:
        wanted, hint = "semantic search", "mode=keyword needs none"
    try:
        return get_query_embedder()
    except ModelLoading:
        raise ApiError(503, f"{wanted} is not ready yet: the embedding model is still loading (the server "
                       f"has just started); try again shortly, or {hint}", "model_loading") from None
    except ModelMissing as exc:
        log.warning("embedding model unavailable: %s", exc)  # server paths stay in the log
        raise ApiError(503, f"{wanted} is unavailable: the server has no usable embedding model; {hint}",
                       "model_unavailable") from None
    except ModelMismatch as exc:
        log.error("%s", exc)
        raise ApiError(503, f"{wanted} is unavailable: the server's embedding model is not the one the "
                       f"papers were embedded with; {hint}", "model_mismatch") from None


# -- papers ----------------------------------------------------------------------------------------
# A versioned arXiv id or an arXiv abs/pdf URL is answered as the paper ingest stored under the bare
# id, with that canonical id in the body (no redirect: one round trip, and the answer says which id).
def _detail(paper_id: str) -> PaperDetail:
    store = get_store()
    found = find_paper(paper_id, store.get_paper, store.successor_of)
    if found is None:
        raise not_found(f"no paper with id {paper_id[:200]!r}")
    return found[1]


@bp.get("/papers/<path:paper_id>")
def paper(paper_id: str) -> Response:
    """One paper with its techniques (with evidence), evaluations, findings, models and list rows."""
    return jsonify(detail_dict(_detail(paper_id), _labels()))


@bp.get("/papers/<path:paper_id>/related")
def paper_related(paper_id: str) -> Response:
    """Papers related to one paper, each with reasons."""
    limit = int_arg("limit", 10, 1, MAX_LIMIT) or 10
    found = find_related(get_store(), paper_id, limit, get_taxonomy().nodes)
    if found is None:
        raise not_found(f"no paper with id {paper_id[:200]!r}")
    canonical, hits = found
    return jsonify({"id": canonical, "results": [related_dict(h) for h in hits]})


@bp.get("/papers/<path:paper_id>/bibtex")
def paper_bibtex(paper_id: str) -> Response:
    """The paper as a BibTeX entry (text/x-bibtex)."""
    detail = _detail(paper_id)
    response = Response(to_bibtex(detail.paper), mimetype="text/x-bibtex")
    response.headers["Content-Disposition"] = f'inline; filename="{citation_key(detail.paper)}.bib"'
    return response


_RECOMMEND_FIELDS = {"liked", "disliked", "limit"}


def _stored_id(store: GraphStore, paper_id: str) -> str | None:
    """The id the paper an id names is stored under (kg.lookup.find_paper), else None."""
    found = find_paper(paper_id, lambda i: next(iter(store.get_papers([i])), None), store.successor_of)
    return found[0] if found is not None else None


@bp.post("/recommend")
def recommend_papers() -> Response:
    """Recommendations from liked (and disliked) paper ids, each with reasons."""
    body = json_body()
    unknown = sorted(set(body) - _RECOMMEND_FIELDS)
    if unknown:
        expected = ", ".join(sorted(_RECOMMEND_FIELDS))
        raise bad_parameter(unknown[0][:80], f"unknown field; expected {expected}")
    liked = id_list(body, "liked", required=True, max_items=MAX_LIKED)
    disliked = id_list(body, "disliked", required=False, max_items=MAX_LIKED)
    if not liked:
        raise bad_parameter("liked", "name at least one paper")
    liked_set = set(liked)
    both = [i for i in disliked if i in liked_set]
    if both:
        raise bad_parameter("disliked", f"paper {both[0][:80]!r} is also in liked: "
                                        "a paper is either liked or disliked")
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise bad_parameter("limit", f"must be an integer between 1 and {MAX_LIMIT}")
    store = get_store()
    for first_try in (True, False):
        try:
            hits = recommend(store, liked, disliked, limit=limit, taxonomy_nodes=get_taxonomy().nodes)
            break
        except UnknownPaper as exc:
            # Ids as a paper page takes them stand for the stored paper: with an arXiv version or as an
            # abs URL ("2211.00593v2"), or saved before the paper moved (a slug replaced by its arXiv id).
            moved = {i: _stored_id(store, i) if first_try else None for i in exc.paper_ids}
            unknown = [i for i, new in moved.items() if new is None]
            if unknown:
                raise _unknown_ids(unknown) from None
            liked = list(dict.fromkeys(moved.get(i) or i for i in liked))
            disliked = list(dict.fromkeys(moved.get(i) or i for i in disliked))
            both = [i for i in disliked if i in liked]
            if both:
                raise bad_parameter("disliked", f"paper {both[0][:80]!r} is also in liked (under another "
                                                "id for it): a paper is either liked or disliked") from None
    return jsonify({"liked": liked, "disliked": disliked, "results": [related_dict(h) for h in hits]})


# -- browse ----------------------------------------------------------------------------------------
@bp.get("/techniques")
def techniques() -> Response:
    """The taxonomy tree with paper counts (own and including refinements)."""
    return jsonify(browse.technique_tree(get_store()))


@bp.get("/techniques/<technique_id>")
def technique(technique_id: str) -> Response:
    """A technique with its papers (paginated), refinements, co-occurring techniques, papers per year."""
    sort = choice_arg("sort", "date", browse.SORTS)
    limit = int_arg("limit", 20, 1, MAX_LIMIT) or 20
    offset = int_arg("offset", 0, 0, MAX_OFFSET) or 0
    try:
        d = browse.technique_detail(get_store(), technique_id, sort=sort, limit=limit, offset=offset)
    except browse.UnknownNode:
        # The search filter's "did you mean" (kg.taxonomy.node_spelt_nearly), of a node this answers for.
        # Still a 404, not a redirect, even for an alias (an id the taxonomy renamed): the API names ids
        # exactly, as its filters' 400 does; the web page redirects.
        near = node_spelt_nearly(get_taxonomy(), technique_id, browse.TREE_GROUPS)
        hint = f"did you mean {near.id!r}? " if near is not None and near.label in browse.TREE_GROUPS else ""
        # The route answers for every node kind the tree lists (browse.TREE_GROUPS), so all are named.
        raise not_found(f"no technique, evaluation, topic or object has the id {technique_id[:200]!r} "
                        f"({hint}see /api/techniques)") from None
    because = node_because(get_store(), [p.id for p in d.papers], d.id)
    return jsonify({
        "id": d.id, "label": d.label, "kind": d.kind, "node_label": d.node_label,
        "summary": node_summary(d.id), "parent": d.parent,
        "refinements": d.refinements, "own_count": d.own_count, "total_count": d.total_count,
        "cooccurring": d.cooccurring, "cooccurring_evaluations": d.cooccurring_evaluations,
        "papers_per_year": {str(y): n for y, n in d.papers_per_year.items()},
        "papers_without_year": d.papers_without_year,
        "notice": empty_store_notice(get_store(), d.papers_total),
        "papers": {
            "total": d.papers_total, "limit": d.limit, "offset": d.offset, "sort": d.sort,
            "results": [{"id": p.id, "title": p.title, **paper_summary(p), "because": because.get(p.id, [])}
                        for p in d.papers],
        },
    })


def node_because(store: GraphStore, paper_ids: list[str], node_id: str) -> dict[str, list[dict[str, Any]]]:
    """Per paper, why it is among a taxonomy node's papers: the web page's reasons
    (api.web_reasons.node_reasons), each the node it is tagged with (the node itself, or the refinement:
    `refinement` true), how (`sources`: list, extracted), the quoted `evidence` and the list `sections`."""
    labels = Labels(get_taxonomy().nodes)
    if node_id not in labels.nodes:  # a node added since the app last read the taxonomy
        labels = Labels(store.taxonomy_nodes())
    return {pid: [{"id": r["id"], "label": r["name"], "refinement": r["id"] != node_id,
                   "sources": r["sources"], "evidence": r["evidence"], "sections": r.get("sections", [])}
                  for r in reasons]
            for pid, reasons in node_reasons(store, paper_ids, node_id, labels).items()}


@bp.get("/topics")
def topics() -> Response:
    """The findings topics with paper counts."""
    return jsonify({"topics": browse.topics(get_store())})


@bp.get("/sections")
def sections() -> Response:
    """The awesome-list sections with paper counts, and each heading above them (what the section filter
    also takes) with its distinct papers, counted as the web search's section select counts them."""
    return jsonify({"sections": sections_with_headings(get_store())})


@bp.get("/models")
def models() -> Response:
    """The taxonomy's models (what the model filter takes) with their distinct papers, the search's total
    for each and the web search's model select's count."""
    return jsonify({"models": browse.models(get_store())})


@bp.get("/components")
def components() -> Response:
    """The taxonomy's transformer components (what the component filter takes), each with its parent
    component and its distinct papers, sub-components' included, as the search and the web select count."""
    return jsonify({"components": browse.components(get_store())})


@bp.get("/authors/<path:key>")
def author(key: str) -> Response:
    """An author's papers newest first (paginated), the names the store holds, the top coauthors; the key
    is kg.validation.author_key's (a name as written is read as its key)."""
    limit = int_arg("limit", 20, 1, MAX_LIMIT) or 20
    offset = int_arg("offset", 0, 0, MAX_OFFSET) or 0
    found = get_store().author_papers(author_key(key), limit=limit, offset=offset)
    if found is None:
        raise not_found(f"no paper has the author {key[:200]!r}")
    return jsonify({
        "key": found.key, "names": found.names, "total": found.total, "limit": limit, "offset": offset,
        "papers": [{"id": p.id, "title": p.title, **paper_summary(p)} for p in found.papers],
        "coauthors": [{"key": k, "name": n, "papers": c} for k, n, c in found.coauthors],
    })


@bp.get("/new")
def new_papers() -> Response:
    """Papers first seen at or after `since` (default: api.feeds.default_new_window, the New page's), newest
    first, a page at a time: `total` counts them all, so a client pages on with `offset` until it has read
    them. Each has its techniques and models, as search results have them. With `technique` ids, only the
    papers using one of them or a refinement (the search filter's rule), those techniques marked matched;
    with `author`, only that author's (the Atom feed's author filter)."""

    store = get_store()
    given = since_arg("since", "")
    technique_ids = technique_filter()
    window = NewWindow(given, "given") if given else default_new_window(store)
    limit = int_arg("limit", 50, 1, MAX_LIMIT) or 50
    offset = int_arg("offset", 0, 0, MAX_OFFSET) or 0
    by_author = author_filter(store, window.since, limit, offset)
    if by_author:
        papers, total = by_author.papers, by_author.total
    else:
        papers, total = store.new_papers_page(window.since, limit=limit, offset=offset,
                                              technique_ids=technique_ids)
    return jsonify({
        "since": window.since, "window": window.rule, "technique": technique_ids,
        "author": by_author.key if by_author else None, "total": total,
        "limit": limit, "offset": offset, "results": new_paper_dicts(store, papers, technique_ids),
    })


def new_paper_dicts(store: GraphStore, papers: list[Paper],
                    technique_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """GET /api/new's results: each paper's summary, first_seen, and its techniques and models from one
    read of their profiles (a digest needs no request per paper); a technique is matched when it is one of
    `technique_ids` (the technique filter) or a refinement of one, as search results mark them."""
    labels = Labels(get_taxonomy().nodes)
    matched = {d for t in technique_ids or [] for d in labels.descendants(t)}
    profiles = store.paper_profiles([p.id for p in papers])
    out = []
    for p in papers:
        profile = profiles.get(p.id, set())
        out.append({
            "id": p.id, "title": p.title, "first_seen": p.first_seen, **paper_summary(p),
            # The fields of a search result's techniques.
            "techniques": [{"id": t, "label": labels.name(t), "matched": t in matched}
                           for t in labels.of_label(profile, Label.TECHNIQUE)],
            # The fields of a paper's models (GET /api/papers/{id}).
            "models": [{"id": m, "label": labels.name(m)} for m in labels.of_label(profile, Label.MODEL)],
        })
    return out


@bp.get("/runs")
def runs() -> Response:
    """Recent ingest runs, newest first (of a source, with a status)."""
    from kg.validation import RUN_STATUSES

    # A 400 for a typo (arxiv_weekly): it matched no run, and the empty list read as if none had run.
    source = optional_choice_arg("source", RUN_SOURCES)
    # A monitor asks for the newest succeeded weekly run, however many failed since (no paging).
    status = optional_choice_arg("status", RUN_STATUSES)
    limit = int_arg("limit", 50, 1, MAX_LIMIT) or 50
    # A failed run's message names the servers it could not reach: shown here as api.public_text writes it.
    shown = public_runs(get_store().runs(source, limit, status), paperkg_config())
    return jsonify({"runs": [asdict(r) for r in shown]})


@bp.get("/stats")
def stats() -> Response:
    """Node and relationship counts by label and type."""
    return jsonify(get_store().stats())


# -- lists of papers: BibTeX of several, current ids (the web UI's stars) -----------------------------
MAX_LIST_IDS = MAX_LIKED  # as many as the recommend API takes: For you sends every star to both


def _id_args(name: str) -> list[str]:
    """The repeated query parameter `name` (?id=a&id=b, not split on commas: an id may hold one), checked
    as every list of paper ids is (api.params.check_ids)."""
    values = request.args.getlist(name)
    if not values:
        raise bad_parameter(name, "is required: name at least one paper (repeat it: ?id=a&id=b)")
    return check_ids(name, values, max_items=MAX_LIST_IDS)


MAX_SHOWN_IDS = 10  # unknown ids a 422's message quotes (unknown_ids has them all)


def _unknown_ids(unknown: list[str]) -> ApiError:
    """The 422 POST /api/recommend and /api/bibtex answer for ids naming no paper: "unknown paper id:
    'x'", or ids, ten in the message, all in unknown_ids (for a client to drop them)."""
    shown = ", ".join(repr(i[:80]) for i in unknown[:MAX_SHOWN_IDS])
    if len(unknown) > MAX_SHOWN_IDS:
        shown += f" and {len(unknown) - MAX_SHOWN_IDS} more"
    noun = "id" if len(unknown) == 1 else "ids"
    return ApiError(422, f"unknown paper {noun}: {shown}", fields={"unknown_ids": unknown})


@bp.get("/bibtex")
def papers_bibtex() -> Response:
    """Several papers as one BibTeX file (text/x-bibtex), each with the citation key the store issued it,
    as the CLI exports them."""
    return _bibtex_of(_id_args("id"), request.args.get("name"))


@bp.post("/bibtex")
def papers_bibtex_post() -> Response:
    """GET /api/bibtex for ids in a JSON body ({"ids": [...]}): a list of 200 long ids does not fit in a
    request line (gunicorn's limit_request_line, 8190 bytes: a 414)."""
    body = json_body()
    unknown = sorted(set(body) - {"ids"})
    if unknown:
        raise bad_parameter(unknown[0][:80], "unknown field; expected ids")
    ids = id_list(body, "ids", required=True, max_items=MAX_LIST_IDS)
    if not ids:
        raise bad_parameter("ids", "is required: name at least one paper")
    return _bibtex_of(ids, request.args.get("name"))


MAX_DOWNLOAD_NAME = 80  # characters of a download's name before ".bib"


def _download_name(given: str | None) -> str:
    """The file name of a BibTeX list's download: the `name` parameter folded to [a-z0-9.-] with ".bib"
    appended, or papers.bib (no name, or nothing left of it)."""
    import re
    import unicodedata

    # Folded, never refused: the web UI's links build names from paper and node ids, which may hold any
    # character (an old-style arXiv id's "/"). Only these characters reach the header: no CR/LF, quote,
    # slash, backslash or non-ASCII, so no header injection and no path in the saved name.
    # Accents dropped (é is e); a character with no ASCII form separates words, as a space does.
    decomposed = unicodedata.normalize("NFKD", given or "")
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^a-z0-9.]+", "-", folded)).strip(".-")
    name = name.removesuffix(".bib")[:MAX_DOWNLOAD_NAME].strip(".-")  # a leading dot hides a saved file
    return f"{name or 'papers'}.bib"


def _bibtex_of(ids: list[str], name: str | None = None) -> Response:
    """The BibTeX file of the papers `ids` name (checked ids), or the 422 naming those that name none;
    saved as `name` (see _download_name)."""
    from ingest.export_papers import export_lines, resolve_ids

    store = get_store()
    found, unknown = resolve_ids(store, ids)
    if unknown:
        raise _unknown_ids(unknown)
    # `paperkg export papers --format bibtex --id ...`'s text: oldest paper first, each with its issued key.
    response = Response("".join(export_lines(store, fmt="bibtex", only=found)), mimetype="text/x-bibtex")
    response.headers["Content-Disposition"] = f'inline; filename="{_download_name(name)}"'
    return response


@bp.post("/resolve")
def resolve_papers() -> Response:
    """The current id (and title) of each paper id given (a former id: the id its paper has now), null
    for an id naming no paper."""
    from ingest.export_papers import resolve_each

    body = json_body()
    unknown = sorted(set(body) - {"ids"})
    if unknown:
        raise bad_parameter(unknown[0][:80], "unknown field; expected ids")
    ids = id_list(body, "ids", required=True, max_items=MAX_LIST_IDS)
    # The titles too: a list moved from another browser (For you's share link) holds ids alone.
    return jsonify({"results": [{"id": given, "current": paper.id if paper else None,
                                 "title": paper.title if paper else None,
                                 **(paper_summary(paper) if paper else {})}
                                for given, paper in resolve_each(get_store(), ids).items()]})
