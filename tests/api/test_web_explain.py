"""Pages that say what things are (a first-week reader's findings): a technique's definition and other
names, the survey named where it is first mentioned, related papers' reasons with links and a legend,
the "tagged" notices linking the technique, the title-finding badge, and a corrected filter URL.

Through the Flask test client over the seed corpus (real pipeline, HashEmbedder) in a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from markupsafe import Markup

from kg.embedded import EmbeddedStore
from tests.api import test_web
from tests.api.test_web import page
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

IOI_ID = "2211.00593"
SURVEY_LINK = ('<a href="https://arxiv.org/abs/2407.02646" rel="noopener noreferrer"{extra}>Rai et al. '
               "(2024), “A Practical Review of Mechanistic Interpretability for Transformer-Based Language "
               "Models”</a>")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[EmbeddedStore]:
    """The seed corpus through the real pipeline (HashEmbedder) in a real SQLite file."""
    from ingest.pipeline import ingest_records_file

    s = taxonomy_store(tmp_path_factory.mktemp("web-explain") / "paperkg.sqlite3")
    summary = ingest_records_file(s, shared_data / "seed_papers.jsonl", embedder=HashEmbedder(),
                                  progress=False)
    assert summary.new == 38
    yield s
    s.close()


# test_web.py's fixtures, not a copy of them: its `app` runs over the requesting module's `store` (above).
app = test_web.app
client = test_web.client


def text(html: str) -> str:
    """The words of some HTML, tags dropped and spaces folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


# -- 1. what a technique or topic is ----------------------------------------------------------------------

def test_a_technique_page_says_what_it_is_and_where_that_comes_from(client: FlaskClient) -> None:
    """/techniques/logit_lens showed a name, a count and papers, never what a logit lens is."""
    html = page(client, "/techniques/logit_lens")
    line = re.search(r'<p class="definition" data-definition>(.*?)</p>', html, re.S)
    assert line, "no definition line"
    words = text(line.group(1))
    # After the taxonomy's summary, what the list says of it.
    assert words.startswith('In the awesome list: The paper proposed the "logit lens" technique, which can '
                            "be used to project intermediate activations into the vocabulary space for "
                            "interpretation.")
    assert "— the awesome list's TL;DR of interpreting GPT: the logit lens (list section Techniques)" in words
    assert 'href="/papers/logit-lens"' in line.group(1)  # the paper it comes from, linked
    # The lines come before the papers, the summary first.
    assert html.index("data-summary") < html.index("data-definition") < html.index('<ol class="papers"')


def test_a_topic_page_says_what_it_is(client: FlaskClient) -> None:
    line = re.search(r"data-definition>(.*?)</p>", page(client, "/techniques/superposition"), re.S)
    assert line and 'The paper confirmed the hypothesis of "superposition"' in text(line.group(1))
    assert 'href="/papers/2209.10652"' in line.group(1)


def test_no_definition_line_without_a_row_that_introduces_it(client: FlaskClient) -> None:
    """Activation patching's only list row used it: no list line, rather than a paper's summary as a
    definition; the taxonomy's summary says what it is."""
    html = page(client, "/techniques/activation_patching")
    assert "data-definition" not in html and "data-summary" in html


def test_also_called_shows_only_other_names(client: FlaskClient) -> None:
    """ "Also called" repeated the node's own name and listed matching cues ("faithful", "knocked out")."""
    def also(url: str) -> list[str]:
        found = re.search(r"data-other-names[^>]*>Also called: ([^<]*)</p>", page(client, url))
        return found.group(1).split(", ") if found else []

    assert also("/techniques/knockout") == ["lesion", "head pruning"]
    faithfulness = also("/techniques/faithfulness")
    assert "fidelity" in faithfulness and not {"faithful", "faithfulness"} & set(faithfulness)
    patching = also("/techniques/activation_patching")
    assert "causal tracing" in patching and "activation patching" not in patching
    assert also("/techniques/completeness") == []
    assert "Also called" not in page(client, "/techniques/completeness")  # no empty line


# -- 2. the survey, named where first mentioned ----------------------------------------------------------

