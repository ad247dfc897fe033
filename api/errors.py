"""JSON errors for the API: {"error": {"code", "message"}} (and, for some, fields a client can act on:
`parameter`, `unknown_ids`), never an HTML page or a stack trace."""

from __future__ import annotations

import html
import logging
import re
from typing import Any, NamedTuple
from urllib.parse import quote, unquote_to_bytes

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from kg.store import NoStore, StoreDamaged, StoreError

log = logging.getLogger(__name__)
# A store never created: most likely PAPERKG_DATA_DIR points at the wrong folder (a typo), so that is checked
# first; `paperkg init` there would make a second, empty store beside the real one.
NO_STORE_MESSAGE = ("there is no graph store here: the operator must check PAPERKG_DATA_DIR (the server log "
                    "names the directory) or run `paperkg init` and an ingest there")
DAMAGED_MESSAGE = ("the graph store's file is damaged: the operator must restore it from a backup or "
                   "re-ingest (the server log names the file)")
UNAVAILABLE_MESSAGE = ("the graph store did not answer: try again in a minute; if it persists, the operator "
                       "must check `paperkg stats` and the store's logs")


def page_text(message: str) -> str:
    """A JSON message as a sentence for a web page: text, not Markdown (no backticks), first letter upper."""
    text = message.replace("`", "")
    # Not str.capitalize(): it lowercases the rest (PAPERKG_DATA_DIR would read paperkg_data_dir).
    return f"{text[:1].upper()}{text[1:]}."


class StoreErrorText(NamedTuple):
    """What a client is told about a store error: a page's heading and message, the JSON message and code."""

    heading: str
    page_message: str
    json_message: str
    json_code: str


def store_error_text(exc: StoreError) -> StoreErrorText:
    """The one wording of a store error, for the web pages and the JSON API alike (never the exception's
    own text, which names server paths: that goes to the log)."""
    if isinstance(exc, StoreDamaged):  # retrying will not help: say so
        heading, message, code = "The graph store is damaged", DAMAGED_MESSAGE, "store_damaged"
    elif isinstance(exc, NoStore):  # not a passing outage: nothing was ever loaded here
        heading, message, code = "The graph store is unavailable", NO_STORE_MESSAGE, "store_unavailable"
    else:  # unreachable, locked or failing: likely to pass
        heading, message, code = "The graph store is unavailable", UNAVAILABLE_MESSAGE, "store_unavailable"
    return StoreErrorText(heading, page_text(message), message, code)


def log_store_error(exc: StoreError) -> None:
    """Log a store error answered with a 503: damaged at ERROR (someone must act), others at WARNING."""
    level = logging.ERROR if isinstance(exc, StoreDamaged) else logging.WARNING
    log.log(level, "store error on %s %s: %s", request.method, logged_path(request.path), exc)


# What a path in a log line may hold as it is: RFC 3986's unreserved and sub-delims, "/", ":" and "@".
_LOG_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# How much of a path a message or log line echoes: a 6,000-character path echoed whole buried the message.
SHOWN_PATH_CHARS = 200


def logged_path(path: str) -> str:
    """A request's (decoded) path as a log line names it: percent-encoded again, so a %0A or %1B in the
    URL cannot start a forged log line or send an escape sequence to the terminal that reads the log, and
    cut to SHOWN_PATH_CHARS characters plus "…"."""
    return shown_path(quote(path, safe=_LOG_PATH_SAFE, errors="surrogateescape"))


def shown_path(path: str) -> str:
    """A path as an error message echoes it: at most SHOWN_PATH_CHARS characters plus "…"."""
    return path if len(path) <= SHOWN_PATH_CHARS else path[:SHOWN_PATH_CHARS] + "…"


