"""Liveness and readiness checks: /healthz (process up) and /readyz (store reachable)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.app import get_store
from api.errors import error_response
from kg.store import StoreDamaged, StoreError

bp = Blueprint("health", __name__)


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
        return error_response(503, f"store damaged: {exc}", "store_damaged")
    except StoreError as exc:
        return error_response(503, f"store unreachable: {exc}")
    return jsonify({"status": "ready"})
