"""Web UI blueprint: search, paper, technique, graph, new, for-you and about pages (server-rendered)."""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as BaseResponse  # what redirect() is typed to return

from api import web_authors
from api import web_format as format_filters
from api.app import ModelLoading, get_query_embedder, get_store, get_taxonomy, paperkg_config
from api.errors import is_json_path, log_store_error, store_error_text
from api.feeds import (
    NEW_DEFAULT_DAYS,
    NewWindow,
    author_feed_title,
    default_new_window,
    new_feed_title,
    techniques_in_words,
)
from api.params import (
    FILTER_LABELS,
    INT_MAX_CHARS,
    MAX_QUERY_BYTES,
    MAX_QUERY_CHARS,
    FilterIdError,
    ParameterError,
    check_filter_ids,
    choice_of,
    is_ascii_int,
    list_arg,
    respelt_filter,
    section_suggestion,
    unknown_sections,
    with_query_replacing,
)
from api.public_text import public_runs
from api.sections import sections_with_headings
from api.taxonomy_file import full_taxonomy, node_summary, own_taxonomy_file, store_ids_the_file_lacks
from api.web_chart import year_chart
from api.web_format import display, highlight, isolate, shorten, with_page
from api.web_graph import neighbourhood
from api.web_reasons import node_reasons, related_row_extras
from ingest.normalize import whole_arxiv_id
from kg.entities import TECHNIQUE_MATCHES, Paper, SearchFilters
from kg.explain import Labels, paper_words, query_terms, telling_words
from kg.lookup import find_pasted_paper, paper_named_by_query, without_pasted_punctuation
from kg.safe_output import BIDI_CONTROLS, arxiv_abs_url
from kg.schema import RUN_SOURCE_WEEKLY, RUN_SOURCE_WEEKLY_LOAD, Label
from kg.search import FILTER_KINDS, filter_dropped_counts, normalise_query, set_filter_kinds, why_empty
from kg.search import search as search_papers
from kg.store import EMPTY_STORE_MESSAGE, GraphStore, StoreError
from kg.taxonomy import Taxonomy, TaxonomyMeta, node_spelt_exactly, node_spelt_nearly, spelling_key
from kg.validation import SINCE_RULE, YEAR_MAX, YEAR_MIN, author_key, parse_since
from kg.withdrawn import is_withdrawn

if TYPE_CHECKING:
    from kg.search import SearchHit

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)

PAGE_SIZE = 10
TECHNIQUE_PAGE_SIZE = 20
RELATED_LIMIT = 8
# The paper page's "more related papers" (?related=20): a related-work section's worth, one page.
RELATED_MORE = 20
MAX_PAGE = 500
NEW_PAGE_SIZE = 100
# The newest papers of the New page's period that its suggested list rows are built from: ~1 ms a
# paper on every view, so a busy week fits but a years-long period does not (the page says so and
# gives the `export list-rows --limit` command for all of them).
SUGGESTED_ROWS_LIMIT = 200
_FORM_OPTIONS_KEY = "paperkg_web_form_options"
_SOURCES_KEY = "paperkg_web_paper_sources"
# The search form's counts (technique tree, sections, totals) cost a full count over the graph
# (0.7 s at 100k papers); they change only with an ingest, so a page may show them this stale.
FORM_OPTIONS_CACHE_SECONDS = 30.0

MODES = (
    ("hybrid", "hybrid", "meaning and exact words combined (default)"),
    ("semantic", "semantic", "meaning only: finds paraphrases"),
    ("keyword", "keyword", "exact words only (BM25)"),
)
SOURCE_OPTIONS = (("list", "awesome list"), ("arxiv", "arXiv"), ("records", "records file"))
# The home page's example queries come from the taxonomy file's meta `examples`; a file without them
# gets this many, one per top-level technique with the most papers ("papers that use <technique>").
MAX_DERIVED_EXAMPLES = 5
# The figure's bands, top to bottom, as browse.technique_tree groups them.
BANDS = (
    ("techniques", "techniques", "Techniques"),
    ("objects", "objects", "Fundamental objects"),
    ("topics", "findings", "Findings"),
    ("evaluations", "evaluation", "Evaluation"),
)
BAND_OF_LABEL = {Label.TECHNIQUE: "Techniques", Label.OBJECT: "Fundamental objects",
                 Label.TOPIC: "Findings", Label.EVALUATION: "Evaluation"}
# The search form's id filters: the label of each one's select, the option group of each node label
# it takes (api.params.FILTER_LABELS, the API's rule) and how its messages name a node of each label.
FILTER_FIELDS = {"technique": "Technique", "topic": "Topic", "model": "Model", "component": "Component"}
OPTION_GROUPS = {Label.TECHNIQUE: "Techniques", Label.EVALUATION: "Evaluation criteria",
                 Label.TOPIC: "Findings topics", Label.OBJECT: "Fundamental objects", Label.MODEL: "Models",
                 Label.COMPONENT: "Transformer components"}
KIND_WORDS = {Label.TECHNIQUE: "technique", Label.EVALUATION: "evaluation criterion",
              Label.TOPIC: "findings topic", Label.OBJECT: "fundamental object", Label.MODEL: "model",
              Label.COMPONENT: "component"}

class BadInput(ValueError):
    """A request parameter the page cannot use; the message tells the reader what to change.

    `fields` names the form fields at fault, so the page can mark them (aria-invalid).
    """

    def __init__(self, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


@bp.errorhandler(StoreError)
def _store_error(exc: StoreError) -> tuple[str, int]:
    """A readable page when the graph store is down or fails (the same words as api/errors.py's)."""
    log_store_error(exc)
    text = store_error_text(exc)
    heading, message = text.heading, text.page_message
    if request.endpoint in ("web.search", "web.home") and request.args.get("fragment"):
        # The in-place search swaps in #results only: a whole page there would leave the old results.
        return render_template("results_fragment.html", error=f"{heading}.", error_hint=message,
                               error_fields=[]), 503
    return _error_page(503, heading, message)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"max_query": MAX_QUERY_CHARS, "has_roadmap": _has_roadmap, "footer_sources": _footer_sources,
            "empty_store_message": empty_store_message}


def empty_store_message() -> Markup:
    """kg.store.EMPTY_STORE_MESSAGE, the one wording every surface gives a store with no papers, as a page
    sentence: capitalised, its `commands` as <code> (the text escaped first)."""
    text = str(Markup.escape(EMPTY_STORE_MESSAGE))
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text[:1].upper() + text[1:])
    return Markup(text + ".")  # every part of it escaped above


def _paper_sources(fresh: bool = False) -> dict[str, int]:
    """Papers by source (list, arxiv, records) and the store's list sections (`list_sections`): where the
    data comes from is what the store holds, not what a default setup would read. Counted at most every
    FORM_OPTIONS_CACHE_SECONDS per app unless `fresh` (the About page)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = time.monotonic()
    cached: tuple[float, dict[str, int]] | None = app.extensions.get(_SOURCES_KEY)
    if not fresh and cached is not None and now - cached[0] < FORM_OPTIONS_CACHE_SECONDS:
        return cached[1]
    store = get_store()
    counts = {value: store.filter_page(SearchFilters(sources=[value]), limit=0)[1]
              for value, _name in SOURCE_OPTIONS}
    counts["list_sections"] = len(store.list_sections())
    app.extensions[_SOURCES_KEY] = (now, counts)
    return counts


def _footer_sources() -> dict[str, int] | None:
    """_paper_sources for every page's footer; None when the store cannot be read (an error page must
    render: its footer then names no source)."""
    try:
        return _paper_sources()
    except Exception:
        return None


def _has_roadmap() -> bool:
    """Whether the nav links the start page: the server's taxonomy has a roadmap. Called by the layout,
    which error pages use too: when the taxonomy cannot be read (the store is down), the link stays and
    the start page says why itself."""
    try:
        return _roadmap_taxonomy() is not None
    except Exception:  # an error page must render whatever broke
        return True


format_filters.register(bp)
web_authors.register(bp)

# Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
_BIDI_CONTROLS = re.compile(f"[{BIDI_CONTROLS}]")


@bp.app_template_filter("plain_description")
def plain_description(text: str) -> Markup:
    """A page's description as the <meta name="description"> and og:description give it: whitespace runs as
    one space and no bidi control or isolate. Other sites show it as plain text, where an override in a
    query ("40 papers ranked by relevance to “\u202eabc”.") reverses what follows it and the isolates the
    page's own text keeps (isolate) are stray invisible characters; the page shows its text as is."""
    html = text if isinstance(text, Markup) else Markup.escape(text)
    # Removing characters from escaped text leaves it escaped: none of them is part of an entity or a tag.
    return Markup(" ".join(_BIDI_CONTROLS.sub("", str(html)).split()))


# -- shared helpers ----------------------------------------------------------------------------

def _labels() -> Labels:
    return Labels(get_taxonomy().nodes)


def _error_page(status: int, heading: str, message: str | Markup) -> tuple[str, int]:
    return render_template("error.html", status=status, heading=heading, message=message), status


def _with_query(url: str) -> str:
    """`url` with the request's query string, the bytes as sent re-escaped where they were not (a raw
    space, a CR or LF: never a header)."""
    if request.query_string:
        url += "?" + quote(request.query_string, safe="&=+%;/?:@,$!'()*~[]")
    return url


@bp.before_app_request
def _unslashed() -> BaseResponse | None:
    """A page's URL typed with a trailing slash (`/search/?q=x`, `/about/`, `/techniques/sae/`) or a page
    name in capitals (`/About`): a 301 to the page's own URL, the query string kept, when that URL is a
    route (Werkzeug only redirects the other way, and its Location is absolute, from the Host header).
    Only a GET or HEAD of a web page that matched no route; API, feed and health paths stay 404s."""
    if (not isinstance(request.routing_exception, NotFound) or request.method not in ("GET", "HEAD")
            or is_json_path(request.path)):
        return None
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    path = request.path
    unslashed = path.rstrip("/")
    # Case only where the page's URL holds no id: a paper id is case-sensitive (its look-up decides).
    for candidate, any_args in ((unslashed, True), (unslashed.lower(), False)):
        if not candidate or candidate == path:
            continue
        try:
            endpoint, args = adapter.match(candidate, method="GET")
        except HTTPException:  # NotFound, MethodNotAllowed, or a RequestRedirect of its own
            continue
        if endpoint.startswith("web.") and (any_args or not args):
            return redirect(_with_query(url_for(endpoint, **args)), code=301)
    return None


