"""The technique page's "Used together with": each count is the AND search it links to (QA: /techniques/cma
said "Knockout 1" while the search of both found 2, and /techniques/knockout did not list CMA)."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

ENTRY = re.compile(r'<li><a href="/techniques/([^"]+)">[^<]*</a>\s*'
                   r'<a class="count" href="([^"]+)" data-cooccurring-search[^>]*>(\d+)</a></li>')


def _entries(client: FlaskClient, node_id: str) -> list[tuple[str, str, int]]:
    response = client.get(f"/techniques/{node_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    block = re.search(r"<ul class=\"plain\" data-cooccurring>(.*?)</ul>", html, re.S)
    assert block, node_id
    found = [(t, html_lib.unescape(href), int(n)) for t, href, n in ENTRY.findall(block.group(1))]
    assert found and len(found) == block.group(1).count("<li>"), node_id
    assert "data-cooccurring-note" in html
    return found


@pytest.mark.parametrize("node_id", ["cma", "knockout", "logit_lens", "lm_behavior"])
def test_each_count_is_the_and_search_it_links_to(client: FlaskClient, node_id: str) -> None:
    for other, href, count in _entries(client, node_id):
        url = urlsplit(href)
        assert url.path == "/search"
        query = parse_qs(url.query)
        if node_id in ("cma", "knockout", "logit_lens"):
            assert query == {"technique": [node_id, other], "technique_match": ["all"]}
        else:
            assert query == {"topic": [node_id], "technique": [other]}
        answer = client.get("/api/search?" + url.query + "&limit=1")
        assert answer.status_code == 200, answer.data[:300]
        assert answer.get_json()["total"] == count, (node_id, other)


def test_a_parent_used_through_its_refinements_is_listed(client: FlaskClient) -> None:
    cma = {t: n for t, _, n in _entries(client, "cma")}
    knockout = {t: n for t, _, n in _entries(client, "knockout")}
    assert "knockout" in cma and "cma" in knockout
    assert cma["knockout"] == knockout["cma"]
    # Neither lists itself, a refinement of itself or an ancestor.
    assert not {"cma", "activation_patching", "path_patching"} & set(cma)
    assert not {"knockout", "zero_ablation", "mean_ablation"} & set(knockout)
