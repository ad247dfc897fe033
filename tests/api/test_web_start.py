"""The start page (/start): the taxonomy's beginner's roadmap as ordered steps, each arrow's techniques
linked with their most connected papers, and the survey as the first read."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.config import PACKAGED_TAXONOMY, load_config
from kg.embedded import EmbeddedStore
from kg.taxonomy import load_taxonomy
from tests.embedders import HashEmbedder

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


class _Steps(HTMLParser):
    """The flows of a start page: per flow (data-flow), its steps (data-step) in document order, with the
    technique links (data-technique) and paper links of each step's arrows."""

    def __init__(self) -> None:
        super().__init__()
        self.flows: dict[str, list[str]] = {}
        self.techniques: dict[str, dict[str, list[str]]] = {}  # flow -> step -> technique ids
        self.reads: dict[str, list[str]] = {}  # technique id -> paper links under it (first time seen)
        self.list_tags: list[str] = []  # the elements holding the steps
        self._flow: str | None = None
        self._step: str | None = None
        self._reads: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-flow"):
            self._flow, self._step = a["data-flow"], None
            self.flows[self._flow] = []
            self.techniques[self._flow] = {}
        elif a.get("data-step") and self._flow:
            self._step = a["data-step"]
            self.flows[self._flow].append(self._step)
            self.techniques[self._flow][self._step] = []
            self.list_tags.append(tag)
        elif a.get("data-technique") and self._flow and self._step:
            self.techniques[self._flow][self._step].append(a["data-technique"] or "")
        elif a.get("data-reads"):
            self._reads = a["data-reads"] if a["data-reads"] not in self.reads else None
            if self._reads:
                self.reads[self._reads] = []
        elif tag == "a" and self._reads and (a.get("href") or "").startswith("/papers/"):
            self.reads[self._reads].append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._reads = None


def _parsed(html: str) -> _Steps:
    parser = _Steps()
    parser.feed(html)
    return parser


def test_the_start_page_shows_both_flows_as_ordered_steps(client: FlaskClient) -> None:
    response = client.get("/start")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    steps = _parsed(html)
    assert steps.flows == {
        "feature_study": ["targeted_feature_hypothesis", "open_ended_feature_discovery", "observe", "explain",
                          "evaluation"],
        "circuit_study": ["interpret_lm_behavior", "localization", "explain_circuit_components",
                          "interpret_lm_component", "generate_hypothesis", "validation", "evaluation"],
    }
    assert set(steps.list_tags) == {"li"}
    assert html.count('<ol class="roadmap-steps">') == 2  # an ordered list per flow
    # Each box's example, and each arrow's techniques as links to their pages.
    assert "<q>Find circuit for IOI task</q>" in html and "<q>LM has feature X</q>" in html
    assert steps.techniques["feature_study"]["targeted_feature_hypothesis"] == [
        "logit_lens", "visualization", "probing"]
    assert steps.techniques["circuit_study"]["generate_hypothesis"] == ["cma", "knockout", "logit_lens"]
    assert 'href="/techniques/sae" data-technique="sae">Sparse Autoencoder (SAE)</a>' in html
    # "Human Explainer" is on the arrow as text: it is no technique of the taxonomy.
    assert ">Automated Feature Explanation</a> or Human Explainer" in html
    # The loop of the circuit flow reads as one.
    assert "<strong>If No</strong>: back to <a href=\"#step-circuit_study-generate_hypothesis\">" in html
    assert "<strong>If Yes</strong>: on to <a href=\"#step-circuit_study-evaluation\">" in html
    assert 'id="step-circuit_study-generate_hypothesis"' in html


def test_each_technique_lists_its_most_connected_papers(
    client: FlaskClient, seed_store: EmbeddedStore
) -> None:
    steps = _parsed(client.get("/start").get_data(as_text=True))
    assert set(steps.reads) == {"logit_lens", "visualization", "probing", "sae",
                                "automated_feature_explanation", "cma", "knockout"}
    for technique_id, links in steps.reads.items():
        papers, total = seed_store.papers_by_technique(technique_id, sort="centrality", limit=3)
        assert links == [f"/papers/{p.id}" for p in papers], technique_id
        assert 1 <= len(links) <= 3 and total >= len(links), technique_id