def _chips(ids: list[str], labels: Labels, matched: set[str] | None = None) -> list[dict[str, Any]]:
    matched = matched or set()
    return [{"id": t, "name": labels.name(t), "source": None, "evidence": None, "on": t in matched}
            for t in ids]


def card(
    paper: Paper, labels: Labels, *, technique_ids: list[str] | None = None, snippet: Any = None,
    reasons: list[str] | None = None, score: float | None = None, matched: set[str] | None = None,
) -> dict[str, Any]:
    """Everything a paper row shows (templates/_macros.html paper_row)."""
    return {
        "id": paper.id, "title": paper.title, "authors": paper.authors, "year": paper.year,
        "venue": paper.venue, "arxiv_id": paper.arxiv_id, "url": paper.url, "item_type": paper.item_type,
        # Marked, not hidden: a reader must see that the abstract is arXiv's withdrawal notice.
        "withdrawn": is_withdrawn(paper.abstract),
        "techniques": _chips(technique_ids or [], labels, matched),
        "snippet": snippet, "reasons": reasons or [], "score": score, "why": None, "because": [],
    }


def _cards_with_techniques(store: GraphStore, papers: list[Paper], labels: Labels) -> list[dict[str, Any]]:
    profiles = store.paper_profiles([p.id for p in papers])
    return [
        card(p, labels, technique_ids=labels.of_label(profiles.get(p.id, set()), Label.TECHNIQUE),
             snippet=shorten(p.abstract))
        for p in papers
    ]


def _int_param(name: str, low: int, high: int, what: str) -> int | None:
    raw = (request.args.get(name) or "").strip()  # a form's empty field is an absent value
    if not raw:
        return None
    if "\x00" in raw:  # echoed, it would put a raw NUL into the page
        raise BadInput(f"{what} contains a NUL character; remove it.", (name,))
    # The JSON API's rule (api.params): int() alone would take "2_020" and "２０２０".
    if not is_ascii_int(raw):
        raise BadInput(f"{what} must be a whole number written with the digits 0–9, "
                       f"not “{isolate(raw[:20])}”.", (name,))
    value = int(raw) if len(raw) <= INT_MAX_CHARS else None
    if value is None or not low <= value <= high:
        raise BadInput(f"{what} must be between {low} and {high}.", (name,))
    return value


def _page_param() -> int:
    """The page number asked for: 1 when absent; BadInput (a 400) when malformed or outside 1..MAX_PAGE."""
    return _int_param("page", 1, MAX_PAGE, "The page number") or 1


def _offset(page: int, size: int) -> int:
    return (page - 1) * size


def _paging(page: int, size: int, total: int, shown: int) -> dict[str, Any]:
    """The pager's numbers for `shown` of `total` papers on `page`, `size` a page: the one rule of the
    search, technique and New pages (MAX_PAGE and the page sizes are read per request).

    The pager counts at most MAX_PAGE pages, so it never links a page that _page_param refuses;
    `capped` says the total holds more papers than those pages reach (the page then says so), and
    `past_end` a page number past the last page of a non-empty list (not "no papers")."""
    reachable = MAX_PAGE * size
    return {"page": page, "offset": _offset(page, size), "total": total,
            "pages": min(MAX_PAGE, math.ceil(total / size)), "past_end": not shown and total > 0,
            "capped": total > reachable, "reachable": reachable}


def _list_param(name: str, what: str) -> list[str]:
    """A repeatable filter read by the JSON API's rules (api.params.list_arg: at most
    MAX_FILTER_VALUES values), so the form and the API accept the same requests."""
    try:
        return list_arg(name)
    except ParameterError as exc:  # e.g. "at most 50 values allowed (got 51)"
        raise BadInput(f"{what[:1].upper()}{what[1:]} filter: {exc.detail}.", (name,)) from None


# -- search ------------------------------------------------------------------------------------

@bp.get("/")
def home() -> str | tuple[str, int] | BaseResponse:
    """The search page (the home page is the search page)."""
    return search()


@bp.get("/search")
def search() -> str | tuple[str, int] | BaseResponse:
    """Search form and results; ?fragment=1 returns only the results block (for in-place updates).
    A query that is only an arXiv id or URL of a stored paper goes to that paper's page."""
    store = get_store()
    labels = _labels()
    q = request.args.get("q", "")
    mode = request.args.get("mode") or "hybrid"
    ctx: dict[str, Any] = {
        "q": q, "mode": mode, "modes": MODES, "hits": [], "total": 0, "offset": 0, "page": 1,
        "pages": 0, "error": None, "error_hint": None, "meta": _meta(),
        "source_options": SOURCE_OPTIONS, "filters": SearchFilters(), "empty_tips": [],
        "filter_counts": [], "passing_all": None,
        "no_word_match": False, "error_fields": [], "past_end": False, "capped": False,
        "reachable": MAX_PAGE * PAGE_SIZE, "did_you_mean": None, "did_you_mean_args": None,
        "non_latin_query": False, "english_example": None, "bibtex_url": None, "store_empty": False,
    }
    # Every field is checked on its own: a bad one is marked and the valid ones stay chosen in the form.
    errors: list[BadInput] = []
    if len(q) > MAX_QUERY_CHARS:
        errors.append(BadInput(
            f"Your query is {len(q)} characters long; the limit is {MAX_QUERY_CHARS}. "
            "Shorten it to the key phrase (a sentence or two works best).", ("q",)
        ))
    elif len(q.encode("utf-8")) > MAX_QUERY_BYTES:
        # The API's rule (api.params): a longer query may not fit a request line gunicorn takes.
        errors.append(BadInput(
            f"Your query takes {len(q.encode('utf-8'))} bytes as UTF-8; the limit is {MAX_QUERY_BYTES} "
            "(a CJK character takes 3). Shorten it to the key phrase.", ("q",)
        ))
    elif "\x00" in q:
        errors.append(BadInput("The query contains a NUL character; remove it.", ("q",)))
    q = q[:MAX_QUERY_CHARS].strip()
    ctx["q"] = q.replace("\x00", "")  # shown again in the form and the title: never a raw NUL
    # What search reads (whitespace runs as one space, invisible characters out, full-width as ASCII): a
    # query of only a zero-width space is no query, and marks are made from the words search read.
    ctx["searched"] = q = normalise_query(ctx["q"])
    if not q:
        ctx["q"] = ""  # nothing visible was typed: the page is the one for no query
    if "\x00" in mode:
        errors.append(BadInput("The mode contains a NUL character: choose hybrid, semantic or keyword.",
                               ("mode",)))
    elif choice_of(mode, [m for m, _, _ in MODES]) is None:
        errors.append(BadInput(f"Unknown mode “{isolate(mode[:20])}”: choose hybrid, semantic or keyword.",
                               ("mode",)))
    else:  # as the form spells it ("Keyword" is keyword): the links and the select use that
        ctx["mode"] = mode = choice_of(mode, [m for m, _, _ in MODES]) or mode
    ctx["filters"] = _filters(errors)
    try:
        page = _page_param()
    except BadInput as exc:
        errors.append(exc)
        page = 1
    status = 200
    if errors:
        fields = tuple(dict.fromkeys(f for exc in errors for f in exc.fields))
        # Only fields of the form can be highlighted; a bad page number is fixed by starting over.
        hint = ("Change the highlighted field and search again." if set(fields) - {"page"}
                else "Search again from the first page.")
        ctx.update(error=" ".join(str(exc) for exc in errors), error_hint=hint, error_fields=list(fields))
        if mode not in {m for m, _, _ in MODES}:
            ctx["mode"] = "hybrid"
        status = 400
        page = 1
    ctx["args"] = {
        "q": ctx["q"], "mode": ctx["mode"] if ctx["mode"] != "hybrid" else None,
        "technique": ctx["filters"].technique_ids,
        "technique_match": "all" if ctx["filters"].technique_match == "all" else None,
        "topic": ctx["filters"].topic_ids, "model": ctx["filters"].model_ids,
        "component": ctx["filters"].component_ids,
        "year_from": _form_value("year_from"),
        "year_to": _form_value("year_to"), "section": ctx["filters"].section_ids,
        "source": ctx["filters"].sources,
    }
    if status == 200 and q:
        target = paper_named_by_query(store, q)
        if target is not None:  # 302: what a query finds may change with the next ingest
            return redirect(url_for("web.paper", paper_id=target))
    if status == 200 and (q or not ctx["filters"].is_empty()):
        _run_search(store, labels, ctx, page)
    fragment = bool(request.args.get("fragment"))
    # The page's form needs the options; a fragment only when it shows the intro (no query, no filter:
    # its counts and examples; without them an in-place search that cleared every field answered 500).
    if not fragment or (not q and ctx["filters"].is_empty()):
        ctx.update(_cached_form_options(store, labels))
        # A chosen model or component no paper has yet is still an option (shown with 0), so the form
        # keeps a shared link's filter when resubmitted and says "none" rather than "any".
        chosen = ctx["filters"]
        ctx["model_options"] = _with_chosen(ctx["model_options"], chosen.model_ids, labels, Label.MODEL)
        ctx["component_options"] = _with_chosen(ctx["component_options"], chosen.component_ids, labels,
                                                Label.COMPONENT)
        ctx["sections"] = _with_chosen_sections(ctx["sections"], chosen.section_ids, store)
        ctx["examples"] = _examples(ctx["meta"], ctx["technique_options"])
        # The counts are cached: a store that has just got its first papers is asked again.
        ctx["store_empty"] = not ctx["stats"]["papers"] and store.holds_no_papers()
    return render_template("results_fragment.html" if fragment else "search.html", **ctx), status


