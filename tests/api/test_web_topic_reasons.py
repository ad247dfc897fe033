"""Topic and object pages say why each paper is there, also when its list section put it there (QA: 33 of
151 rows had no "because" line, /techniques/transformer_components all ten)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore

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
            said = "listed in the list&#39;s section &#39;" + " › ".join(path) + "&#39;"
            assert said in row, (pid, row)
            named += 1
    assert named
