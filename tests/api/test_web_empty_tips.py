"""An empty search page whose filters each pass papers but not together names only the filters whose
removal alone gives results, with how many, each a link to that search; when no single removal helps
it says so. Sections are named by their titles (QA: "section tools")."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.api.test_web import page

TIP = re.compile(r'<li>(?:<a href="([^"]*)" data-tip>)?(.*?)(?:</a>)?</li>')


def empty_tips(html: str) -> list[tuple[str | None, str]]:
    """The empty page's tips: (href unescaped or None, text unescaped)."""
    empty = html.split('data-state="empty"')[1].split("</div>")[0]
    return [(html_lib.unescape(h) if h else None, html_lib.unescape(t)) for h, t in TIP.findall(empty)]


def total(client: FlaskClient, url: str) -> int:
    """The /api/search total for a /search URL's query string."""
    response = client.get("/api/search?" + urlsplit(url).query)
    assert response.status_code == 200, response.get_json()
    return int(response.get_json()["total"])


# Each filter passes papers alone, none passes them together.
@pytest.mark.parametrize("url", [
    "/search?technique=sae&topic=features&model=pythia",
    "/search?technique=visualization&topic=ai_safety&source=records",
    "/search?section=tools&technique=sae",
])
def test_only_a_filter_whose_removal_gives_papers_is_named(client: FlaskClient, url: str) -> None:
    html = page(client, url)
    assert "but no paper passes them all" in html
    tips = empty_tips(html)
    assert tips, html
    params = parse_qs(urlsplit(url).query)
    named = {"year": ("year_from", "year_to"), "technique": ("technique",), "topic": ("topic",),
             "model": ("model",), "source": ("source",), "list section": ("section",)}
    linked = []
    for href, text in tips:
        assert href is not None, text
        kind = re.match(r"Remove the ([\w ]+?) filter(?: “[^”]*”)? \((\d+) papers?\)", text)
        assert kind, text
        assert total(client, href) == int(kind.group(2)) > 0, (text, href)
        linked.append(kind.group(1))
        # The link keeps every other filter and drops that one.
        kept = parse_qs(urlsplit(href).query)
        assert {k: v for k, v in params.items() if k not in named[kind.group(1)]} == kept
    # Every filter not named gives nothing when removed alone.
    for kind, keys in named.items():
        if kind in linked or not any(k in params for k in keys):
            continue
        rest = "&".join(f"{k}={v}" for k, vs in params.items() if k not in keys for v in vs)
        assert total(client, "/search?" + rest) == 0, kind


def test_the_qa_example_names_only_the_filter_that_helps(client: FlaskClient) -> None:
    """QA: the tips named all three filters; only removing the model gives papers."""
    assert empty_tips(page(client, "/search?technique=sae&topic=features&model=pythia")) == [
        ("/search?technique=sae&topic=features",
         "Remove the model filter (2 papers): a paper counts for a model only where its abstract names it.")]


def test_no_single_removal_helping_is_said(client: FlaskClient) -> None:
    url = "/search?technique=probing&model=pythia&model=gpt2&year_to=2020"
    for without in ("model=pythia&model=gpt2&year_to=2020", "technique=probing&year_to=2020",
                    "technique=probing&model=pythia&model=gpt2"):
        assert total(client, "/search?" + without) == 0
    assert empty_tips(page(client, url)) == [
        (None, "No single filter is at fault: remove two or more of them.")]


def test_a_section_is_named_by_its_title(client: FlaskClient) -> None:
    """QA: the tips named the section by its id ("section tools"); the form names it "Tools"."""
    html = page(client, "/search?section=tools&technique=sae")
    assert "section Tools: 1 paper" in html and "section tools" not in html
    assert ("/search?technique=sae", "Remove the list section filter “Tools” (2 papers).") in empty_tips(html)


def test_the_tip_links_keep_the_query_and_mode_and_are_escaped(client: FlaskClient) -> None:
    url = "/search?q=%3Cb%3Ezqxjv&mode=keyword&technique=sae&topic=features&model=pythia"
    html = page(client, url)
    assert "<b>zqxjv" not in html.split('data-state="empty"')[1].split("</div>")[0]
    tips = empty_tips(html)
    links = [h for h, _ in tips if h]
    assert links, tips
    for href in links:
        kept = parse_qs(urlsplit(href).query)
        assert kept["q"] == ["<b>zqxjv"] and kept["mode"] == ["keyword"]
