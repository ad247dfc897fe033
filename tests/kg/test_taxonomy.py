"""The packaged taxonomy: carried over from the shared transcription, list-label maps, REFINES at init."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kg.config import PACKAGED_TAXONOMY
from kg.entities import TaxonomyNode
from kg.schema import Label
from kg.taxonomy import (
    MAX_ALIASES_PER_NODE,
    MAX_META_EXAMPLES,
    MAX_QUERY_TERM_CHARS,
    MAX_QUERY_TERMS,
    Taxonomy,
    load_taxonomy,
    parse_taxonomy,
)


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
    packaged = yaml.safe_load(PACKAGED_TAXONOMY.read_text(encoding="utf-8"))
    own = {entry["id"] for entry in packaged.get("paperkg_extensions") or []}
    added = {n.label for n in taxonomy.nodes if n.id not in shared_taxonomy.by_id and n.id not in own}
    assert added <= {Label.COMPONENT, Label.MODEL}  # the sections paperkg adds, besides its extensions


def test_shared_sections_are_verbatim_in_the_packaged_file(shared_data: Path) -> None:
    shared = yaml.safe_load((shared_data / "taxonomy.yaml").read_text(encoding="utf-8"))
    packaged = yaml.safe_load(PACKAGED_TAXONOMY.read_text(encoding="utf-8"))
    for key, value in shared.items():
        if key == "meta":  # the transcription's notes, carried over unchanged, plus the keys paperkg reads
            assert {k: packaged[key].get(k) for k in value} == value
            assert set(packaged[key]) - set(value) == {"field", "field_long", "survey", "list", "examples"}
            continue
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
        ({"techniques": [{"id": "a", "label": "A"}, {"id": "a", "label": "A2"}]}, "duplicate ids"),
        ({"techniques": [{"id": "a", "label": "A"}], "extensions_not_in_figure": [
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


# -- mistakes in a taxonomy file (QA playing the taxonomy maintainer) -------------------------------
# A small valid file; each test below breaks one thing in it. The extension and the map entry are
# where the maintainer of the shipped file adds things.
_BASE = """\
techniques:
  - id: cma
    label: Causal Mediation Analysis
    aliases: [causal mediation analysis]
    children:
      - id: activation_patching
        label: Activation Patching
        aliases: [activation patching]
        ambiguous_aliases: [patching]
      - id: path_patching
        label: Path Patching
        aliases: [path patching]
evaluation:
  - id: faithfulness
    label: Faithfulness
    aliases: [faithfulness]
extensions_not_in_figure:
  - id: qa_newtech
    label: QA New Technique
    parent: null
    kind: technique
    aliases: [qa new technique]
list_label_map:
  techniques:
    "Activation Patching": activation_patching
    "N/A": null
  evaluation:
    "Faithfulness": faithfulness
  sections:
    "Techniques": techniques
    "Tools": null
extra_aliases:
  path_patching: [path-specific patching]
confirming_terms:
  activation_patching: [activation]
"""


def _load(tmp_path: Path, text: str, old: str = "", new: str = "") -> Taxonomy:
    """Load `text` (with `old` replaced by `new` once) from a file in tmp_path."""
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "tax.yaml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def _refused(tmp_path: Path, old: str, new: str) -> str:
    """The one-line error a broken copy of _BASE is refused with (it names the file)."""
    with pytest.raises(ValueError) as refused:
        _load(tmp_path, _BASE, old, new)
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path / "tax.yaml") in message, message
    return message


def test_the_small_file_loads_without_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        taxonomy = _load(tmp_path, _BASE)
    assert caplog.records == []
    assert taxonomy.by_id["qa_newtech"].aliases == ["qa new technique"]
    assert taxonomy.by_id["path_patching"].aliases == ["path patching", "path-specific patching"]
    assert taxonomy.map_list_label("Activation Patching", "techniques") == (["activation_patching"], True)


@pytest.mark.parametrize(("node_id", "alias"), [
    ("model_capabilities", "capability"), ("lm_behavior", "model behavior"), ("applications", "applications"),
    ("cma", "direct effect"), ("automated_feature_explanation", "automated interpretability"),
])
def test_extra_aliases_mark_a_transcribed_alias_ambiguous_without_dropping_it(
    node_id: str, alias: str, shared_taxonomy: Taxonomy, taxonomy: Taxonomy
) -> None:
    """MI-expert QA: these figure aliases tagged papers whose abstracts only motivate with them. The
    transcription keeps them as plain aliases (verbatim); paperkg's extra_aliases marks them ambiguous."""
    shared = shared_taxonomy.by_id[node_id]
    assert alias in shared.aliases and alias not in shared.ambiguous_aliases
    mine = taxonomy.by_id[node_id]
    assert alias in mine.aliases and alias in mine.ambiguous_aliases
    assert mine.aliases.count(alias) == 1


@pytest.mark.parametrize("path", ["packaged", "shared"])
def test_the_shipped_taxonomies_load_without_warnings(
    path: str, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="kg.taxonomy"):
        taxonomy = load_taxonomy(PACKAGED_TAXONOMY if path == "packaged" else shared_data / "taxonomy.yaml")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(taxonomy.nodes) > 40
    # Both files carry notes the loader does not read (unknown keys are refused): they load all the same.
    raw = yaml.safe_load((PACKAGED_TAXONOMY if path == "packaged" else shared_data / "taxonomy.yaml")
                         .read_text(encoding="utf-8"))
    entries = [e for key in ("techniques", "fundamental_objects", "extensions_not_in_figure")
               for e in raw[key]]
    assert {"note", "style", "used_for", "parts"} <= {k for e in entries for k in e}


def test_a_single_string_is_a_one_item_list_not_one_name_per_character(tmp_path: Path) -> None:
    """`aliases: qa new technique` made the aliases 'q', 'a', ' ', ... which tagged almost every paper."""
    taxonomy = _load(tmp_path, _BASE, "aliases: [qa new technique]", "aliases: qa new technique")
    assert taxonomy.by_id["qa_newtech"].aliases == ["qa new technique"]
    # The same rule everywhere a list of names is read.
    taxonomy = _load(tmp_path, _BASE, "ambiguous_aliases: [patching]", "ambiguous_aliases: patching")
    assert taxonomy.by_id["activation_patching"].ambiguous_aliases == ["patching"]
    taxonomy = _load(tmp_path, _BASE, "[path-specific patching]", "path-specific patching")
    assert "path-specific patching" in taxonomy.by_id["path_patching"].aliases
    # Names are stripped.
    taxonomy = _load(tmp_path, _BASE, "[qa new technique]", "['  qa new technique ']")
    assert taxonomy.by_id["qa_newtech"].aliases == ["qa new technique"]


