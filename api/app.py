"""Flask app factory: one store per app, one lazily loaded embedder, the blueprints, JSON errors."""

from __future__ import annotations

import atexit
import copy
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, Response, current_app, request

from api.errors import is_json_path  # the API, feed and health checks: never a page
from kg.config import Config, load_config
from kg.store import GraphStore, StoreDamaged, StoreError, StoreUnavailable, open_store, require_store
from kg.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.embed import Embedder

T = TypeVar("T")

log = logging.getLogger(__name__)

# Security headers on every response of the app (pages, API, feed, static files, error pages).
# HTML pages: scripts and styles only from this origin, no inline script, framed by no site (but the
# origins PAPERKG_FRAME_ANCESTORS names: web_csp). The one
# style hash is the exact rule cytoscape injects (".__________cytoscape_container { position:
# relative; }"), so the vendored library runs unmodified without allowing any other inline style.
CYTOSCAPE_STYLE_HASH = "'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='"
WEB_CSP = (
    "default-src 'self'; script-src 'self'; "
    f"style-src 'self' {CYTOSCAPE_STYLE_HASH}; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Everything else (JSON, Atom, BibTeX, CSS, JS, SVG, and any answer under /api/ or /feeds/: Flask's
# automatic OPTIONS answer there is an empty text/html) is data, never a document: it may load nothing,
# run nothing and be framed nowhere, even when opened directly in a browser.
DATA_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",  # text/x-bibtex or JSON is never sniffed into HTML
    # The page's URL holds the user's search: sent as Referer even to this site, it landed in the
    # proxy's access log with every stylesheet, script and fetch. Nothing here reads Referer; Origin is
    # read only to answer another site's fetch() of the API and feed (PAPERKG_CORS_ORIGINS).
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The paths other sites may read with fetch() when PAPERKG_CORS_ORIGINS allows them: the API and the
# feed, not the pages (nor the health checks, which are for monitors, not browsers).
CORS_PREFIXES = ("/api/", "/feeds/")
# How long a browser may reuse a preflight answer (Chromium keeps one at most 2 hours, Firefox 1 day):
# 10 minutes spares a page's repeated POSTs the extra round trip, and a narrowed setting is soon obeyed.
CORS_MAX_AGE = "600"
# The request headers another site's fetch() may send beyond the safelisted ones: a JSON body's type,
# and the ETag it was given (a page may revalidate by hand).
CORS_ALLOW_HEADERS = "Content-Type, If-None-Match"
# The response headers its script may read beyond the safelisted ones (Content-Type, Cache-Control ...).
CORS_EXPOSE_HEADERS = "ETag, Retry-After, Content-Disposition"
# A JSON answer under /api/ may be kept but is revalidated before each reuse (a 304 when its ETag still
# matches): nothing stays stale after an ingest, and an unchanged answer costs no body. private: by the
# browser only, never a shared cache (a proxy's), as a search's query in the URL is the user's own
# (the reason for Referrer-Policy: no-referrer).
JSON_CACHE_CONTROL = "private, no-cache"

# Request bodies larger than this are refused with 413 (a recommend body with 200 ids is ~6 KB).
DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024

_STORE_KEY = "paperkg_store"
_EMBEDDER_KEY = "paperkg_embedder"
_TAXONOMY_KEY = "paperkg_taxonomy"
_TAXONOMY_RELOAD_KEY = "paperkg_taxonomy_reload"
_LOCK_KEY = "paperkg_locks"
_MODEL_FAILED_KEY = "paperkg_model_failed"  # (time.monotonic(), exception) of the last failed model load
# How long a request waits for the embedding model another thread is loading before it is told to come
# back (ModelLoading, a 503): the load takes ~10 s on an idle machine but ~45 s beside a running ingest,
# and a request held that long timed out at clients and proxies with no word of why (QA).
MODEL_WAIT_SECONDS = 15.0
# A failed model load (a broken torch, a missing model) is tried again at most this often (config
# MODEL_RETRY_SECONDS), its error answered meanwhile: each request of a broken install paid for a new
# attempt (seconds of imports), yet an install put right is still found without a restart.
MODEL_RETRY_SECONDS = 30.0
# How long a request may use the taxonomy read by an earlier one (one small query to refresh).
TAXONOMY_CACHE_SECONDS = 30.0
# A filter naming an id the cached taxonomy lacks (a node `paperkg init` has just added) has the
# taxonomy read again at once, but at most once in this many seconds: a flood of made-up ids cannot
# make every request read the store. The store has no cheap "taxonomy changed" marker to ask instead.
UNKNOWN_ID_RELOAD_SECONDS = 1.0
# The request arguments that name taxonomy ids (the search filters of the web form and the API), and
# the views that check them against get_taxonomy(): no other route reads the taxonomy for them.
_TAXONOMY_ID_ARGS = ("technique", "topic", "model", "component")
_TAXONOMY_FILTER_ENDPOINTS = frozenset({"api.search_papers", "web.search", "web.home"})  # "/" searches too


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the paperkg Flask app.

    Config keys (all optional): "STORE" (a GraphStore to use; the caller keeps ownership and
    closes it), "EMBEDDER" (an object with encode/encode_query), "PAPERKG_CONFIG" (a
    kg.config.Config; default: load_config() from PAPERKG_* variables), "TAXONOMY" (a Taxonomy;
    default: built from the store's taxonomy nodes), "WARM_EMBEDDER" (load the embedding model, then
    the store's vectors and related-papers index, in the background now, so the first search does
    not wait for them; servers set it), plus any
    Flask setting.
    """
    app = Flask(__name__)
    # A doubled slash (/api//stats) is a 404, not Werkzeug's 308 to the merged path: that redirect's
    # Location is absolute, built from the request's Host header (a forged Host put another site's URL
    # in it), and every other redirect of the app is relative.
    app.url_map.merge_slashes = False
    app.config.update(MAX_CONTENT_LENGTH=DEFAULT_MAX_CONTENT_LENGTH, JSON_SORT_KEYS=False)
    if config:
        app.config.update(config)
    if app.config.get("PAPERKG_CONFIG") is None:
        app.config["PAPERKG_CONFIG"] = load_config()
    # Keep the documented field order in responses. app.json is a DefaultJSONProvider, which has
    # sort_keys; Flask types the attribute as the JSONProvider base class, which does not.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[_LOCK_KEY] = {_STORE_KEY: threading.Lock(), _EMBEDDER_KEY: threading.Lock(),
                                 _TAXONOMY_RELOAD_KEY: threading.Lock()}
    if app.config.get("STORE") is not None:
        app.extensions[_STORE_KEY] = app.config["STORE"]
    if app.config.get("EMBEDDER") is not None:
        app.extensions[_EMBEDDER_KEY] = app.config["EMBEDDER"]

    from api import errors, feeds, health, json_api, openapi, web

    del openapi  # imported for its routes on the json_api blueprint

    errors.register(app)
    app.before_request(_see_new_taxonomy_ids)
    app.after_request(without_date)
    app.after_request(security_headers)
    app.after_request(cross_origin_headers)
    app.after_request(conditional_json)
    app.register_blueprint(json_api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)

    if app.config.get("WARM_EMBEDDER"):
        threading.Thread(target=_warm_worker, args=(app,), name="paperkg-warm-worker",
                         daemon=True).start()
    # The app owns a store it opened itself and closes it when the process exits; a store
    # passed in as config["STORE"] belongs to the caller.
    app_ref = weakref.ref(app)
    atexit.register(lambda: _close_ref(app_ref))
    return app


def security_headers(response: Response) -> Response:
    """Content-Security-Policy (the web policy for the HTML pages, a deny-all one for anything else, the
    API's and feed's answers always), nosniff, Referrer-Policy and X-Frame-Options on every response; a
    header a view set stays. PAPERKG_FRAME_ANCESTORS lets the origins it names frame the pages."""
    page = response.mimetype == "text/html" and not is_json_path(request.path)
    ancestors = paperkg_config().frame_ancestors if page else ()
    csp = web_csp(ancestors) if page else DATA_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
    for name, value in SECURITY_HEADERS.items():
        # X-Frame-Options names no origin (ALLOW-FROM is dead): frame-ancestors alone says who may frame.
        if not (ancestors and name == "X-Frame-Options"):
            response.headers.setdefault(name, value)
    return response


def web_csp(frame_ancestors: Iterable[str] = ()) -> str:
    """The pages' Content-Security-Policy: WEB_CSP, framed only by `frame_ancestors` when it names any
    (origins already checked by kg.config: nothing else may go into the header)."""
    allowed = " ".join(frame_ancestors)
    return WEB_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {allowed}") if allowed else WEB_CSP


def cross_origin_headers(response: Response) -> Response:
    """CORS for the API and feed: an Origin PAPERKG_CORS_ORIGINS lists is sent back in
    Access-Control-Allow-Origin (with Vary: Origin on every answer there, so no cache hands one origin's
    answer to another), "*" (and no Vary: every origin gets the same answer) when it is "*"; a preflight
    (OPTIONS with Access-Control-Request-Method) of an existing route is answered with the route's
    methods. Never credentials: the server has no cookies or logins, and another site must not read with
    a user's. Any other origin gets no CORS header."""
    allowed = paperkg_config().cors_origins
    if not allowed or not request.path.startswith(CORS_PREFIXES):
        return response
    if allowed == ("*",):
        origin = "*"
    else:
        response.vary.add("Origin")
        origin = request.headers.get("Origin", "")
        if origin not in allowed:
            return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        # Flask's automatic OPTIONS answer (200) names the route's methods in Allow; a path no route
        # matches is a 404, which the browser takes as a refusal.
        methods = [m for m in response.headers.get("Allow", "").replace(" ", "").split(",")
                   if m and m != "OPTIONS"]
        if response.status_code == 200 and methods:
            response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    return response


def conditional_json(response: Response) -> Response:
    """A strong ETag (of the body) and Cache-Control: private, no-cache on a successful JSON answer to a
    GET or HEAD under /api/, and a 304 with no body when If-None-Match names it: a client that fetches the
    API again (a nightly static-site build) downloads only what changed. The answers are deterministic
    for a store's contents. Errors, other types (BibTeX), streamed bodies and answers that already have
    an ETag or a Cache-Control of their own (/api/status: no-store) are left as they are."""
    if (request.method not in ("GET", "HEAD") or response.status_code != 200
            or not request.path.startswith("/api/") or not response.is_json or response.is_streamed
            or "ETag" in response.headers or "Cache-Control" in response.headers):
        return response
    response.add_etag()
    response.headers["Cache-Control"] = JSON_CACHE_CONTROL
    # make_conditional updates the response in place (and returns it, typed as werkzeug's base class).
    response.make_conditional(request)
    return response


def without_date(response: Response) -> Response:
    """The response without a Date header of the app's own: the server adds one (gunicorn, werkzeug's
    development server); make_conditional's copy (the feed's, the JSON answers') made two under the latter."""
    response.headers.pop("Date", None)
    return response


def _warm_worker(app: Flask) -> None:
    """Load the embedding model (about 10 s on a busy machine), then the store's vectors and
    related-papers index (seconds at 100k papers) and search's English word list (~1 s), so no user's
    first request pays for them; a failure is logged, and the first request that needs them tries
    again and reports it."""
    try:
        get_embedder(app, patient=True)
        log.info("embedding model loaded")
    except Exception as exc:
        log.warning("could not preload the embedding model: %s", exc)
    try:
        get_store(app).warm()
        log.info("store vectors and related-papers index loaded")
    except StoreDamaged as exc:  # an ERROR, as everywhere a damaged store is met
        log.error("could not preload the store's vectors: %s", exc)
    except Exception as exc:
        log.warning("could not preload the store's vectors: %s", exc)
    try:
        from kg.validation import english_words  # what search splits joined words by ("pretrained")

        english_words()
    except Exception as exc:
        log.warning("could not preload the English word list: %s", exc)


def _close_ref(app_ref: weakref.ref[Flask]) -> None:
    app = app_ref()
    if app is not None:
        close_app(app)


def close_app(app: Flask) -> None:
    """Close the store the app opened itself (no-op for a store passed in by the caller)."""
    store = app.extensions.get(_STORE_KEY)
    if store is None or store is app.config.get("STORE"):
        return
    app.extensions.pop(_STORE_KEY, None)
    try:
        store.close()
    except Exception:  # closing at exit must never raise
        log.exception("closing the store failed")


def paperkg_config(app: Flask | None = None) -> Config:
    """The app's kg.config.Config."""
    app = app or current_app
    return app.config["PAPERKG_CONFIG"]


class ModelLoading(RuntimeError):
    """The embedding model is being loaded by another thread (the warm-up) and was not ready in time."""


def _once(app: Flask, key: str, factory: Callable[[], T], wait: float | None = None) -> T:
    """app.extensions[key], made by factory() on first use under the key's own lock.

    A failed factory is not cached: the next request tries again. One lock per key, so a keyword
    search can open the store while the model is still loading. With `wait`, a caller that finds
    another thread making it gives up after that many seconds (TimeoutError); the maker never does.
    """
    value = app.extensions.get(key)
    if value is not None:
        return value
    lock = app.extensions[_LOCK_KEY][key]
    if not lock.acquire(timeout=-1 if wait is None else wait):
        raise TimeoutError(f"{key} is still being made by another thread")
    try:
        value = app.extensions.get(key)
        if value is None:
            value = app.extensions[key] = factory()
    finally:
        lock.release()
    return value


def get_store(app: Flask | None = None) -> GraphStore:
    """The app's store, opened on first use (raises StoreUnavailable when it cannot be reached, NoStore, a
    StoreUnavailable, when the data directory holds none, another StoreError when it cannot be used, e.g.
    a damaged file); the app recovers without a restart when the database comes back or is created.

    The app never creates a store: a mistyped PAPERKG_DATA_DIR would get an empty one, which reading
    commands and the weekly ingest would then take for the graph."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]

    def open_() -> GraphStore:
        try:
            config = paperkg_config(app)
            require_store(config)
            return open_store(config)
        except StoreError:
            raise  # says what is wrong (unreachable, damaged, read-only) in words
        except (ImportError, TypeError, AttributeError, NameError):
            raise  # programming errors must not pass for an unreachable database
        except Exception as exc:  # e.g. the driver refusing a URI or a connection
            log.warning("cannot open the store: %s", exc)
            raise StoreUnavailable(f"cannot open the store: {type(exc).__name__}") from exc

    return _once(app, _STORE_KEY, open_)


def get_embedder(app: Flask | None = None, *, patient: bool = False, wait: float | None = None) -> Embedder:
    """The app's query embedder, loaded on first use and shared by requests; ModelLoading when another
    thread is loading it and it is not ready within `wait` seconds (default MODEL_WAIT_SECONDS, config
    MODEL_WAIT_SECONDS), unless `patient` (the warm-up itself waits as long as the load takes). A failed
    load raises its error again, without a new attempt, for MODEL_RETRY_SECONDS (config too).

    Web workers embed one short query at a time: torch runs on one thread there (measured: two
    threads on a busy 2-core machine made a query's p95 ten times worse).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    retry = float(app.config.get("MODEL_RETRY_SECONDS", MODEL_RETRY_SECONDS))

    def recent_failure() -> BaseException | None:
        failed: tuple[float, BaseException] | None = app.extensions.get(_MODEL_FAILED_KEY)
        if failed is None or time.monotonic() - failed[0] >= retry:
            return None
        # Each request raises a copy of its own: one object raised by several threads at once would
        # carry their tracebacks into each other's logs.
        return copy.copy(failed[1])

    def load() -> Embedder:
        failed = recent_failure()  # a request that waited for the lock while another's attempt failed
        if failed is not None:
            raise failed
        from ingest.embed import Embedder, loaded_embedder

        try:
            model_path = paperkg_config(app).embedding_model or None
            # A process that has just ingested (`make demo`) already holds the model: share its weights.
            loaded = loaded_embedder(model_path)
            embedder = loaded.with_threads(1) if loaded is not None else Embedder(model_path, threads=1)
        except Exception as exc:
            # Kept for the health checks (model_status: a probe must not load the model to learn this)
            # and for the requests until the next attempt.
            # A copy: no traceback, so the failed load's frames are not kept alive.
            app.extensions[_MODEL_FAILED_KEY] = (time.monotonic(), copy.copy(exc))
            raise
        app.extensions.pop(_MODEL_FAILED_KEY, None)
        return embedder

    embedder: Embedder | None = app.extensions.get(_EMBEDDER_KEY)
    if embedder is not None:
        return embedder
    failed = recent_failure()
    if failed is not None:
        raise failed
    if wait is None and not patient:
        wait = float(app.config.get("MODEL_WAIT_SECONDS", MODEL_WAIT_SECONDS))
    try:
        return _once(app, _EMBEDDER_KEY, load, wait)
    except TimeoutError:
        raise ModelLoading(f"the embedding model is still loading after {wait:g} s") from None


def model_status(app: Flask | None = None) -> str:
    """What this process knows of its embedding model, without loading it: "ok" (loaded), "unavailable"
    (the last load, the start-up preload or a search's, failed), "loading" (a load is under way) or
    "not_loaded" (nothing has asked for it yet: an app without the preload loads it on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get(_EMBEDDER_KEY) is not None:
        return "ok"
    if app.extensions.get(_MODEL_FAILED_KEY) is not None:
        return "unavailable"  # even while a request tries again: the answer stays put until one succeeds
    return "loading" if app.extensions[_LOCK_KEY][_EMBEDDER_KEY].locked() else "not_loaded"


_MODEL_CHECKED_KEY = "paperkg_query_model_checked"
_MODEL_MISMATCH_KEY = "paperkg_query_model_mismatch"  # (when checked, store, why) of the last mismatch
# How long query_model_mismatch trusts a mismatch it found: the check counts every embedded paper, too
# much for each poll of GET /api/status on a large store.
MISMATCH_RECHECK_SECONDS = 60.0


def get_query_embedder(app: Flask | None = None, *, wait: float | None = None) -> Embedder:
    """get_embedder(wait=wait), once the store's papers are known to be embedded by the same model (raises
    ingest.embed.ModelMismatch otherwise: a query vector of another model ranks them at random).

    Checked until the store holds papers, then not again for that store object (ingest refuses to mix
    models); a store opened anew (after it was unreachable) is checked anew."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    embedder = get_embedder(app, wait=wait)
    store = get_store(app)
    if app.extensions.get(_MODEL_CHECKED_KEY) is not store:
        from ingest.embed import check_store_model

        check_store_model(store, embedder.model_name)
        if store.embedding_models():
            app.extensions[_MODEL_CHECKED_KEY] = store
    return embedder


def query_model_mismatch(app: Flask | None = None) -> str | None:
    """Why semantic search refuses the store (its papers were embedded by another model than the loaded
    one), or None: none found, or the model is not loaded (never loaded for this)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get(_EMBEDDER_KEY) is None:
        return None
    store = get_store(app)
    seen = app.extensions.get(_MODEL_MISMATCH_KEY)
    if seen is not None and seen[1] is store and time.monotonic() - seen[0] < MISMATCH_RECHECK_SECONDS:
        return str(seen[2])
    from ingest.embed import ModelMismatch

    try:
        get_query_embedder(app)
    except ModelMismatch as exc:
        app.extensions[_MODEL_MISMATCH_KEY] = (time.monotonic(), store, str(exc))
        log.error("%s", exc)
        return str(exc)
    app.extensions.pop(_MODEL_MISMATCH_KEY, None)
    return None


def get_taxonomy(app: Flask | None = None, *, knowing: Iterable[str] = ()) -> Taxonomy:
    """The taxonomy the store holds (labels, refinements), cached for TAXONOMY_CACHE_SECONDS once
    it is non-empty, so `paperkg init` with a new taxonomy reaches a running server; read again at
    once when the cached one lacks an id of `knowing` (at most once per UNKNOWN_ID_RELOAD_SECONDS)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    configured = app.config.get("TAXONOMY")
    if configured is not None:
        return configured
    now = time.monotonic()
    cached: tuple[float, Taxonomy] | None = app.extensions.get(_TAXONOMY_KEY)
    if (cached is not None and now - cached[0] < TAXONOMY_CACHE_SECONDS
            and (all(node_id in cached[1].by_id for node_id in knowing) or not _may_reload(app, now))):
        return cached[1]
    nodes = get_store(app).taxonomy_nodes()
    # An unchanged taxonomy keeps its object: kg.search caches compiled look-ups per object.
    taxonomy = cached[1] if cached is not None and cached[1].nodes == nodes else Taxonomy(nodes=nodes)
    if nodes:  # an uninitialised store gets asked again next time
        app.extensions[_TAXONOMY_KEY] = (now, taxonomy)
    return taxonomy


def _may_reload(app: Flask, now: float) -> bool:
    """True, and the time noted, when no unknown id has had the taxonomy read in the last
    UNKNOWN_ID_RELOAD_SECONDS (under a lock, so threads flooding at once get one read between them)."""
    with app.extensions[_LOCK_KEY][_TAXONOMY_RELOAD_KEY]:
        last: float | None = app.extensions.get(_TAXONOMY_RELOAD_KEY)
        if last is not None and now - last < UNKNOWN_ID_RELOAD_SECONDS:
            return False
        app.extensions[_TAXONOMY_RELOAD_KEY] = now
        return True


def _see_new_taxonomy_ids() -> None:
    """Before a request whose technique or topic filter names an id the cached taxonomy lacks, read
    the taxonomy again (bounded, see get_taxonomy), so a node `paperkg init` has just added is a valid
    filter at once for every view that validates against get_taxonomy() (/, /search, /api/search)."""
    if request.endpoint not in _TAXONOMY_FILTER_ENDPOINTS or not any(
            name in request.args for name in _TAXONOMY_ID_ARGS):
        return
    from api.params import ParameterError, list_arg  # the views' own parsing of the filter values

    try:
        ids = [node_id for name in _TAXONOMY_ID_ARGS for node_id in list_arg(name)]
    except ParameterError:
        return  # the view refuses the argument itself, in its own words
    try:
        get_taxonomy(knowing=ids)
    except StoreError:
        return  # the view reads the store itself and reports the error in its own format
