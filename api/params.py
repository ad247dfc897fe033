"""Query-string and JSON-body parameter parsing with named 400 errors and documented limits.

The parsers read `request.args` by default, or any MultiDict given as `args`: the CLI builds one
from its options so that `paperkg search` and `GET /api/search` run the same validation."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import urlencode

from flask import current_app, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError, bad_parameter
from kg.entities import TECHNIQUE_MATCHES, SearchFilters
from kg.schema import RUN_SOURCE_WEEKLY, RUN_SOURCE_WEEKLY_LOAD, Label
from kg.search import MODES, SENTENCE_MODES, normalise_query
from kg.taxonomy import Taxonomy, node_spelt, node_spelt_exactly
from kg.validation import SINCE_RULE, YEAR_MAX, YEAR_MIN, parse_since

MAX_QUERY_CHARS = 1000
# And at most this many bytes as UTF-8 (a CJK character takes 3, an emoji 4): percent-encoded (3
# characters a byte at most) the longest query takes 6,000 of the 8,190 characters gunicorn allows a
# request line (api/gunicorn_conf.py), leaving room for the path and the other parameters, so a query
# the API takes is never refused by gunicorn (an HTML 414) before the app can answer. 2 bytes a
# character (Latin with accents, Greek, Cyrillic) still allows MAX_QUERY_CHARS characters.
MAX_QUERY_BYTES = 2000
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_LIKED = 200
MAX_FILTER_VALUES = 50
MAX_ID_CHARS = 200
SOURCES = ("list", "arxiv", "records")
# The sources an ingest run is recorded under (GET /api/runs?source=): the paper sources, whose commands
# run_ingest records under their names, a weekly run (ingest.weekly.RUN_SOURCE) and the load of the papers
# it keeps (ingest.weekly.LOAD_SOURCE), and a re-extraction of the store (ingest.reextract.REEXTRACT_SOURCE);
# tests/api/test_params.py checks these against ingest.weekly and ingest.reextract.
RUN_SOURCES = (*SOURCES, RUN_SOURCE_WEEKLY, RUN_SOURCE_WEEKLY_LOAD, "reextract")

Args = MultiDict[str, str]


class ParameterError(ApiError):
    """A 400 naming one bad parameter; `name` and `detail` let the CLI word it for its own options.

    A detail that names other parameters gives them as `{name}` fields of `template` and in `others`,
    so that the CLI can name them as its options (`--year-to`) where the API names them `year_to`."""

    def __init__(self, name: str, detail: str, *, others: tuple[str, ...] = ()) -> None:
        self.template = detail
        self.others = others
        detail = self.worded({})
        base = bad_parameter(name, detail)
        super().__init__(base.status, base.message, base.code, fields=base.fields)
        self.name = name
        self.detail = detail

    def worded(self, spelling: Mapping[str, str]) -> str:
        """The detail with the other parameters it names spelt as `spelling` says (default: as is)."""
        if not self.others:
            return self.template  # no fields: the detail may quote user text holding braces
        return self.template.format(**{o: spelling.get(o, o) for o in self.others})


def _args(args: Args | None) -> Args:
    return request.args if args is None else args


def _shown(raw: str) -> str:
    # An empty value is a value (`?limit=`), and a 400 like any other the document does not allow.
    return f"{raw[:40]!r}" if raw else "an empty value"


def str_arg(name: str, default: str | None = None, *, max_chars: int = MAX_ID_CHARS,
            max_bytes: int | None = None, args: Args | None = None) -> str | None:
    """A string argument, at most `max_chars` characters (and `max_bytes` bytes as UTF-8, if given)."""
    value = _args(args).get(name)
    if value is None:
        return default
    if len(value) > max_chars:
        raise ParameterError(name, f"at most {max_chars} characters allowed (got {len(value)})")
    problem = text_problem(value)
    if problem:
        raise ParameterError(name, problem)
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise ParameterError(name, f"at most {max_bytes} bytes as UTF-8 allowed (got "
                                   f"{len(value.encode('utf-8'))}; a character outside ASCII takes 2 to 4, "
                                   "a CJK character 3): shorten it")
    return value


def text_problem(value: str) -> str | None:
    """Why `value` is no text an argument or an id may be (a NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    problem = lone_surrogate(value)
    return f"must be valid Unicode text: {problem}" if problem else None


def lone_surrogate(value: str) -> str | None:
    """Where `value` holds a lone surrogate ("'x\\udcff' holds the lone surrogate '\\udcff' at character
    1"), escaped so the message stays valid text, or None for valid Unicode text.

    JSON may escape half a surrogate pair ("\\udc80"), and the bytes of a command-line argument that
    are not UTF-8 ($'\\xff') reach Python as lone surrogates: text no paper has, that no store, model
    tokenizer or terminal can encode (a traceback, or a crash in the tokenizer, before)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{value[:80]!r} holds the lone surrogate {value[exc.start]!r} at character {exc.start}"
    return None


def list_arg(name: str, *, max_values: int = MAX_FILTER_VALUES, args: Args | None = None) -> list[str]:
    """A repeatable argument (?x=a&x=b, or comma-separated), empty values dropped."""
    values: list[str] = []
    for raw in _args(args).getlist(name):
        if len(raw) > MAX_ID_CHARS * 4:
            raise ParameterError(name, f"at most {MAX_ID_CHARS * 4} characters allowed")
        values += [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > max_values:
        raise ParameterError(name, f"at most {max_values} values allowed (got {len(values)})")
    if any("\x00" in v for v in values):
        raise ParameterError(name, "must not contain NUL characters")
    return list(dict.fromkeys(values))


_INT_RE = re.compile(r"[+-]?[0-9]+")
# More digits than any limit needs: int() of thousands of digits is slow, then refused anyway.
INT_MAX_CHARS = 20


def is_ascii_int(raw: str) -> bool:
    """True when `raw` is an optionally signed run of ASCII digits: int() would also take "1_000",
    " 5 " and other scripts' digits ("２０２０"), which no parameter of the API or the web form does."""
    return _INT_RE.fullmatch(raw) is not None


@overload
def int_arg(name: str, default: int, low: int, high: int, *, args: Args | None = None) -> int: ...
@overload
def int_arg(name: str, default: None, low: int, high: int, *, args: Args | None = None) -> int | None: ...
def int_arg(name: str, default: int | None, low: int, high: int, *, args: Args | None = None) -> int | None:
    """An integer argument within [low, high]; absent: `default` (an empty value is not absent: a 400)."""
    raw = _args(args).get(name)
    if raw is None:
        return default
    if not is_ascii_int(raw):
        raise ParameterError(name, f"must be an integer, not {_shown(raw)}")
    value = int(raw) if len(raw) <= INT_MAX_CHARS else None
    if value is None or not low <= value <= high:
        raise ParameterError(name, f"must be between {low} and {high} (got {raw[:40]})")
    return value


def choice_arg(name: str, default: str, choices: tuple[str, ...], *, args: Args | None = None) -> str:
    """One of a fixed set of values; absent: `default`."""
    value = optional_choice_arg(name, choices, args=args)
    return default if value is None else value


def optional_choice_arg(name: str, choices: tuple[str, ...], *, args: Args | None = None) -> str | None:
    """One of a fixed set of values, in any case (`Keyword` is keyword); absent: None (an empty value is a
    value, and refused)."""
    value = _args(args).get(name)
    if value is None:
        return None
    chosen = choice_of(value, choices)
    if chosen is None:
        raise ParameterError(name, not_a_choice(name, value, choices))
    return chosen


# What a choice parameter's values are, for its 400 ("'fuzzy' is not a search mode"); another parameter
# is named as itself ("'x' is not a value of order").
CHOICE_NOUNS = {"mode": "search mode", "explain": "way to explain",
                "technique_match": "way to match techniques", "sort": "sort order", "source": "source",
                "status": "run status"}


def not_a_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """ "'fuzzy' is not a search mode; use hybrid, semantic or keyword": the value given, quoted and cut
    as every 400 shows one, what it should be and the choices."""
    noun = CHOICE_NOUNS.get(name)
    what = f"{_article(noun)} {noun}" if noun else f"a value of {name}"
    return f"{_shown(value)} is not {what}; use {_either(list(choices))}"


def _article(noun: str) -> str:
    """ "an" before a noun starting with a vowel letter ("an evaluation"), else "a"."""
    return "an" if noun[:1] in ("a", "e", "i", "o", "u") else "a"


def _either(choices: list[str]) -> str:
    """ "a, b or c"; "a"."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def choice_of(value: str, choices: Iterable[str]) -> str | None:
    """The choice `value` names, read without regard to case (the pages label a source "arXiv", a mode
    "Keyword"), as the choice is spelt; None when it names none. Exact first, so choices differing only
    in case (none do) would stay apart."""
    listed = tuple(choices)
    if value in listed:
        return value
    folded = [c for c in listed if c.casefold() == value.casefold()]
    return folded[0] if len(folded) == 1 else None


def bool_arg(name: str, default: bool, *, args: Args | None = None) -> bool:
    """true/false, 1/0, yes/no; absent: `default`."""
    raw = _args(args).get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ParameterError(name, f"{_shown(raw)} is neither true nor false; use true or false")


def since_arg(name: str, default: str, *, args: Args | None = None) -> str:
    """A date (YYYY-MM-DD) or an RFC 3339 timestamp with its offset, as ISO text; `default` when absent.

    kg.validation.parse_since decides (what the OpenAPI document declares, within the years a datetime
    holds), as for the New page and the CLI's --since. Anything else, the empty value included, is a 400."""
    raw = _args(args).get(name)
    if raw is None:
        return default
    try:
        return parse_since(raw).isoformat()  # not stripped: " 2024-01-31" is neither declared format
    except ValueError:
        raise ParameterError(name, f"must be {SINCE_RULE}, not {_shown(raw)}") from None


# Names other APIs give what a parameter here does: a hint, when the operation takes the parameter.
PARAMETER_SYNONYMS = {"query": "q", "page": "offset", "per_page": "limit", "page_size": "limit",
                      "since": "year_from"}
# How alike (difflib's ratio) an unknown parameter name and a declared one must be for "did you mean":
# "year_form" -> year_from is 0.89, "tecnique" -> technique 0.94, while "year" (0.73 to year_to) or
# "sort" (0.6 to source) name none.
PARAMETER_CUTOFF = 0.75
# And differ in length by at most this many characters: a misspelling drops, adds or swaps a letter
# or two, while a name that merely holds a declared one ("utm_source", 0.75 to source; "my_section")
# is another parameter, not a misspelt one.
PARAMETER_LENGTH_SLACK = 2


def check_known_args(declared: Mapping[str, bool], operation: str, args: Args | None = None) -> None:
    """Raise ParameterError for the first parameter the operation does not take, or that it takes once
    and is given more than once: `declared` maps each name it takes to whether it repeats. A misspelt
    name (year_form) was silently ignored, so the answer was not the one asked for."""
    given = _args(args)
    for name in given:
        shown = name[:80]
        if name not in declared:
            raise ParameterError(shown, f"unknown parameter: {_parameter_hint(name, declared, operation)}")
        count = len(given.getlist(name))
        if not declared[name] and count > 1:
            raise ParameterError(shown, f"given {count} times; it takes one value")


def _parameter_hint(name: str, declared: Mapping[str, bool], operation: str) -> str:
    """ "did you mean 'x'? <operation> takes a, b, c" (the guess only when one is close)."""
    takes = f"{operation} takes {', '.join(declared)}" if declared else f"{operation} takes no parameters"
    folded = name.casefold()
    guess = next((d for d in declared if d.casefold() == folded), None) or (
        PARAMETER_SYNONYMS.get(folded) if PARAMETER_SYNONYMS.get(folded) in declared else None)
    if guess is None:
        close = difflib.get_close_matches(folded, list(declared), n=max(len(declared), 1),
                                      cutoff=PARAMETER_CUTOFF)
        guess = next((d for d in close if abs(len(d) - len(folded)) <= PARAMETER_LENGTH_SLACK), None)
    return f"did you mean {guess!r}? {takes}" if guess else takes


# -- search ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchRequest:
    """A validated search: the query, mode, sentence mode, page and filters."""

    query: str
    mode: str
    explain: str
    limit: int
    offset: int
    filters: SearchFilters


def search_request(taxonomy: Taxonomy, section_ids: Callable[[], Iterable[str]],
                   args: Args | None = None) -> SearchRequest:
    """The search parameters (q, mode, explain, limit, offset and filters), validated: the one set
    of rules of both GET /api/search and `paperkg search` (raises ParameterError)."""
    query = str_arg("q", "", max_chars=MAX_QUERY_CHARS, max_bytes=MAX_QUERY_BYTES, args=args) or ""
    mode = choice_arg("mode", "hybrid", MODES, args=args)
    limit = int_arg("limit", 10, 1, MAX_LIMIT, args=args)
    offset = int_arg("offset", 0, 0, MAX_OFFSET, args=args)
    explain = choice_arg("explain", "overlap", SENTENCE_MODES, args=args)
    filters = search_filters(taxonomy, section_ids, args)
    # Empty as search reads it: a query of only a zero-width space or a lone accent asks for nothing, as
    # one of only spaces does (it listed 38 arbitrary papers), and with a filter it lists those papers.
    if not normalise_query(query):
        if filters.is_empty():
            raise ParameterError("q", "give a query or at least one filter")
        query = ""
    return SearchRequest(query=query, mode=mode, explain=explain, limit=limit or 10, offset=offset or 0,
                         filters=filters)


# The graph labels each id filter takes (the web form's selects offer these too).
FILTER_LABELS = {"technique": (Label.TECHNIQUE, Label.EVALUATION), "topic": (Label.TOPIC, Label.OBJECT),
                 "model": (Label.MODEL,), "component": (Label.COMPONENT,)}
# An unknown model or component id's hint lists that filter's ids, at most this many, as well as naming
# the route that lists them all with their counts (GET /api/models, /api/components): a reader of the 400
# sees the likely ids without a second request.
MAX_LISTED_IDS = 30


class FilterIdError(ParameterError):
    """An id a technique, topic, model or component filter does not take, with the fields the web form
    words it from:
    - unknown (`label` None): `suggestion` the id of the filter's kinds it spells or misspells, if any;
    - a node of another label (`label`; `suggestion` None);
    - no id, but the name or alias (or, `close`, a near misspelling) of a node of another label
      ("polysemantic" names the topic polysemanticity): `label` that node's, `suggestion` its id.
    `other_filter` is the filter that takes `label`, None when none does."""

    def __init__(self, name: str, node_id: str, detail: str, *, label: str | None = None,
                 other_filter: str | None = None, suggestion: str | None = None, close: bool = False) -> None:
        super().__init__(name, detail)
        self.node_id = node_id
        self.label = label
        self.other_filter = other_filter
        self.suggestion = suggestion
        self.close = close


def check_filter_ids(taxonomy: Taxonomy, name: str, ids: Iterable[str]) -> None:
    """Raise FilterIdError for the `ids` the `name` filter (a key of FILTER_LABELS) does not take, naming
    every one (at most MAX_NAMED_IDS of them): the one rule of the API, the CLI and the web form. The
    error's fields are the first refused id's."""
    refused = [r for r in (_refused_id(taxonomy, name, node_id) for node_id in ids) if r is not None]
    if not refused:
        return
    first = refused[0]
    detail = first.detail if len(refused) == 1 else _refused_detail(name, refused, _listing(taxonomy, name))
    raise FilterIdError(name, first.node_id, detail, label=first.label, other_filter=first.other_filter,
                        suggestion=first.suggestion, close=first.close)


# A list of refused ids names at most this many of them, then "and N more": a pasted list of 50 would
# bury the ones a reader can fix.
MAX_NAMED_IDS = 10


@dataclass(frozen=True)
class _Refused:
    """One id a filter refused: its message alone, and how a list of them words it (`note`: the hint after
    an unknown id, `other_kind`: the sentence for an id of another kind; FilterIdError's fields)."""

    node_id: str
    detail: str
    note: str = ""
    other_kind: str = ""
    label: str | None = None
    other_filter: str | None = None
    suggestion: str | None = None
    close: bool = False


def _refused_id(taxonomy: Taxonomy, name: str, node_id: str) -> _Refused | None:
    """Why the `name` filter does not take `node_id`, None when it does."""
    allowed = FILTER_LABELS[name]
    node = taxonomy.by_id.get(node_id)
    if node is None:
        listing = _listing(taxonomy, name)
        spelt = node_spelt(taxonomy, node_id, allowed)
        if spelt is None or spelt[0].label in allowed:
            suggestion = spelt[0].id if spelt else None
            return _Refused(node_id, _unknown_detail(name, node_id, listing, suggestion),
                            note=f"did you mean {suggestion!r}?" if suggestion else "",
                            suggestion=suggestion, close=bool(spelt and spelt[1]))
        # The name of a node another filter takes (or none does): say which, as for its id.
        named, close = spelt
        other = _filter_of(named.label)
        kind = f"the {named.label.lower()} {named.id!r}"
        use = f"use the {other} filter" if other else "no filter takes it; search for it by name"
        note = f"did you mean {kind}? {use}" if close else f"it names {kind}: {use}"
        return _Refused(node_id, _unknown_detail(name, node_id, listing, hint=f"{note}; "), note=note,
                        label=named.label, other_filter=other, suggestion=named.id, close=close)
    if node.label in allowed:
        return None
    # A known id of another filter's kind: say which.
    other = _filter_of(node.label)
    # "an evaluation", "an object": the article goes by the label's first sound.
    kind = f"{_article(node.label.lower())} {node.label.lower()}"
    hint = (f"it is {kind}: use the {other} filter" if other else
            f"it is {kind}, which no filter takes; search for it by name")
    sentence = f"{node_id[:80]!r} is not a {name} id ({hint})"
    return _Refused(node_id, sentence, other_kind=sentence, label=node.label, other_filter=other)


def _refused_detail(name: str, refused: list[_Refused], listing: str) -> str:
    """The detail naming several refused ids: "unknown technique ids: 'nope', 'nada' (did you mean 'x'?)
    and 'zz'; see /api/techniques", then a sentence for each id of another kind, at most MAX_NAMED_IDS
    ids in all and "and N more"."""
    named = refused[:MAX_NAMED_IDS]
    more = len(refused) - len(named)
    unknown = [r for r in named if not r.other_kind]
    parts = [r.other_kind for r in named if r.other_kind]
    if len(unknown) == 1 and not more:
        parts.insert(0, unknown[0].detail)
    elif unknown:
        items = [f"{r.node_id[:80]!r}" + (f" ({r.note})" if r.note else "") for r in unknown]
        parts.insert(0, f"unknown {name} ids: {_listed(items, more)}; {listing}")
        more = 0
    if more:
        parts.append(f"and {more} more the {name} filter does not take")
    return "; ".join(parts)


def _listed(items: list[str], more: int = 0) -> str:
    """ "a, b and c"; "a, b and 3 more" when `more` items are left out."""
    if more:
        return f"{', '.join(items)} and {more} more"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _filter_of(label: str) -> str | None:
    """The filter that takes nodes of `label`, None when none does (a taxonomy's other labels)."""
    return next((f for f, labels in FILTER_LABELS.items() if label in labels), None)


def _listing(taxonomy: Taxonomy, name: str) -> str:
    """Where a filter's ids are listed, for its unknown-id hint: /api/techniques lists the technique and
    topic ids, /api/models and /api/components the model and component ids, which the hint names too."""
    if name not in ("model", "component"):
        return "see /api/techniques"
    ids = [n.id for n in taxonomy.nodes if n.label in FILTER_LABELS[name]]
    if not ids:
        return f"the taxonomy has no {name}s"
    shown = ", ".join(ids[:MAX_LISTED_IDS]) + (", ..." if len(ids) > MAX_LISTED_IDS else "")
    return f"see /api/{name}s; the {name} ids are {shown}"


def search_filters(taxonomy: Taxonomy, section_ids: Callable[[], Iterable[str]],
                   args: Args | None = None) -> SearchFilters:
    """The search filters, validated: technique/topic/model/component ids of the right kind, known
    sections, sources, years within range and in order, how the technique ids combine (raises
    ParameterError)."""
    techniques = list_arg("technique", args=args)
    topics = list_arg("topic", args=args)
    models = list_arg("model", args=args)
    components = list_arg("component", args=args)
    sections = list_arg("section", args=args)
    for name, ids in (("technique", techniques), ("topic", topics), ("model", models),
                      ("component", components)):
        check_filter_ids(taxonomy, name, ids)
    if sections:  # listing the sections costs a query, so only when the filter is used
        stored = list(section_ids())
        unknown = unknown_sections(sections, stored)
        if unknown:
            raise ParameterError("section", _unknown_sections_detail(unknown, stored))
    given = list_arg("source", args=args)
    wrong = [value for value in given if choice_of(value, SOURCES) is None]
    if len(wrong) == 1:
        raise ParameterError("source", not_a_choice("source", wrong[0], SOURCES))
    if wrong:  # every one named, as for the id filters
        named = [_shown(value) for value in wrong[:MAX_NAMED_IDS]]
        raise ParameterError("source", f"{_listed(named, len(wrong) - len(named))} are not sources; use "
                                       f"{_either(list(SOURCES))}")
    sources = [source for source in (choice_of(value, SOURCES) for value in given) if source is not None]
    sources = list(dict.fromkeys(sources))  # "arxiv,arXiv" is one source
    year_from = int_arg("year_from", None, YEAR_MIN, YEAR_MAX, args=args)
    year_to = int_arg("year_to", None, YEAR_MIN, YEAR_MAX, args=args)
    if year_from is not None and year_to is not None and year_from > year_to:
        # Values the parser read are digits only: no braces for the template to misread.
        raise ParameterError("year_from", f"{year_from} is after {{year_to}} {year_to}; swap them or widen "
                                          "the range", others=("year_to",))
    return SearchFilters(
        technique_ids=techniques, topic_ids=topics, section_ids=sections, model_ids=models,
        component_ids=components,
        year_from=year_from, year_to=year_to, sources=sources,
        include_refinements=bool_arg("refinements", True, args=args),
        technique_match=choice_arg("technique_match", "any", TECHNIQUE_MATCHES, args=args),
    )


def _unknown_sections_detail(unknown: list[str], stored: list[str]) -> str:
    """ "unknown section id 'x' (did you mean 'y'? see /api/sections)", or for several "unknown section
    ids: 'x' (did you mean 'y'?) and 'z'; see /api/sections" (at most MAX_NAMED_IDS, then "and N more")."""
    if len(unknown) == 1:
        suggestion = section_suggestion(unknown[0], stored)
        return _unknown_detail("section", unknown[0], "see /api/sections", suggestion)
    items = []
    for value in unknown[:MAX_NAMED_IDS]:
        suggestion = section_suggestion(value, stored)
        items.append(f"{value[:80]!r}" + (f" (did you mean {suggestion!r}?)" if suggestion else ""))
    return f"unknown section ids: {_listed(items, len(unknown) - len(items))}; see /api/sections"


# The routes an unknown-id hint sends a reader to ("see /api/techniques", _listing and search_filters):
# another client (the CLI) names its own listing of the ids in their place (listed_by).
_LISTING_ROUTES = re.compile(r"\bsee /api/(?:techniques|models|components|sections)\b")


def listed_by(detail: str, listing: str) -> str:
    """An error detail with each "see /api/<ids>" hint saying "see <listing>" instead (the CLI's
    "see `paperkg filters`"); any other detail unchanged."""
    return _LISTING_ROUTES.sub(lambda _: f"see {listing}", detail)


def _unknown_detail(name: str, value: str, listing: str, suggestion: str | None = None, *,
                    hint: str = "") -> str:
    """ "unknown <name> id '<value>' (<hint><listing>)", the hint "did you mean '<suggestion>'? " if
    not given; `listing` says where the ids are ("see /api/techniques")."""
    hint = hint or (f"did you mean {suggestion!r}? " if suggestion else "")
    return f"unknown {name} id {value[:80]!r} ({hint}{listing})"


def respelt_filter(taxonomy: Taxonomy, name: str, args: Args | None = None) -> list[str] | None:
    """The `name` filter's values (a key of FILTER_LABELS) with each that is no id but spells exactly one
    id, name or alias of a node the filter takes (case, spaces, hyphens and underscores aside: `SAE`,
    `activation-patching`; a renamed id kept as an alias: `knockout` when the node is now `ablation`) as
    that node's id; None when none is so spelt, or the values cannot be read (the view says why).

    The web pages and the feed answer a 301 to the respelt ids, as a reader or a bookmark follows one; the
    JSON API keeps its 400 with the "did you mean" (check_filter_ids)."""
    try:
        values = list_arg(name, args=args)
    except ParameterError:
        return None
    respelt = []
    for value in values:
        node = None if value in taxonomy.by_id else node_spelt_exactly(taxonomy, value, FILTER_LABELS[name])
        respelt.append(node.id if node is not None else value)
    return list(dict.fromkeys(respelt)) if respelt != values else None


def with_query_replacing(endpoint: str, name: str, values: list[str]) -> str:
    """The endpoint's URL with the request's arguments in their order, those of `name` replaced by `values`
    (where the first of them was). Encoded here, not by url_for: a request's `_anchor` or `_external` would
    be url_for's own options."""
    pairs: list[tuple[str, str]] = []
    for key, value in request.args.items(multi=True):
        if key != name:
            pairs.append((key, value))
        elif not any(k == name for k, _ in pairs):
            pairs += [(name, v) for v in values]
    return url_for(endpoint) + "?" + urlencode(pairs)


def unknown_sections(section_ids: list[str], stored: Iterable[str]) -> list[str]:
    """The ids that name no stored list section nor a heading above one (the filter matches both)."""
    known = set(stored)
    return [s for s in section_ids if s not in known and not any(k.startswith(s + "/") for k in known)]


# What a pasted heading path is split at ("/", the web form's "›", " > ") and the "(all)" after a heading.
_HEADING_SEPARATOR = re.compile(r"/|›|\s>\s")
_ALL_SUFFIX = re.compile(r"\s*\(all\)\s*$", re.IGNORECASE)
# Words a heading's slug joins others with, which say nothing of what it is about.
_HEADING_STOP_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "the", "to", "with"})