@pytest.mark.parametrize(("old", "new", "names"), [
    # `[x, ~]` stored the alias "None"; numbers, nested lists and blank names were kept as text.
    ("[qa new technique]", "[qa new technique, ~]", ["'qa_newtech' (line 18): aliases", "None"]),
    ("[qa new technique]", "[qa new technique, 12]", ["'qa_newtech'", "aliases", "12"]),
    ("[qa new technique]", "[qa new technique, [a, b]]", ["'qa_newtech'", "['a', 'b']"]),
    ("[qa new technique]", "[qa new technique, '']", ["'qa_newtech'", "not ''"]),
    ("[qa new technique]", "[qa new technique, '  ']", ["'qa_newtech'", "not '  '"]),
    ("[qa new technique]", "{a: b}", ["'qa_newtech'", "aliases must be a list of names", "{'a': 'b'}"]),
    ("[qa new technique]", "qa new technique, qa nt", ["'qa_newtech'", "one string with commas"]),
    ("ambiguous_aliases: [patching]", "ambiguous_aliases: [patching, ~]",
     ["'activation_patching' (line 6): ambiguous_aliases", "None"]),
    ("[path-specific patching]", "[path-specific patching, 3]", ["extra_aliases of 'path_patching'", "3"]),
    ("path_patching: [path-specific patching]", "path_patching: {aliases: [x], ambiguous_alias: [y]}",
     ["extra_aliases of 'path_patching'", "'ambiguous_alias'"]),
    ("activation_patching: [activation]", "activation_patching: [activation, ~]",
     ["confirming_terms of 'activation_patching'", "None"]),
    ('"Faithfulness": faithfulness', '"Faithfulness": [faithfulness, 7]',
     ["list_label_map evaluation 'Faithfulness'", "7"]),
])
def test_every_list_of_names_holds_non_empty_strings(
    tmp_path: Path, old: str, new: str, names: list[str]
) -> None:
    message = _refused(tmp_path, old, new)
    for name in names:
        assert name in message, (name, message)


@pytest.mark.parametrize(("old", "new", "names"), [
    # A second top-level block appended at the end silently replaced the first.
    ("confirming_terms:",
     'list_label_map:\n  techniques:\n    "Path Patching": path_patching\nconfirming_terms:',
     ["duplicate key 'list_label_map'", "at line 34", "first at line 23"]),
    # A key repeated inside an entry: the first aliases were dropped.
    ("    kind: technique\n", "    kind: technique\n    aliases: [other]\n",
     ["duplicate key 'aliases'", "at line 23", "first at line 22"]),
    ('    "N/A": null\n', '    "N/A": null\n    "Activation Patching": path_patching\n',
     ["duplicate key 'Activation Patching'", "at line 27", "first at line 25"]),
])
def test_a_duplicate_key_is_refused_with_its_lines(
    tmp_path: Path, old: str, new: str, names: list[str]
) -> None:
    message = _refused(tmp_path, old, new)
    assert "is not valid YAML" in message
    for name in names:
        assert name in message, (name, message)


def test_yaml_syntax_errors_are_one_line_with_the_line(tmp_path: Path) -> None:
    message = _refused(tmp_path, "    label: QA New Technique\n", "\tlabel: QA New Technique\n")
    assert "is not valid YAML at line 19, column 1: found character '\\t'" in message
    assert "<unicode string>" not in message


@pytest.mark.parametrize(("old", "new", "names"), [
    ("  - id: qa_newtech\n", "  - idd: qa_newtech\n",
     ["extensions_not_in_figure entry 1 (line 18) has no id", "'QA New Technique'"]),
    ("    label: QA New Technique\n", "", ["'qa_newtech' (line 18) has no label"]),
    ("    label: QA New Technique\n", "    label: ''\n", ["'qa_newtech' (line 18) has label ''"]),
    ("  - id: qa_newtech\n    label: QA New Technique\n    parent: null\n    kind: technique\n"
     "    aliases: [qa new technique]\n", "  - qa_newtech\n",
     ["extensions_not_in_figure entry 1 must be a mapping with an id and a label, not 'qa_newtech'"]),
    # Tree entries too (their label used to default to the id).
    ("      - id: path_patching\n        label: Path Patching\n", "      - id: path_patching\n",
     ["'path_patching' (line 10) has no label"]),
    ("      - id: path_patching\n", "      - path_patching\n      - idd: x\n",
     ["children of 'cma' entry 2 must be a mapping", "'path_patching'"]),
    ("evaluation:\n  - id: faithfulness\n    label: Faithfulness\n    aliases: [faithfulness]\n",
     "evaluation:\n  faithfulness: {label: Faithfulness}\n", ["evaluation must be a list of entries"]),
    ("    parent: null\n", "    parent: [cma]\n", ["'qa_newtech' (line 18) has parent ['cma'], not an id"]),
    ("    kind: technique\n", "    kind: tecnique\n", ["'qa_newtech' (line 18) has kind 'tecnique'"]),
    # A kind or a part's id that cannot be hashed was a TypeError (unhashable type: 'list').
    ("    kind: technique\n", "    kind: [technique]\n",
     ["'qa_newtech' (line 18) has kind ['technique'], not one of technique, evaluation"]),
    ("    kind: technique\n", "    kind: {a: b}\n", ["'qa_newtech' (line 18) has kind {'a': 'b'}"]),
    ("extensions_not_in_figure:\n", "fundamental_objects:\n  - id: circuits\n    label: Circuits\n"
     "    parts:\n      - id: rs\n        label: RS\n      - id: [x]\n        label: X\n"
     "extensions_not_in_figure:\n",
     ["the id of parts of 'circuits' entry 2 (line 23) must be a string, not list ['x']"]),
    ("extensions_not_in_figure:\n", "fundamental_objects:\n  - id: circuits\n    label: Circuits\n"
     "    parts:\n      - id: {x: y}\n        label: X\nextensions_not_in_figure:\n",
     ["the id of parts of 'circuits' entry 1 (line 21) must be a string, not dict {'x': 'y'}"]),
])
def test_a_malformed_entry_is_a_clear_error(tmp_path: Path, old: str, new: str, names: list[str]) -> None:
    """A missing id or label, or an entry written as a bare string, was a KeyError / AttributeError."""
    message = _refused(tmp_path, old, new)
    for name in names:
        assert name in message, (name, message)


