"""The feed's links (links QA): each entry links the paper (alternate) and its paperkg page (related); the
feed's alternate is the New page with the feed's own date and techniques. Entry ids are unchanged."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import feedparser
from flask.testing import FlaskClient

ATOM = "{http://www.w3.org/2005/Atom}"


def links(element: ET.Element) -> list[dict[str, str]]:
    """The atom:link children of an element, as attribute dicts."""
    return [dict(link.attrib) for link in element.findall(f"{ATOM}link")]


def assert_atom_link_rules(body: bytes) -> ET.Element:
    """RFC 4287 4.1.1 and 4.1.2: feedparser reads it, each link has an href, and no feed or entry has two
    alternate links of one type and hreflang."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    root = ET.fromstring(body)
    for element in (root, *root.findall(f"{ATOM}entry")):
        found = links(element)
        assert all(link.get("href") for link in found)
        alternates = Counter((link.get("type"), link.get("hreflang")) for link in found
                             if link.get("rel", "alternate") == "alternate")
        assert all(n == 1 for n in alternates.values()), found
    return root


def test_each_entry_links_the_paper_and_its_page_here(plumbing_client: FlaskClient) -> None:
    root = assert_atom_link_rules(plumbing_client.get("/feeds/new.atom").data)
    entries = {e.findtext(f"{ATOM}id"): links(e) for e in root.findall(f"{ATOM}entry")}
    # The ids as before (the arXiv abs page, else the URN of the id): readers do not see them again as new.
    assert set(entries) == {"urn:paperkg:paper:hostile-1", "https://arxiv.org/abs/2401.00001",
                            "urn:paperkg:paper:plain-slug"}
    assert entries["urn:paperkg:paper:hostile-1"] == [
        {"rel": "alternate", "href": "https://example.org/a?b=1&c=%3C2%3E"},
        {"rel": "related", "href": "http://localhost/papers/hostile-1", "type": "text/html"}]
    assert entries["https://arxiv.org/abs/2401.00001"] == [
        {"rel": "alternate", "href": "https://arxiv.org/abs/2401.00001"},
        {"rel": "related", "href": "http://localhost/papers/2401.00001", "type": "text/html"}]
    # A paper with no URL of its own: its page here is the alternate already, not repeated as related.
    assert entries["urn:paperkg:paper:plain-slug"] == [
        {"rel": "alternate", "href": "http://localhost/papers/plain-slug"}]


def _feed_alternate(client: FlaskClient, query: str) -> tuple[str, dict[str, list[str]]]:
    root = assert_atom_link_rules(client.get(f"/feeds/new.atom{query}").data)
    alternate = [link for link in links(root) if link.get("rel") == "alternate"]
    assert len(alternate) == 1 and alternate[0]["type"] == "text/html"
    parts = urlsplit(alternate[0]["href"])
    assert parts.scheme == "http" and parts.netloc == "localhost"
    return parts.path, parse_qs(parts.query)


def test_the_feeds_alternate_is_the_new_page_with_the_same_filters(plumbing_client: FlaskClient) -> None:
    assert _feed_alternate(plumbing_client, "") == ("/new", {})
    assert _feed_alternate(plumbing_client, "?since=2024-01-01") == ("/new", {"since": ["2024-01-01"]})
    assert _feed_alternate(plumbing_client, "?since=2024-01-01&technique=sae&technique=probing&limit=5") == (
        "/new", {"since": ["2024-01-01"], "technique": ["sae", "probing"]})
    path, query = _feed_alternate(plumbing_client, "?technique=sae")
    assert (path, query) == ("/new", {"technique": ["sae"]})
    # The page it names shows those papers.
    assert plumbing_client.get("/new?since=2024-01-01&technique=sae").status_code == 200
