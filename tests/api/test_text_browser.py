"""Pages as a text browser (w3m, lynx), copied text or pdftotext read them: every element's text, `hidden`
and CSS ignored (QA, JavaScript off: badges, tags and quotes ran together, the BibTeX showed twice, the body
showed invisible U+2068/U+2069 around quoted values, the graph page's models were plain text and a related
paper's shared author had no link, a filtered search's count line said only "filtered")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient
from markupsafe import Markup

from api.web_format import isolate, isolates_as_bdi
from api.web_reasons import reason_html

IOI_ID = "2211.00593"
ISOLATES = ("\u2068", "\u2069")


class _Text(HTMLParser):
    """The text a text browser shows: every text node (hidden ones too), not the head's or a script's."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "script", "style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    """`html`'s text, runs of white space made one space (as browsers lay inline text out)."""
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def main_of(html: str) -> str:
    """The page's <main> element, as HTML."""
    return html[html.index("<main"):html.index("</main>")]


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, url
    return resp.get_data(as_text=True)


def section(html: str, heading: str) -> str:
    """The HTML of the paper page's <section> whose <h2> is `heading`."""
    start = html.index(f"<h2>{heading}</h2>")
    return html[start:html.index("</section>", start)]


def test_adjacent_badges_tags_and_quotes_have_a_space_between_them(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}")
    techniques = text_of(section(html, "Techniques"))
    # Mean Ablation is in the list's table and extracted, with two pieces of evidence.
    assert "Mean Ablation list extracted" in techniques
    # (The <q> elements' quotation marks are the browser's, not text.)
    assert "path patching. Mean-ablation" in techniques
    assert "listextracted" not in techniques and "patching.Mean" not in techniques
    # The title's finding is about GPT-2, circuits and LM behaviour: one tag each, apart.
    findings = text_of(section(html, "Findings"))
    assert "GPT-2 small GPT-2 Circuits LM Behavior" in findings
    assert "GPT-2Circuits" not in findings


def test_a_paper_page_holds_its_bibtex_once(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}")
    entries = re.findall(r"@\w+\{[^,\s]+,", text_of(html))
    assert len(entries) == 1, entries


def test_quoted_values_in_body_messages_are_bdi_not_invisible_isolates(client: FlaskClient) -> None:
    html = page(client, "/papers/2399.99999", 404)
    assert "No paper has the id “<bdi>2399.99999</bdi>”" in html
    assert not any(c in main_of(html) for c in ISOLATES)
    html = page(client, "/search?section=x", 400)
    assert "Unknown list section “<bdi>x</bdi>”" in html
    assert not any(c in main_of(html) for c in ISOLATES)
    # A query's markup stays text inside the element.
    html = page(client, "/papers/%3Cb%3Ex", 404)
    assert "“<bdi>&lt;b&gt;x</bdi>”" in html and "<b>x" not in html
    # The page title, which holds text only, keeps the isolates' protection where it quotes a value.
    html = page(client, "/search?q=heads")
    assert "<title>\u2068heads\u2069 — search" in html


def test_graph_page_links_models_and_components_to_their_search_filters(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}/graph")
    models = html[html.index("<h2>Models</h2>"):]
    components = html[html.index("<h2>Components</h2>"):]
    assert models.split("</ul>")[0].count('<a href="/search?model=gpt2"><bdi>GPT-2</bdi></a>') == 1
    mha = '<a href="/search?component=mha"><bdi>Multi-head attention</bdi></a>'
    assert mha in components.split("</ul>")[0]


def test_a_related_papers_shared_author_links_to_the_author_page(client: FlaskClient) -> None:
    html = page(client, f"/papers/{IOI_ID}")
    related = html[html.index('id="related"'):]
    link = '<a class="author" href="/authors/arthur%20conmy"><bdi>Arthur Conmy</bdi></a>'
    assert f"shared author</span> {link}" in related


def test_a_filtered_searchs_count_line_names_its_filters(client: FlaskClient) -> None:
    html = page(client, "/search?q=heads&technique=activation_patching&year_from=2022")
    count = html[html.index('<h2 class="result-count"'):]
    count = text_of(count[:count.index("</h2>")])
    assert count.endswith("· hybrid · filtered: Activation Patching, from 2022"), count
    # The same words as the title: one rule.
    assert "<title>\u2068heads\u2069 — search · Activation Patching, from 2022 · paperkg</title>" in html
    # An in-place search's fragment has no option names: it says "filtered", never some of them.
    fragment = page(client, "/search?q=heads&technique=activation_patching&year_from=2022&fragment=1")
    count = fragment[fragment.index('<h2 class="result-count"'):]
    assert text_of(count[:count.index("</h2>")]).endswith("· hybrid · filtered")


def test_isolates_become_bdi_elements_and_the_rest_stays_escaped() -> None:
    assert isolates_as_bdi("Unknown mode “\u2068<b>x\u2069”.") == "Unknown mode “<bdi>&lt;b&gt;x</bdi>”."
    # Markup (a message holding a link) keeps its markup; each pair is one element, a lone mark stays.
    message = Markup('No id “{}”: <a href="/s">search for “{}”</a>').format(isolate("a&b"), isolate("c"))
    assert isolates_as_bdi(message) == \
        'No id “<bdi>a&amp;b</bdi>”: <a href="/s">search for “<bdi>c</bdi>”</a>'
    assert isolates_as_bdi("a \u2068b") == "a \u2068b" and isolates_as_bdi(None) == ""


def test_shared_authors_are_cut_at_the_related_papers_own_names() -> None:
    html = reason_html("shared authors Smith, Jo, Neel Nanda (+1 more)", {}, {},
                       ["Neel Nanda", "Smith, Jo", "Other"])
    assert html.endswith('<a class="author" href="/authors/smith%2C%20jo"><bdi>Smith, Jo</bdi></a>, '
                         '<a class="author" href="/authors/neel%20nanda"><bdi>Neel Nanda</bdi></a> (+1 more)')
    # A part that is none of the paper's names: the text as it is, no link guessed.
    assert "<a" not in reason_html("shared authors A, B", {}, {}, ["A"])
