"""`paperkg search` rows list all the paper's techniques, the matched ones marked (QA: `search "tuned lens"
--mode keyword` printed "techniques: Tuned Lens" for a paper also tagged Logit Lens), and
`--no-refinements` counts the papers tagged with exactly the technique, as the API's refinements=false."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from kg.cli import main


def rows(output: str) -> dict[str, str]:
    """Each printed result's id and the first line printed under its title."""
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\s*\d+\. \[)", output)[1:]:
        head, _, rest = block.partition("\n")
        found[re.search(r"\[([^\]]+)\]", head).group(1)] = rest.partition("\n")[0]  # type: ignore[union-attr]
    return found


def test_the_tuned_lens_paper_shows_its_other_technique(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "tuned lens", "--mode", "keyword"])
    assert result.exit_code == 0, result.output
    assert "techniques: Tuned Lens (matched), Logit Lens" in rows(result.output)["2303.08112"]


@pytest.mark.parametrize("args", [["tuned lens", "--mode", "keyword"], ["circuits", "--mode", "keyword"],
                                  ["lens", "--mode", "keyword", "--technique", "logit_lens"],
                                  ["", "--technique", "cma"]])
def test_each_row_lists_the_apis_techniques_with_the_matched_ones_marked(
    env: dict[str, str], client: FlaskClient, args: list[str]
) -> None:
    result = CliRunner().invoke(main, ["search", *args, "--limit", "20"])
    assert result.exit_code == 0, result.output
    printed = rows(result.output)
    query = {"q": args[0], "limit": 20, **dict(zip(args[1::2], args[2::2], strict=True))}
    api = client.get("/api/search", query_string={k.removeprefix("--"): v for k, v in query.items()})
    hits = api.get_json()["results"]
    assert list(printed) == [h["id"] for h in hits] and hits
    for hit in hits:
        if not hit["techniques"]:
            assert "techniques:" not in printed[hit["id"]]
            continue
        listed = ", ".join(t["label"] + (" (matched)" if t["matched"] else "") for t in hit["techniques"])
        assert f"techniques: {listed}" in printed[hit["id"]], (hit["id"], printed[hit["id"]])
    assert any(len(h["techniques"]) > 1 for h in hits) or args[0] == "tuned lens"


def test_no_refinements_counts_the_papers_tagged_with_the_technique_itself(
    env: dict[str, str], client: FlaskClient
) -> None:
    def total(*args: str) -> int:
        out = CliRunner().invoke(main, ["search", *args, "--json", "--limit", "100"])
        assert out.exit_code == 0, out.output
        return int(json.loads(out.output)["total"])

    tree = json.loads(CliRunner().invoke(main, ["filters", "--json"]).output)
    cma = next(t for t in tree["techniques"] if t["id"] == "cma")
    assert cma["own_count"] < cma["total_count"]  # the seed corpus tags refinements of CMA
    assert total("--technique", "cma", "--no-refinements") == cma["own_count"]
    assert total("--technique", "cma") == cma["total_count"]
    api = client.get("/api/search?technique=cma&refinements=false").get_json()
    assert api["total"] == cma["own_count"]
    # Topics and components take it too, as the API's refinements=false does.
    for param, node in (("topic", "lm_enhancement"), ("component", "mha")):
        exact = client.get(f"/api/search?{param}={node}&refinements=false").get_json()["total"]
        assert total(f"--{param}", node, "--no-refinements") == exact
    text = CliRunner().invoke(main, ["search", "--technique", "cma", "--no-refinements"]).output
    assert text.startswith(f"{cma['own_count']} paper{'' if cma['own_count'] == 1 else 's'} (filtered, "
                           "newest first)")
    shown = " ".join(CliRunner().invoke(main, ["search", "--help"]).output.split())
    assert "--no-refinements --technique, --topic and --component match only papers tagged with the id " \
           "itself" in shown


def test_filters_says_what_a_parents_count_takes(env: dict[str, str]) -> None:
    output = CliRunner().invoke(main, ["filters"]).output
    assert output.startswith("counts: the papers a filter finds, those of the refinements, sub-topics and "
                             "sub-components listed under it included")
    tree = json.loads(CliRunner().invoke(main, ["filters", "--json"]).output)
    cma = next(t for t in tree["techniques"] if t["id"] == "cma")
    assert (f"  cma  Causal Mediation Analysis (CMA)  ({cma['total_count']} papers, {cma['own_count']} "
            "tagged CMA itself)\n") in output  # the web technique page's short name, not the id
    # A count with nothing from refinements says nothing more.
    leaf = next(t for t in tree["techniques"] if t["own_count"] == t["total_count"] > 1)
    assert f"  {leaf['id']}  {leaf['label']}  ({leaf['total_count']} papers)\n" in output


def test_an_empty_no_refinements_answer_says_what_refinements_would_find(env: dict[str, str]) -> None:
    """QA: `search --technique attribution_patching --no-refinements` said only "no paper passes the
    filter", with no hint that without --no-refinements it finds papers."""
    tree = json.loads(CliRunner().invoke(main, ["filters", "--json"]).output)

    def flat(items: list[dict[str, object]]) -> list[dict[str, object]]:
        return [n for i in items for n in [i, *flat(i.get("children") or [])]]  # type: ignore[arg-type]

    node = next(t for t in flat(tree["techniques"]) if t["own_count"] == 0 and int(t["total_count"]) > 0)
    text = CliRunner().invoke(main, ["search", "--technique", str(node["id"]), "--no-refinements"]).output
    count = int(node["total_count"])  # type: ignore[call-overload]
    assert text.startswith("0 papers (filtered, newest first)")
    assert (f"  without --no-refinements the filters pass {count} paper{'' if count == 1 else 's'} (tagged "
            "with a refinement, sub-topic or sub-component)\n") in text
    # With refinements, or when those find nothing either, no such line.
    assert "without --no-refinements" not in CliRunner().invoke(
        main, ["search", "--technique", str(node["id"])]).output