def test_the_taxonomy_page_names_and_links_the_survey_first(client: FlaskClient) -> None:
    html = page(client, "/techniques")
    intro = re.search(r'<p class="muted" data-survey>(.*?)</p>', html, re.S)
    assert intro and SURVEY_LINK.format(extra="") in intro.group(1)
    assert text(intro.group(1)).startswith("Figure 1 of the survey Rai et al. (2024), “A Practical Review")
    assert "The survey's" not in html


def test_the_home_page_names_and_links_the_survey(client: FlaskClient) -> None:
    html = page(client, "/")
    assert SURVEY_LINK.format(extra=" data-survey") in html
    assert "techniques of the taxonomy of the survey Rai et al. (2024)" in text(html)
    assert "the survey's taxonomy" not in html


def test_an_extension_page_names_the_survey(client: FlaskClient) -> None:
    html = page(client, "/techniques/tuned_lens")
    assert SURVEY_LINK.format(extra="") in html
    assert ("Not in Figure 1 of the survey Rai et al. (2024), “A Practical Review of Mechanistic "
            "Interpretability for Transformer-Based Language Models”: paperkg adds it as a refinement of "
            "Logit Lens.") in text(html)


# -- 3. related papers' reasons ----------------------------------------------------------------------------

def related_reasons(html: str) -> list[str]:
    """The <li> contents of the related papers' reasons on a paper page."""
    related = re.search(r'<ol class="papers related">(.*?)</ol>', html, re.S)
    assert related
    lists = re.findall(r'<ul class="reasons">(.*?)</ul>', related.group(1), re.S)
    return [item for ul in lists for item in re.findall(r"<li>(.*?)</li>", ul, re.S)]


def test_related_reasons_link_techniques_and_topics_and_say_what_they_mean(client: FlaskClient) -> None:
    """ "shares Visualization · both about LM Components · cosine 0.62 · related techniques Knockout ~ Zero
    Ablation": jargon with no legend, names not linked, the ~ unexplained."""
    html = page(client, f"/papers/{IOI_ID}")
    reasons = related_reasons(html)
    assert reasons
    assert not any(" ~ " in text(r) for r in reasons)  # said in words
    related = [r for r in reasons if r.startswith('<span class="reason-kind"') and "related techniques" in r]
    assert related and "of the same family as this paper's" in text(related[0])
    assert re.search(r'href="/techniques/[a-z_]+"><bdi>[^<]+</bdi></a> \(theirs\)', related[0])
    about = next(r for r in reasons if ">both about</span>" in r)
    assert re.search(r'<a href="/techniques/(circuits|lm_components|lm_behavior)">', about)
    studies = [r for r in reasons if ">both study</span>" in r]
    # Models have no page: their names link to the model filter (they were text).
    assert studies and all(re.search(r'<a href="/search\?model=[a-z0-9_]+"><bdi>', r) for r in studies)
    cosine = next(r for r in reasons if ">cosine</span>" in r)
    assert 'title="how close the two abstracts&#39; meanings are (-1 to 1; near 0: unrelated)"' in cosine
    legend = re.search(r'<p class="muted small" data-state="reason-legend">(.*?)</p>', html, re.S)
    assert legend
    words = text(legend.group(1))
    for phrase in ("shares:", "related techniques:", "both study:", "both about:", "both discuss:",
                   "cosine: how close the two abstracts' meanings are (-1 to 1; near 0: unrelated)"):
        assert phrase in words, phrase


def test_the_api_keeps_its_reason_strings(client: FlaskClient) -> None:
    """The JSON API is a contract: its reasons are the plain strings, "~" and all."""
    body = client.get(f"/api/papers/{IOI_ID}/related").get_json()
    reasons = [r for hit in body["results"] for r in hit["reasons"]]
    assert any(re.fullmatch(r"related techniques [^<>]+ ~ [^<>]+", r) for r in reasons)
    assert any(re.fullmatch(r"cosine -?\d\.\d\d", r) for r in reasons)
    assert not any("<" in r for r in reasons)