# Paths whose errors are always JSON (the web UI renders its own pages for everything else).
JSON_PATHS = ("/api", "/healthz", "/readyz")
JSON_PREFIXES = ("/api/", "/feeds/")

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    500: "internal_error",
    503: "store_unavailable",
}
# Every code an error body carries: the statuses' own, the specific ones raised for some of them, and
# the fallback of a status _CODES lacks. The OpenAPI document's Error.code enum is this list.
ERROR_CODES = (*dict.fromkeys(_CODES.values()), "bad_parameter", "malformed_json", "store_damaged",
               "model_unavailable", "model_mismatch", "model_loading", "error")
# A 503's Retry-After (seconds): the store's and the model's outages are told "try again in a minute".
# A damaged store or a missing model needs the operator, so a client retrying then should back off.
RETRY_AFTER_SECONDS = 60


class ApiError(Exception):
    """An error with an HTTP status, a machine-readable code and a message for people."""

    def __init__(self, status: int, message: str, code: str | None = None, *,
                 fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        # Machine-readable details sent beside code and message (`parameter`, `unknown_ids`).
        self.fields = dict(fields or {})


def bad_parameter(name: str, message: str) -> ApiError:
    """A 400 naming the offending parameter (in the message, and as `parameter` for a program)."""
    return ApiError(400, f"parameter '{name}': {message}", "bad_parameter", fields={"parameter": name})


def not_found(message: str) -> ApiError:
    """A 404 with a message."""
    return ApiError(404, message)


def is_json_path(path: str) -> bool:
    """True for paths whose errors must be JSON (the API, feeds and health checks)."""
    return path in JSON_PATHS or path.startswith(JSON_PREFIXES)


def error_response(status: int, message: str, code: str | None = None, *,
                   fields: dict[str, Any] | None = None) -> Response:
    """The JSON error body with its status (and, on a 503, Retry-After)."""
    body = {"code": code or _CODES.get(status, "error"), "message": message, **(fields or {})}
    response = jsonify({"error": body})
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _http_message(exc: HTTPException) -> str:
    if exc.code == 413:
        from flask import current_app

        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"request body too large: the limit is {limit} bytes"
    if exc.code == 405:
        shown = shown_path(request.path)
        return f"method {request.method} not allowed on {shown}; use {allowed_methods(exc)}"
    if exc.code == 404:
        # /api/techniques/sae/papers is a guess at where a technique's papers are: say where they are.
        sub = re.fullmatch(r"/api/techniques/([^/]+)/.*", request.path, re.DOTALL)
        if sub is not None:
            technique = f"/api/techniques/{quote(sub.group(1)[:200], safe='')}"
            return (f"no such resource: {shown_path(request.path)}; "
                    f"a technique's papers are under {technique} (papers.results)")
        return f"no such resource: {shown_path(request.path)}"
    return exc.description or exc.name


_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # Allow's own order varies


def allowed_methods(exc: HTTPException) -> str:
    """The methods a 405's path takes, from its Allow header, as "GET" or "GET or POST": HEAD and
    OPTIONS left out (answered on every path that has a GET, and on every path), unless they are all."""
    allow = exc.get_response().headers.get("Allow") or ""
    methods = [m.strip() for m in allow.split(",") if m.strip()]
    named = [m for m in methods if m not in ("HEAD", "OPTIONS")] or methods
    named.sort(key=lambda m: _METHOD_ORDER.index(m) if m in _METHOD_ORDER else len(_METHOD_ORDER))
    if not named:
        return "another method"
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"


def _page_text(exc: HTTPException) -> tuple[str, str]:
    """A web page's heading and message for an HTTP error: paperkg's own for a 404 and a 405 (the page
    adds its links to the search and the taxonomy), Werkzeug's for the rest."""
    from api.web_format import isolate  # the web's quoting of user text (a <bdi> on the page)

    path = isolate(shown_path(request.path))
    if exc.code == 404:
        return exc.name, f"No page at {path}."
    if exc.code == 405:
        return exc.name, (f"The page at {path} does not answer {request.method} requests; use "
                          f"{allowed_methods(exc)}.")
    return exc.name, exc.description or ""


PERCENT_ENCODE_HINT = "percent-encode non-ASCII text as UTF-8 (naïve is na%C3%AFve)"


def query_string_problem(raw: bytes) -> str | None:
    """What keeps a query string (its bytes as the request sent them) from being percent-encoded UTF-8
    text, or None: a raw byte outside ASCII, or an escape that does not decode as UTF-8 (%EF, %ED%B0%80)."""
    if not raw.isascii():
        offset = next(i for i, byte in enumerate(raw) if byte > 0x7F)
        # Not the byte's value: Werkzeug's dev server hands the app a raw byte re-encoded (a raw 0xef
        # arrives as 0xc3 0xaf), so only where it is can be told. gunicorn refuses such a request itself.
        return f"a byte outside ASCII at offset {offset} is not percent-encoded"
    if b"%" not in raw:
        return None  # ASCII with no escapes: text
    for part in raw.split(b"&"):  # Werkzeug splits on & alone, as parse_qsl does
        name, _, value = part.partition(b"=")
        for piece, whose in ((name, None), (value, name)):
            decoded = unquote_to_bytes(piece)
            try:
                decoded.decode("utf-8")
            except UnicodeDecodeError as exc:
                escape = f"%{decoded[exc.start]:02X}"  # every byte outside ASCII came from an escape
                if whose is None:
                    return f"a parameter name percent-decodes to bytes that are not UTF-8 (at {escape})"
                shown = unquote_to_bytes(whose.replace(b"+", b" ")).decode("utf-8", "replace")[:40]
                return f"the value of {shown!r} percent-decodes to bytes that are not UTF-8 (at {escape})"
    return None


def register(app: Flask) -> None:
    """Install the error handlers on the app."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.code, fields=exc.fields)

    @app.before_request
    def _utf8_query_string() -> Response | tuple[str, int] | None:
        # Refused here, before any view reads an argument: Werkzeug keeps a percent-escape that does not
        # decode as UTF-8 as its literal text (q=na%EFve searched for "na%EFve"), and its dev server
        # reads raw bytes as latin-1 (a raw UTF-8 "naïve" searched for "naÃ¯ve").
        problem = query_string_problem(request.query_string)
        if problem is None:
            return None
        message = f"the query string is not percent-encoded UTF-8 text: {problem}; {PERCENT_ENCODE_HINT}"
        if is_json_path(request.path):
            return error_response(400, message)
        return _page(400, "Bad request", page_text(message))

    @app.errorhandler(StoreError)  # and its kinds: NoStore, StoreUnavailable, StoreDamaged, LockHeld
    def _store_error(exc: StoreError) -> Response | tuple[str, int]:
        # The file name and what to do go to the log (the operator's), not to every client.
        log_store_error(exc)
        return store_error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
        status = exc.code or 500
        if is_json_path(request.path):
            response = error_response(status, _http_message(exc))
        else:
            response = make_response(_page(status, *_page_text(exc)))
        # RFC 9110 asks a 405 to name the methods the resource takes, on a page as on the API.
        allow = exc.get_response().headers.get("Allow") if status == 405 else None
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        # The traceback goes to the log, never to the client.
        log.exception("unhandled error on %s %s", request.method, logged_path(request.path))
        if is_json_path(request.path):
            return error_response(500, "internal error")
        return _page(500, "Something went wrong", "internal error")


def store_error_response(exc: StoreError) -> Response | tuple[str, int]:
    """The 503 for a store error: JSON on the API, feeds and health checks, else the error page."""
    text = store_error_text(exc)
    if is_json_path(request.path):
        return error_response(503, text.json_message, text.json_code)
    return _page(503, text.heading, text.page_message)


def _page(status: int, heading: str, message: str) -> tuple[str, int]:
    """The web UI's error page; a bare page if even that cannot be rendered."""
    try:
        return render_template("error.html", status=status, heading=heading, message=message), status
    except Exception:  # the error page must not fail in turn
        log.exception("rendering the error page failed")
        return (f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{html.escape(message)}</p>",
                status)
