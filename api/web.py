"""Web UI blueprint (placeholder until the web UI lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    """Placeholder home page."""
    return "<!doctype html><title>paperkg</title><h1>paperkg</h1><p>The web UI is coming.</p>"
