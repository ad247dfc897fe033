"""What a technique page's counts mean, said on the page (researcher and copy-editor QA): a parent's count
takes its refinements' papers ("14 papers use CMA" was read off a count of 2 own papers), a refinement says
its papers count toward its parent, overlapping refinement counts are said to overlap, and the search form's
technique options say which counts include refinements. Also the page's bad sort (a 400 like the API's), its
unknown-id message, its co-occurring evaluation criteria and the "all of these techniques" wording."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import EvaluationUse, PaperBundle
from tests.api.conftest import app_config
from tests.api.test_web import page, row_ids, selected_options
from tests.embedders import HashEmbedder
from tests.kg.test_related import bundle, unit
from tests.seed_store import taxonomy_store


def _evaluated(b: PaperBundle, *criteria: str) -> PaperBundle:
    b.evaluations = [EvaluationUse(c, "list") for c in criteria]
    return b


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """CMA: one paper tagged CMA itself, four through refinements (one of them through two: path patching and
    activation patching), two evaluated by faithfulness; a transcoder paper (a refinement of SAEs)."""
    s = taxonomy_store(tmp_path_factory.mktemp("technique-counts") / "paperkg.sqlite3")
    s.upsert_papers([
        bundle("cma-own", unit(0), ["cma"]),
        _evaluated(bundle("ap-1", unit(1), ["activation_patching"]), "faithfulness"),
        _evaluated(bundle("ap-pp", unit(2), ["activation_patching", "path_patching"]), "faithfulness"),
        bundle("pp-1", unit(3), ["path_patching"]),
        bundle("acdc-1", unit(4), ["acdc"]),
        bundle("probing-1", unit(5), ["probing"]),
        bundle("tc-1", unit(6), ["transcoder"]),
    ])
    yield s
    s.close()


@pytest.fixture(scope="module")
def client(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    app = create_app(app_config(tmp_path_factory.mktemp("technique-counts-app"), STORE=store,
                                EMBEDDER=HashEmbedder()))
    return app.test_client()


def _text(html: str, pattern: str) -> str:
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return " ".join(re.sub(r"<[^>]+>", "", found.group(0)).split())


def test_a_parents_count_says_how_many_papers_are_its_own(client: FlaskClient) -> None:
    html = page(client, "/techniques/cma")
    # On the line after the heading, not in it: heading navigation reads the name alone (screen-reader QA).
    assert _text(html, r"<h1>.*?</h1>") == "Causal Mediation Analysis (CMA)"
    assert _text(html, r"</h1>\s*<p class=\"muted small\" data-count>.*?</p>") == (
        "5 papers (1 tagged CMA itself, 4 via its refinements)")
    # A node without refinements: the count alone.
    probing = page(client, "/techniques/probing")
    assert _text(probing, r"<h1>.*?</h1>") == "Probing"
    assert _text(probing, r"</h1>\s*<p class=\"muted small\" data-count>.*?</p>") == "1 paper"


def test_a_refinement_says_its_papers_count_toward_its_parent(client: FlaskClient) -> None:
    html = page(client, "/techniques/path_patching")
    assert _text(html, r"<p class=\"muted small\" data-refines-note>.*?</p>") == (
        "Path Patching is a sub-technique of Causal Mediation Analysis (CMA): its papers count toward "
        "Causal Mediation Analysis (CMA)’s.")
    criterion = page(client, "/techniques/faithfulness")
    assert "Faithfulness is a narrower kind of Intrinsic Evaluation" in _text(
        criterion, r"<p class=\"muted small\" data-refines-note>.*?</p>")
    assert "data-refines-note" not in page(client, "/techniques/cma")  # a top-level node refines nothing


def test_overlapping_refinement_counts_are_said_to_overlap(client: FlaskClient) -> None:
    html = page(client, "/techniques/cma")
    counts = [int(n) for n in re.findall(
        r'<li><a href="/techniques/\w+">[^<]+</a> <span class="count">(\d+) papers?</span></li>', html)]
    # ap-pp counts under both activation and path patching: 5 in the list, 4 papers. (The sum is not more
    # than CMA's 5: the count of the node's own paper hides the overlap.)
    assert sum(counts) == 5
    assert _text(html, r"<p class=\"muted small\" data-refinements-overlap>.*?</p>") == (
        "These counts overlap: a paper tagged with several refinements counts under each, so they add up "
        "to 5, while the refinements have 4 papers together.")
    assert "data-refinements-overlap" not in page(client, "/techniques/sae")  # 1 refinement paper of 1


def test_the_technique_options_say_which_counts_include_refinements(client: FlaskClient) -> None:
    html = page(client, "/search")
    options = {v: html_lib.unescape(t).replace("\xa0", " ").strip() for v, t in re.findall(
        r'<select name="technique" id="f-technique"[^>]*>.*?</select>', html, re.S) and re.findall(
        r'<option value="(\w+)"[^>]*>([^<]*)</option>',
        re.search(r'<select name="technique" id="f-technique"[^>]*>.*?</select>', html, re.S).group(0))}
    assert options["cma"] == "Causal Mediation Analysis (CMA) (5 incl. refinements)"
    assert options["path_patching"] == "Path Patching (2)"  # no refinement of its own with papers
    assert options["probing"] == "Probing (1)"
    # SAE's one paper is its refinement's (transcoder): the count is not SAE's own.
    assert options["sae"] == "Sparse Autoencoder (SAE) (1 incl. refinements)"
    assert "A count “incl. refinements” takes the papers of the technique’s refinements too." in html


def test_a_bad_sort_is_a_400_naming_it_as_a_bad_page_is(client: FlaskClient) -> None:
    html = page(client, "/techniques/cma?sort=foo", status=400)
    alert = _text(html, r'<div class="notice notice-error" role="alert".*?</div>')
    assert alert.startswith("Unknown sort “foo”: choose date (newest first) or centrality (most connected).")
    assert not row_ids(html)
    assert "Refinements" in html  # the rest of the page stays
    # Both at once: both said.
    both = page(client, "/techniques/cma?sort=foo&page=x", status=400)
    assert "Unknown sort" in both and "page" in _text(both, r'<div class="notice notice-error".*?</div>')
    # The API's values in any case, as the API takes them.
    assert row_ids(page(client, "/techniques/cma?sort=Centrality"))
    assert row_ids(page(client, "/techniques/cma?sort=date"))
    assert "\x00" not in page(client, "/techniques/cma?sort=%00", status=400)
    api = client.get("/api/techniques/cma?sort=foo")
    assert api.status_code == 400


def test_an_unknown_id_is_not_called_a_node(client: FlaskClient) -> None:
    html = page(client, "/techniques/nope", status=404)
    said = _text(html, r"<h1>Unknown technique</h1>\s*<p>.*?</p>")
    assert said == ("Unknown technique No technique, evaluation, topic or object has the id “nope”. "
                    "Browse the taxonomy for the right one.")
    assert '<a href="/techniques">Browse the taxonomy</a>' in html
    near = page(client, "/techniques/probin", status=404)
    assert 'did you mean <a href="/techniques/probing">Probing</a>' in near
    assert 'Or <a href="/techniques">browse the taxonomy</a> for the right one.' in near


def test_a_technique_page_lists_its_evaluation_criteria_linked_to_the_search_of_both(
        client: FlaskClient) -> None:
    html = page(client, "/techniques/activation_patching")
    block = re.search(r'<ul class="plain" data-cooccurring-evaluations>(.*?)</ul>', html, re.S)
    assert block, "no evaluation criteria listed"
    entries = re.findall(r'<a href="/techniques/(\w+)">[^<]*</a>\s*<a class="count" href="([^"]+)"'
                         r' data-cooccurring-search[^>]*>(\d+)</a>', block.group(1))
    # Intrinsic evaluation has the same two papers as faithfulness: listed once, as faithfulness.
    assert [(node_id, int(n)) for node_id, _, n in entries] == [("faithfulness", 2)]
    href = html_lib.unescape(entries[0][1])
    assert parse_qs(urlsplit(href).query) == {
        "technique": ["activation_patching", "faithfulness"], "technique_match": ["all"]}
    assert client.get("/api/search?" + urlsplit(href).query + "&limit=1").get_json()["total"] == 2
    assert "No co-occurring evaluation criteria." in page(client, "/techniques/probing")


def test_the_all_option_does_not_read_as_uses_both(client: FlaskClient) -> None:
    html = page(client, "/search?technique=sae&technique=transcoder&technique_match=all")
    assert selected_options(html)["technique_match"] == ["all"]
    assert "all of these techniques" not in html
    assert '<option value="all" selected>each of these (or a refinement of it)</option>' in html
    assert "a refinement stands in\n    for its parent" in html
    # What it says: SAE and its refinement Transcoder find the paper tagged Transcoder alone.
    assert row_ids(html) == ["tc-1"]


def test_a_cooccurring_count_link_is_named_for_what_it_opens(client: FlaskClient) -> None:
    """Screen-reader QA: the count links were named "2", "1" (their meaning only in a title). Their name
    starts with the number they show and says which papers it counts."""
    html = page(client, "/techniques/activation_patching")
    block = re.search(r'<ul class="plain" data-cooccurring-evaluations>(.*?)</ul>', html, re.S)
    assert block
    links = re.findall(r'<a class="count" [^>]*aria-label="([^"]*)"[^>]*>(\d+)</a>', block.group(1))
    assert links == [("2 papers with both Activation Patching and Faithfulness", "2")]
    cma = page(client, "/techniques/cma")
    named = re.findall(r'data-cooccurring-search [^>]*aria-label="([^"]*)"[^>]*>(\d+)</a>', cma)
    assert named and all(name.startswith(f"{n} paper") and " with both CMA and " in name for name, n in named)


def test_a_refinements_count_says_papers(client: FlaskClient) -> None:
    """The Refinements list read "Activation Patching 2": the count says what it counts."""
    html = page(client, "/techniques/cma")
    block = re.search(r"<h2>Refinements</h2>\s*<ul class=\"plain\">(.*?)</ul>", html, re.S)
    assert block
    items = [" ".join(re.sub(r"<[^>]+>", "", li).split())
             for li in re.findall(r"<li>(.*?)</li>", block.group(1))]
    assert "Activation Patching 2 papers" in items and "Path Patching 2 papers" in items
    assert "ACDC 1 paper" in items


def test_papers_using_comes_between_the_chosen_techniques_and_the_empty_one(client: FlaskClient) -> None:
    """The any/each control follows the techniques it combines, before "Add a technique" (screen-reader QA:
    it came after the empty select, so a reader met it last); the form still sends every field without
    JavaScript."""
    html = page(client, "/search?technique=cma&technique=probing")
    order = re.findall(r'<select name="(?:technique|technique_match)" id="([\w-]+)"', html)
    assert order == ["f-technique", "f-technique-2", "f-technique-match", "f-technique-3"]
    assert re.search(r'<label class="f" data-technique-more data-technique-add>Add a technique\s*'
                     r'<select name="technique" id="f-technique-3">', html)
