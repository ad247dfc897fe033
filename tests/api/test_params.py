"""api/params.py: the JSON-body id lists of /api/recommend (liked, disliked) and the search filters' value
lists at their limits, and the text rules search parameters share with them."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from api.errors import ApiError
from api.params import (
    MAX_FILTER_VALUES,
    MAX_ID_CHARS,
    MAX_LIKED,
    MAX_QUERY_BYTES,
    MAX_QUERY_CHARS,
    FilterIdError,
    ParameterError,
    check_filter_ids,
    check_known_args,
    choice_arg,
    id_list,
    list_arg,
    optional_choice_arg,
    search_request,
)
from kg.taxonomy import Taxonomy


def _ids(n: int) -> list[str]:
    return [f"2401.{i:05d}" for i in range(n)]


def test_exactly_the_limit_of_liked_ids_is_accepted_one_more_is_refused() -> None:
    assert MAX_LIKED == 200  # the maxItems the OpenAPI document declares for liked and disliked
    assert id_list({"liked": _ids(MAX_LIKED)}, "liked", required=True) == _ids(MAX_LIKED)
    with pytest.raises(ApiError) as refused:
        id_list({"liked": _ids(MAX_LIKED + 1)}, "liked", required=True)
    assert (refused.value.status, refused.value.code) == (400, "bad_parameter")
    assert refused.value.message == "parameter 'liked': at most 200 ids allowed (got 201)"


@pytest.mark.parametrize("bad", ["", "x" * (MAX_ID_CHARS + 1)])
def test_an_empty_or_over_long_id_is_refused(bad: str) -> None:
    with pytest.raises(ApiError) as refused:
        id_list({"disliked": ["2211.00593", bad]}, "disliked", required=False)
    assert refused.value.status == 400
    assert refused.value.message == (f"parameter 'disliked': ids must be non-empty strings of at most "
                                     f"{MAX_ID_CHARS} characters")


def test_ids_of_one_and_of_the_limit_length_are_kept_once_each_in_order() -> None:
    longest = "x" * MAX_ID_CHARS
    assert id_list({"liked": ["b", longest, "b", "a"]}, "liked", required=True) == ["b", longest, "a"]
    assert id_list({}, "disliked", required=False) == []
    with pytest.raises(ApiError, match="parameter 'liked': is required"):
        id_list({}, "liked", required=True)


def test_exactly_the_limit_of_filter_values_is_accepted_one_more_is_refused() -> None:
    """A filter takes MAX_FILTER_VALUES values, however they are split over repeated arguments."""
    values = [f"t{i}" for i in range(MAX_FILTER_VALUES)]
    half = MAX_FILTER_VALUES // 2
    args = MultiDict([("technique", ",".join(values[:half])), ("technique", ",".join(values[half:]))])
    assert list_arg("technique", args=args) == values
    args.add("technique", "one_more")
    with pytest.raises(ParameterError) as refused:
        list_arg("technique", args=args)
    assert refused.value.detail == f"at most {MAX_FILTER_VALUES} values allowed (got {MAX_FILTER_VALUES + 1})"


# -- QA: a search query holding a lone surrogate (`paperkg search $'circuit \xff\xfe'`) ----------------
@pytest.mark.parametrize(("query", "detail"), [
    ("circuit \udcff\udcfe", "must be valid Unicode text: 'circuit \\udcff\\udcfe' holds the lone surrogate "
                            "'\\udcff' at character 8"),
    ("\ud800", "must be valid Unicode text: '\\ud800' holds the lone surrogate '\\ud800' at character 0"),
])
def test_a_query_with_a_lone_surrogate_is_refused_by_the_rule_of_recommend_ids(
    taxonomy: Taxonomy, query: str, detail: str
) -> None:
    """The bytes of a command-line argument that are not UTF-8 reach Python as lone surrogates; such a
    query went on to the model's tokenizer, which crashed on it. The rule /api/recommend applies to ids."""
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, list, MultiDict([("q", query), ("mode", "keyword")]))
    assert (refused.value.name, refused.value.detail) == ("q", detail)
    assert refused.value.message == f"parameter 'q': {detail}"
    with pytest.raises(ApiError, match="valid Unicode text: '\\\\ud800' holds the lone surrogate"):
        id_list({"liked": ["\ud800"]}, "liked", required=True)
    # A whole pair, an emoji, is text.
    emoji = "circuit \U0001f642"
    assert search_request(taxonomy, list, MultiDict([("q", emoji)])).query == emoji


