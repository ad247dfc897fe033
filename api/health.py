"""Liveness and readiness checks: /healthz (process up) and /readyz (store reachable)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.app import get_store
from api.errors import error_response
from kg.store import StoreError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up (does not touch the store)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """The store answers a ping; 503 with a JSON error when it does not."""
    try:
        get_store().ping()
    except StoreError as exc:
        return error_response(503, f"store unreachable: {type(exc).__name__}")
    return jsonify({"status": "ready"})
