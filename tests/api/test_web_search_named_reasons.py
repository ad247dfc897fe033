"""The search page's rows say, in words, every ranked list that lifted them (the model and component
lists too), and an empty page's tips widen only the filters that emptied it."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.api.test_web import page, row_ids


def why_of(html: str, paper_id: str) -> str:
    """The row's "why" line (the why_scores macro's span)."""
    row = html.split(f'data-paper-id="{paper_id}"')[1].split("</li>\n")[0]
    return row.split("data-why>")[1].split("\n</span>")[0]


@pytest.mark.parametrize(("query", "rank", "labels", "words"), [
    # QA: #3 2406.12288 said only "cosine 0.16 · no word match", though it is there for studying Llama.
    ("Llama", "model", "matched_model_labels", "studies"),
    # QA: #7 softmax-linear-units is lifted by the MLP component list, which no word of the row said.
    ("how do feed-forward layers store facts", "component", "matched_component_labels", "about"),
])
def test_a_row_lifted_by_the_model_or_component_list_says_so(
    client: FlaskClient, query: str, rank: str, labels: str, words: str
) -> None:
    api = client.get("/api/search", query_string={"q": query}).get_json()["results"]
    html = page(client, f"/search?q={query.replace(' ', '+')}")
    assert row_ids(html) == [r["id"] for r in api]
    lifted = [r for r in api if rank in r["why"]["ranks"]]
    assert len(lifted) >= 3, api
    for hit in api:
        why = why_of(html, hit["id"])
        if hit["why"][labels]:
            names = ", ".join(f"<bdi>{n}</bdi>" for n in hit["why"][labels])
            assert f'<span class="why-named">{words} {names}</span>' in why, (hit["id"], why)
        else:
            assert f'<span class="why-named">{words} ' not in why, (hit["id"], why)
    assert all(r["why"][labels] for r in lifted)


def test_the_llama_row_qa_named_says_it_studies_llama(client: FlaskClient) -> None:
    html = page(client, "/search?q=Llama")
    assert '<span class="why-named">studies <bdi>Llama</bdi></span>' in why_of(html, "2406.12288")
    ff = page(client, "/search?q=how+do+feed-forward+layers+store+facts")
    assert '<span class="why-named">about <bdi>MLP / feed-forward layer</bdi>' in why_of(ff, "solu")


def tips(html: str) -> list[str]:
    """The empty page's tips, in order (the text of a tip that links to another search)."""
    empty = html.split('data-state="empty"')[1].split("</div>")[0]
    return [re.sub(r'^<a href="[^"]*" data-tip>(.*)</a>$', r"\1", tip)
            for tip in re.findall(r"<li>(.*?)</li>", empty)]


@pytest.mark.parametrize(("url", "expected"), [
    # QA: the year alone empties it; the tips named the technique and section filters too, and offered
    # SAE's parent technique, which it has none of.
    ("/search?technique=sae&year_from=2030&section=techniques",
     ["Remove the year filter or widen the range."]),
    # No filter empties it alone, and removing any one of them still leaves nothing: no single one is
    # named (tests/api/test_web_empty_tips.py: those whose removal gives papers are).
    ("/search?technique=attribution_patching&model=pythia&component=induction_head", [
        "No single filter is at fault: remove two or more of them."]),
    # The filters pass papers and the words find none: the words and each filter are what to change;
    # a top-level technique gets no parent to pick.
    ("/search?q=zqxjv&mode=keyword&technique=sae", [
        "Try semantic or hybrid mode: they also find papers that use other words.",
        "Remove the technique filter."]),
    ("/search?q=zqxjv&mode=keyword&topic=ai_safety", [
        "Try semantic or hybrid mode: they also find papers that use other words.",
        "Remove the topic filter, or pick its parent topic, “Applications”."]),
    # The techniques together pass nothing: any of them, not all; the year filter passes papers alone
    # and is not at fault, nor are the query's words.
    ("/search?q=zqxjv&mode=keyword&technique=probing&technique=activation_patching&technique_match=all"
     "&year_from=2020&section=techniques", [
        "Ask for papers using any of the techniques, not all of them.",
        "Remove the technique filter, or pick a parent technique, “Causal Mediation Analysis (CMA)”."]),
    ("/search?q=zqxjv&mode=keyword",
     ["Try semantic or hybrid mode: they also find papers that use other words."]),
])
def test_the_empty_tips_widen_only_the_filters_that_emptied_it(
    client: FlaskClient, url: str, expected: list[str]
) -> None:
    assert tips(page(client, url)) == expected
