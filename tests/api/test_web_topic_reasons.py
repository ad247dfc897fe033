"""Topic and object pages say why each paper is there, also when its list section put it there (QA: 33 of
151 rows had no "because" line, /techniques/transformer_components all ten); the section is said as the
list's, not quoted as the paper's words (re-test: "list listed in the list's section '…'" in a <q>)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

ROW = re.compile(r'<li class="paper" data-paper-row data-paper-id="([^"]*)">(.*?)</li>\s*'
                 r'(?=<li class="paper"|</ol>)', re.S)


def _rows(client: FlaskClient, node_id: str) -> dict[str, str]:
    response = client.get(f"/techniques/{node_id}")
    assert response.status_code == 200
    return dict(ROW.findall(response.get_data(as_text=True)))


@pytest.mark.parametrize("node_id", ["transformer_components", "lm_behavior", "features", "universality"])
def test_every_row_of_a_topic_page_says_why(client: FlaskClient, node_id: str) -> None:
    rows = _rows(client, node_id)
    assert rows, node_id
    for pid, row in rows.items():
        assert 'class="because"' in row, (node_id, pid)


def test_a_row_listed_by_its_section_names_the_section(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    rows = _rows(client, "lm_behavior")
    named = 0
    for pid, row in rows.items():
        detail = seed_store.get_paper(pid)
        assert detail is not None
        sections = [r.section_path for r in detail.list_rows if "lm_behavior" in r.topic_ids]
        for path in sections:
            said = ('<span class="list-section" data-list-section>in section “<bdi>' + " › ".join(path)
                    + "</bdi>”</span>")
            assert said in row, (pid, row)
            named += 1
        # The section is no quotation: no <q> holds it, and the old words are gone.
        for quoted in re.findall(r"<q\b.*?</q>", row, re.S):
            assert "section" not in quoted, (pid, quoted)
        assert "listed in the list" not in row
    assert named


HOSTILE_SECTION = 'LM <b>Behavior</b> & "more"'


@pytest.fixture
def hostile_client(tmp_path: Path) -> Iterator[FlaskClient]:
    """An app over a real SQLite store with one paper listed in a section whose title holds markup."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    embedder = HashEmbedder()
    vector = np.asarray(embedder.encode_query("behaviour"), dtype=np.float32)
    paper = Paper(id="p1", title="Behaviour of language models", abstract="About behaviour.", year=2024,
                  sources=["list"], embedding=vector, embedding_model=embedder.model_name)
    row = ListRow(section_id="findings/lm-behavior", section_title=HOSTILE_SECTION,
                  section_path=["Findings", HOSTILE_SECTION])
    store.upsert_papers([PaperBundle(paper=paper, list_rows=[row])])
    yield create_app({"STORE": store, "EMBEDDER": embedder, "TESTING": True}).test_client()
    store.close()


def test_a_list_section_reads_as_the_list_badge_and_the_section_escaped(hostile_client: FlaskClient) -> None:
    row = _rows(hostile_client, "lm_behavior")["p1"]
    because = re.search(r'<ul class="because"[^>]*>(.*?)</ul>', row, re.S)
    assert because, row
    item = " ".join(re.sub(r"<[^>]+>", "", because.group(1)).split())
    assert item == "list in section “Findings › LM &lt;b&gt;Behavior&lt;/b&gt; &amp; &#34;more&#34;”", item
    assert "<q" not in because.group(1) and "<b>" not in because.group(1)