def test_a_file_that_is_not_utf8_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tax.yaml"
    path.write_bytes(_BASE.replace("QA New Technique", "QA Neue Technik für Präzision").encode("latin-1"))
    with pytest.raises(ValueError) as refused:
        load_taxonomy(path)
    assert str(refused.value) == (f"taxonomy {path} is not UTF-8 text: byte 0xfc at line 19, column 29 "
                                  "(Windows-1252 or Latin-1 text? 0xfc is '\u00fc' there: save the file as "
                                  "UTF-8)")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_a_file_that_is_not_utf8_names_the_line_and_column_an_editor_shows(
    tmp_path: Path, newline: str
) -> None:
    """Lines ending at CR LF or CR, and a column in characters: the column counted bytes ("\u00e9" two) and
    only LF ended a line (a classic Mac file was all line 1)."""
    text = _BASE.replace("Causal Mediation Analysis", "Causal M\u00e9diation \u201cAnalysis\u201d", 1)
    head, quoted, tail = text.partition("\u201cAnalysis\u201d")
    path = tmp_path / "tax.yaml"
    # UTF-8 but for the one Windows-1252 quote pasted in on line 3, after the "\u00e9" (0xc3 0xa9).
    path.write_bytes(head.replace("\n", newline).encode() + quoted.encode("cp1252")
                     + tail.replace("\n", newline).encode())
    with pytest.raises(ValueError) as refused:
        load_taxonomy(path)
    assert str(refused.value) == (f"taxonomy {path} is not UTF-8 text: byte 0x93 at line 3, column 29 "
                                  "(Windows-1252 text? 0x93 is '\u201c' there: save the file as UTF-8)")


@pytest.mark.parametrize("bad", [
    "qa/new?tech#x", "QA New Tech", "QA_NewTech", "qa new", "_qa", "qa-new", "''",
])
def test_an_id_outside_the_id_shape_is_refused(tmp_path: Path, bad: str) -> None:
    """Such ids loaded, and their pages 404ed (/techniques/qa/new?tech) or got odd URLs."""
    message = _refused(tmp_path, "  - id: qa_newtech\n", f"  - id: {bad}\n")
    assert "must be lower-case letters, digits and '_'" in message
    assert "extensions_not_in_figure entry 1 (line 18)" in message


def test_an_id_must_be_a_string(tmp_path: Path) -> None:
    message = _refused(tmp_path, "  - id: qa_newtech\n", "  - id: 12\n")
    assert "the id of extensions_not_in_figure entry 1 (line 18) must be a string, not int 12" in message
    assert _load(tmp_path, _BASE, "id: qa_newtech", "id: '12'").by_id["12"].name == "QA New Technique"


@pytest.mark.parametrize(("old", "new", "names"), [
    ('"Techniques": techniques', '"Techniques": Tech niques',
     ["id 'Tech niques' of list_label_map sections 'Techniques'"]),
    ('"Techniques": techniques', '"Techniques": [techniques]', ["list_label_map sections 'Techniques'"]),
    ('"Faithfulness": faithfulness', "12: faithfulness", ["list_label_map evaluation", "the key 12"]),
])
def test_the_list_label_map_is_checked(tmp_path: Path, old: str, new: str, names: list[str]) -> None:
    message = _refused(tmp_path, old, new)
    for name in names:
        assert name in message, (name, message)


def test_a_section_topic_need_not_be_a_node(tmp_path: Path) -> None:
    # "techniques" is the list's own section slug, matched in the section's search key: not a node.
    assert _load(tmp_path, _BASE).section_topics == {"Techniques": "techniques", "Tools": None}


def test_a_list_label_mapped_to_an_unknown_id_is_refused(tmp_path: Path) -> None:
    """It loaded, and the list ingest then blamed the list for the label."""
    message = _refused(tmp_path, '"Activation Patching": activation_patching',
                       '"Activation Patching": activation_patchng')
    assert ("list_label_map techniques maps 'Activation Patching' to 'activation_patchng', which is not "
            "a node of the taxonomy") in message


def test_an_alias_shared_by_unrelated_nodes_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        taxonomy = _load(tmp_path, _BASE, "[qa new technique]", "[qa new technique, Path Patching]")
    assert len(taxonomy.nodes) == 5  # loaded all the same
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert ("nodes 'path_patching' and 'qa_newtech' share the alias 'path patching' and neither refines "
            "the other") in record.getMessage()
    assert str(tmp_path / "tax.yaml") in record.getMessage()


def test_an_alias_shared_with_a_refinement_or_another_label_is_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        _load(tmp_path, _BASE, "aliases: [activation patching]", "aliases: [activation patching, cma]")
        _load(tmp_path, _BASE, "aliases: [faithfulness]", "aliases: [faithfulness, path patching]")
    assert caplog.records == []


def test_a_very_long_alias_list_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    many = ", ".join(f"qa alias number {i}" for i in range(MAX_ALIASES_PER_NODE + 1))
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        _load(tmp_path, _BASE, "[qa new technique]", f"[{many}]")
    (record,) = caplog.records
    assert f"'qa_newtech' has {MAX_ALIASES_PER_NODE + 1} aliases" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        _load(tmp_path, _BASE, "[qa new technique]", f"[{many.rsplit(', ', 1)[0]}]")
    assert caplog.records == []