def _meta() -> TaxonomyMeta:
    """What the pages say about the server's taxonomy file (its meta `field`, `survey`, `list`, `examples`);
    an unreadable file, or another field's, gets the neutral texts (the New page says why it cannot be
    read)."""
    taxonomy = own_taxonomy_file("meta", "neutral page texts")
    return taxonomy.meta if taxonomy is not None else TaxonomyMeta()


def _examples(meta: TaxonomyMeta, technique_options: list[dict[str, Any]]) -> tuple[str, ...]:
    """The home page's example queries: the file's meta `examples`, else one per top-level technique
    with papers, most papers first (file order among equals), MAX_DERIVED_EXAMPLES at most."""
    if meta.examples:
        return meta.examples
    roots = [o for group in technique_options if group["title"] == OPTION_GROUPS[Label.TECHNIQUE]
             for o in group["options"] if o["depth"] == 0 and o["total_count"]]
    roots.sort(key=lambda o: -int(o["total_count"]))  # a stable sort keeps the file's order among equals
    return tuple(f"papers that use {o['name']}" for o in roots[:MAX_DERIVED_EXAMPLES])


def _form_value(name: str) -> str:
    """A text field's value as typed, to show it again; one with a NUL is dropped (the error says why)."""
    value = request.args.get(name, "")
    return "" if "\x00" in value else value


def _cached_form_options(store: GraphStore, labels: Labels) -> dict[str, Any]:
    """_form_options, recomputed at most every FORM_OPTIONS_CACHE_SECONDS per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = time.monotonic()
    taxonomy = get_taxonomy()  # the same object while the taxonomy is unchanged
    cached: tuple[float, Taxonomy, dict[str, Any]] | None = app.extensions.get(_FORM_OPTIONS_KEY)
    if cached is not None and now - cached[0] < FORM_OPTIONS_CACHE_SECONDS and cached[1] is taxonomy:
        return cached[2]
    options = _form_options(store, labels)
    app.extensions[_FORM_OPTIONS_KEY] = (now, taxonomy, options)
    return options


def _filters(errors: list[BadInput]) -> SearchFilters:
    """The form's filters; a field that is not valid is left out of them and its error added to `errors`."""
    def checked(read: Any, empty: Any) -> Any:
        try:
            return read()
        except BadInput as exc:
            errors.append(exc)
            return empty

    def sections() -> list[str]:
        ids = _list_param("section", "list section")
        if ids:  # listing the sections costs a query, so only when the filter is used
            stored = [str(s["id"]) for s in get_store().list_sections()]
            bad = unknown_sections(ids, stored)
            if bad:
                near = section_suggestion(bad[0], stored)  # the API's "did you mean", only suggested
                fix = f"did you mean “{isolate(near)}”? Or pick one from the list." if near else \
                    "pick one from the list."
                raise BadInput(f"Unknown list section “{isolate(bad[0][:60])}”: {fix}", ("section",))
        return ids

    def sources() -> list[str]:
        values = _list_param("source", "source")
        # In any case: the form labels the source "arXiv", and a typed ?source=arXiv means it.
        chosen = [choice_of(s, [v for v, _ in SOURCE_OPTIONS]) for s in values]
        bad = [s for s, c in zip(values, chosen, strict=True) if c is None]
        if bad:
            raise BadInput(f"Unknown source “{isolate(bad[0][:30])}”: choose awesome list, arXiv or "
                           "records file.", ("source",))
        return list(dict.fromkeys(c for c in chosen if c is not None))

    def technique_match() -> str:
        # The form's "any" option is the empty value (the default, left out of links as the API's is).
        value = request.args.get("technique_match") or "any"
        if "\x00" in value:
            raise BadInput("The technique match contains a NUL character: choose any or all of the "
                           "techniques.", ("technique_match",))
        chosen = choice_of(value, TECHNIQUE_MATCHES)
        if chosen is None:
            raise BadInput(f"Unknown technique match “{isolate(value[:20])}”: choose any or all of the "
                           "techniques.", ("technique_match",))
        return chosen

    technique_ids = checked(lambda: _filter_ids("technique"), [])
    topic_ids = checked(lambda: _filter_ids("topic"), [])
    model_ids = checked(lambda: _filter_ids("model"), [])
    component_ids = checked(lambda: _filter_ids("component"), [])
    year_from = checked(lambda: _int_param("year_from", YEAR_MIN, YEAR_MAX, "“From” year"), None)
    year_to = checked(lambda: _int_param("year_to", YEAR_MIN, YEAR_MAX, "“To” year"), None)
    if year_from and year_to and year_from > year_to:
        errors.append(BadInput(f"The year range {year_from}–{year_to} is empty: "
                               "“from” must not be after “to”.", ("year_from", "year_to")))
        year_from = year_to = None
    return SearchFilters(
        technique_ids=technique_ids, topic_ids=topic_ids, section_ids=checked(sections, []),
        year_from=year_from, year_to=year_to, sources=checked(sources, []),
        technique_match=checked(technique_match, "any"), model_ids=model_ids, component_ids=component_ids,
    )


def _filter_ids(name: str) -> list[str]:
    """The ids of the technique or topic filter, checked by the API's rule (api.params.check_filter_ids)
    and, when one is refused, worded for the form: BadInput naming the select that takes it."""
    ids = _list_param(name, name)
    try:
        check_filter_ids(get_taxonomy(), name, ids)
    except FilterIdError as exc:
        shown = f"“{isolate(exc.node_id[:60])}”"
        kind = KIND_WORDS.get(exc.label or "", (exc.label or "").lower())
        article = "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"
        if exc.label is None:
            # The suggestion is an id: a wrong id comes from an edited link, where ids are what is typed.
            fix = f"did you mean “{exc.suggestion}”?" if exc.suggestion else "pick one from the list."
            message = f"Unknown {name} {shown}: {fix}"
        elif exc.suggestion and exc.close:  # nearly the name of a node another filter (or none) takes
            then = (f"Pick it under {FILTER_FIELDS[exc.other_filter]}." if exc.other_filter else
                    "No filter takes it: search for it by name.")
            message = f"Unknown {name} {shown}: did you mean the {kind} “{exc.suggestion}”? {then}"
        elif exc.suggestion:  # the name or alias of such a node ("polysemantic": polysemanticity)
            named = f"{shown} names the {kind} “{exc.suggestion}”"
            message = (f"{named}, not a {name}: pick it under {FILTER_FIELDS[exc.other_filter]}."
                       if exc.other_filter else f"{named}, which no filter takes: search for it by name.")
        elif exc.other_filter:
            message = (f"{shown} is {article} {kind}, not a {name}: "
                       f"pick it under {FILTER_FIELDS[exc.other_filter]}.")
        else:
            message = f"{shown} is {article} {kind}, which no filter takes: search for it by name."
        raise BadInput(message, (name,)) from None
    return ids


