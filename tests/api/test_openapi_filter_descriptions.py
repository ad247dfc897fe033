"""The OpenAPI document's topic and section filters say that several values match any of them, and the
topic filter that it takes sub-topics (as the store does: tests/api/test_cli_search_reasons.py)."""

from __future__ import annotations

from api.openapi import build_document


def test_topic_and_section_say_several_values_match_any_of_them() -> None:
    search = build_document()["paths"]["/api/search"]["get"]
    params = {p["name"]: p["description"] for p in search["parameters"]}
    for name in ("topic", "section", "model", "component", "source"):
        assert "several match any of them" in params[name], name
    assert "several ids match any of them unless technique_match=all" in params["technique"]
    for name in ("topic", "section"):
        assert "repeatable or comma-separated" in params[name], name
    assert ("unless refinements=false, so for a sub-topic of it (applications takes ai_safety)"
            in params["topic"])
    assert "matching the sections below it" in params["section"]