def test_init_refuses_a_broken_taxonomy_in_one_line(data_dir: Path, tmp_path: Path) -> None:
    from kg.cli import main

    path = tmp_path / "tax.yaml"
    path.write_text(_BASE.replace("  - id: qa_newtech\n", "  - idd: qa_newtech\n"), encoding="utf-8")
    result = CliRunner().invoke(main, ["init", "--taxonomy", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (f"Error: {path}: extensions_not_in_figure entry 1 (line 18) has no id "
                             "(label 'QA New Technique')\n")
    assert not (data_dir / "paperkg.sqlite3").exists()


# -- unknown keys: PyYAML keeps any key, so a typo loaded and silently changed tagging (QA) ----------
@pytest.mark.parametrize(("old", "new", "expected"), [
    # The node loaded with no aliases.
    ("    aliases: [qa new technique]\n", "    alias: [qa new technique]\n",
     "'qa_newtech' (line 18) has the unknown key 'alias' at line 22: did you mean 'aliases'?"),
    ("        aliases: [path patching]\n", "        aliasses: [path patching]\n",
     "'path_patching' (line 10) has the unknown key 'aliasses' at line 12: did you mean 'aliases'?"),
    # "patching" became an unambiguous alias.
    ("        ambiguous_aliases: [patching]\n", "        ambigous_aliases: [patching]\n",
     "'activation_patching' (line 6) has the unknown key 'ambigous_aliases' at line 9: "
     "did you mean 'ambiguous_aliases'?"),
    # The whole section was dropped.
    ("confirming_terms:\n", "confirming_term:\n",
     "the top level has the unknown key 'confirming_term' at line 34: did you mean 'confirming_terms'?"),
    # Refused, but the error blamed confirming_terms (activation_patching had no ambiguous alias left).
    ("extra_aliases:\n", "extra_alias:\n",
     "the top level has the unknown key 'extra_alias' at line 32: did you mean 'extra_aliases'?"),
    ("  sections:\n", "  section:\n",
     "list_label_map (line 24) has the unknown key 'section' at line 29: did you mean 'sections'?"),
    ("path_patching: [path-specific patching]", "path_patching: {alias: [path-specific patching]}",
     "extra_aliases of 'path_patching' (line 33) has the unknown key 'alias' at line 33: "
     "did you mean 'aliases'?"),
    # No close key: the keys the place takes are named instead.
    ("    kind: technique\n", "    kind: technique\n    weight: 3\n",
     "'qa_newtech' (line 18) has the unknown key 'weight' at line 22: the keys here are aliases, "
     "ambiguous_aliases, id, kind, label, parent and the notes description, dotted_box_label, expansion, "
     "from, list_section, note, points_to, related, style, used_for"),
    # The children were dropped.
    ("    aliases: [qa new technique]\n",
     "    aliases: [qa new technique]\n    children:\n      - {id: qa_child, label: QA Child}\n",
     "'qa_newtech' (line 18) has 'children' at line 23: extensions_not_in_figure entries take no children; "
     "give each child its own entry with parent: qa_newtech"),
    # Ignored: the node stayed a technique.
    ("    label: Causal Mediation Analysis\n", "    label: Causal Mediation Analysis\n    kind: evaluation\n",
     "'cma' (line 2) has 'kind' at line 4: only extensions_not_in_figure and paperkg_extensions entries "
     "take a kind; the label of a node under techniques is given by its section"),
    ("    label: Faithfulness\n", "    label: Faithfulness\n    kind: technique\n",
     "'faithfulness' (line 14) has 'kind' at line 16: only extensions_not_in_figure and paperkg_extensions "
     "entries take a kind"),
    # Silently overridden by the child's place in the tree.
    ("        label: Path Patching\n", "        label: Path Patching\n        parent: faithfulness\n",
     "'path_patching' (line 10) has parent 'faithfulness' but is a child of 'cma': remove its parent, "
     "or move it under that node"),
    ("extensions_not_in_figure:\n", "fundamental_objects:\n  - id: circuits\n    label: Circuits\n"
     "    parts:\n      - {id: rs, label: RS, alias: [residual stream]}\nextensions_not_in_figure:\n",
     "'rs' (line 21) has the unknown key 'alias' at line 21: did you mean 'aliases'?"),
    # A part that `components` replaces is checked too (it is read by nothing else).
    ("extensions_not_in_figure:\n", "components:\n  - {id: rs, label: Residual stream}\n"
     "fundamental_objects:\n  - id: circuits\n    label: Circuits\n    parts:\n"
     "      - {id: rs, label: RS, kind: component}\nextensions_not_in_figure:\n",
     "'rs' (line 23) has 'kind' at line 23: only extensions_not_in_figure and paperkg_extensions entries "
     "take a kind; the label of a node under parts is given by its section"),
    ("extensions_not_in_figure:\n", "fundamental_objects:\n  - id: circuits\n    label: Circuits\n"
     "    children:\n      - {id: rs, label: RS}\nextensions_not_in_figure:\n",
     "'circuits' (line 18) has 'children' at line 20: fundamental_objects entries take no children"),
    ("extensions_not_in_figure:\n", "models:\n  - {id: gpt2, label: GPT-2, ambiguous_alias: [gpt]}\n"
     "extensions_not_in_figure:\n",
     "'gpt2' (line 18) has the unknown key 'ambiguous_alias' at line 18: did you mean 'ambiguous_aliases'?"),
])
def test_an_unknown_key_is_refused_with_the_key_it_most_likely_misspells(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    message = _refused(tmp_path, old, new)
    assert message.startswith(f"{tmp_path / 'tax.yaml'}: {expected}"), message


def test_a_misspelt_techniques_key_is_named(tmp_path: Path) -> None:
    message = _refused(tmp_path, "techniques:\n  - id: cma", "technique:\n  - id: cma")
    assert message.endswith("not a taxonomy file (no 'techniques' key): did you mean 'techniques' for "
                            "'technique'?"), message


def test_notes_and_a_parent_agreeing_with_the_tree_load_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The annotations of the shipped and shared files (note, style, used_for, ...) are no mistake."""
    text = _BASE.replace("    label: Causal Mediation Analysis\n",
                         "    label: Causal Mediation Analysis\n    used_for: [circuits]\n"
                         "    dotted_box_label: 'Activation, Path'\n    description: mediation\n")
    text = text.replace("        label: Path Patching\n",
                        "        label: Path Patching\n        parent: cma\n")
    text = text.replace("    label: Faithfulness\n", "    label: Faithfulness\n    style: orange box\n")
    text = text.replace("    kind: technique\n",
                        "    kind: technique\n    note: a QA node\n    related: [cma]\n")
    text = "meta:\n  source_figure: x.png\nedges:\n  - {from: cma, to: path_patching}\n" + text
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        taxonomy = _load(tmp_path, text)
    assert caplog.records == []
    assert taxonomy.by_id["path_patching"].parent == "cma"
    assert taxonomy.by_id["qa_newtech"].aliases == ["qa new technique"]


@pytest.mark.parametrize(("old", "new", "names"), [
    # '-' matched every hyphen: 30 papers were tagged as probing.
    ("[qa new technique]", "[qa new technique, '-']",
     ["'qa_newtech' (line 18): aliases must be names with a letter or digit, not '-'"]),
    ("ambiguous_aliases: [patching]", "ambiguous_aliases: [patching, '...']",
     ["'activation_patching' (line 6): ambiguous_aliases must be names with a letter or digit, not '...'"]),
    ("[path-specific patching]", "[path-specific patching, '–']",
     ["extra_aliases of 'path_patching'", "not '–'"]),
    ("activation_patching: [activation]", "activation_patching: [activation, '?']",
     ["confirming_terms of 'activation_patching'", "not '?'"]),
])
def test_a_name_with_no_letter_or_digit_is_refused(
    tmp_path: Path, old: str, new: str, names: list[str]
) -> None:
    message = _refused(tmp_path, old, new)
    for name in names:
        assert name in message, (name, message)


# A `weekly:` block: what the weekly arXiv ingest asks for and keeps, for a file of another field.
_WEEKLY = _BASE + """\
weekly:
  query_terms: [causal tracing, model internals]
  query_stopwords: [Path Patching]
  domain_cues: [neural network]
  generic_techniques: [activation_patching]
  specific_phrases:
    activation_patching: [denoising activation patching]
"""


def test_a_weekly_block_is_read_and_a_file_without_one_has_none(tmp_path: Path, taxonomy: Taxonomy) -> None:
    weekly = _load(tmp_path, _WEEKLY).weekly
    assert weekly is not None
    assert weekly.query_terms == ("causal tracing", "model internals")
    assert weekly.query_stopwords == frozenset({"path patching"})  # compared case-folded
    assert weekly.domain_cues == ("neural network",)
    assert weekly.generic_techniques == frozenset({"activation_patching"})
    assert weekly.specific_phrases == {"activation_patching": ("denoising activation patching",)}
    # Every key may be left out: an empty block asks for no extra term and requires no cue.
    empty = _load(tmp_path, _BASE + "weekly: {}\n").weekly
    assert empty is not None and empty.domain_cues == () and empty.generic_techniques == frozenset()
    assert _load(tmp_path, _BASE).weekly is None and taxonomy.weekly is None  # the built-in MI rules


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  domain_cues:", "  domain_cue:",
     "weekly (line 37) has the unknown key 'domain_cue' at line 39: did you mean 'domain_cues'?"),
    ("weekly:\n  query_terms: [causal tracing, model internals]\n  query_stopwords: [Path Patching]\n"
     "  domain_cues: [neural network]\n  generic_techniques: [activation_patching]\n  specific_phrases:\n"
     "    activation_patching: [denoising activation patching]\n", "weekly:\n",
     "weekly must be a mapping (domain_cues, generic_techniques, query_stopwords, query_terms, "
     "specific_phrases), not None"),
    ("[causal tracing, model internals]", "causal tracing, model internals",
     "weekly query_terms at line 37 'causal tracing, model internals' is one string with commas"),
    ("[causal tracing, model internals]", "[causal tracing, '']",
     "weekly query_terms at line 37 must be non-empty strings, not ''"),
    ("[causal tracing, model internals]", "[causal tracing, {a: b}]",
     "weekly query_terms at line 37 must be non-empty strings, not {'a': 'b'}"),
    ("[causal tracing, model internals]", """[causal tracing, 'say "circuit"']""",
     """weekly query_terms at line 37 has 'say "circuit"': a query term may not contain '"'"""),
    ("[neural network]", "{neural: network}",
     "weekly domain_cues at line 39 must be a list of names, not {'neural': 'network'}"),
    ("generic_techniques: [activation_patching]", "generic_techniques: [activation_patchin]",
     "weekly generic_techniques at line 40 names 'activation_patchin', which is not a node of the "
     "taxonomy: did you mean 'activation_patching'?"),
    ("generic_techniques: [activation_patching]", "generic_techniques: [faithfulness]",
     "weekly generic_techniques at line 40 names 'faithfulness', which is labelled Evaluation, "
     "not Technique"),
    ("    activation_patching: [denoising", "    path_patching: [denoising",
     "weekly specific_phrases at line 42 names 'path_patching', which is not one of weekly "
     "generic_techniques"),
    ("  specific_phrases:\n    activation_patching: [denoising activation patching]\n",
     "  specific_phrases: [denoising activation patching]\n",
     "weekly specific_phrases at line 41 must be a mapping of generic technique id to phrases, not "
     "['denoising activation patching']"),
    # Review: specific phrases are queried as query_terms are, and a '"' made every weekly query
    # unparseable for arXiv (all:"5" cap mutagenesis"); a cue is refused one too, for consistency.
    ("[denoising activation patching]", """['5" cap mutagenesis']""",
     """weekly specific_phrases of 'activation_patching' at line 42 has '5" cap mutagenesis': a query term """
     """may not contain '"'"""),
    ("[neural network]", """['"neural network"']""",
     """weekly domain_cues at line 39 has '"neural network"': a domain cue may not contain '"'"""),
    # Review: a term too long for one query loaded, and every weekly run then failed naming neither the
    # file nor the key, with the whole term printed.
    ("[causal tracing, model internals]", "[causal tracing, '" + "protein " * 200 + "']",
     "weekly query_terms at line 37 has a term of 1599 characters ('protein protein protein"),
    ("[denoising activation patching]", "['" + "x" * (MAX_QUERY_TERM_CHARS + 1) + "']",
     f"weekly specific_phrases of 'activation_patching' at line 42 has a term of {MAX_QUERY_TERM_CHARS + 1} "
     "characters ('xxx"),
    ("[causal tracing, model internals]", "[" + ", ".join(f"term {i}" for i in range(MAX_QUERY_TERMS)) + "]",
     f"weekly (line 37) has {MAX_QUERY_TERMS + 1} query terms (query_terms and specific_phrases); each query "
     f"holds about 30 and is paged at 3 s a request, so keep them to {MAX_QUERY_TERMS}"),
])
def test_a_bad_weekly_block_is_refused_in_one_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(ValueError) as refused:
        _load(tmp_path, _WEEKLY, old, new)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'tax.yaml'}: {expected}") and "\n" not in message, message
    assert len(message) < 400, message  # a long term is cut short, never printed whole


def test_weekly_terms_at_the_limits_load_and_make_queries_arxiv_takes(tmp_path: Path) -> None:
    """The load-time limits are the ones the weekly query builder needs: a block at both limits (the
    longest terms, the most terms) loads, and every term fits a query with the default categories."""
    from ingest.weekly import MAX_QUERY_CHARS, build_queries, query_terms
    from kg.config import load_config

    longest = "y" * MAX_QUERY_TERM_CHARS
    terms = [longest, *(f"term {i}" for i in range(MAX_QUERY_TERMS - 2))]  # + the specific phrase below
    taxonomy = _load(tmp_path, _WEEKLY, "[causal tracing, model internals]", "[" + ", ".join(terms) + "]")
    assert taxonomy.weekly is not None and len(taxonomy.weekly.query_terms) == MAX_QUERY_TERMS - 1
    queries = build_queries(query_terms(taxonomy), load_config({}).arxiv_categories)
    assert any(f'all:"{longest}"' in q for q in queries)
    assert max(len(q) for q in queries) <= MAX_QUERY_CHARS


# -- meta: the keys the pages read (field, survey, list, examples); the rest of meta is notes --------------
_META = _BASE + """\
meta:
  source_figure: images/x.png
  colours: {red: features}
  field: >-
    structural biology
    of membrane proteins
  survey:
    citation: "Doe et al. (2023), \u201cMembrane proteins\u201d"
    arxiv_id: "2301.01234v2"
  list:
    name: doe/awesome-membranes
    url: https://github.com/doe/awesome-membranes
    seed_commit: 0123abc
    seed_date: 2023-05-01
  examples:
    - how do channels gate?
    - cryo-EM of transporters
    - how do channels gate?
"""


def test_the_meta_keys_are_read_and_the_notes_left_alone(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """QA (another field): the pages credited the MI survey and list whatever the file; now the file says
    what its field, survey and list are. A folded line is one phrase, an unquoted date a date, a repeated
    example shown once; unknown meta keys are notes, as before."""
    from kg.taxonomy import ListSource, Survey, TaxonomyMeta

    meta = _load(tmp_path, _META).meta
    assert meta == TaxonomyMeta(
        field="structural biology of membrane proteins", field_long=None,
        survey=Survey(citation="Doe et al. (2023), \u201cMembrane proteins\u201d", arxiv_id="2301.01234v2"),
        list_source=ListSource(name="doe/awesome-membranes", url="https://github.com/doe/awesome-membranes",
                               seed_commit="0123abc", seed_date="2023-05-01"),
        examples=("how do channels gate?", "cryo-EM of transporters"))
    assert _load(tmp_path, _BASE).meta == TaxonomyMeta()  # no meta: the neutral texts
    assert _load(tmp_path, _BASE + "meta:\n  source_figure: x.png\n").meta == TaxonomyMeta()
    with pytest.raises(ValueError, match=r"tax.yaml: meta must be a mapping \(notes, and field, field_long, "
                                         r"survey, list, examples\), not \['a note'\]$"):
        _load(tmp_path, _BASE + "meta: [a note]\n")
    # The packaged file says what the MI pages have always said.
    mi = taxonomy.meta
    assert mi.field == "mechanistic interpretability of language models"
    assert mi.field_long == "the mechanistic interpretability (MI) of language models"
    assert mi.survey == Survey(
        citation="Rai et al. (2024), \u201cA Practical Review of Mechanistic Interpretability for "
                 "Transformer-Based Language Models\u201d", arxiv_id="2407.02646", figure="Figure 1")
    assert mi.list_source == ListSource(
        name="Dakingrai/awesome-mechanistic-interpretability-lm-papers",
        url="https://github.com/Dakingrai/awesome-mechanistic-interpretability-lm-papers",
        seed_commit="e603922", seed_date="2024-07-10", follows_survey=True)
    assert mi.examples[0] == "how do induction heads form?" and len(mi.examples) == 5


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  field: >-\n    structural biology\n    of membrane proteins\n", "  field: 42\n",
     "meta field at line 39 must be a non-empty string, not 42 (quote it)"),
    ("  field: >-\n    structural biology\n    of membrane proteins\n", "  field: ['a', 'b']\n",
     "meta field at line 39 must be a non-empty string, not ['a', 'b']"),
    ("  field: >-\n    structural biology\n    of membrane proteins\n", "  field_long: '" + "x" * 301 + "'\n",
     "meta field_long at line 39 is 301 characters long; a page shows it in a sentence, so keep it to 300"),
    ("  survey:\n    citation:", "  survey:\n    citaton:",
     "meta survey (line 43) has the unknown key 'citaton' at line 43: did you mean 'citation'?"),
    ("    citation: ", "    figure: ", "meta survey (line 43) has no citation (the text the pages credit)"),
    ('arxiv_id: "2301.01234v2"', "arxiv_id: 2301.12340",
     'meta survey arxiv_id at line 44 must be a quoted string ("2407.02646"), not 2301.1234'),
    ('arxiv_id: "2301.01234v2"', 'arxiv_id: "arXiv 2301"',
     "meta survey arxiv_id at line 44 'arXiv 2301' is not an arXiv id (like 2407.02646)"),
    ("  survey:\n", "  survey: Doe et al.\n  old_survey:\n",
     "meta survey must be a mapping (arxiv_id, citation, figure), not 'Doe et al.'"),
    ("url: https://github.com/doe/awesome-membranes", "url: javascript:alert(1)",
     "meta list url at line 47 'javascript:alert(1)' is not an http(s) address"),
    ("seed_commit: 0123abc", "seed_commit: HEAD~1",
     "meta list seed_commit at line 48 'HEAD~1' is not a commit hash (7 to 40 lower-case hex digits)"),
    ("seed_commit: 0123abc", "seed_comit: 0123abc",
     "meta list (line 46) has the unknown key 'seed_comit' at line 48: did you mean 'seed_commit'?"),
    ("    seed_commit: 0123abc\n", "",
     "meta list seed_date at line 48 is the date of the seed commit: give seed_commit too"),
    ("seed_date: 2023-05-01", "seed_date: May 2023",
     "meta list seed_date at line 49 'May 2023' is not a date (YYYY-MM-DD)"),
    ("seed_date: 2023-05-01", "seed_date: 2023-05-01\n    follows_survey: yes please",
     "meta list follows_survey at line 50 must be true or false, not 'yes please'"),
    ("    name: doe/awesome-membranes\n", "",
     "meta list (line 46) has no name (the text the About page credits)"),
    ("examples:\n    - how do channels gate?\n    - cryo-EM of transporters\n    - how do channels gate?\n",
     "examples: 'gating, transport'\n",
     "meta examples at line 50 'gating, transport' is one string with commas"),
    ("    - cryo-EM of transporters\n", "    - {q: x}\n",
     "meta examples at line 50 must be non-empty strings, not {'q': 'x'}"),
    # Review: the shape alone took a date that is none, shown on /about.
    ("seed_date: 2023-05-01", "seed_date: '2024-99-99'",
     "meta list seed_date at line 49 '2024-99-99' is not a date (month must be in 1..12)"),
    # Review: any number of examples loaded, each a link of the home page.
    ("    - how do channels gate?\n    - cryo-EM",
     "".join(f"    - example {i}\n" for i in range(MAX_META_EXAMPLES - 1)) + "    - how do channels gate?\n"
     "    - cryo-EM",
     f"meta examples at line 50 has {MAX_META_EXAMPLES + 1} examples; the home page shows each, so keep them "
     f"to {MAX_META_EXAMPLES}"),
])
def test_a_bad_read_meta_key_is_refused_in_one_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """A read meta key is checked as the rest of the file: a typo must not drop a credit unseen, and a
    list address shown as a link must be http(s)."""
    with pytest.raises(ValueError) as refused:
        _load(tmp_path, _META, old, new)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'tax.yaml'}: {expected}") and "\n" not in message, message


def test_a_list_that_follows_the_survey_needs_a_survey(tmp_path: Path) -> None:
    text = _META.replace("    seed_date: 2023-05-01\n",
                         "    seed_date: 2023-05-01\n    follows_survey: true\n")
    assert _load(tmp_path, text).meta.list_source.follows_survey is True  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="meta list follows_survey at line 47 is true but meta has no "
                                         "survey"):
        _load(tmp_path, text, '  survey:\n    citation: "Doe et al. (2023), \u201cMembrane proteins\u201d"\n'
              '    arxiv_id: "2301.01234v2"\n', "")


def test_paperkg_extensions_add_techniques_the_transcription_lacks(tmp_path: Path) -> None:
    """The transcribed sections stay verbatim (test_shared_sections_are_verbatim_in_the_packaged_file), so a
    contributor had nowhere to add a technique (contributor QA): paperkg_extensions takes one, read as the
    transcription's extensions are, and is refused the same way."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8") + (
        "\npaperkg_extensions:\n"
        "  - id: embedding_space_projection\n    label: Embedding-Space Projection\n    parent: logit_lens\n"
        "    aliases: [embedding space projection]\n"
        "  - id: qa_rubric\n    label: QA Rubric\n    kind: evaluation\n    aliases: [qa rubric]\n")
    taxonomy = _load(tmp_path, text)
    added = taxonomy.by_id["embedding_space_projection"]
    assert (added.label, added.kind, added.parent) == (Label.TECHNIQUE, "extension", "logit_lens")
    assert "embedding_space_projection" in taxonomy.descendants("logit_lens")
    assert taxonomy.by_id["qa_rubric"].label == Label.EVALUATION
    with pytest.raises(ValueError, match="has kind 'topic', not one of"):
        _load(tmp_path, text, "    kind: evaluation\n", "    kind: topic\n")
    with pytest.raises(ValueError, match="did you mean 'aliases'"):
        _load(tmp_path, text, "    aliases: [qa rubric]\n", "    aliasses: [qa rubric]\n")


def test_meta_examples_up_to_the_limit_load(tmp_path: Path) -> None:
    examples = "".join(f"    - example {i}\n" for i in range(MAX_META_EXAMPLES))
    meta = _load(tmp_path, _META, "    - how do channels gate?\n    - cryo-EM of transporters\n"
                 "    - how do channels gate?\n", examples).meta
    assert len(meta.examples) == MAX_META_EXAMPLES


def test_an_unquoted_date_that_is_no_date_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    """PyYAML reads an unquoted 2023-02-30 as a date and raised a bare 'day is out of range for month',
    naming neither the file nor the line."""
    with pytest.raises(ValueError) as refused:
        _load(tmp_path, _META, "seed_date: 2023-05-01", "seed_date: 2023-02-30")
    assert str(refused.value) == (
        f"taxonomy {tmp_path / 'tax.yaml'} is not valid YAML at line 49, column 16: '2023-02-30' is not a "
        "valid date (day is out of range for month)")


def test_a_kind_less_extension_takes_its_parents_label_wherever_the_parent_is(tmp_path: Path) -> None:
    """Review: extensions_not_in_figure is read before paperkg_extensions, and a kind-less extension whose
    parent came later in the file became a Technique under an Evaluation parent."""
    text = _BASE.replace("list_label_map:\n", (
        "  - id: child_of_later\n    label: Child Of Later\n    parent: my_eval_parent\n"
        "  - id: grandchild\n    label: Grandchild\n    parent: child_of_later\n"
        "  - id: loose_extension\n    label: Loose Extension\n"
        "paperkg_extensions:\n"
        "  - id: my_eval_parent\n    label: My Eval Parent\n    kind: evaluation\n"
        "  - id: refines_faithfulness\n    label: Refines Faithfulness\n    parent: faithfulness\n"
        "list_label_map:\n"), 1)
    taxonomy = _load(tmp_path, text)
    labels = {i: taxonomy.by_id[i].label for i in ("my_eval_parent", "child_of_later", "grandchild",
                                                   "refines_faithfulness", "loose_extension")}
    assert labels == {"my_eval_parent": Label.EVALUATION, "child_of_later": Label.EVALUATION,
                      "grandchild": Label.EVALUATION, "refines_faithfulness": Label.EVALUATION,
                      "loose_extension": Label.TECHNIQUE}
    assert set(taxonomy.descendants("my_eval_parent")) == {"my_eval_parent", "child_of_later", "grandchild"}
    # A cycle of kind-less extensions is refused as a cycle (checked before labels are followed).
    with pytest.raises(ValueError, match=r"the parents of 'child_of_later' form a cycle"):
        _load(tmp_path, text, "    kind: evaluation\n", "    parent: grandchild\n")


@pytest.mark.parametrize("url", ["https://", "http://a b", "https:///path"])
def test_a_list_url_without_a_host_or_with_a_space_is_refused(tmp_path: Path, url: str) -> None:
    """Review: "https://" alone and "http://a b" loaded and made a broken link on /about."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    listed = yaml.safe_load(text)["meta"]["list"]["url"]
    with pytest.raises(ValueError, match="is not an http\\(s\\) address"):
        _load(tmp_path, text, f"url: {listed}", f"url: {json.dumps(url)}")


def test_a_misspelt_read_meta_key_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Review: `exmaples:` or `feild:` were read as notes, and the pages went neutral with no hint."""
    text = PACKAGED_TAXONOMY.read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kg.taxonomy"):
        _load(tmp_path, text, "meta:\n", "meta:\n  exmaples: [a question]\n  source_note: kept as a note\n")
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "meta key 'exmaples'" in warned[0] and "did you mean 'examples'?" in warned[0]


# -- the beginner's roadmap (the survey's Figure 2), read for the web's /start page ---------------------
def _shared_roadmap(shared_data: Path) -> dict[str, Any]:
    """The structured form at the end of the shared transcription of Figure 2 (roadmap.md)."""
    text = (shared_data / "roadmap.md").read_text(encoding="utf-8")
    block = text.split("## Structured form", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(block)
    return loaded


def test_the_packaged_roadmap_is_made_from_the_shared_transcription(
    shared_data: Path, taxonomy: Taxonomy
) -> None:
    """Every box and arrow of roadmap.md's structured form, with its ids, labels and examples. The one
    change: "Human Explainer" is no technique of the taxonomy, so it is text on its arrow (via_text)."""
    shared = _shared_roadmap(shared_data)
    roadmap = taxonomy.roadmap
    assert roadmap is not None
    assert {i: (n.label, n.example, n.kind) for i, n in roadmap.nodes.items()} == {
        i: (n["label"], n.get("example"), n.get("kind")) for i, n in shared["nodes"].items()}
    assert list(roadmap.nodes) == list(shared["nodes"])
    expected = []
    for source, target, options in shared["edges"]:
        via = [v for v in options.get("via", []) if v != "human_explainer"]
        text = ("Human Explainer",) if "human_explainer" in options.get("via", []) else ()
        expected.append((source, target, tuple(via), text, options.get("condition")))
    assert [(e.source, e.target, e.via, e.via_text, e.condition) for e in roadmap.edges] == expected
    assert "human_explainer" not in taxonomy.by_id  # why it cannot be a `via` id
    assert [(start.label, [n.id for n in steps]) for start, steps in roadmap.flows()] == [
        ("Feature Study", ["feature_study", "targeted_feature_hypothesis", "open_ended_feature_discovery",
                           "observe", "explain", "evaluation"]),
        ("Circuit Study", ["circuit_study", "interpret_lm_behavior", "localization",
                           "explain_circuit_components", "interpret_lm_component", "generate_hypothesis",
                           "validation", "evaluation"]),
    ]


def test_a_file_without_a_roadmap_has_none(tmp_path: Path) -> None:
    assert _load(tmp_path, _BASE).roadmap is None
    assert _load(tmp_path, _BASE + "roadmap:\n").roadmap is None  # an empty block, as YAML reads it


_ROADMAP = """\
roadmap:
  nodes:
    study: {label: Circuit Study, kind: study_type}
    behavior: {label: Interpret a behavior, example: "IOI"}
    validate: {label: Validation}
    done: {label: Evaluation}
  edges:
    - [study, behavior]
    - [behavior, validate, {via: [activation_patching, cma], via_text: [By hand]}]
    - [validate, done, {condition: "Yes", via: [faithfulness]}]
    - [validate, behavior, {condition: "No"}]
"""


def test_a_roadmap_is_read_with_its_steps_in_order(tmp_path: Path) -> None:
    roadmap = _load(tmp_path, _BASE + _ROADMAP).roadmap
    assert roadmap is not None
    ((start, steps),) = roadmap.flows()
    assert start.id == "study" and [n.id for n in steps] == ["study", "behavior", "validate", "done"]
    assert [(e.target, e.via, e.via_text, e.condition) for e in roadmap.outgoing("validate")] == [
        ("done", ("faithfulness",), (), "Yes"), ("behavior", (), (), "No")]
    assert roadmap.outgoing("behavior")[0].via_text == ("By hand",)
    assert roadmap.nodes["behavior"].example == "IOI"


@pytest.mark.parametrize(("old", "new", "expected"), [
    # A via id that is no node: named, with the id it most likely misspells.
    ("via: [activation_patching, cma]", "via: [activation_patchin, cma]",
     "roadmap edge 2 (line 44) via names 'activation_patchin', which is not a node of the taxonomy: "
     "did you mean 'activation_patching'?"),
    ("via: [activation_patching, cma]", "via: [human_explainer]",
     "roadmap edge 2 (line 44) via names 'human_explainer', which is not a node of the taxonomy (a name on "
     "the arrow that is no technique goes under via_text)"),
    ("via: [faithfulness]", "via: [path_patching, qa_newtech, faithfulness, nowhere]",
     "roadmap edge 3 (line 45) via names 'nowhere', which is not a node of the taxonomy"),
    # An edge naming a box the roadmap lacks.
    ("- [validate, done,", "- [validate, dnoe,",
     "roadmap edge 3 (line 45) names 'dnoe', which is not a roadmap node: did you mean 'done'?"),
    ("- [study, behavior]", "- [stduy, behavior]",
     "roadmap edge 1 names 'stduy', which is not a roadmap node: did you mean 'study'?"),
    ("- [study, behavior]", "- [study]", "roadmap edge 1 must be [from, to] or [from, to, {via: [...]}]"),
    ("{condition: \"No\"}", "{condition: \"No\", vias: [cma]}",
     "roadmap edge 4 (line 46) has the unknown key 'vias' at line 46: did you mean 'via'?"),
    ("via_text: [By hand]", "via_text: \"By hand, or not\"",
     "roadmap edge 2 (line 44) via_text 'By hand, or not' is one string with commas"),
    ("{condition: \"No\"}", "{condition: 1}",
     "roadmap edge 4 (line 46) condition must be a non-empty string, not 1"),
    # Boxes.
    ("done: {label: Evaluation}", "done: {lable: Evaluation}",
     "roadmap node 'done' at line 41 has the unknown key 'lable' at line 41: did you mean 'label'?"),
    ("done: {label: Evaluation}", "done: {example: x}", "roadmap node 'done' at line 41 has no label"),
    ("done: {label: Evaluation}", "Done: {label: Evaluation}",
     "id 'Done' of roadmap node at line 41 must be lower-case letters, digits and '_'"),
    ("kind: study_type}", "kind: start}",
     "roadmap node 'study' at line 38 has kind 'start': the one kind is study_type"),
    ("kind: study_type}", "}", "roadmap nodes at line 37 has no node of kind study_type"),
    ("done: {label: Evaluation}", "done: {label: Evaluation}\n    lost: {label: Lost}",
     "roadmap node 'lost' at line 42 is reached from no study_type node, so no flow shows it"),
    ("  edges:\n", "  edge:\n",
     "roadmap (line 37) has the unknown key 'edge' at line 42: did you mean 'edges'?"),
    ("roadmap:\n  nodes:", "roadmap:\n  nodes: [study]\n  old_nodes:",
     "roadmap (line 37) has the unknown key 'old_nodes' at line 38"),
])
def test_a_bad_roadmap_is_refused_in_one_line_naming_the_bad_id(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    with pytest.raises(ValueError) as refused:
        _load(tmp_path, _BASE + _ROADMAP, old, new)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'tax.yaml'}: {expected}"), message


def test_a_roadmap_via_must_be_a_technique_or_criterion(tmp_path: Path) -> None:
    """A via id becomes a link to the node's technique page with its papers: a model or component is no
    step of a method."""
    text = _BASE + "models:\n  - {id: gpt2, label: GPT-2}\n" + _ROADMAP
    with pytest.raises(ValueError, match=r"roadmap edge 2 \(line 46\) via names 'gpt2', which is labelled "
                                         r"Model, not Technique or Evaluation"):
        _load(tmp_path, text, "via: [activation_patching, cma]", "via: [gpt2]")


def test_init_refuses_a_broken_roadmap_in_one_line(data_dir: Path, tmp_path: Path) -> None:
    from kg.cli import main

    path = tmp_path / "tax.yaml"
    path.write_text(_BASE + _ROADMAP.replace("via: [faithfulness]", "via: [faithfulnes]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["init", "--taxonomy", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (f"Error: {path}: roadmap edge 3 (line 45) via names 'faithfulnes', which is not "
                             "a node of the taxonomy: did you mean 'faithfulness'?\n")
    assert not (data_dir / "paperkg.sqlite3").exists()


# -- summaries: what each node is -------------------------------------------------------------------------

def _with_summaries(tmp_path: Path, block: str) -> Path:
    """A minimal taxonomy file with a `summaries:` block given as YAML text."""
    path = tmp_path / "t.yaml"
    path.write_text("techniques:\n  - {id: sae, label: SAE}\n  - {id: probing, label: Probing}\n" + block,
                    encoding="utf-8")
    return path


def test_summaries_are_read_as_one_paragraph(tmp_path: Path) -> None:
    path = _with_summaries(tmp_path, "summaries:\n  sae: >-\n    A sparse\n    dictionary.\n")
    assert load_taxonomy(path).summaries == {"sae": "A sparse dictionary."}
    assert load_taxonomy(_with_summaries(tmp_path, "")).summaries == {}


@pytest.mark.parametrize(("block", "message"), [
    ("summaries:\n  sea: A typo.\n",
     "the summary of 'sea' at line 5: no node has that id (did you mean 'sae'?)"),
    ("summaries:\n  sae: ''\n", "the summary of 'sae' at line 5 must be a non-empty string"),
    ("summaries:\n  sae: [a, b]\n", "the summary of 'sae' at line 5 must be a non-empty string"),
    ("summaries:\n  sae: " + "word " * 130 + "\n",
     "is 649 characters long; it opens the node's page, so keep it to 600"),
    ("summaries: [sae]\n", "summaries must be a mapping of node id to text"),
    ("summaries:\n  Sae: Capitalised.\n", "id 'Sae' of summaries key"),
])
def test_a_wrong_summary_is_refused_with_its_place(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_taxonomy(_with_summaries(tmp_path, block))