def _run_search(store: GraphStore, labels: Labels, ctx: dict[str, Any], page: int) -> None:
    q, mode, filters = ctx["searched"], ctx["mode"], ctx["filters"]
    embedder = None
    if q and mode in ("semantic", "hybrid"):
        try:
            # Hybrid does not wait for a model another thread is loading: its keyword half answers now.
            embedder = get_query_embedder(wait=0 if mode == "hybrid" else None)
        except StoreError:
            raise
        except Exception as exc:  # the model is missing, broken or not the store's: keyword search works
            from ingest.embed import ModelMismatch

            log.warning("embedder unavailable: %s", exc)  # the details (server paths) stay in the log
            if mode == "hybrid":
                # The keyword half's results at once, said to be only that (a page of nothing but "not
                # ready" after a 15 s wait, before). ctx["mode"] stays hybrid, in the form and the links,
                # so the same search again gets both halves once the model is there.
                ctx["keyword_only"] = (
                    "Keyword results only: the semantic half of hybrid search is not ready yet (the "
                    "embedding model is still loading; the server has just started). Search again in a "
                    "minute for hybrid results." if isinstance(exc, ModelLoading) else
                    "Keyword results only: the semantic half of hybrid search is unavailable (the server's "
                    "embedding model is not the one the papers were embedded with)."
                    if isinstance(exc, ModelMismatch) else
                    "Keyword results only: the semantic half of hybrid search is unavailable (the "
                    "embedding model could not be loaded).")
                mode = "keyword"
            elif isinstance(exc, ModelLoading):
                ctx["error"] = ("Semantic search is not ready yet: the embedding model is still loading (the "
                                "server has just started).")
                ctx["error_hint"] = ("Try again in a minute, or switch the mode to keyword, which needs no "
                                     "model.")
                return
            else:
                ctx["error"] = ("Semantic search is unavailable: the server's embedding model is not the one "
                                "the papers were embedded with." if isinstance(exc, ModelMismatch) else
                                "Semantic search is unavailable: the embedding model could not be loaded "
                                "(the server log says why).")
                ctx["error_hint"] = "Switch the mode to keyword, which needs no model."
                return
    offset = _offset(page, PAGE_SIZE)
    try:
        # The best sentence is picked by query-term overlap: embedding every sentence of the page
        # made a semantic search page ~2.5 s instead of ~30 ms (measured, seed corpus, 1 thread).
        result = search_papers(store, q, mode=mode, filters=filters, limit=PAGE_SIZE, offset=offset,
                     embedder=embedder, taxonomy=get_taxonomy(), sentence_mode="overlap")
    except StoreError:
        raise
    except ValueError as exc:
        ctx["error"] = f"The search could not run: {exc}."
        ctx["error_hint"] = "Try a shorter query or another mode."
        return
    except Exception as exc:  # e.g. the model failing mid-query: say so instead of a bare 500
        log.exception("search failed for %r (%s)", q[:100], mode)
        ctx["error"] = f"The search failed unexpectedly ({type(exc).__name__})."
        ctx["error_hint"] = "Try keyword mode; if it keeps failing, the server log has the details."
        return
    ctx.update(_paging(page, PAGE_SIZE, result.total, len(result.results)))
    ctx["acronyms"] = result.acronyms
    ctx["using_first"] = [get_taxonomy().by_id[t].name for t in result.using_first]
    ctx["not_tagged"] = [get_taxonomy().by_id[t].name for t in result.not_tagged]
    # Suggestions only, the results staying those of the query as typed: a misspelt name put right, as a
    # link to that search with the same mode and filters; a query in another script, told the model
    # reads English (an example query of the taxonomy file shows what it reads).
    ctx["did_you_mean"] = result.did_you_mean
    ctx["did_you_mean_args"] = {**ctx["args"], "q": result.did_you_mean} if result.did_you_mean else None
    ctx["non_latin_query"] = result.non_latin_query
    ctx["english_example"] = next(iter(_meta().examples), None) if result.non_latin_query else None
    # The technique filter's ids and (as it takes them) their refinements: a paper it let in through a
    # refinement has that chip marked, and the row says via which, from where and on what evidence.
    filtered = {d for t in filters.technique_ids
                for d in (labels.descendants(t) if filters.include_refinements else {t})}
    because = _filter_reasons(store, [h.id for h in result.results], filters, labels)
    telling = _telling_words(store, q, mode, result.results)
    hits = []
    for hit in result.results:
        sentence = hit.why.get("best_sentence") if q else None
        # The text is shown converted from TeX (display, as the paper page shows it), and the words are
        # marked in that shown text: marks computed on the stored text would land off by what TeX drops.
        text = display(sentence) if sentence else shorten(hit.paper.abstract)
        snippet = highlight(text, _marked_words(q, result.acronyms, text)) if q else text
        # Chips the query or the filter matched (refinements included) are drawn highlighted.
        # Criteria the query or filter named are shown as chips too: they are why the paper is here.
        criteria = hit.why.get("matched_evaluations") or []
        matched = set(hit.why.get("matched_techniques") or []) | set(criteria) | filtered
        row = card(hit.paper, labels, technique_ids=hit.techniques + criteria, snippet=snippet,
                   score=hit.score if q else None, matched=matched)
        if q:
            # The techniques and criteria the query names, in words: the chips' highlight alone is a
            # cue that keyboard, touch and screen-reader users may not get. So are the models and
            # components it names: their own ranked lists lift the papers studying them (finding about
            # them), which without these words read as ranked against their cosine and word match.
            row["why"] = {"mode": mode, "cosine": hit.why.get("semantic"), "keyword": hit.why.get("keyword"),
                          "keyword_rank": (hit.why.get("ranks") or {}).get("keyword"),
                          "common_words_only": not _has_telling_words(hit, telling),
                          "uses": [labels.name(t) for t in hit.why.get("matched_techniques") or []],
                          "evaluates": [labels.name(e) for e in criteria],
                          "studies": [labels.name(m) for m in hit.why.get("matched_models") or []],
                          "about": [labels.name(c) for c in hit.why.get("matched_components") or []]}
        row["because"] = because.get(hit.id, [])
        # An author the query names, hidden past the byline's first names, is shown there too.
        row["author_hits"] = web_authors.query_authors(hit.paper.authors, q) if q else []
        hits.append(row)
    ctx["hits"] = hits
    ctx["bibtex_url"] = _bibtex_url([h["id"] for h in hits], "search")
    # Semantic ranking always fills the page, even for gibberish: say so when no hit has the words.
    # (A query in another script is told what to do instead: its spelling is not what is wrong.)
    ctx["no_word_match"] = bool(q and hits) and mode == "hybrid" and page == 1 and not (
        result.non_latin_query or _has_the_words(result.results, telling, result.acronyms))
    # A page number past the end (ctx["past_end"]) must not read as "no results" with tips to widen
    # the search.
    if not hits and not ctx["past_end"] and store.holds_no_papers():
        # Nothing to find at all: no tip about words or filters helps, only loading papers.
        ctx["store_empty"] = True
    elif not hits and not ctx["past_end"]:
        # Which filter emptied it, and how near each alone comes; the tips widen only what did.
        counts, ctx["passing_all"] = why_empty(store, filters, result.total, labels.name)
        # The filter kind of each count: both follow kg.search.FILTER_KINDS.
        kinds = set_filter_kinds(filters) if counts else []
        alone = {kind.kind: n for kind, (_, n) in zip(kinds, counts, strict=True)}
        # A section by its title ("Tools"), as the form's select names it, not by its id ("tools").
        titles = _section_titles(store, filters.section_ids) if _SECTION in kinds else {}
        ctx["filter_counts"] = [
            (kind.facet(filters, lambda i: titles.get(i, i)) if kind is _SECTION else name, n)
            for kind, (name, n) in zip(kinds, counts, strict=True)]
        # Filters that each pass papers but not together: which single removal would give results.
        dropped = (filter_dropped_counts(store, filters)
                   if ctx["passing_all"] == 0 and all(alone.values()) else {})
        # ctx["mode"]: a keyword-only hybrid gets no "try hybrid".
        ctx["empty_tips"] = _empty_tips(q, ctx["mode"], filters, labels, alone,
                                        ctx["passing_all"], dropped=dropped, args=ctx["args"], titles=titles)


def _marked_words(q: str, acronyms: dict[str, str], text: str) -> str:
    """The words to mark in a hit's sentence: the query's, and the long form of each acronym it was read
    as where the sentence has that long form whole (the rule that picked it: "sparse" alone is no SAE)."""
    words = query_terms(text)
    return " ".join([q, *(long for long in acronyms.values() if query_terms(long) <= words)])


def _telling_words(store: GraphStore, q: str, mode: str, hits: list[SearchHit]
                   ) -> list[list[frozenset[str]]] | None:
    """A hybrid query's words most papers lack (kg.explain.telling_words), None when it has none or no hit
    has a keyword rank (gibberish costs no store read)."""
    # A word more than half the papers have ("models", "language") is in nearly every hit: matching it
    # alone said "word match" of papers that share nothing else with "why do models hallucinate".
    if not q or mode != "hybrid" or not any((h.why.get("ranks") or {}).get("keyword") for h in hits):
        return None
    return telling_words(q, store.common_words)


def _has_telling_words(hit: SearchHit, telling: list[list[frozenset[str]]] | None) -> bool:
    """Whether a hit holds one of the query's telling words in any of its forms (kg.explain.telling_words;
    any word of the query when it has none)."""
    if telling is None:
        return True
    words = paper_words(hit.paper)
    return any(form <= words for forms in telling for form in forms)


def _has_the_words(hits: list[SearchHit], telling: list[list[frozenset[str]]] | None,
                   acronyms: dict[str, str]) -> bool:
    """Whether some hybrid hit answers the query's words: it is tagged with the technique or criterion
    the query names (a rank in that list), it contains the long form of an acronym the query was read as
    ("SAE": "sparse autoencoder"; words keyword search was not given), or it contains the query's words
    (a keyword rank), of those only the `telling` ones when the query has any."""
    ranks = [hit.why.get("ranks") or {} for hit in hits]
    # A topic's papers do not count: a topic is a broad category named by cue words ("deception" is AI
    # Safety's), and its paper may share nothing with the query (QA: "jailbreak" lost the notice).
    if any(r.get("technique") for r in ranks):
        return True
    long_forms = [terms for terms in map(query_terms, acronyms.values()) if terms]
    for hit, rank in zip(hits, ranks, strict=True):
        if rank.get("keyword") and _has_telling_words(hit, telling):
            return True
        # query_terms folds case and plurals as keyword search does: "Sparse Autoencoders" holds it.
        if long_forms:
            text = query_terms(f"{hit.paper.title} {hit.paper.abstract or ''}")
            if any(terms <= text for terms in long_forms):
                return True
    return False


def _filter_reasons(store: GraphStore, paper_ids: list[str], filters: SearchFilters, labels: Labels
                    ) -> dict[str, list[dict[str, Any]]]:
    """Per paper, why the technique and topic filters let it in (web_reasons.node_reasons: the edge or
    finding, via which refinement, list or extracted, the evidence), as a technique page shows it; none
    without those filters. Models and components have no page for a "via" to link to."""
    out: dict[str, list[dict[str, Any]]] = {}
    for node_id in [*filters.technique_ids, *filters.topic_ids]:
        for pid, reasons in node_reasons(store, paper_ids, node_id, labels).items():
            out.setdefault(pid, []).extend(reasons)
    return out


# The section filter, which the tips name by its sections' titles.
_SECTION = FILTER_KINDS["section"]


def _empty_tips(q: str, mode: str, filters: SearchFilters, labels: Labels,
                alone: dict[str, int], passing_all: int | None, *,
                dropped: dict[str, int] | None = None, args: dict[str, Any] | None = None,
                titles: dict[str, str] | None = None) -> list[dict[str, str | None]]:
    """What to try when a search found nothing, each tip a `text` and the `href` of the search it
    suggests (None when it is no other search): widen the filters that emptied it (those no paper passes
    alone; else, when no paper passes them together, those whose removal alone (`dropped`, per kind: the
    papers passing the others) gives papers, or say no single one is at fault; when papers pass them,
    each one, as they limit where the words are looked for), or, unless the filters alone leave nothing,
    reword. `alone` is each set filter kind (kg.search.FILTER_KINDS) and the papers passing it alone,
    `args` the search's parameters, `titles` the chosen sections' titles."""
    tips: list[dict[str, str | None]] = []
    args = args or {}
    dropped = dropped or {}

    def link(*names: str) -> str:
        """The same search (query, mode, other filters) without the parameters `names`."""
        return url_for("web.search") + "?" + with_page({k: v for k, v in args.items() if k not in names}, 1)

    zero = {kind for kind, n in alone.items() if n == 0}
    if zero:
        # A filter no paper passes alone is the one to widen: the others and the words are not at fault.
        widen = zero
    elif passing_all == 0 and dropped:
        # Each passes papers, not together: only a filter whose removal gives papers is worth removing.
        widen = {kind for kind, n in dropped.items() if n > 0}
    else:
        widen = set(alone)
    words_matter = passing_all is None or passing_all > 0
    if mode == "keyword" and q and words_matter:
        tips.append({"text": "Try semantic or hybrid mode: they also find papers that use other words.",
                     "href": None})
    if alone and not zero and passing_all == 0 and dropped and not widen:
        tips.append({"text": "No single filter is at fault: remove two or more of them.", "href": None})
    for kind in sorted(FILTER_KINDS.values(), key=lambda k: not k.tip_first):
        if kind.kind not in widen:
            continue
        ids = kind.ids(filters)
        if "technique_match" in kind.modifiers and len(ids) > 1 and filters.technique_match == "all":
            tips.append({"text": "Ask for papers using any of the techniques, not all of them.",
                         "href": link("technique_match")})
        what = ""
        if kind is _SECTION and titles:
            what = " " + ", ".join(f"“{titles.get(i, i)}”" for i in ids)
        n = dropped.get(kind.kind)
        count = "" if n is None else _papers_passing_the_others(n, q)
        parent = _parent_tip(ids, labels, kind.noun) if kind.refines else ""
        tips.append({"text": f"Remove the {kind.noun} filter{what}{count}{parent}{kind.hint}",
                     "href": link(*kind.params)})
    if q and words_matter and len(q.split()) > 6:
        tips.append({"text": "Use fewer words: the key phrase is usually enough.", "href": None})
    if not tips:
        tips.append({"text": "Try other words, or browse by technique.", "href": None})
    return tips


