"""Related papers' scores and reasons on the paper page, in the JSON API and the CLI (QA audit): the web rows
showed no score, reasons came in a fixed order though the cosine is most of the score, and a parent and its
child read "of the same family" once per pair. Over the real seed store (real model) in a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from tests.api.test_web import page
from tests.embedders import HashEmbedder
from tests.kg.test_related_reasons import MANY, PARENTS, bundle
from tests.seed_store import real_embedder, taxonomy_store

IOI = "2211.00593"


@pytest.fixture(scope="module")
def app(seed_store: EmbeddedStore) -> Flask:
    """The app over the seed store, with the real model for queries."""
    return create_app({"STORE": seed_store, "EMBEDDER": real_embedder(), "TESTING": True})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client."""
    yield app.test_client()


def text(html: str) -> str:
    """The words of some HTML, tags dropped and spaces folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def related_rows(html: str) -> list[str]:
    """The related papers' rows of a paper page."""
    related = re.search(r'<ol class="papers related">(.*?)</ol>', html, re.S)
    assert related, "no related list"
    return ['<li class="paper"' + row for row in related.group(1).split('<li class="paper"')[1:]]


def test_related_rows_show_the_score_and_what_each_reason_adds(client: FlaskClient) -> None:
    from api.web import RELATED_LIMIT

    body = client.get(f"/api/papers/{IOI}/related?limit={RELATED_LIMIT}").get_json()
    rows = related_rows(page(client, f"/papers/{IOI}"))
    assert len(rows) == len(body["results"]) > 0
    for row, hit in zip(rows, body["results"], strict=True):
        assert f'data-paper-id="{hit["id"]}"' in row
        score = re.search(r'<span class="score" data-related-score>(.*?)</span>\s*</div>', row, re.S)
        assert score, row[:400]
        words = text(score.group(1))
        assert words.startswith(f"score {hit['score']:.2f}")
        assert f"{hit['parts']['weighted']['cosine']:.2f} of it from the cosine" in words
        added = [float(x) for x in
                 re.findall(r'<span class="score reason-added"[^>]*>\+(\d\.\d\d)</span>', row)]
        assert len(added) == len(hit["reasons"])
        assert added == sorted(added, reverse=True), hit["reasons"]


def test_the_api_orders_reasons_by_what_they_add_and_the_weighted_parts_rebuild_the_score(
        client: FlaskClient) -> None:
    body = client.get(f"/api/papers/{IOI}/related?limit=20").get_json()
    first = set()
    prefixes = {"cosine": "cosine ", "shared_techniques": "shares ",
                "related_techniques": "related techniques ",
                "models": "both study ", "topics": "both about ", "components": "both discuss ",
                "authors": "shared author"}
    for hit in body["results"]:
        weighted = hit["parts"]["weighted"]
        assert sum(weighted.values()) == pytest.approx(hit["score"], abs=1e-3)
        order = [next(k for k, p in prefixes.items() if r.startswith(p)) for r in hit["reasons"]]
        values = [weighted[k] for k in order]
        assert values == sorted(values, reverse=True), hit["reasons"]
        first.add(order[0])
        for theirs, mine in hit["parts"]["related_pairs"]:
            assert theirs in hit["parts"]["related_techniques"] and mine
    assert "cosine" in first


def test_a_parent_reads_as_the_parent_once(client: FlaskClient) -> None:
    """causal-scrubbing's related 2403.19647: Knockout (theirs) is the parent of both its Causal Scrubbing
    and its Resampling Ablation, said once, not "of the same family" per pair."""
    rows = related_rows(page(client, "/papers/causal-scrubbing?related=30"))
    row = next(r for r in rows if 'data-paper-id="2403.19647"' in r)
    reason = next(text(li) for li in re.findall(r"<li>(.*?)</li>", row, re.S) if "related techniques" in li)
    assert re.match(r"related techniques Knockout \(theirs\), the parent of this paper's (Causal Scrubbing, "
                    r"Resampling Ablation|Resampling Ablation, Causal Scrubbing) \+0\.\d\d$", reason), reason
    assert reason.count("(theirs)") == 1 and "same family" not in reason


