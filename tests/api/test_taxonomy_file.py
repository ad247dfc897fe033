"""What the pages and the API read from the server's taxonomy file besides the store's nodes: a node's
summary (its `summaries:` block) on the node's page, in /api/techniques/{id} and on the start page; none
when the file lacks it or cannot be read, and every text escaped."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.config import PACKAGED_TAXONOMY, load_config
from kg.embedded import EmbeddedStore
from kg.taxonomy import load_taxonomy
from tests.embedders import HashEmbedder

HOSTILE = '<script>alert("s")</script> & <b>bold</b>'
PATCHING = load_taxonomy().summaries["activation_patching"]


def _client(tmp_path: Path, store: EmbeddedStore, taxonomy: Path | None = None) -> FlaskClient:
    """A test client whose PAPERKG_TAXONOMY is `taxonomy` (default: the packaged file)."""
    env = {"PAPERKG_DATA_DIR": str(tmp_path)}
    if taxonomy is not None:
        env["PAPERKG_TAXONOMY"] = str(taxonomy)
    return create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env=env), "STORE": store,
                       "EMBEDDER": HashEmbedder()}).test_client()


def _summary_line(html: str) -> str | None:
    """The words of a node page's summary line, or None when it has none."""
    found = re.search(r'<p class="definition" data-summary>(.*?)</p>', html, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else None


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the packaged taxonomy file with `old` (which it must hold once) replaced by `new`."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "edited.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_packaged_file_says_what_every_browsable_node_is() -> None:
    """Every node with a page (techniques, evaluation criteria, topics, objects) has a summary: Activation
    Patching and SAE pages said nothing of what they are, no list row introducing them."""
    taxonomy = load_taxonomy()
    pages = {n.id for n in taxonomy.nodes if n.label not in ("Component", "Model")}
    assert pages and pages <= set(taxonomy.summaries)
    assert "replacing (patching) one component's activation" in PATCHING


def test_a_technique_page_opens_with_its_summary(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    html = _client(tmp_path, plumbing_store).get("/techniques/activation_patching").get_data(as_text=True)
    assert _summary_line(html) == f"What it is: {PATCHING} — paperkg's taxonomy"
    assert html.index("data-summary") < html.index("<h2>Papers</h2>")


def test_the_api_gives_the_summary(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    client = _client(tmp_path, plumbing_store)
    assert client.get("/api/techniques/activation_patching").get_json()["summary"] == PATCHING
    # A node the file has no summary for: null, not a missing key.
    path = _edited(tmp_path, "  zero_ablation: >-\n    Knocking out a component by setting its activation to "
                   "zero.\n", "")
    body = _client(tmp_path, plumbing_store, path).get("/api/techniques/zero_ablation").get_json()
    assert "summary" in body and body["summary"] is None


def test_a_node_without_a_summary_has_no_line(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    path = _edited(tmp_path, "  zero_ablation: >-\n    Knocking out a component by setting its activation to "
                   "zero.\n", "")
    html = _client(tmp_path, plumbing_store, path).get("/techniques/zero_ablation").get_data(as_text=True)
    assert "data-summary" not in html


def test_a_summary_is_escaped(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    hostile = HOSTILE.replace('"', '\\"')
    path = _edited(tmp_path, "  zero_ablation: >-\n    Knocking out a component by setting its activation to "
                   "zero.\n", f'  zero_ablation: "{hostile}"\n')
    html = _client(tmp_path, plumbing_store, path).get("/techniques/zero_ablation").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert _summary_line(html) == f"What it is: {HOSTILE} — paperkg's taxonomy"


def test_an_unreadable_file_leaves_the_page_without_a_summary(
    tmp_path: Path, plumbing_store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("techniques: [\n", encoding="utf-8")
    client = _client(tmp_path, plumbing_store, broken)
    with caplog.at_level("WARNING", logger="api.taxonomy_file"):
        for _ in range(2):
            response = client.get("/techniques/activation_patching")
            assert response.status_code == 200
            assert "data-summary" not in response.get_data(as_text=True)
            assert client.get("/api/techniques/activation_patching").get_json()["summary"] is None
    warned = [r.getMessage() for r in caplog.records if "taxonomy summaries unavailable" in r.getMessage()]
    assert len(warned) == 1 and "no node summaries" in warned[0]


def test_the_start_page_says_what_each_technique_is(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    html = _client(tmp_path, plumbing_store).get("/start").get_data(as_text=True)
    shown: dict[str, Any] = {}
    for technique_id, body in re.findall(r'<p class="small" data-summary="([a-z_]+)">(.*?)</p>', html, re.S):
        shown.setdefault(technique_id, " ".join(unescape(re.sub(r"<[^>]+>", "", body)).split()))
    taxonomy = load_taxonomy()
    assert {"cma", "sae", "logit_lens", "knockout", "probing"} <= set(shown)
    for technique_id, words in shown.items():
        assert words == f"{taxonomy.by_id[technique_id].name}: {taxonomy.summaries[technique_id]}"
    # Said before the papers to read on it.
    assert html.index('data-summary="cma"') < html.index('data-reads="cma"')