def _papers_passing_the_others(n: int, q: str) -> str:
    """" (12 papers)": how many papers removing a filter gives; with a query, as what it is, a count of
    the papers the other filters pass, which the words may not be in."""
    papers = f"{n} paper{'' if n == 1 else 's'}"
    if not q:
        return f" ({papers})"
    # The count is the filters' alone: the linked search, words and all, may still find nothing.
    them = "not match it" if n == 1 else "match none of them"
    return f" ({papers} pass{'es' if n == 1 else ''} the other filters; your words may {them})"


def _parent_tip(ids: list[str], labels: Labels, kind: str) -> str:
    """", or pick its parent technique, “X”" when a chosen node has a parent, else "" (a top-level node,
    such as SAE, has none to suggest)."""
    parents = list(dict.fromkeys(
        p for p in (labels.nodes[i].parent for i in ids if i in labels.nodes) if p and p in labels.nodes))
    if not parents:
        return ""
    one = "its" if len(ids) == 1 else "a"
    return f", or pick {one} parent {kind}, " + " or ".join(f"“{labels.name(p)}”" for p in parents)


def _section_titles(store: GraphStore, ids: list[str]) -> dict[str, str]:
    """The chosen sections' titles (a heading's too), as GET /api/sections gives them."""
    return {str(e["id"]): str(e["title"]) for e in sections_with_headings(store)
            if e["id"] in ids and e["title"]}


def _model_options(store: GraphStore, labels: Labels) -> list[dict[str, Any]]:
    """The model filter's options: GET /api/models' entries (kg.browse.models) some paper studies, with
    their paper counts (a count per model, run only when the form's options are recomputed; see
    _cached_form_options)."""
    from kg.browse import models

    options = [{"id": e["id"], "name": e["label"], "depth": 0, "total_count": e["count"]}
               for e in models(store, labels.nodes.values()) if e["count"] > 0]
    return [{"title": OPTION_GROUPS[Label.MODEL], "options": options}] if options else []


def _component_options(store: GraphStore, labels: Labels) -> list[dict[str, Any]]:
    """The component filter's options: GET /api/components' entries (kg.browse.components) some finding
    is about, each indented under its parent, with its paper count (sub-components included, as the
    filter counts them)."""
    from kg.browse import components

    entries = [e for e in components(store, labels.nodes.values()) if e["count"] > 0]
    parent = {str(e["id"]): e["parent"] for e in entries}

    def depth(node_id: str) -> int:
        """How many components are above it; 0 for one in a parent loop (no top component leads to it,
        so kg.browse.components lists it after the others, not under its parent)."""
        above, seen = parent.get(node_id), {node_id}
        while above is not None:
            if above in seen or above not in parent:
                return 0
            seen.add(above)
            above = parent[above]
        return len(seen) - 1

    options = [{"id": e["id"], "name": e["label"], "depth": depth(str(e["id"])), "total_count": e["count"]}
               for e in entries]
    return [{"title": OPTION_GROUPS[Label.COMPONENT], "options": options}] if options else []


def _with_chosen(groups: list[dict[str, Any]], chosen: list[str], labels: Labels, label: str
                 ) -> list[dict[str, Any]]:
    """A filter's option groups (the cached ones, not changed) with the chosen taxonomy ids of `label` that
    no option lists (no paper has them) added at the end with a count of 0."""
    listed = {o["id"] for g in groups for o in g["options"]}
    extra = [{"id": i, "name": labels.name(i), "depth": 0, "total_count": 0}
             for i in chosen if i not in listed and labels.label(i) == label]
    if not extra:
        return groups
    if not groups:
        return [{"title": OPTION_GROUPS[label], "options": extra}]
    return [*groups[:-1], {**groups[-1], "options": [*groups[-1]["options"], *extra]}]


def _section_options(store: GraphStore) -> list[dict[str, Any]]:
    """The list section filter's options: every stored section and every heading above one, each heading
    first among its sections and named "… (all)", since the filter takes a heading too (the API's rule:
    it matches every section under it). The entries and counts are GET /api/sections' (api.sections)."""
    entries = sections_with_headings(store)
    headings = {str(e["id"]) for e in entries if e["heading"]}
    options = []
    for e in entries:
        option_id = str(e["id"])
        # A stored section with sections under it matches them too, so it is offered once, as their heading.
        if option_id in headings and not e["heading"]:
            continue
        path = [str(p) for p in cast("list[str]", e["path"])]
        label = " › ".join(path) or str(e["title"] or option_id)
        options.append({"id": option_id, "label": f"{label} (all)" if e["heading"] else label,
                        "count": e["count"]})
    # By the id's parts: a heading before its sections, and "a/x" before "a-b" (plain "-" < "/" would not).
    return sorted(options, key=lambda o: str(o["id"]).split("/"))


def _with_chosen_sections(options: list[dict[str, Any]], chosen: list[str], store: GraphStore
                          ) -> list[dict[str, Any]]:
    """The section options (the cached ones, not changed) with the chosen sections they lack added at the
    end: a section or heading stored since the options were made is still kept by the form."""
    listed = {o["id"] for o in options}
    extra = [{"id": i, "label": i, "count": store.filter_page(SearchFilters(section_ids=[i]), limit=0)[1]}
             for i in chosen if i not in listed]
    return [*options, *extra] if extra else options