def test_the_survey_is_the_first_read_and_the_nav_links_the_page(client: FlaskClient) -> None:
    html = client.get("/start").get_data(as_text=True)
    assert ('<a href="https://arxiv.org/abs/2407.02646" rel="noopener noreferrer">Rai et al. (2024), '
            "“A Practical Review of Mechanistic Interpretability for Transformer-Based Language Models”</a>"
            ) in html
    assert html.index("data-first-read") < html.index("data-flow=")
    assert '<a href="/start" aria-current="page">Start here</a>' in html
    home = client.get("/about").get_data(as_text=True)
    assert '<a href="/start">Start here</a>' in home


def _app_client(tmp_path: Path, store: EmbeddedStore, **config: Any) -> FlaskClient:
    env = {"PAPERKG_DATA_DIR": str(tmp_path), **config.pop("env", {})}
    return create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env=env), "STORE": store,
                       "EMBEDDER": HashEmbedder(), **config}).test_client()


def _without_roadmap(tmp_path: Path) -> Path:
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    path = tmp_path / "no-roadmap.yaml"
    path.write_text(text[:text.index("\nroadmap:\n")] + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["TAXONOMY", "PAPERKG_TAXONOMY"])
def test_without_a_roadmap_the_page_is_a_clear_404(tmp_path: Path, plumbing_store: EmbeddedStore, how: str
                                                   ) -> None:
    path = _without_roadmap(tmp_path)
    assert load_taxonomy(path).roadmap is None
    client = _app_client(tmp_path, plumbing_store, **(
        {"TAXONOMY": load_taxonomy(path)} if how == "TAXONOMY" else {"env": {"PAPERKG_TAXONOMY": str(path)}}))
    response = client.get("/start")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<h1>No roadmap</h1>" in html and "has no beginner&#39;s roadmap (its roadmap: section)" in html
    assert "data-flow" not in html
    # The home page and the nav offer the start page only when there is one.
    home = client.get("/").get_data(as_text=True)
    assert "data-start-link" not in home and 'href="/start"' not in home
    assert 'href="/techniques">Techniques</a>' in home


def test_the_home_page_sends_a_newcomer_to_the_start_page(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<p data-start-link>New to the field? <a href="/start">Start here</a>' in html
    assert "data-start-link" not in client.get("/search?q=sae").get_data(as_text=True)


def test_every_roadmap_text_is_escaped(tmp_path: Path, plumbing_store: EmbeddedStore) -> None:
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    for old in ('{label: Observe, example: "logits distribution, attention visualization"}',
                '[validation, evaluation, {condition: "Yes"}]', "via_text: [Human Explainer]",
                "circuit_study: {label: Circuit Study, kind: study_type}"):
        assert old in text, old
    hostile = HOSTILE.replace('"', '\\"')
    text = (text.replace('{label: Observe, example: "logits distribution, attention visualization"}',
                         f'{{label: "{hostile}", example: "{hostile}"}}')
            .replace('{condition: "Yes"}', f'{{condition: "{hostile}"}}')
            .replace("via_text: [Human Explainer]", f'via_text: ["{hostile}"]')
            .replace("circuit_study: {label: Circuit Study,", f'circuit_study: {{label: "{hostile}",'))
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    client = _app_client(tmp_path, plumbing_store, TAXONOMY=load_taxonomy(path))
    html = client.get("/start").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert html.count(escaped) >= 6  # the label (heading, arrows), example, condition, arrow text, flow


def test_a_store_the_file_lacks_ids_of_says_so_not_no_roadmap(tmp_path: Path, plumbing_store: EmbeddedStore
                                                              ) -> None:
    """Taxonomy QA: a node taken out of the lab's file, then `paperkg init` without --prune, left the
    store with an id the file lacks; /start then said the file had no roadmap, which it has."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    start, end = "  - id: dimensionality_reduction\n", "  - id: automated_explanation_score\n"
    node = text[text.index(start):text.index(end)]
    edited = text.replace(node, "").replace('    "PCA": dimensionality_reduction\n', "")
    edited = edited[:edited.index("  dimensionality_reduction: >-")] + edited[
        edited.index("  automated_explanation_score: >-"):]
    path = tmp_path / "edited.yaml"
    path.write_text(edited, encoding="utf-8")
    edited_taxonomy = load_taxonomy(path)
    assert edited_taxonomy.roadmap is not None and "dimensionality_reduction" not in edited_taxonomy.by_id
    client = _app_client(tmp_path, plumbing_store, env={"PAPERKG_TAXONOMY": str(path)})
    response = client.get("/start")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "has no beginner" not in html
    assert "The store holds 1 taxonomy id this server&#39;s taxonomy file lacks" in html
    assert "run `paperkg init --prune`" in html
