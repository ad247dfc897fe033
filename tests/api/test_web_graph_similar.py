"""The graph view's "similar" papers have a cosine floor (api/web_graph.py SIMILAR_MIN_COSINE): a paper with
no neighbours got five dashed "similar" edges at cosine 0.15 down to 0.04 (QA, a made-up gardening record),
and the page's note called them its closest related papers."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from flask import Flask

from api.app import create_app
from api.web_graph import SIMILAR_MIN_COSINE
from tests.api.conftest import app_config, serving
from tests.api.test_web_graph_related import at_cosine, graph
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store

STRANGERS = (0.15, 0.13, 0.11, 0.04)


def page_note(html: str) -> str:
    found = re.search(r'<p class="graph-note">(.*?)</p>', html, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


def fetch_note(app: Flask) -> str:
    """The graph page's note for the paper "garden", over HTTP."""
    with serving(app) as port, urllib.request.urlopen(f"http://127.0.0.1:{port}/papers/garden/graph") as page:
        return page_note(page.read().decode("utf-8"))


def test_papers_below_the_cosine_floor_are_not_similar(tmp_path: Path) -> None:
    assert 0.15 < SIMILAR_MIN_COSINE < 0.27  # above the QA's strangers, below every seed section-mate pair
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([bundle("garden", unit(0), []),
                     *[bundle(f"far{i}", at_cosine(c, 10 + i), []) for i, c in enumerate(STRANGERS)]])
    app = create_app(app_config(tmp_path / "app", STORE=s, EMBEDDER=HashEmbedder()))
    try:
        data = graph(s, "garden")
        assert data["similar"] == [] and [n["kind"] for n in data["nodes"]] == ["center"]
        note = fetch_note(app)
        assert "No other paper shares" in note
        assert ("No paper’s abstract is close enough to this one’s to draw as similar (cosine 0.25 or more)."
                in note)
        assert "closest" not in note
        # One paper above the floor is drawn, and the note says what makes it similar.
        s.upsert_papers([bundle("near", at_cosine(0.3, 20), [])])
        data = graph(s, "garden")
        assert [(p["id"], p["reason"]) for p in data["similar"]] == [
            ("near", "similar abstract, cosine 0.30")]
        note = fetch_note(app)
        assert note.endswith("Also 1 related paper that shares nothing drawn here but whose abstract is "
                             "close to this one’s (cosine 0.25 or more), on a dashed “similar” line.")
    finally:
        s.close()