def _form_options(store: GraphStore, labels: Labels) -> dict[str, Any]:
    from kg.browse import TREE_GROUPS, technique_tree

    tree = technique_tree(store)

    def walk(items: list[dict[str, Any]], depth: int, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for n in items:
            # `refined`: the count takes refinements' papers beyond the node's own (the form says so).
            out.append({"id": n["id"], "name": n["label"], "depth": depth, "total_count": n["total_count"],
                        "refined": bool(n.get("children")) and n["total_count"] != n["own_count"]})
            walk(n.get("children", []), depth + 1, out)
        return out

    def bands(name: str) -> list[dict[str, Any]]:
        """A filter's options, a group per node label the API's filter takes (the technique filter takes
        evaluation criteria too, the topic filter fundamental objects); empty groups left out."""
        groups = [{"title": OPTION_GROUPS[label], "options": walk(tree.get(TREE_GROUPS[label], []), 0, [])}
                  for label in FILTER_LABELS[name]]
        return [g for g in groups if g["options"]]

    stats = store.stats().get("nodes", {})
    return {
        "technique_options": bands("technique"),
        "topic_options": bands("topic"),
        # The taxonomy the request already holds: reading the store's again cost a query each.
        "model_options": _model_options(store, labels),
        "component_options": _component_options(store, labels),
        "sections": _section_options(store),
        "stats": {"papers": stats.get(Label.PAPER, 0),
                  "techniques": len(labels.of_label(labels.nodes, Label.TECHNIQUE))},
    }


# -- paper -------------------------------------------------------------------------------------

@bp.get("/papers")
def papers() -> BaseResponse:
    """No paper named (`/papers`, `/papers/`): the search page, where papers are found (302: a list of
    papers may live here one day), the query string kept."""
    return redirect(_with_query(url_for("web.search")))


# Under gunicorn's request-line limit (8190 bytes, api/gunicorn_conf.py) with room for a proxy's prefix.
MAX_BIBTEX_LINK_BYTES = 7000


def _bibtex_url(ids: list[str], name: str) -> str | None:
    """The plain link to GET /api/bibtex of the papers a page lists (`ids`, each once), saved as
    `name`.bib (the API folds it to a file name); None for none. A page lists at most RELATED_MORE,
    PAGE_SIZE, TECHNIQUE_PAGE_SIZE or NEW_PAGE_SIZE papers, within the API's MAX_LIKED ids."""
    unique = list(dict.fromkeys(ids))
    url = url_for("api.papers_bibtex", id=unique, name=name) if unique else None
    # 100 long slug ids could pass gunicorn's 8190-byte request line (a 414): no link rather than a
    # broken one (the CLI's `export papers --id` and the API's POST take any list).
    return url if url is not None and len(url.encode()) <= MAX_BIBTEX_LINK_BYTES else None


@bp.get("/papers/<path:paper_id>")
def paper(paper_id: str) -> str | tuple[str, int] | BaseResponse:
    """A paper: metadata, abstract, techniques and evaluations with evidence, findings, list rows, related."""
    store = get_store()
    if paper_id.endswith("/") and store.get_paper(paper_id) is None:
        # A trailing slash (`/papers/<id>/`, `/papers/<id>/graph/`): the page without it, which the
        # path converter took into the id.
        return redirect(_with_query(url_for("web.paper", paper_id=paper_id.rstrip("/"))), code=301)
    found = _find_paper(store, paper_id, store.get_paper)
    if found is None:
        return _not_found_paper(paper_id)
    if found[0] != paper_id:
        return _to_canonical("web.paper", found[0])
    detail = found[1]
    labels = _labels()
    p = detail.paper

    def uses(items: list[Any], id_attr: str) -> list[dict[str, Any]]:
        """One entry per node with every source that claims it (list first) and their evidence."""
        merged: dict[str, dict[str, Any]] = {}
        for u in items:
            node_id = getattr(u, id_attr)
            entry = merged.setdefault(node_id, {"id": node_id, "name": u.label or labels.name(node_id),
                                                "sources": [], "evidence": []})
            if u.source not in entry["sources"]:
                entry["sources"].append(u.source)
            if u.evidence and u.evidence not in entry["evidence"]:
                entry["evidence"].append(u.evidence)
        for entry in merged.values():
            entry["sources"].sort(key=lambda src: src != "list")
        # Curated (list) claims first, then extracted ones.
        return sorted(merged.values(), key=lambda u: ("list" not in u["sources"], u["name"].casefold()))

    related_cards: list[dict[str, Any]] = []
    related_error = None
    # Any other value (a typo, ?related=500) is the short list: the page stays lenient, as search's is.
    related_limit = RELATED_MORE if request.args.get("related") == str(RELATED_MORE) else RELATED_LIMIT
    try:
        from kg.related import related

        hits = related(store, p.id, limit=related_limit, taxonomy_nodes=get_taxonomy().nodes)
        profiles = store.paper_profiles([h.id for h in hits])
        # The score and what each reason adds: a reader sees why a row with no shared technique ranks
        # above one that shares several (the cosine is most of the score).
        related_cards = [
            {**card(h.paper, labels, reasons=h.reasons, score=h.score,
                    technique_ids=labels.of_label(profiles.get(h.id, set()), Label.TECHNIQUE)),
             **related_row_extras(h)}
            for h in hits
        ]
    except StoreError:
        raise
    except Exception as exc:  # related papers are a bonus: the page still shows the paper
        log.exception("related papers failed for %s", p.id)
        related_error = f"Related papers could not be computed ({type(exc).__name__})."

    bibtex = None
    cited: tuple[str, str | None] = ("misc", None)  # the Highwire tags claim no venue the BibTeX does not
    try:
        from api.bibtex import cited_as, to_bibtex

        bibtex = to_bibtex(p)
        cited = cited_as(p)
    except Exception:  # the download link still works through the API
        log.exception("bibtex failed for %s", p.id)

    return render_template(
        "paper.html", p=p, withdrawn=is_withdrawn(p.abstract),
        techniques=uses(detail.techniques, "technique_id"),
        evaluations=uses(detail.evaluations, "evaluation_id"), findings=detail.findings,
        models=detail.models, list_rows=detail.list_rows, related=related_cards,
        related_error=related_error, bibtex=bibtex, cited_kind=cited[0], cited_container=cited[1],
        bibtex_url=url_for("api.paper_bibtex", paper_id=p.id),
        related_limit=related_limit, related_short=RELATED_LIMIT, related_more=RELATED_MORE,
        related_bibtex_url=_bibtex_url([c["id"] for c in related_cards], f"related-{p.id}"),
        former_ids=store.former_ids(p.id),
    )


def _find_paper(store: GraphStore, paper_id: str, find: Any) -> tuple[str, Any] | None:
    """kg.lookup.find_pasted_paper on the store: an id as typed or pasted into a URL (a version, an arXiv
    URL, a former id, the punctuation a pasted link picks up, capitals) finds the stored paper."""
    return find_pasted_paper(paper_id, find, store.successor_of)


def _to_canonical(endpoint: str, paper_id: str) -> BaseResponse:
    """A permanent redirect from a versioned arXiv id, an arXiv URL or a former id to the paper's own URL,
    the query string kept (`?related=20` asked for more related papers)."""
    return redirect(_with_query(url_for(endpoint, paper_id=paper_id)), code=301)


def _not_found_paper(paper_id: str) -> tuple[str, int]:
    """The 404 of a paper id no paper has (a pruned or merged paper's old link): a search for the words of
    its slug (`a-mathematical-framework` searches "a mathematical framework"), and for an arXiv id its
    arXiv page. Markup built with Markup.format, which escapes every value put in it."""
    shown = isolate(paper_id[:200])
    arxiv_id = whole_arxiv_id(without_pasted_punctuation(paper_id))
    words = spelling_key(without_pasted_punctuation(paper_id))[:200]  # search reads words in any case
    message = Markup("No paper has the id “{}”. It may have been merged into another record or not "
                     "ingested yet: ").format(shown)
    if arxiv_id:
        message += Markup('see <a href="{}">arXiv:{}</a> on arXiv, or <a href="{}">search for its title</a> '
                          "instead.").format(arxiv_abs_url(arxiv_id), arxiv_id, url_for("web.search"))
    elif words:
        message += Markup('<a href="{}">search for “{}”</a> or for its title instead.').format(
            url_for("web.search", q=words), isolate(words))
    else:
        message += Markup('<a href="{}">search for its title</a> instead.').format(url_for("web.search"))
    return _error_page(404, "Paper not found", message)


def _graph(paper_id: str) -> tuple[str, dict[str, Any]] | None:
    """(stored id, neighbourhood) of a paper id, versioned arXiv ids, arXiv URLs and former ids included."""
    store, labels = get_store(), _labels()
    return _find_paper(store, paper_id, lambda pid: neighbourhood(store, pid, labels, paper_url=_paper_url,
                                                                  node_url=_node_url))


@bp.get("/papers/<path:paper_id>/graph")
def paper_graph(paper_id: str) -> str | tuple[str, int] | BaseResponse:
    """The interactive neighbourhood graph of a paper (cytoscape, data from graph.json)."""
    found = _graph(paper_id)
    if found is None:
        return _not_found_paper(paper_id)
    if found[0] != paper_id:
        return _to_canonical("web.paper_graph", found[0])
    graph = found[1]
    return render_template("graph.html", p=graph["paper"], graph=graph)


@bp.get("/papers/<path:paper_id>/graph.json")
def paper_graph_json(paper_id: str) -> BaseResponse | tuple[Response, int]:
    """Nodes and edges of a paper's neighbourhood for the graph view."""
    found = _graph(paper_id)
    if found is None:
        message = f"unknown paper id: {paper_id[:200]}"
        return jsonify({"error": {"code": "not_found", "message": message}}), 404
    if found[0] != paper_id:
        return _to_canonical("web.paper_graph_json", found[0])
    graph = found[1]
    return jsonify({"center": graph["center"], "nodes": graph["nodes"], "edges": graph["edges"],
                    "truncated": graph["truncated"]})


def _paper_url(paper_id: str) -> str:
    return url_for("web.paper", paper_id=paper_id)


def _node_url(node_id: str) -> str:
    return url_for("web.technique", node_id=node_id)


# -- techniques --------------------------------------------------------------------------------

@bp.get("/techniques")
def techniques() -> str:
    """The taxonomy as the figure's four bands, with paper counts."""
    from kg.browse import technique_tree

    store = get_store()
    tree = technique_tree(store)
    bands = [{"key": key, "title": title, "roots": tree.get(group, [])} for group, key, title in BANDS]
    # Every count 0: the store may have no papers at all, which the page then says instead.
    counted = any(n["total_count"] for roots in tree.values() for n in roots)
    return render_template("techniques.html", bands=bands, survey=_meta().survey,
                           store_empty=not counted and store.holds_no_papers())


@bp.get("/techniques/<node_id>")
def technique(node_id: str) -> str | tuple[str, int] | BaseResponse:
    """A technique (or topic, object, evaluation): papers, refinements, co-occurring techniques, chart."""
    from kg.browse import (
        TREE_GROUPS,
        UnknownNode,
        node_definition,
        other_names,
        short_name,
        technique_detail,
    )

    store = get_store()
    labels = _labels()
    # A bad page number or sort is a 400 naming it, as on the search page and in the API (a bad page
    # used to show page 1 silently, the pager linking pages past MAX_PAGE that came back as page 1; a bad
    # sort the newest first): the list gives way to the error, the rest of the page (chart, refinements)
    # stays.
    errors: list[str] = []
    sort = _sort_param(errors)
    try:
        page = _page_param()
    except BadInput as exc:
        errors.append(str(exc))
        page = 1
    error = " ".join(errors) or None
    try:
        d = technique_detail(store, node_id, sort=sort, limit=TECHNIQUE_PAGE_SIZE,
                             offset=_offset(page, TECHNIQUE_PAGE_SIZE))
    except UnknownNode:
        taxonomy = get_taxonomy()
        # A typed URL (`/techniques/Activation-Patching`, `/techniques/SAE`, `…/activation%20patching`)
        # spelling one node's id, name or alias but for case, spaces, hyphens and underscores: its page.
        spelt = node_spelt_exactly(taxonomy, node_id, TREE_GROUPS)
        if spelt is not None and spelt.id != node_id:
            return redirect(_with_query(url_for("web.technique", node_id=spelt.id)), code=301)
        near = node_spelt_nearly(taxonomy, node_id)
        # The page serves evaluation criteria, topics and fundamental objects too: named as a reader
        # knows them, not as a taxonomy "node".
        # The kinds the API's 404 names (GET /api/techniques/<id>).
        message = Markup("No technique, evaluation, topic or object has the id “{}”").format(
            isolate(node_id[:100]))
        if near is not None and near.label in TREE_GROUPS:
            # The search filter's "did you mean" (api.params), as a link to the node's page.
            message += Markup(': did you mean <a href="{}">{}</a> (“{}”)? Or <a href="{}">browse the '
                              "taxonomy</a> for the right one.").format(
                url_for("web.technique", node_id=near.id), near.name, near.id, url_for("web.techniques"))
        else:
            message += Markup('. <a href="{}">Browse the taxonomy</a> for the right one.').format(
                url_for("web.techniques"))
        return _error_page(404, "Unknown technique", message)
    if d.id not in labels.nodes:  # a node added since the app last read the taxonomy
        labels = Labels(store.taxonomy_nodes())
    node = labels.nodes[d.id]
    papers, total = d.papers, d.papers_total
    ancestors: list[dict[str, str]] = []
    parent_id = node.parent
    while parent_id and parent_id in labels.nodes and len(ancestors) < 10:
        ancestors.insert(0, {"id": parent_id, "name": labels.name(parent_id)})
        parent_id = labels.nodes[parent_id].parent
    chart = year_chart(d.papers_per_year, f"Papers per year: {node.name}")
    cards = _cards_with_techniques(store, papers, labels)
    because = node_reasons(store, [p.id for p in papers], d.id, labels)
    for c in cards:
        c["because"] = because.get(c["id"], [])
    # The search filter that takes this node (technique or topic, the API's rule), to search within it:
    # the way to the papers past what the pager reaches.
    within = next((name for name, taken in FILTER_LABELS.items() if node.label in taken), None)
    return render_template(
        "technique.html", node=node, band_title=BAND_OF_LABEL.get(node.label, node.label),
        ancestors=ancestors, parent={"id": d.parent["id"], "name": d.parent["label"]} if d.parent else None,
        children=[{"id": c["id"], "name": c["label"], "total_count": c["total_count"]}
                  for c in d.refinements],
        cooccurring=[{"id": c["id"], "name": c["label"], "count": c["count"]} for c in d.cooccurring],
        cooccurring_evaluations=[{"id": c["id"], "name": c["label"], "count": c["count"]}
                                 for c in d.cooccurring_evaluations],
        # The count under the heading takes the refinements' papers: it says how many are the node's own;
        # short_name also names the node in the co-occurring count links' names.
        own_count=d.own_count, short_name=short_name(node.name),
        # A paper tagged with two refinements counts under each: their counts then add up to more than
        # the node's papers, and the list says so.
        refinements_sum=sum(c["total_count"] for c in d.refinements), refinements_papers=d.refinements_papers,
        papers=[] if error else cards, sort=sort, can_sort=total > 1,
        bibtex_url=None if error else _bibtex_url([c["id"] for c in cards], f"technique-{node.id}"),
        args={"sort": sort if sort != "date" else None}, chart=chart, error=error,
        papers_without_year=d.papers_without_year,
        # past_end: a page number past the end must not read as "no papers use this technique".
        **_paging(page, TECHNIQUE_PAGE_SIZE, total, len(papers)),
        refinements_with_papers=any(c["total_count"] for c in d.refinements),
        # `within` is a filter name (technique, topic), never one of url_for's own `_external`-like options,
        # which mypy cannot tell from a ** dict.
        search_within=url_for("web.search", **{within: node.id}) if within else None,  # type: ignore[arg-type]
        # A technique's (or criterion's) own feed of new papers and New page, the technique filter's: its
        # auto-discovery link too, so a reader subscribing here follows this technique, not every paper.
        technique_feed=url_for("feeds.new_atom", technique=node.id) if within == "technique" else None,
        technique_feed_title=_new_feed_title([node.id], labels),
        technique_new=url_for("web.new", technique=node.id) if within == "technique" else None,
        survey=_meta().survey, other_names=other_names(node),
        # What the node is: the taxonomy file's summary, and the awesome-list row that introduces it
        # (kg.browse.node_definition says which row).
        summary=node_summary(node.id), definition=node_definition(store, node),
        store_empty=total == 0 and store.holds_no_papers(),
    ), 400 if error else 200


def _sort_param(errors: list[str]) -> str:
    """The technique page's ?sort (kg.browse.SORTS, the API's values, in any case), "date" when not given;
    a value it cannot use adds its message to `errors` and gives "date"."""
    from kg.browse import SORTS

    value = request.args.get("sort") or "date"
    chosen = choice_of(value, SORTS) if "\x00" not in value else None
    if chosen is None:
        shown = f"“{isolate(value[:20])}”" if "\x00" not in value else "with a NUL character"
        errors.append(f"Unknown sort {shown}: choose date (newest first) or centrality (most connected).")
        return "date"
    return chosen


# -- authors -----------------------------------------------------------------------------------

@bp.get("/authors/<path:key>")
def author(key: str) -> str | tuple[str, int] | BaseResponse:
    """An author (by kg.validation.author_key): their papers newest first, coauthors, their feed."""
    store = get_store()
    error = None
    try:
        page = _page_param()
    except BadInput as exc:
        error, page = str(exc), 1
    found = store.author_papers(key, limit=TECHNIQUE_PAGE_SIZE, offset=_offset(page, TECHNIQUE_PAGE_SIZE))
    if found is None:
        # A name typed or pasted as it is written ("Chris Olah", "/authors/Chris%20Olah"): its key's page.
        spelt = author_key(key)
        if spelt and spelt != key and store.author_papers(spelt, limit=0, coauthors=0) is not None:
            return redirect(_with_query(url_for("web.author", key=spelt)), code=301)
        message = Markup("No paper in the graph has the author “{}”. <a href=\"{}\">Search for the name</a> "
                         "instead.").format(isolate(key[:100]), url_for("web.search", q=key[:100]))
        return _error_page(404, "Unknown author", message)
    name = found.names[0]
    cards = _cards_with_techniques(store, found.papers, _labels())
    return render_template(
        "author.html", key=found.key, name=name, other_names=found.names[1:],
        papers=[] if error else cards, error=error, args={},
        **_paging(page, TECHNIQUE_PAGE_SIZE, found.total, len(found.papers)),
        coauthors=[{"key": k, "name": n, "papers": c} for k, n, c in found.coauthors],
        search_url=url_for("web.search", q=name, mode="keyword"),
        feed_url=url_for("feeds.new_atom", author=found.key), feed_title=author_feed_title(name),
    ), 400 if error else 200


# -- new this week -----------------------------------------------------------------------------

@bp.get("/new")
def new() -> str | tuple[str, int] | BaseResponse:
    """Papers first seen since a date (default: api.feeds.default_new_window, GET /api/new's), grouped by
    technique, NEW_PAGE_SIZE a page (the count says how many there are in all, and the page says so when
    the pager's MAX_PAGE pages cannot reach them all)."""
    store = get_store()
    labels = _labels()
    errors: list[str] = []
    # A form field: trimmed, as the year fields are, and left blank it asks for the default week.
    raw_since = (request.args.get("since") or "").strip()
    window: NewWindow | None = None
    if "\x00" in raw_since:  # echoed, it would put a raw NUL into the page
        errors.append("The date contains a NUL character; remove it. Showing the default week instead.")
    elif raw_since:
        try:  # the API's rule (GET /api/new), not a date of its own: "2024-01-31xyz" is no date
            window = NewWindow(parse_since(raw_since).isoformat(), "given")
        except ValueError:
            errors.append(f"“{isolate(raw_since[:30])}” is not a date paperkg can read: give {SINCE_RULE}. "
                          "Showing the default week instead.")
    try:
        page = _page_param()
    except BadInput as exc:
        errors.append(f"{exc} Showing the first page instead.")
        page = 1
    respelt = respelt_filter(get_taxonomy(), "technique")
    if respelt is not None:  # the feed's rule too (api.feeds.new_atom)
        return redirect(with_query_replacing("web.new", "technique", respelt), code=301)
    try:  # the API's ids and rule (api.feeds.technique_filter), worded for the form
        technique_ids = _filter_ids("technique")
    except BadInput as exc:
        errors.append(f"{exc} Showing the papers of every technique instead.")
        technique_ids = []
    if window is None:
        window = default_new_window(store)
    since = window.since
    given = window.rule == "given"
    papers, total = store.new_papers_page(since, limit=NEW_PAGE_SIZE, offset=_offset(page, NEW_PAGE_SIZE),
                                          technique_ids=technique_ids)
    groups = _group_new(store, papers, labels)
    listed = Counter(c["id"] for g in groups for c in g["papers"])
    in_several = sum(n > 1 for n in listed.values())
    feed_url = url_for("feeds.new_atom", since=since if given else None, technique=technique_ids or None)
    return render_template(
        # The date field shows the day a given since falls on; left blank for the default window, so
        # submitting the form unchanged keeps it (a day's midnight would reach back into the run before).
        "new.html", since=since, since_label=since if given else format_filters.when(since),
        since_date=since[:10] if given else "", basis=_window_basis(window), in_several=in_several,
        window_note=None if given else _window_note(window), window_rule=window.rule, groups=groups,
        shown=len(papers), **_paging(page, NEW_PAGE_SIZE, total, len(papers)),
        bibtex_url=_bibtex_url([p.id for p in papers], "new"),
        # The pager keeps the start (the default window moves with the next weekly run, a page 2 must not)
        # and the techniques.
        args={"since": since, "technique": technique_ids},
        # A given since is the feed's too; the default window's start is not: a feed reader keeps track of
        # what it has shown by entry id, and a start frozen into the subscribed URL would only mislead.
        feed_url=feed_url, feed_title=_new_feed_title(technique_ids, labels),
        technique_ids=technique_ids, using=_using(technique_ids, labels),
        technique_options=_new_technique_options(store, labels, technique_ids),
        last_run=_latest_ingest(store), error=" ".join(errors) or None, **_suggested_rows(store, since),
        # No paper at all: no date or technique to pick helps, only loading papers.
        store_empty=total == 0 and store.holds_no_papers(),
    ), 400 if errors else 200


def _using(technique_ids: list[str], labels: Labels) -> str | None:
    """The New page's technique filter in words ("Sparse Autoencoder (SAE) or Activation Patching"), None
    without one."""
    return techniques_in_words(technique_ids, labels) if technique_ids else None


def _new_feed_title(technique_ids: list[str], labels: Labels) -> str:
    """The title of the feed of the papers a view of new papers shows (api.feeds.new_feed_title)."""
    return new_feed_title(technique_ids, labels)


def _new_technique_options(store: GraphStore, labels: Labels, chosen: list[str]) -> list[dict[str, Any]]:
    """The New page's technique select: the search form's technique options (a group per kind, refinements
    under their parents) that some paper uses, and those chosen, without the counts (they are of every
    paper, not of the new ones)."""
    groups = []
    for group in _cached_form_options(store, labels)["technique_options"]:
        options = [o for o in group["options"] if o["total_count"] or o["id"] in chosen]
        if options:
            groups.append({"title": group["title"], "options": options})
    return groups


# How the New page names the source of an ingest run (api.params.RUN_SOURCES), not by its internal name.
RUN_SOURCE_LABELS = {
    "list": "awesome list", "arxiv": "arXiv by id", "records": "records file",
    RUN_SOURCE_WEEKLY: "weekly arXiv run", RUN_SOURCE_WEEKLY_LOAD: "weekly arXiv run (loading its papers)",
    "reextract": "re-extraction",
}


def _latest_ingest(store: GraphStore) -> dict[str, Any] | None:
    """The latest ingest run for the New page: a weekly run rather than the load run inside it (the load
    is recorded as a run of its own, after the weekly run started), with its source as people name it."""
    runs = store.runs(limit=2)
    run = next((r for r in runs if r.source != RUN_SOURCE_WEEKLY_LOAD), runs[0] if runs else None)
    if run is None:
        return None
    return {"source": RUN_SOURCE_LABELS.get(run.source, run.source), "when": run.finished or run.started,
            "status": run.status}


def _window_basis(window: NewWindow) -> str:
    """The window as the page's sentences continue "N papers added …" (times in UTC)."""
    when = format_filters.when
    if window.rule == "previous_weekly_run":
        return f"since the weekly arXiv run before the latest one ended ({when(window.previous_ended)})"
    if window.rule == "only_weekly_run":
        return f"since the first weekly arXiv run started ({when(window.latest_started)})"
    if window.rule == "week_before_latest_ingest":
        return f"in the {NEW_DEFAULT_DAYS} days up to the latest ingest (since {when(window.since)})"
    if window.rule == "last_7_days":
        return f"in the last {NEW_DEFAULT_DAYS} days (since {when(window.since)})"
    return f"since {window.since}"


def _window_note(window: NewWindow) -> str:
    """What the default window is, in plain words (times in UTC)."""
    when = format_filters.when
    started = when(window.latest_started)
    if window.rule == "previous_weekly_run":
        return (f"The default window: the papers of the latest weekly arXiv run (started {started}) and "
                f"any added since the run before it ended ({when(window.previous_ended)}). It moves on with "
                "each weekly run, so reading this page once after each run shows every paper once. Pick a "
                "date to see another period.")
    if window.rule == "only_weekly_run":
        return (f"The default window: the papers of the first weekly arXiv run (started {started}). From "
                "the next run on, it holds each run's papers and any added since the run before.")
    if window.rule == "week_before_latest_ingest":
        return (f"No weekly arXiv run has succeeded yet: the {NEW_DEFAULT_DAYS} days up to the latest "
                f"ingest (started {started}).")
    return f"No ingest run is recorded yet, so the default window is the last {NEW_DEFAULT_DAYS} days."


def _root_technique(node_id: str, labels: Labels) -> str:
    seen = 0
    node = labels.nodes.get(node_id)
    while node is not None and node.parent and labels.label(node.parent) == Label.TECHNIQUE and seen < 10:
        node = labels.nodes[node.parent]
        seen += 1
    return node.id if node is not None else node_id


def _group_new(store: GraphStore, papers: list[Paper], labels: Labels) -> list[dict[str, Any]]:
    """One group per top-level technique of the figure; a paper is in the group of each of its techniques'
    top-level technique (a reader scanning "their" group must find every paper using it: a paper with
    activation patching and an SAE was only under the SAE's group, where most of its techniques were)."""
    order = {n.id: i for i, n in enumerate(labels.nodes.values())}
    profiles = store.paper_profiles([p.id for p in papers])
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for p in papers:
        techs = labels.of_label(profiles.get(p.id, set()), Label.TECHNIQUE)
        roots: list[str | None] = list(dict.fromkeys(_root_technique(t, labels) for t in techs)) or [None]
        row = card(p, labels, technique_ids=techs, snippet=shorten(p.abstract))
        for key in roots:
            groups.setdefault(key, []).append(row)
    keys = sorted((k for k in groups if k is not None), key=lambda k: order.get(k, 1 << 30))
    out: list[dict[str, Any]] = [{"id": k, "name": labels.name(k), "papers": groups[k]} for k in keys]
    if None in groups:
        out.append({"id": None, "name": "No technique identified yet", "papers": groups[None]})
    return out


def _suggested_rows(store: GraphStore, since: str) -> dict[str, Any]:
    """The template's list_rows_* values: the markdown rows for the awesome list (None when there are
    none), the ids of the papers it left out as withdrawn, how many of the newest papers the rows were
    chosen from (`considered`, SUGGESTED_ROWS_LIMIT at most) out of how many (`total`), and why there
    are no rows when they could not be made (`unavailable`)."""
    out: dict[str, Any] = {"list_rows_markdown": None, "list_rows_withdrawn": [], "list_rows_considered": 0,
                           "list_rows_total": 0, "list_rows_unavailable": None}
    from ingest.export_rows import list_rows_export  # lazy: only the New page needs it

    try:
        taxonomy = full_taxonomy()
    except ValueError as exc:  # the loader's one-line reason (a tab, a missing file, an unknown key)
        log.warning("suggested list rows: %s", exc)
        out["list_rows_unavailable"] = _taxonomy_unreadable(str(exc), paperkg_config().taxonomy)
        return out
    try:
        export = list_rows_export(store, since, taxonomy, limit=SUGGESTED_ROWS_LIMIT)
    except StoreError:
        raise
    except Exception as exc:
        log.exception("list_rows_export failed")
        out["list_rows_unavailable"] = f"Suggested list rows could not be built ({type(exc).__name__})."
        return out
    out.update(list_rows_markdown=export.markdown or None, list_rows_withdrawn=export.withdrawn,
               list_rows_considered=export.considered, list_rows_total=export.total)
    return out


def _taxonomy_unreadable(reason: str, path: Path) -> str:
    """Why the New page has no suggested rows when the taxonomy file cannot be read: the loader's reason
    with the file named as the About page names it (the server's directories stay off the page)."""
    shown, _packaged = _taxonomy_file_shown(path)
    for spelling in sorted({str(path), str(path.expanduser()), str(path.absolute())}, key=len, reverse=True):
        reason = reason.replace(spelling, shown)
    return (f"Suggested list rows could not be built: the taxonomy file {shown} (PAPERKG_TAXONOMY) could "
            f"not be read: {reason}")


# -- for you, about ------------------------------------------------------------------------------

@bp.get("/for-you")
def for_you() -> str:
    """Recommendations from the papers starred in this browser (the page's JS posts them to the API)."""
    return render_template("for_you.html")


@bp.get("/about")
def about() -> str:
    """Where the data comes from and when it was last ingested."""
    store = get_store()
    config = paperkg_config()
    # The runs table shows a failed run's message as api.public_text writes it (no internal servers).
    runs = public_runs(store.runs(limit=10), config)
    done = [r for r in runs if r.status == "succeeded" and r.finished]
    last = done[0].finished if done else (runs[0].finished or runs[0].started if runs else None)
    nodes = store.stats().get("nodes", {})
    shown = (Label.PAPER, Label.AUTHOR, Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.FINDING,
             Label.MODEL, Label.LIST_SECTION)
    source, packaged = _taxonomy_file_shown(Path(get_taxonomy().source or config.taxonomy))
    # A records file's private metadata is neither the awesome list's nor arXiv's CC0; the list is credited
    # for its sections too, which a records file's list rows bring.
    paper_sources = _paper_sources(fresh=True)
    # The count GET /api/status reports as extraction_stale (cached there per store state, no model).
    from api.health import stale_extractions

    return render_template(
        "about.html", runs=runs, last_ingest=last, node_counts=[(lab, nodes.get(lab, 0)) for lab in shown],
        taxonomy_source=source, taxonomy_packaged=packaged, categories=config.arxiv_categories, meta=_meta(),
        paper_sources=paper_sources, list_sections=paper_sources["list_sections"],
        stale_extractions=stale_extractions(),
    )


def _taxonomy_file_shown(path: Path) -> tuple[str, bool]:
    """How the About page names the server's taxonomy file, and whether it is the packaged one: that one
    by its place in the project, any other by its name only (the server's directories stay private)."""
    from kg.config import PACKAGED_TAXONOMY

    try:
        packaged = path.resolve() == PACKAGED_TAXONOMY.resolve()
    except (OSError, RuntimeError):  # e.g. a symlink loop: not the packaged file
        packaged = False
    return ("/".join(PACKAGED_TAXONOMY.parts[-3:]) if packaged else path.name), packaged


# -- start here: the beginner's roadmap ----------------------------------------------------------

def _roadmap_taxonomy() -> Taxonomy | None:
    """The server's taxonomy file when it has a `roadmap:` block: None when it has none, cannot be read,
    or is not the file the store was initialised with."""
    taxonomy = own_taxonomy_file("roadmap", "no start page")
    return taxonomy if taxonomy is not None and taxonomy.roadmap else None


@bp.get("/start")
def start() -> str | tuple[str, int]:
    """Where a beginner starts: the taxonomy's roadmap as ordered steps, each arrow's techniques with
    their most connected papers, and the survey as the first read; 404 without a roadmap."""
    from api.web_start import start_flows, survey_read

    taxonomy = _roadmap_taxonomy()
    if taxonomy is None or taxonomy.roadmap is None:
        lacking = store_ids_the_file_lacks()
        if lacking:  # the file has a roadmap, but the store is not the file's (taxonomy QA: "no roadmap")
            return _error_page(404, "No roadmap",
                               f"The store holds {lacking} taxonomy {'id' if lacking == 1 else 'ids'} this "
                               "server's taxonomy file lacks, so the file's start page and summaries are not "
                               "used: after editing the file, run `paperkg init --prune`; otherwise set "
                               "PAPERKG_TAXONOMY to the file the store was made with. Browse the taxonomy or "
                               "search instead.")
        return _error_page(404, "No roadmap",
                           "This server's taxonomy file has no beginner's roadmap (its roadmap: section), so "
                           "there is no start page. Browse the taxonomy or search instead.")
    store = get_store()
    return render_template("start.html", flows=start_flows(store, taxonomy.roadmap, taxonomy, _labels()),
                           survey=survey_read(store, taxonomy.meta.survey))