def section_suggestion(value: str, stored: Iterable[str]) -> str | None:
    """The section id (a stored section's, or a heading's above one: the filter takes both) that an unknown
    `value` most likely means, for its "did you mean"; None when none is close. Ids are slugged heading
    paths (`findings-and-applications/findings-on-circuits`), so a reader guesses the last heading's slug
    (`findings-on-circuits`), its title ("Findings on circuits"), a word of it (`circuits`), another case,
    a trailing slash or the web form's label ("Findings and Applications › Findings on circuits"): each
    is slugged as section ids are and matched whole, by its last heading, by its words, then as a near
    misspelling. Only suggested, never taken: another section may be meant."""
    from ingest.normalize import slugify  # the rule the section ids were made by (section_slug)

    # Shallower ids first: a heading above is the likelier meaning than one of its sub-sections.
    ids = sorted({"/".join(k.split("/")[:n]) for k in stored for n in range(1, k.count("/") + 2)},
                 key=lambda i: (i.count("/"), i))
    # The web form's select shows a section as its headings joined by "›", a heading with "(all)" after
    # it: pasted so, it is the same path ("A › B (all)" is `a/b`); " > " is read as the same separator.
    value = _ALL_SUFFIX.sub("", value)
    parts = [slugify(part, 60) for part in _HEADING_SEPARATOR.split(value) if part.strip()]
    parts = [part for part in parts if part != "untitled"]  # slugify's word for "no words"
    if not ids or not parts:
        return None
    guess = "/".join(parts)
    if guess in ids:
        return guess
    last = {i: i.rsplit("/", 1)[-1] for i in ids}
    # The same last heading; a guess of several headings (`findings-on-circuits/interpreting-lm-behaviors`)
    # by the id ending in all of them first.
    same_last = sorted((i for i in ids if last[i] == parts[-1]), key=lambda i: not i.endswith("/" + guess))
    if same_last:
        return same_last[0]
    words = set(parts[-1].split("-"))
    holding = [i for i in ids if words <= set(last[i].split("-"))]
    if holding:
        # The heading the words say most of (fewest other words, "and", "of" aside), then one starting with
        # them: `applications` is "Applications of MI", not the broad "Findings and Applications" above it.
        def fit(i: str) -> tuple[int, bool]:
            heading = last[i].split("-")
            return len(set(heading) - words - _HEADING_STOP_WORDS), heading[0] not in words
        return min(holding, key=fit)
    near = difflib.get_close_matches(parts[-1], list(dict.fromkeys(last.values())), n=1, cutoff=0.8)
    return next((i for i in ids if last[i] == near[0]), None) if near else None