# -- QA: a query within 1,000 characters got gunicorn's HTML 414 (460 CJK characters, 9 a character) ---
def test_a_query_is_capped_by_its_utf8_bytes_too(taxonomy: Taxonomy) -> None:
    """MAX_QUERY_BYTES keeps the percent-encoded query inside gunicorn's request line: exactly that many
    bytes are taken, one more is a 400 saying what counts; 2-byte text may still use every character."""
    assert MAX_QUERY_BYTES == 2000  # the limit the OpenAPI document and the README state
    longest = "\u4e00" * (MAX_QUERY_BYTES // 3) + "!" * (MAX_QUERY_BYTES % 3)  # 666 CJK, 2000 bytes
    assert len(longest.encode("utf-8")) == MAX_QUERY_BYTES
    assert search_request(taxonomy, list, MultiDict([("q", longest)])).query == longest
    accented = "\u00ef" * MAX_QUERY_CHARS  # 2 bytes a character: all MAX_QUERY_CHARS of them fit
    assert search_request(taxonomy, list, MultiDict([("q", accented)])).query == accented
    for over in (longest + "!", "\u4e00" * (MAX_QUERY_BYTES // 3 + 1), "\U0001f642" * 501):
        with pytest.raises(ParameterError) as refused:
            search_request(taxonomy, list, MultiDict([("q", over)]))
        size = len(over.encode("utf-8"))
        assert refused.value.message == (
            f"parameter 'q': at most {MAX_QUERY_BYTES} bytes as UTF-8 allowed (got {size}; a character "
            "outside ASCII takes 2 to 4, a CJK character 3): shorten it"), size


def test_a_detail_naming_another_parameter_names_it_as_the_caller_spells_it(taxonomy: Taxonomy) -> None:
    """The API says year_to, the CLI --year-to: one rule, each its own names."""
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, list, MultiDict([("q", "x"), ("year_from", "2025"), ("year_to", "2020")]))
    # Copy edit: "must not be after year_to" showed neither year, nor what to do.
    assert refused.value.detail == "2025 is after year_to 2020; swap them or widen the range"
    assert refused.value.worded({"year_to": "--year-to"}) == ("2025 is after --year-to 2020; swap them or "
                                                              "widen the range")
    # A detail quoting what was given is never read as a template: its braces stay.
    braces = ParameterError("technique", "unknown technique id '{x}'")
    assert braces.worded({"x": "y"}) == "unknown technique id '{x}'"


def test_run_sources_are_the_sources_ingests_record_runs_under() -> None:
    """GET /api/runs refuses any other source: a source an ingest records must be one of them."""
    from api.params import RUN_SOURCES, SOURCES
    from ingest.reextract import REEXTRACT_SOURCE
    from ingest.weekly import LOAD_SOURCE, RUN_SOURCE

    assert (*SOURCES, RUN_SOURCE, LOAD_SOURCE, REEXTRACT_SOURCE) == RUN_SOURCES


def test_an_optional_choice_is_none_when_absent_and_refused_when_empty_or_unknown() -> None:
    """GET /api/runs?source= and ?sort= share one rule: absent is None (or the default), a listed value
    is kept, and any other value, an empty one included, is a 400 naming the parameter and the choices."""
    choices = ("list", "arxiv-weekly")
    assert optional_choice_arg("source", choices, args=MultiDict()) is None
    assert choice_arg("source", "list", choices, args=MultiDict()) == "list"
    given = MultiDict([("source", "arxiv-weekly")])
    assert optional_choice_arg("source", choices, args=given) == "arxiv-weekly"
    assert choice_arg("source", "list", choices, args=given) == "arxiv-weekly"
    for bad in ("", "arxiv_weekly", "Lists"):  # "List" is list: choices are read in any case
        for parse in (lambda a: optional_choice_arg("source", choices, args=a),
                      lambda a: choice_arg("source", "list", choices, args=a)):
            with pytest.raises(ParameterError) as refused:
                parse(MultiDict([("source", bad)]))
            assert (refused.value.status, refused.value.name) == (400, "source")
            shown = repr(bad) if bad else "an empty value"
            assert refused.value.message == (f"parameter 'source': {shown} is not a source; use list or "
                                             "arxiv-weekly"), bad


@pytest.mark.parametrize(("name", "node_id", "hint"), [
    ("topic", "intrinsic_evaluation", "it is an evaluation: use the technique filter"),
    ("technique", "features", "it is an object: use the topic filter"),
    ("technique", "superposition", "it is a topic: use the topic filter"),
    ("topic", "gpt2", "it is a model: use the model filter"),
    # QA: a component id was refused by every filter ("which no filter takes; search for it by name").
    ("model", "induction_head", "it is a component: use the component filter"),
    ("topic", "induction_head", "it is a component: use the component filter"),
    ("component", "gpt2", "it is a model: use the model filter"),
])
def test_an_id_of_another_kind_is_named_with_the_article_of_its_kind(
    taxonomy: Taxonomy, name: str, node_id: str, hint: str
) -> None:
    """QA: "it is a evaluation", "it is a object": "an" before a vowel sound."""
    with pytest.raises(FilterIdError) as refused:
        check_filter_ids(taxonomy, name, [node_id])
    assert refused.value.detail == f"{node_id!r} is not a {name} id ({hint})"


@pytest.mark.parametrize(("name", "value", "hint"), [
    # A misspelt id gets the id it nearly spells (QA: "logit_len", "activaton_patching" got no hint).
    ("technique", "logit_len", "did you mean 'logit_lens'? "),
    ("technique", "activaton_patching", "did you mean 'activation_patching'? "),
    ("topic", "superpositon", "did you mean 'superposition'? "),
    # The alias of a topic given to the technique filter says so, as the topic's id does
    # (QA: "polysemantic" got no hint where "superposition" did).
    ("technique", "polysemantic", "it names the topic 'polysemanticity': use the topic filter; "),
    ("technique", "superpositon", "did you mean the topic 'superposition'? use the topic filter; "),
    ("topic", "logit_len", "did you mean the technique 'logit_lens'? use the technique filter; "),
    ("topic", "GPT-2", "it names the model 'gpt2': use the model filter; "),
    # Nothing close: no guess.
    ("technique", "nope", ""),
    ("topic", "no_such_topic", ""),
    ("technique", "x", ""),
])
def test_an_unknown_filter_id_suggests_what_it_nearly_spells(
    taxonomy: Taxonomy, name: str, value: str, hint: str
) -> None:
    with pytest.raises(FilterIdError) as refused:
        check_filter_ids(taxonomy, name, [value])
    assert refused.value.detail == f"unknown {name} id {value!r} ({hint}see /api/techniques)"
    assert refused.value.message == f"parameter '{name}': {refused.value.detail}"


def test_technique_match_is_any_by_default_all_when_asked_and_refused_otherwise(taxonomy: Taxonomy) -> None:
    """How several technique ids combine: any (the union, as before) or all (papers using each); any other
    value, the empty one included, is a 400 naming the parameter and its allowed values."""
    techniques = [("technique", "sae"), ("technique", "activation_patching")]
    default = search_request(taxonomy, list, MultiDict(techniques)).filters
    assert (default.technique_ids, default.technique_match) == (["sae", "activation_patching"], "any")
    for value in ("any", "all"):
        given = MultiDict([*techniques, ("technique_match", value)])
        assert search_request(taxonomy, list, given).filters.technique_match == value
    for bad in ("", "every", "ALLL", "all,any", "any\x00"):  # "ALL" is all: read in any case
        with pytest.raises(ParameterError) as refused:
            search_request(taxonomy, list, MultiDict([*techniques, ("technique_match", bad)]))
        assert (refused.value.status, refused.value.name) == (400, "technique_match"), bad
        shown = repr(bad) if bad else "an empty value"
        assert refused.value.message == (f"parameter 'technique_match': {shown} is not a way to match "
                                         "techniques; use any or all"), bad


def test_technique_match_alone_is_not_a_filter(taxonomy: Taxonomy) -> None:
    """Like refinements, it only says how the technique filter combines: with nothing else it is no search."""
    with pytest.raises(ParameterError) as refused:
        search_request(taxonomy, list, MultiDict([("technique_match", "all")]))
    assert refused.value.name == "q"
    kept = search_request(taxonomy, list, MultiDict([("technique_match", "all"), ("year_from", "2020")]))
    assert kept.filters.technique_match == "all" and kept.filters.technique_ids == []


# -- the model filter ----------------------------------------------------------------------------------
def test_the_model_filter_takes_model_ids(taxonomy: Taxonomy) -> None:
    """`model` (repeatable, comma-separated too) reaches SearchFilters.model_ids, and is a filter alone."""
    filters = search_request(taxonomy, list, MultiDict([("model", "gpt2,pythia"), ("model", "gpt2")])).filters
    assert filters.model_ids == ["gpt2", "pythia"] and not filters.is_empty()


# -- the component filter ------------------------------------------------------------------------------
def test_the_component_filter_takes_component_ids(taxonomy: Taxonomy) -> None:
    """`component` (repeatable, comma-separated too) reaches SearchFilters.component_ids, and is a filter
    alone."""
    filters = search_request(taxonomy, list, MultiDict([("component", "induction_head,ff"),
                                                        ("component", "ff")])).filters
    assert filters.component_ids == ["induction_head", "ff"] and not filters.is_empty()


# The model and component filters (nodes without a page): a wrong id gets the hints of the other filters.
MODEL, COMPONENT = "Model", "Component"


@pytest.mark.parametrize(("label", "args", "detail"), [
    # A model's name or alias for its id, a misspelt id: the id meant.
    (MODEL, [("model", "GPT-2")],
     "unknown model id 'GPT-2' (did you mean 'gpt2'? see /api/models; the model ids are {ids})"),
    (MODEL, [("model", "pythia_")],
     "unknown model id 'pythia_' (did you mean 'pythia'? see /api/models; the model ids are {ids})"),
    (MODEL, [("model", "nope")], "unknown model id 'nope' (see /api/models; the model ids are {ids})"),
    # An id of another kind names the filter that takes it, both ways.
    (MODEL, [("model", "sae")], "'sae' is not a model id (it is a technique: use the technique filter)"),
    (MODEL, [("model", "superposition")],
     "'superposition' is not a model id (it is a topic: use the topic filter)"),
    (MODEL, [("technique", "gpt2")], "'gpt2' is not a technique id (it is a model: use the model filter)"),
    (MODEL, [("topic", "Pythia")],
     "unknown topic id 'Pythia' (it names the model 'pythia': use the model filter; see /api/techniques)"),
    # A component's name or alias for its id, a misspelt id: the id meant.
    (COMPONENT, [("component", "induction heads")],
     "unknown component id 'induction heads' (did you mean 'induction_head'? see /api/components; "
     "the component ids are {ids})"),
    (COMPONENT, [("component", "induction_heads")],
     "unknown component id 'induction_heads' (did you mean 'induction_head'? see /api/components; "
     "the component ids are {ids})"),
    (COMPONENT, [("component", "nope")],
     "unknown component id 'nope' (see /api/components; the component ids are {ids})"),
    # An id of another kind names the filter that takes it, both ways.
    (COMPONENT, [("component", "sae")],
     "'sae' is not a component id (it is a technique: use the technique filter)"),
    (COMPONENT, [("component", "lm_components")],
     "'lm_components' is not a component id (it is a topic: use the topic filter)"),
    (COMPONENT, [("technique", "name_mover_head")],
     "'name_mover_head' is not a technique id (it is a component: use the component filter)"),
    (COMPONENT, [("topic", "Induction head")],
     "unknown topic id 'Induction head' (it names the component 'induction_head': use the component filter; "
     "see /api/techniques)"),
])
def test_a_model_or_component_filter_id_is_checked_with_the_hints_of_the_other_filters(
    taxonomy: Taxonomy, label: str, args: list[tuple[str, str]], detail: str
) -> None:
    ids = ", ".join(n.id for n in taxonomy.nodes if n.label == label)
    with pytest.raises(FilterIdError) as refused:
        search_request(taxonomy, list, MultiDict(args))
    assert refused.value.detail == detail.format(ids=ids)
    assert (refused.value.status, refused.value.name) == (400, args[0][0])
    assert refused.value.fields == {"parameter": args[0][0]}


# -- unknown and repeated parameters -------------------------------------------------------------------
SEARCH_DECLARED = {"q": False, "technique": True, "year_from": False, "year_to": False, "limit": False,
                   "offset": False, "section": True}


@pytest.mark.parametrize(("args", "name", "detail"), [
    ([("q", "sae"), ("year_form", "2030")], "year_form",
     "unknown parameter: did you mean 'year_from'? GET /api/search takes q, technique, year_from, year_to, "
     "limit, offset, section"),
    ([("tecnique", "nope")], "tecnique", "unknown parameter: did you mean 'technique'? GET /api/search "
                                         "takes q, technique, year_from, year_to, limit, offset, section"),
    ([("page", "2")], "page", "unknown parameter: did you mean 'offset'? GET /api/search takes q, "
                              "technique, year_from, year_to, limit, offset, section"),
    ([("since", "2030-01-01")], "since", "unknown parameter: did you mean 'year_from'? GET /api/search "
                                         "takes q, technique, year_from, year_to, limit, offset, section"),
    ([("Q", "sae")], "Q", "unknown parameter: did you mean 'q'? GET /api/search takes q, technique, "
                          "year_from, year_to, limit, offset, section"),
    ([("sort", "date")], "sort", "unknown parameter: GET /api/search takes q, technique, year_from, "
                                 "year_to, limit, offset, section"),
    # A name that merely holds a declared one is another parameter, not a misspelling of it (it was
    # "did you mean 'section'?", as utm_source was "did you mean 'source'?").
    ([("my_section", "x")], "my_section", "unknown parameter: GET /api/search takes q, technique, "
                                          "year_from, year_to, limit, offset, section"),
    ([("sectionss", "x")], "sectionss", "unknown parameter: did you mean 'section'? GET /api/search "
                                        "takes q, technique, year_from, year_to, limit, offset, section"),
    ([("limit", "5"), ("limit", "7")], "limit", "given 2 times; it takes one value"),
])
def test_a_parameter_the_operation_does_not_take_is_a_named_400(
    args: list[tuple[str, str]], name: str, detail: str
) -> None:
    """QA: ?year_form=2030, ?tecnique=nope, ?since=, ?page=2, ?sort=date were ignored (200, unfiltered),
    and limit=5&limit=7 used 5 without a word."""
    with pytest.raises(ParameterError) as refused:
        check_known_args(SEARCH_DECLARED, "GET /api/search", MultiDict(args))
    assert (refused.value.status, refused.value.code, refused.value.name) == (400, "bad_parameter", name)
    assert refused.value.detail == detail
    assert refused.value.fields == {"parameter": name}


def test_declared_parameters_pass_and_repeatable_ones_repeat() -> None:
    check_known_args(SEARCH_DECLARED, "GET /api/search",
                     MultiDict([("q", "x"), ("technique", "a"), ("technique", "b"), ("section", "s")]))
    check_known_args({}, "GET /api/stats", MultiDict())
    with pytest.raises(ParameterError) as refused:
        check_known_args({}, "GET /api/stats", MultiDict([("x" * 100, "1")]))
    assert refused.value.name == "x" * 80
    assert refused.value.detail == "unknown parameter: GET /api/stats takes no parameters"


@pytest.mark.parametrize(("name", "guess"), [
    ("utm_source", None), ("my_source", None), ("source_list", None), ("sources", "source"),
    ("sourse", "source"), ("year_form", "year_from"), ("tecnique", "technique"),
])
def test_the_hint_guesses_a_misspelling_not_a_name_holding_a_declared_one(
    name: str, guess: str | None,
) -> None:
    """?utm_source=x was told "did you mean 'source'?": the guess differs by 2 characters at most."""
    declared = {"q": False, "source": True, "technique": True, "year_from": False}
    with pytest.raises(ParameterError) as refused:
        check_known_args(declared, "GET /api/search", MultiDict([(name, "x")]))
    hint = f"did you mean {guess!r}? " if guess else ""
    takes = "GET /api/search takes q, source, technique, year_from"
    assert refused.value.detail == f"unknown parameter: {hint}{takes}"
