"""Liveness and readiness checks: /healthz (process up) and /readyz (store reachable)."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, jsonify

from api.app import get_store, paperkg_config
from api.errors import error_response
from kg.store import StoreDamaged, StoreError

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up (does not touch the store)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """The store answers a ping; 503 with a JSON error saying why when it does not.

    The ping is one small query, not an integrity check (that reads the whole file: too slow per probe on
    a large store), so a damaged page elsewhere shows only when a request reads it (a 503 naming it)."""
    try:
        get_store().ping()
    except StoreDamaged as exc:
        log.error("readiness: %s", exc)
        return error_response(503, f"store damaged: {_without_paths(str(exc))}", "store_damaged")
    except StoreError as exc:
        log.warning("readiness: %s", exc)
        return error_response(503, f"store unreachable: {_without_paths(str(exc))}")
    return jsonify({"status": "ready"})


def _without_paths(reason: str) -> str:
    """The reason with the data directory written as its variable: the server's paths stay in its log,
    as on every other error answer, while the probe still says what is wrong."""
    data_dir = paperkg_config().data_dir
    for path in sorted({str(data_dir.resolve()), str(data_dir)}, key=len, reverse=True):
        # Whole paths only: a relative PAPERKG_DATA_DIR such as "data" must not rewrite the word
        # "data" in the reason. Messages follow a path with a separator, a quote, a colon or nothing,
        # an absolute path (no word) also with a space ("no paperkg store in /srv/x (PAPERKG_DATA_DIR)").
        end = r"[/'\":)\s]" if path.startswith("/") else r"[/'\":)]"
        reason = re.sub(rf"(?<![\w./-]){re.escape(path)}(?={end}|$)", "$PAPERKG_DATA_DIR", reason)
    # "in /srv/x (PAPERKG_DATA_DIR)" would name the variable twice.
    return reason.replace("$PAPERKG_DATA_DIR (PAPERKG_DATA_DIR)", "$PAPERKG_DATA_DIR")