# -- JSON bodies -------------------------------------------------------------------------------------
def json_body() -> dict[str, Any]:
    """The request's JSON object body: 415 unless application/json, 413 over MAX_CONTENT_LENGTH (chunked
    uploads too), 400 when malformed (deep nesting included) or not an object."""
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    raw = _body_bytes()
    try:
        data = current_app.json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than the parser goes
        raise ApiError(400, "request body is not valid JSON", "malformed_json") from None
    if not isinstance(data, dict):  # `null`, a list, a number: valid JSON, but not the object asked for
        raise ApiError(400, "the request body must be a JSON object", "bad_request")
    return data


def _body_bytes() -> bytes:
    """The request body; a RequestEntityTooLarge (413) when it is longer than MAX_CONTENT_LENGTH."""
    limit = request.max_content_length
    if limit is None or request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data()  # werkzeug refuses a Content-Length over the limit up front
    # A chunked upload declares no length, and werkzeug's limited stream then ends silently at the
    # limit (a cut-off body read as malformed JSON): read one byte past it from the server's stream.
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def check_ids(name: str, values: list[str], *, max_items: int = MAX_LIKED) -> list[str]:
    """Paper ids as every list of them is checked (a JSON body's list, a repeated query parameter): at
    most `max_items`, each 1 to MAX_ID_CHARS characters of valid Unicode text without NUL, else a 400
    naming `name`; duplicates dropped, the first kept."""
    if len(values) > max_items:
        raise bad_parameter(name, f"at most {max_items} ids allowed (got {len(values)})")
    for v in values:
        if not 1 <= len(v) <= MAX_ID_CHARS:
            raise bad_parameter(name, f"ids must be non-empty strings of at most {MAX_ID_CHARS} characters")
        # No paper id holds a control character (kg.validation.PAPER_ID) or a lone surrogate (no store can
        # encode it to look it up), and every query parameter refuses both: one rule, whether the ids come
        # in a query or a JSON body.
        problem = text_problem(v)
        if problem:
            raise bad_parameter(name, f"ids {problem}")
    return list(dict.fromkeys(values))


def id_list(body: dict[str, Any], name: str, *, required: bool, max_items: int = MAX_LIKED) -> list[str]:
    """A list of paper id strings from a JSON body, checked by check_ids."""
    if name not in body:
        if required:
            raise bad_parameter(name, "is required (a list of paper ids)")
        return []
    value = body[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        # null is rejected like any other non-list: the document does not declare it nullable.
        suffix = ", not null" if value is None else ""
        raise bad_parameter(name, f"must be a list of paper id strings{suffix}")
    return check_ids(name, value, max_items=max_items)