def test_the_cli_lists_reasons_strongest_first_with_what_they_add(env: dict[str, str]) -> None:
    """What each adds, with the score's three decimals, adds up to the score as printed (re-test: each
    rounded alone, a row's parts were 0.01 off its score)."""
    from kg.cli import main

    result = CliRunner().invoke(main, ["related", IOI, "--limit", "20"])
    assert result.exit_code == 0, result.output
    scores = [int(x.replace(".", "")) for x in re.findall(r"  score (\d\.\d\d\d)$", result.output, re.M)]
    lines = [line.strip() for line in result.output.splitlines() if line.startswith("     ")]
    assert len(lines) == len(scores) == 20
    for line, score in zip(lines, scores, strict=True):
        added = re.findall(r"\(\+(\d\.\d\d\d)\)(?:;|$)", line)
        assert added and added == sorted(added, reverse=True), line
        assert len(added) == len(line.split("; "))
        assert sum(int(a.replace(".", "")) for a in added) == score, line


def test_what_each_reason_adds_adds_up_to_the_score_shown(client: FlaskClient) -> None:
    """Re-test: 62 of 312 rows' "+x.xx" added up to 0.01 off the score beside them (each rounded alone);
    the cosine's share in the score line is what its reason says it adds."""
    checked = 0
    for paper_id in (IOI, "2303.08112", "causal-scrubbing", "2309.08600"):
        for row in related_rows(page(client, f"/papers/{paper_id}?related=20")):
            score = re.search(r'<span class="score" data-related-score>(.*?)</span>\s*</div>', row, re.S)
            assert score, row[:400]
            shown = re.fullmatch(r"score (\d)\.(\d\d), (\d)\.(\d\d) of it from the cosine",
                                 text(score.group(1)))
            assert shown, text(score.group(1))
            added = {text(li).rsplit(" +", 1)[0]: int(x.replace(".", "")) for li, x in re.findall(
                r'<li>(.*?)<span class="score reason-added"[^>]*>\+(\d\.\d\d)</span></li>', row, re.S)}
            assert added, row
            assert sum(added.values()) == int(shown.group(1) + shown.group(2)), (added, text(score.group(1)))
            cosine = [v for reason, v in added.items() if reason.startswith("cosine ")]
            assert cosine == [int(shown.group(3) + shown.group(4))], (added, text(score.group(1)))
            checked += 1
    assert checked >= 60


# -- every related technique pair named on the page, also past three ----------------------------------

@pytest.fixture
def kin_client(tmp_path: Path) -> Iterator[FlaskClient]:
    """The app over a real SQLite store of two papers: "many" uses nine refinements, "parents" their
    three parents (tests/kg/test_related_reasons.py's records), HashEmbedder for vectors."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    store.upsert_papers([bundle("many", "Circuits by many ablations", MANY),
                         bundle("parents", "Circuits by knockout, mediation and the logit lens", PARENTS)])
    yield create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
    store.close()


def test_more_than_three_related_pairs_are_all_named_and_linked(kin_client: FlaskClient) -> None:
    """Re-test: "Knockout (theirs), the parent of this paper's Causal Scrubbing … (+5 more)" while
    parts.related_pairs had 8; every pair is on the page, each technique linked to its page."""
    [row] = related_rows(page(kin_client, "/papers/many"))
    li = next(li for li in re.findall(r"<li>(.*?)</li>", row, re.S) if "related techniques" in li)
    pairs = kin_client.get("/api/papers/many/related").get_json()["results"][0]["parts"]["related_pairs"]
    assert sorted(m for _, m in pairs) == sorted(MANY)
    for node_id in {*MANY, *PARENTS}:
        assert f'href="/techniques/{node_id}"' in li, node_id
    said = text(li)
    assert "more)" not in said
    assert said.startswith("related techniques ")
    groups = said.removeprefix("related techniques ").rsplit(" +", 1)[0].split("; ")
    assert sorted(g.split(" (theirs), ")[0] for g in groups) == [
        "Causal Mediation Analysis (CMA)", "Knockout", "Logit Lens"]
    knockout = next(g for g in groups if g.startswith("Knockout (theirs), the parent of this paper's "))
    assert sorted(knockout.split("this paper's ")[1].split(", ")) == [
        "Causal Scrubbing", "Mean Ablation", "Resampling Ablation", "Zero Ablation"]
    lens = next(g for g in groups if g.startswith("Logit Lens (theirs), the parent of this paper's "))
    assert sorted(lens.split("this paper's ")[1].split(", ")) == ["Direct Logit Attribution", "Tuned Lens"]
