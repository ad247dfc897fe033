"""The packaged taxonomy: carried over from the shared transcription, list-label maps, REFINES at init."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kg.config import PACKAGED_TAXONOMY
from kg.entities import TaxonomyNode
from kg.schema import Label
from kg.taxonomy import Taxonomy, load_taxonomy, parse_taxonomy


@pytest.fixture(scope="module")
def shared_taxonomy(shared_data: Path) -> Taxonomy:
    """The reference transcription of Figure 1 (read-only shared data)."""
    return load_taxonomy(shared_data / "taxonomy.yaml")


def test_every_shared_node_is_carried_over_unchanged(shared_taxonomy: Taxonomy, taxonomy: Taxonomy) -> None:
    assert len(shared_taxonomy.nodes) > 40
    for node in shared_taxonomy.nodes:
        mine = taxonomy.by_id.get(node.id)
        assert mine is not None, f"{node.id} missing from the packaged taxonomy"
        assert mine.label == node.label
        if node.label == Label.COMPONENT:
            # The figure's RS / MHA / FF parts: paperkg's `components` section spells their names
            # out ("Residual stream" for "RS"); the ids stay.
            continue
        assert (mine.label, mine.name, mine.parent, mine.kind) == (
            node.label, node.name, node.parent, node.kind
        )
        assert set(node.aliases) <= set(mine.aliases), node.id
        assert set(node.ambiguous_aliases) <= set(mine.ambiguous_aliases), node.id
    added = {n.label for n in taxonomy.nodes if n.id not in shared_taxonomy.by_id}
    assert added == {Label.COMPONENT, Label.MODEL}  # the only sections paperkg adds


def test_shared_sections_are_verbatim_in_the_packaged_file(shared_data: Path) -> None:
    shared = yaml.safe_load((shared_data / "taxonomy.yaml").read_text(encoding="utf-8"))
    packaged = yaml.safe_load(PACKAGED_TAXONOMY.read_text(encoding="utf-8"))
    for key, value in shared.items():
        assert packaged[key] == value, f"section {key!r} differs from the shared transcription"


def test_figure_structure(taxonomy: Taxonomy) -> None:
    assert set(taxonomy.descendants("cma")) == {
        "cma", "activation_patching", "path_patching", "attribution_patching", "acdc", "eap",
        "attribution_graph",
    }
    assert set(taxonomy.descendants("knockout")) == {
        "knockout", "zero_ablation", "mean_ablation", "resampling_ablation", "causal_scrubbing",
    }
    assert taxonomy.descendants("probing") == ["probing"]
    # Descendants stay within one label: a technique refining a topic is not the topic's child.
    assert taxonomy.by_id["steering_vector"].parent == "lm_generation_steering"
    assert "steering_vector" not in taxonomy.descendants("lm_generation_steering")
    assert taxonomy.descendants("unknown_id") == ["unknown_id"]
    assert {n.id for n in taxonomy.of_label(Label.OBJECT)} == {
        "features", "circuits", "universality", "transformer_components",
    }


def test_list_label_map_covers_every_variant_of_the_shared_file(
    shared_data: Path, taxonomy: Taxonomy
) -> None:
    label_map = yaml.safe_load((shared_data / "taxonomy.yaml").read_text(encoding="utf-8"))["list_label_map"]
    for column, key in (("techniques", "techniques"), ("evaluation", "evaluation")):
        for text, ids in label_map[key].items():
            expected = [] if ids is None else ([ids] if isinstance(ids, str) else ids)
            assert taxonomy.map_list_label(text, column) == (expected, True), (column, text)


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("Minimaliity", "evaluation", (["minimality"], True)),  # the list's typo
        ("  logit LENS ", "techniques", (["logit_lens"], True)),  # case and spaces
        ("Zero-Knockout", "techniques", (["zero_ablation"], True)),
        ("Random-ablation", "techniques", (["resampling_ablation"], True)),
        ("PCA", "techniques", (["dimensionality_reduction"], True)),
        ("N/A", "techniques", ([], True)),
        ("N/A", "evaluation", ([], True)),
        ("Extrinsic (Prompt injection detection)", "evaluation", (["extrinsic_evaluation"], True)),
        ("Extrinsic (Knowledge Editing)", "evaluation",
         (["extrinsic_evaluation", "knowledge_editing"], True)),
        ("Causal Mediation Analysis", "techniques", (["cma"], True)),  # a node's own name
        ("Quantum tea leaves", "techniques", ([], False)),  # unknown labels are reported, not dropped
    ],
)
def test_list_label_variants(taxonomy: Taxonomy, text: str, column: str, expected: tuple) -> None:
    assert taxonomy.map_list_label(text, column) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nothing": []}, "not a taxonomy"),
        ([1, 2], "not a taxonomy"),
        ({"techniques": [{"id": "a"}, {"id": "a"}]}, "duplicate ids"),
        ({"techniques": [{"id": "a"}], "extensions_not_in_figure": [
            {"id": "b", "label": "B", "parent": "nowhere", "kind": "technique"}]},
         "'b' has parent 'nowhere', which is not a node"),
    ],
)
def test_invalid_taxonomy_data(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_taxonomy(data, "bad.yaml")  # type: ignore[arg-type]


def test_a_refinement_cycle_is_refused_and_never_walked_for_ever(taxonomy: Taxonomy) -> None:
    data = {"techniques": [{"id": "a", "label": "A"}], "extensions_not_in_figure": [
        {"id": "b", "label": "B", "parent": "c", "kind": "technique"},
        {"id": "c", "label": "C", "parent": "b", "kind": "technique"}]}
    with pytest.raises(ValueError, match=re.escape("the parents of 'b' form a cycle: b -> c -> b")):
        parse_taxonomy(data, "cycle.yaml")
    # A refinement cycle used to hang every walk over refinements (export list-rows, the New page).
    # A Taxonomy built by hand is not checked: its walk still ends.
    looped = Taxonomy([TaxonomyNode("Technique", "b", "B", parent="c"),
                       TaxonomyNode("Technique", "c", "C", parent="b")])
    assert sorted(looped.descendants("b")) == ["b", "c"]


def test_init_loads_refines_idempotently(data_dir: Path, taxonomy: Taxonomy) -> None:
    from kg.cli import main

    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    stats_first = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    stats_second = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats_first == stats_second
    refines = [n for n in taxonomy.nodes
               if n.parent in taxonomy.by_id and taxonomy.by_id[n.parent].label == n.label
               and n.label in (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC)]
    assert stats_first["relationships"]["REFINES"] == len(refines) >= 20
    for label in (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT, Label.COMPONENT, Label.MODEL):
        assert stats_first["nodes"][label] == len(taxonomy.of_label(label)), label
    assert (data_dir / "paperkg.sqlite3").is_file()


def test_the_section_map_gives_a_section_its_topics_by_the_end_of_its_path(taxonomy: Taxonomy) -> None:
    top = "Findings and Applications"
    components = [top, "Findings on circuits", "Interpreting Transformer Components"]
    assert taxonomy.section_topic_ids(components) == ["lm_components"]
    assert taxonomy.section_topic_ids([top, "findings on learning dynamics "]) == ["learning_dynamics"]
    assert taxonomy.section_topic_ids([top, "Interpreting Transformer Components"]) == []  # not the whole key
    assert taxonomy.section_topic_ids(["Tools"]) == []  # mapped to no topic


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("Activaton patching", "techniques", "Activation Patching"),
    ("logit-lense", "techniques", "Logit Lens"),
    ("Path patchng", "techniques", "Path Patching"),
    ("Faithfullness", "evaluation", "Faithfulness"),
    ("Completness", "evaluation", "Completeness"),
    ("Quantum Probing", "techniques", None),
    ("Vibes", "evaluation", None),
    ("", "techniques", None),
])
def test_nearest_list_label_names_what_a_misspelling_means(
    taxonomy: Taxonomy, text: str, column: str, expected: str | None
) -> None:
    assert taxonomy.nearest_list_label(text, column) == expected


@pytest.mark.parametrize(("text", "column", "expected"), [
    # A records file's technique id spelt as a name: the id of the node it names, not the name again.
    ("Activation Patching", "techniques", "activation_patching"),
    ("logit lens", "techniques", "logit_lens"),
    ("Faithfulness", "evaluation", "faithfulness"),
    # A misspelt id: the id it misspells (a name came back, or nothing for logit_len).
    ("activation_patchin", "techniques", "activation_patching"),
    ("logit_len", "techniques", "logit_lens"),
    ("faithfulnes", "evaluation", "faithfulness"),
    ("Activaton patching", "techniques", "activation_patching"),
    ("made_up_id", "techniques", None),
    ("", "techniques", None),
    ("activation_patching", "techniques", None),  # never the value itself
])
def test_nearest_id_names_the_id_an_unknown_id_means(
    taxonomy: Taxonomy, text: str, column: str, expected: str | None
) -> None:
    assert taxonomy.nearest_id(text, column) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Activation Patching", "activation_patching"),  # it suggested 'Activation Patching', the value refused
    ("activation_patchin", "activation_patching"),  # it suggested the name 'Activation Patching'
    ("logit_len", "logit_lens"),  # no hint before
    ("Activaton patching", "Activation Patching"),  # a misspelt name still gets the name
])
def test_nearest_list_label_answers_an_id_with_an_id_and_never_with_the_value_itself(
    taxonomy: Taxonomy, text: str, expected: str
) -> None:
    """The unknown-label report of a records file's technique_ids used the list-label rule (QA)."""
    suggestion = taxonomy.nearest_list_label(text, "techniques")
    assert suggestion == expected and suggestion != text