def test_reason_html_escapes_and_keeps_unknown_shapes() -> None:
    # Longest first, as page_ids_by_name orders them.
    names = {"Transformer Components (RS, MHA, FF)": "transformer_components",
             "Mean Ablation": "mean_ablation", "Knockout": "knockout", "Twice": ""}
    from flask import Flask as _Flask

    from api.web import bp
    from api.web_reasons import reason_html

    app = _Flask(__name__)
    app.register_blueprint(bp)
    with app.test_request_context("/"):
        pair = reason_html("related techniques Knockout ~ Mean Ablation (+2 more)", names)
        assert isinstance(pair, Markup)
        assert text(pair) == ("related techniques Knockout (theirs), of the same family as this paper's "
                              "Mean Ablation (+2 more)")
        assert 'href="/techniques/knockout"' in pair and 'href="/techniques/mean_ablation"' in pair
        # A name holding ", " is one name, not two.
        comma = reason_html("both about Transformer Components (RS, MHA, FF), Twice", names)
        assert comma.count("<a ") == 1 and "<bdi>Twice</bdi>" in comma  # a shared name: shown, not linked
        hostile = reason_html('shared author <script>alert(1)</script>', names)
        assert "<script>" not in hostile and "&lt;script&gt;" in hostile
        unknown = reason_html("shares Something <b>new</b>", names)
        assert unknown == Markup("shares Something &lt;b&gt;new&lt;/b&gt;")


def test_model_and_component_reasons_link_to_their_filters() -> None:
    """ "both study GPT-2" and "both discuss Induction head" were text: a model or component has no page,
    but a search filter lists its papers. A name two nodes share, or no node has, stays text."""
    from flask import Flask as _Flask

    from api.web import bp
    from api.web_reasons import reason_html

    filter_names = {"Model": {"GPT-2": "gpt2", "Pythia": "pythia"},
                    "Component": {"MLP / feed-forward layer": "ff", "Induction head": "induction_head",
                                  "Twice": ""}}
    app = _Flask(__name__)
    app.register_blueprint(bp)
    with app.test_request_context("/"):
        models = reason_html("both study GPT-2, Pythia", {}, filter_names)
        assert text(models) == "both study GPT-2, Pythia"
        assert ('<a href="/search?model=gpt2"><bdi>GPT-2</bdi></a>, '
                '<a href="/search?model=pythia"><bdi>Pythia</bdi></a>') in models
        parts = reason_html("both discuss Induction head, MLP / feed-forward layer, Twice (+1 more)", {},
                            filter_names)
        assert 'href="/search?component=induction_head"' in parts and 'href="/search?component=ff"' in parts
        assert parts.count("<a ") == 2 and "<bdi>Twice</bdi> (+1 more)" in parts
        unknown = reason_html("both study <b>GPT-5</b>", {}, filter_names)
        assert "<a " not in unknown and "&lt;b&gt;GPT-5&lt;/b&gt;" in unknown


def test_page_ids_are_built_once_per_taxonomy_and_follow_a_reloaded_one(store: EmbeddedStore) -> None:
    """node_page_id (each name a results page shows) walked the whole taxonomy on every call, and each
    reason re-sorted every name."""
    from dataclasses import replace

    from api.app import create_app
    from api.web_reasons import filter_ids_by_name, page_ids_by_name
    from kg.taxonomy import Taxonomy, load_taxonomy

    taxonomy = load_taxonomy()
    own = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True, "TAXONOMY": taxonomy})
    with own.app_context():
        names = page_ids_by_name()
        assert page_ids_by_name() is names  # built once for this taxonomy object
        filters = filter_ids_by_name()  # the same cache, its own entry
        assert filter_ids_by_name() is filters and filters["Model"]["GPT-2"] == "gpt2"
        assert names["Logit Lens"] == "logit_lens"
        lengths = [len(name) for name in names]
        assert lengths == sorted(lengths, reverse=True)  # longest first, for _split_names
        # A reloaded taxonomy (another object, as get_taxonomy gives after `paperkg init`) is walked again.
        own.config["TAXONOMY"] = Taxonomy(nodes=[
            replace(n, name="Logit Lens, Renamed") if n.id == "logit_lens" else n for n in taxonomy.nodes])
        renamed = page_ids_by_name()
        assert renamed["Logit Lens, Renamed"] == "logit_lens" and "Logit Lens" not in renamed
        assert filter_ids_by_name() is not filters
        own.config["TAXONOMY"] = taxonomy
        assert page_ids_by_name() is names and filter_ids_by_name() is filters


# -- 4. "what is X": the notice links X's page -------------------------------------------------------------

def test_the_tagged_first_notice_links_the_technique(client: FlaskClient) -> None:
    html = page(client, "/search?q=what+is+activation+patching")
    notice = re.search(r'<p class="muted" data-state="using-first">(.*?)</p>', html, re.S)
    assert notice and text(notice.group(1)).startswith("Papers tagged Activation Patching come first")
    assert '<a href="/techniques/activation_patching">Activation Patching</a>' in notice.group(1)
    none_tagged = page(client, "/search?q=steering+vectors")
    assert ('data-state="not-tagged">No paper is tagged <a href="/techniques/steering_vector">Steering '
            "vectors / activation addition</a>; these are the nearest matches") in none_tagged


# -- 5. the title badge ------------------------------------------------------------------------------------

def test_a_title_finding_badge_says_what_it_means(client: FlaskClient) -> None:
    """A badge reading only "title" before the title looked like a stray word."""
    html = page(client, "/papers/2209.10652")
    badge = re.search(r'<span class="badge badge-title" title="([^"]+)">([^<]+)</span>', html)
    assert badge and badge.group(2) == "from the title"
    assert "title" in unescape(badge.group(1)) and "abstract" in badge.group(1)


# -- 6. a filter id of the wrong kind: the corrected URL ---------------------------------------------------

def corrected(html: str) -> tuple[str, str] | None:
    found = re.search(r'<a href="([^"]+)" data-corrected-url>(.*?)</a>', html, re.S)
    return (unescape(found.group(1)), text(found.group(2))) if found else None


def test_a_filter_id_of_another_kind_links_the_corrected_search(client: FlaskClient) -> None:
    html = page(client, "/search?q=toy+models&technique=superposition&year_from=2020&page=2", 400)
    assert "is a findings topic, not a technique: pick it under Topic." in html
    link = corrected(html)
    assert link is not None and link[1] == "Search with Superposition under Topic"
    url = urlsplit(link[0])
    assert url.path == "/search"
    # The id moves to the filter that takes it; the query and the other fields stay; the page starts over.
    assert parse_qs(url.query) == {"q": ["toy models"], "topic": ["superposition"], "year_from": ["2020"]}
    assert 'data-state="results"' in page(client, link[0])


def test_names_and_misspelt_ids_are_corrected_to_ids(client: FlaskClient) -> None:
    both = corrected(page(client, "/search?technique=polysemantic&topic=logit_lens", 400))
    assert both is not None
    assert parse_qs(urlsplit(both[0]).query) == {"technique": ["logit_lens"], "topic": ["polysemanticity"]}
    assert both[1] == "Search with Polysemanticity under Topic, Logit Lens under Technique"
    misspelt = corrected(page(client, "/search?technique=logit_len&technique=probing", 400))
    assert misspelt is not None
    assert parse_qs(urlsplit(misspelt[0]).query) == {"technique": ["probing", "logit_lens"]}


def test_a_component_id_given_to_the_topic_filter_is_moved_to_the_component_filter(
    client: FlaskClient,
) -> None:
    """QA: `topic=induction_head` was "a component, which no filter takes": no corrected search."""
    link = corrected(page(client, "/search?q=heads&topic=induction_head", 400))
    assert link is not None and link[1] == "Search with Induction head under Component"
    assert parse_qs(urlsplit(link[0]).query) == {"q": ["heads"], "component": ["induction_head"]}
    assert 'data-state="results"' in page(client, link[0])


@pytest.mark.parametrize("url", [
    "/search?technique=no_such_thing_at_all",  # nothing to correct it to
    "/search?q=x&year_from=abc",  # not a filter id
])
def test_no_corrected_url_when_none_puts_it_right(client: FlaskClient, url: str) -> None:
    html = page(client, url, 400)
    assert 'data-state="error"' in html and corrected(html) is None
