"""What every GraphStore backend shares: bundle validation, change fingerprints, edge dedupe,
time and key helpers, and keyword-query tokenising. Both backends import it, so they accept,
reject and normalise input identically (tests/kg/test_store_contract.py checks the outcome)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import itertools
import json
import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from kg.entities import EvaluationUse, IngestRun, ListRow, Paper, PaperBundle, TechniqueUse
from kg.publishers import host_organisation, hosts_rule
from kg.safe_output import BIDI_CONTROLS
from kg.schema import EDGE_SOURCES, EMBEDDING_DIM, RELATIONSHIPS, Label, Rel

# Labels a finding may be ABOUT.
ABOUT_LABELS: tuple[str, ...] = RELATIONSHIPS[Rel.ABOUT].end
# Labels papers_by_technique / papers_per_year / cooccurring_techniques accept.
BROWSABLE_LABELS: tuple[str, ...] = (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT)
# Labels reached through findings ABOUT them or list sections named after them (the topic rule).
TOPIC_LABELS: tuple[str, ...] = (Label.TOPIC, Label.OBJECT)
SORTS = ("date", "centrality")
# The years a paper may carry and a year filter may name (records import, API, web form, CLI).
YEAR_MIN, YEAR_MAX = 1900, 2100
RUN_STATUSES = ("running", "succeeded", "failed")
# Bounds the work a pasted 10 KB query can cause; 64 distinct words is plenty for ranking.
MAX_QUERY_TOKENS = 64
# Keyword search weighs a match by where it is (title, abstract, authors, venue): one in the title counts
# more than one in the abstract. Both stores rank with these (the embedded bm25() column weights,
# Neo4j's per-property boosts), so their orders agree. The venue (with the organisation its URL's host
# names, venue_search_text) weighs as the abstract, below title and authors; it is looked for only with a
# short query's rarer words (venue_query, venue_word_limit), so it finds a lab's or a venue's papers
# ("Anthropic", "Redwood Research": 0.5 ranked Causal Scrubbing below abstracts saying "research").
KEYWORD_FIELD_WEIGHTS: tuple[float, float, float, float] = (5.0, 1.0, 2.0, 1.0)
_WORD = re.compile(r"\w+", re.UNICODE)
# Very common words are dropped from keyword queries when other words remain: OR-ing "the"
# would rank every document in the corpus.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it",
    "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "we", "with", "our", "via",
    "can", "do", "does", "how", "what", "which", "who", "why", "us",
    # A citation's "Olah et al.": every abstract citing anyone has them.
    "et", "al",
))

Prepared = tuple[PaperBundle, np.ndarray | None, str]

# -- imported paper text: size limits, identifiers, control characters ----------------------------
# Limits on the text of one paper, whatever its source (records file, arXiv, the list). arXiv caps
# abstracts at 1,920 characters and titles are well under 300; journals and blogs run longer, so
# the caps leave a 5-10x margin for real papers while bounding what one record costs: extraction,
# embedding and search explanations scale with the text (a 900 K abstract made explanations take
# 55 s), and spaCy refuses a text over 1,000,000 characters outright.
MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
# The longest real author lists are ~5,100 names (ATLAS + CMS); each name becomes an Author node.
MAX_AUTHORS = 10_000
MAX_AUTHOR_CHARS = 300  # real names (even "The ... Collaboration") are far shorter
# Every other text value (venue, DOI, URLs, categories, a list row's cells and TL;DR): a browser
# URL is practically limited to ~2,000 characters, and no cell of the list comes near it.
MAX_TEXT_CHARS = 2_000
# A paper id appears in URLs (/papers/<id>); slugs are at most 80 characters, arXiv ids ~20.
MAX_ID_CHARS = 200

# arXiv identifiers (https://info.arxiv.org/help/arxiv_identifier.html), without version: new style
# YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015-), and old style archive[.SUBJECT-CLASS]/YYMMNNN such
# as hep-th/9901001 or math.GT/0309136. [0-9], not \d: \d also matches other scripts' digits.
ARXIV_NEW_STYLE = r"[0-9]{4}\.[0-9]{4,5}"
ARXIV_OLD_STYLE = r"[a-z]+(?:[.-][a-z]+)*/[0-9]{7}"
# An arXiv id as a records file may give it: optional "arXiv:" prefix and version (vN).
ARXIV_ID = re.compile(rf"(?:arxiv:)?(?:{ARXIV_NEW_STYLE}|{ARXIV_OLD_STYLE})(?:v[0-9]+)?", re.IGNORECASE)
# A paper id given by a records file: URL-safe characters only, as slugs and arXiv ids are, and at
# most one "/" (old-style arXiv ids have one). Each segment starts with a letter or digit, so there
# is no "." or ".." path segment, no "//" and no leading "-" or ":", and no control character.
PAPER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*(?:/[A-Za-z0-9][A-Za-z0-9._:-]*)?")


def _shown(value: str, limit: int = 60) -> str:
    """A value for an error message: repr (control characters escaped) of at most `limit` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def check_arxiv_id(value: str, name: str = "arxiv_id") -> str:
    """`value` if it is an arXiv id (new or old style, optional arXiv: prefix and vN), else ValueError."""
    if len(value) > MAX_ID_CHARS or not ARXIV_ID.fullmatch(value):
        raise ValueError(f"'{name}' must be an arXiv id such as 2211.00593, 2211.00593v2 or "
                         f"hep-th/9901001, not {_shown(value)}")
    return value


def check_paper_id(value: str, name: str = "id") -> str:
    """`value` if it is a URL-safe paper id (see PAPER_ID, at most MAX_ID_CHARS), else ValueError."""
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"'{name}' is {len(value)} characters long (the limit is {MAX_ID_CHARS})")
    if not PAPER_ID.fullmatch(value):
        raise ValueError(f"'{name}' must be letters, digits and . _ - : with at most one '/' between "
                         f"two parts, each starting with a letter or digit, not {_shown(value)}")
    return value


def check_length(value: str, name: str, limit: int) -> str:
    """`value` unless it is longer than `limit` characters (ValueError naming the field)."""
    if len(value) > limit:
        raise ValueError(f"'{name}' is {len(value)} characters long (the limit is {limit})")
    return value


def check_url(value: str, name: str) -> str:
    """`value` unless it is a URL that cannot be parsed (ValueError naming the field): a host in brackets
    that is no IP address ("https://x[evil]/", what "https://x\\x1b[evil]/" is once clean_text removed
    its ESC) made every page showing its link, and matching list rows by their links, raise. Give it
    the text as cleaned (clean_text), the form the store keeps."""
    try:
        urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"'{name}' is not a valid URL ({exc}): {_shown(value)}") from None
    return value


def check_author_length(value: str, index: int) -> str:
    """`value` unless the author name is longer than MAX_AUTHOR_CHARS (ValueError naming the author by its
    place, 1-based: the field's length is not what is too long)."""
    if len(value) > MAX_AUTHOR_CHARS:
        raise ValueError(f"author {index} of 'authors' is {len(value)} characters long "
                         f"(the limit is {MAX_AUTHOR_CHARS})")
    return value


def check_utf8(value: str, name: str) -> str:
    """`value` unless it holds a lone surrogate (from JSON "\\udc80"), which cannot be stored as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"'{name}' is not valid Unicode text (lone surrogate "
                         f"{value[exc.start]!r} at character {exc.start})") from None
    return value


# Characters removed from imported text (clean_text): C0 controls but tab and newline, DEL, C1
# controls, and the bidirectional embedding/override (U+202A-U+202E) and isolate (U+2066-U+2069)
# controls. NUL and ESC sequences reach terminals and HTML as they are, and an unterminated RTL
# override reverses everything after it on the line (an author name turning a whole result line).
# LRM/RLM (U+200E/U+200F) and ordinary right-to-left letters are text and stay.
_CONTROL = re.compile(f"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f{BIDI_CONTROLS}]")
# Controls that Python (and readers) treat as whitespace become a space, so words stay apart; CR
# and CR LF become a newline (a bare CR would make a terminal overwrite the line).
_SPACE_CONTROL = re.compile("[\x0b\x0c\x1c-\x1f\x85]")


# Invisible format characters (Unicode category Cf) that only join or break what is around them: soft
# hyphen, Mongolian vowel separator, zero-width space / non-joiner / joiner, word joiner and the invisible
# operators, deprecated format controls, BOM (zero-width no-break space), interlinear annotation marks,
# shorthand and musical format controls, tag characters. "acti\u200bvation" is the word "activation" and
# "Ilya Sutskever\u200b" the name "Ilya Sutskever". The Cf characters that stay: LRM/RLM/ALM (direction
# marks of right-to-left text), and the visible prepended signs of Arabic, Syriac, Kaithi and Egyptian.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u180e\u200b-\u200d\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
# Spaces other than " " (Unicode category Zs: no-break, thin, em, ideographic ...): a plain space, so a
# word after a no-break space is a word of its own to extraction and search.
OTHER_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def strip_format_characters(text: str) -> str:
    """`text` without the invisible format characters above (zero-width space, soft hyphen, BOM ...)."""
    return text if text.isascii() else FORMAT_CHARACTERS.sub("", text)


def nfc(text: str) -> str:
    """`text` in Unicode normal form C (composed): "o" + U+0308 is "ö", as a keyboard types it."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def clean_text(text: str) -> str:
    """Imported text without control characters (tab and newline kept), bidi embedding/override/isolate
    or invisible format characters (zero-width space ...), other spaces as " ", in Unicode NFC.

    Removed rather than rejected: they carry no meaning in a title, abstract or author name, come in
    through copy-paste and PDF extraction of real papers, and a paper should not be lost over them.
    NFC, so a decomposed "Gödel" (macOS file names, some PDFs) is the same name and word as a typed one.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _SPACE_CONTROL.sub(" ", text))
    if text.isascii():
        return text
    return nfc(FORMAT_CHARACTERS.sub("", OTHER_SPACES.sub(" ", text)))


def now() -> str:
    """The current UTC time as the stored ISO timestamp (microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# The one rule for a `since` value: GET /api/new and /feeds/new.atom, the New page, the CLI's --since
# and the stores all take it through parse_since. It is what the OpenAPI document declares, a date or
# an RFC 3339 timestamp with seconds and a UTC offset (a naive time is a different moment on each
# machine), whose moment in UTC a datetime can hold: valid RFC 3339 such as 0001-01-01T00:00:00+00:01
# lies just outside, and converting it to UTC raised OverflowError (a 500, and CLI tracebacks).
SINCE_RULE = ("a date like 2024-01-31 or an RFC 3339 timestamp like 2024-01-31T12:00:00Z, "
              "from 0001-01-01 to 9999-12-31 in UTC")
# [0-9], not \d: \d also matches other scripts' digits.
_SINCE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SINCE_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                              r"(?:Z|[+-][0-9]{2}:[0-9]{2})", re.IGNORECASE)


def parse_since(value: str) -> date | datetime:
    """A `since` value by SINCE_RULE: the date, or the timestamp as an aware datetime in its own offset;
    else ValueError, "not an ISO date or timestamp: ..." or "out of range: ...", giving the rule."""
    shown = _shown(value) if value else "an empty value"
    # A "+" typed unencoded in a URL's query string arrives as a space ("…T08:05:22 01:00"), and a "-"
    # never does: a space where the offset's sign goes can only have been a "+".
    plus = value[:-6] + "+" + value[-5:]
    if value[-6:-5] == " " and _SINCE_TIMESTAMP.fullmatch(plus):
        value = plus
    try:
        if _SINCE_DATE.fullmatch(value):
            return date.fromisoformat(value)
        if _SINCE_TIMESTAMP.fullmatch(value):
            moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            moment.astimezone(UTC)  # every caller compares in UTC: a moment it cannot hold is refused here
            return moment
    except OverflowError:
        raise ValueError(f"out of range: {shown} (use {SINCE_RULE})") from None
    except ValueError:
        pass  # the shape of one, but no such day (2024-02-30) or offset (+24:00)
    raise ValueError(f"not an ISO date or timestamp: {shown} (use {SINCE_RULE})")


def normalise_since(since: str) -> str:
    """A `since` value (parse_since) as the stores compare it: a date stays a date, a timestamp becomes
    UTC in the stored first_seen format (microseconds)."""
    moment = parse_since(since)
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    return moment.isoformat()


def author_key(name: str) -> str:
    """The Author node key of a name: NFC, format characters (zero-width space ...) removed, whitespace
    collapsed, case folded."""
    return " ".join(nfc(strip_format_characters(name)).split()).casefold()


def section_topic_key(section_id: str, topic_ids: Sequence[str] = ()) -> str:
    """What topic ids are matched inside: the innermost segment of a section id with "-" as "_",
    then the topics the taxonomy's section map gives the section, space-separated."""
    return " ".join(dict.fromkeys([section_id.rsplit("/", 1)[-1].replace("-", "_"), *topic_ids]))


def query_words(
    text: str, *, max_words: int = MAX_QUERY_TOKENS, stopwords: frozenset[str] = STOPWORDS
) -> list[str]:
    """The distinct words of user text (first `max_words`), stop words dropped unless nothing else is left."""
    words: list[str] = []
    seen: set[str] = set()
    # NFC first: \w does not match a combining mark, so a decomposed "Gödel" was the words "Go" and "del".
    for word in _WORD.findall(nfc(strip_format_characters(text or ""))):
        key = word.casefold()
        if key not in seen:
            seen.add(key)
            words.append(word)
        if len(words) >= max_words:
            break
    dropped = initials(text)
    content = [w for w in words if w.casefold() not in stopwords and w.casefold() not in dropped]
    return content or words


def is_initial(word: str) -> bool:
    """A single Latin letter: an initial ("N. Nanda", "Nanda N"), which as a word matches "N-gram" and
    "n-digit" in any abstract; digits ("GPT-2") are not."""
    return len(word) == 1 and word.isalpha() and fold_for_search(word).isascii()


# A word of one letter or digit (its neighbours no word characters).
_ONE_CHARACTER_WORD = re.compile(r"(?<![^\W_])[^\W_](?![^\W_])")
_HYPHEN_CHARACTERS = "-\u2010\u2011"
# The word before and after a letter, past spaces, a comma ("Nanda, N") or an apostrophe ("O'Neill").
_WORD_BEFORE = re.compile(r"([^\W_]+)[\s,'\u2019]*$")
_WORD_AFTER = re.compile(r"^[\s,'\u2019]*([^\W_]+)")


def _is_name(word: str) -> bool:
    """A capitalised word of 3+ letters ("Nanda", "Søgaard"), not an acronym ("SAE") nor a stop or
    framing word that starts a query ("The", "Find")."""
    return (len(word) >= 3 and word.isalpha() and word[0].isupper() and word[1:].islower()
            and word.casefold() not in STOPWORDS and word.casefold() not in FRAMING_WORDS)


def initials(text: str) -> set[str]:
    """The single letters of user text that read as a name's initial, case-folded: query words leave
    them out unless nothing else is left. A letter is an initial when a period follows it ("N. Nanda",
    "Nanda, N.") or when it is a capital next to a name (_is_name: "Nanda N", "N Nanda", "O'Neill");
    a letter after an apostrophe is an ending ("Nanda's": "s" is in every abstract) and goes too. Any
    other letter is a term and stays ("Q and K composition", "Q K V", "top k", and joined by a hyphen:
    "top-k", "N-gram"), as does a letter the text also uses as a term."""
    text = nfc(strip_format_characters(text or ""))
    initial: set[str] = set()
    term: set[str] = set()
    for match in _ONE_CHARACTER_WORD.finditer(text):
        letter = match.group(0)
        if not is_initial(letter):
            continue
        # A window each side (a name is far shorter): a pasted text of many letters stays linear.
        before, after = text[max(0, match.start() - 64):match.start()], text[match.end():match.end() + 64]
        if any(c in _HYPHEN_CHARACTERS for c in before[-1:] + after[:1]):
            term.add(letter.casefold())
            continue
        neighbours = [m.group(1) for m in (_WORD_BEFORE.search(before), _WORD_AFTER.search(after)) if m]
        by_name = letter.isupper() and any(_is_name(w) for w in neighbours)
        ending = before[-1:] in ("'", "\u2019")
        (initial if after[:1] == "." or by_name or ending else term).add(letter.casefold())
    return initial - term


_SIBILANT_PLURAL = re.compile(r"(?:s|x|z|ch|sh)es$")
_KEEP_FINAL_S = ("ss", "us", "is")
# Singular nouns ending in "s" that abstracts use ("logit lens", "inductive bias").
_SINGULAR_S = frozenset(("lens", "bias", "atlas", "alias", "canvas", "chaos", "news", "series", "species"))
# Gerunds whose "+s" is a noun of another meaning ("learnings": lessons; "trainings": courses; "beings").
_GERUND_NOUNS = frozenset(("learning", "training", "being", "saving", "doing", "going"))
# Endings of compound gerunds that have no plural ("pretraining", "selftraining", "unlearning"); not "doing"
# ("wrongdoings") nor "being" ("wellbeing" is one word with "well-being").
_NO_PLURAL_ENDINGS = ("learning", "training")


def number_variants(word: str) -> list[str]:
    """The word's other grammatical number by English spelling rules: "circuits" -> circuit,
    "patches" -> patch (and "patche": the spelling alone cannot tell "phases" -> phase from
    "patches" -> patch, and a term that matches nothing costs little), "theories" -> theory,
    "circuit" -> circuits, "SAE" -> SAEs, "LMs" -> LM, "finding" -> findings. Empty when there is no
    safe one."""
    lower = word.casefold()
    if not lower.isalpha() or len(lower) < 2 or lower in _SINGULAR_S:
        return []
    if lower.endswith("ing"):
        # The spelling cannot tell a noun ("finding", "embedding", "docstring", "string") from a gerund
        # ("probing"): each gets "+s", the noun's plural, which no abstract has of a gerund ("probings"),
        # so there it matches nothing. Not the gerunds whose "+s" is another noun (_GERUND_NOUNS).
        # Nor their compounds ("pretraining", "unlearning"): no abstract writes "pretrainings".
        return [] if lower in _GERUND_NOUNS or lower.endswith(_NO_PLURAL_ENDINGS) else [word + "s"]
    if lower.endswith("s"):
        if word[:-1].isupper() and len(word) > 2:  # an acronym's plural: "SAEs", "LMs"
            return [word[:-1]]
        if len(lower) <= 3 or lower.endswith(_KEEP_FINAL_S):  # "gas", "corpus", "analysis"
            return []
        if lower.endswith("ies") and len(lower) > 4:
            return [word[:-3] + "y"]
        if _SIBILANT_PLURAL.search(lower):
            # "uses" -> use, not "us"; "boxes" -> box, "phases" -> phase.
            return [v for v in (word[:-1], word[:-2]) if len(v) >= 3]
        return [word[:-1]]
    if len(lower) < 3 and not word.isupper():
        return []
    if lower.endswith("y") and lower[-2] not in "aeiou":
        return [word[:-1] + "ies"]
    if lower.endswith(("x", "z", "ch", "sh")):
        return [word + "es"]
    return [word + "s"]


# A norm's name as it is written: "l1", "L1", "ℓ1", "ℓ₁" (Unicode's script l, of arXiv's "$\ell_1$" read as
# text, see kg.tex), "l0", "ℓ2".
_NORM_NAME = re.compile("[lLℓ]([0-9]{1,2}|[₀-₉]{1,2})")
_SUBSCRIPT_DIGITS = str.maketrans("0123456789₀₁₂₃₄₅₆₇₈₉", "₀₁₂₃₄₅₆₇₈₉0123456789")


def norm_variants(word: str) -> list[str]:
    """The other spellings of a norm's name ("l1" -> ℓ1, ℓ₁; "ℓ₁" -> l1, ℓ1), so keyword search finds
    each spelling for any other: the search index keeps "ℓ" apart from "l" (fold_for_search folds Latin
    letters only), and changing that would mean re-indexing every store. Empty for any other word."""
    match = _NORM_NAME.fullmatch(word)
    if match is None:
        return []
    digits = match.group(1)
    plain = digits if digits.isascii() else digits.translate(_SUBSCRIPT_DIGITS)
    forms = (f"l{plain}", f"ℓ{plain}", f"ℓ{plain.translate(_SUBSCRIPT_DIGITS)}")
    return [form for form in forms if form.casefold() != word.casefold()]


# Queries of at most this many content words get the other number of each word (see search_terms).
MAX_VARIED_WORDS = 3
# Words that frame a request rather than name its subject ("papers that use ...", "... to find
# circuits"): they do not count towards MAX_VARIED_WORDS.
FRAMING_WORDS = frozenset((
    "paper", "papers", "find", "finds", "found", "show", "shows", "use", "uses", "using", "used",
    "apply", "applies", "applying", "applied", "method", "methods", "technique", "techniques",
    "approach", "approaches", "study", "studies", "work", "works", "about", "whether",
))


# Keyword search looks for a query word in the venue too (a lab's or a series' name: "Anthropic",
# "LessWrong", "Redwood") only in a short query (a name is short: at most MAX_VARIED_WORDS content words)
# and only when at most 1 in VENUE_WORD_SHARE papers (rounded down) have the word in their title, abstract
# or authors (venue_word_limit), a number only beside a word (is_number): a word that many papers' text has
# names no venue, and found in one ("circuits" of "Transformer Circuits Thread") it made every paper of
# the series a hit, which hybrid search then ranked above the papers about it (tests/kg/test_search.py's
# top 5 for "evaluating the faithfulness of circuits" lost Causal Scrubbing).
VENUE_WORD_SHARE = 20


def venue_query(text: str) -> bool:
    """Whether keyword search looks for the words of `text` in venues (short queries: VENUE_WORD_SHARE)."""
    words = query_words(_without_phrases(text)[0])
    return 0 < len([w for w in words if w.casefold() not in FRAMING_WORDS]) <= MAX_VARIED_WORDS


def venue_word_limit(papers: int) -> int:
    """A query word is looked for in venues when fewer papers than this (of `papers`) have it in their
    title, abstract or authors (see VENUE_WORD_SHARE)."""
    return max(0, papers) // VENUE_WORD_SHARE + 1


def is_number(form: str) -> bool:
    """An all-digit word form ("2021"): keyword search looks for it in venues only beside a word some
    venue has ("EMNLP 2021"); beside a name ("Elhage 2021", "Olah 2022") the year matched other papers'
    venues ("EMNLP 2021") and ranked them above the author's."""
    return form.isdigit()


def search_terms(
    text: str, *, max_words: int = MAX_QUERY_TOKENS, stopwords: frozenset[str] = STOPWORDS
) -> list[str]:
    """The query words (see query_words), each followed by its other number and its other spellings
    (spelling_variants: "behaviour" -> behavior) when the query is short, a hyphenated word also
    joined ("auto-encoder" -> autoencoder, joined_forms) and a joined one also split ("GPT2" -> GPT-2,
    "pretrained" -> pre-trained, split_forms): keyword search on either backend then finds
    "circuit" for "circuits" without a stemmer in the index (Porter would make one word of "activation",
    "active" and "activity"). A short query depends on each word's form; a longer one matches on its
    other words, and every variant widens the set BM25 must score (100k bench papers: keyword p95 27 ms
    plain, 37 ms with variants for every query, 31 ms up to 3 words). bench/search_eval.py: keyword
    nDCG@10 0.887 -> 0.916, hybrid 0.940 -> 0.965; varying queries of 4 or more words lowered keyword
    nDCG@10 (0.912 at 4, 0.909 at any more). "Short" counts content words: framing words (FRAMING_WORDS)
    do not, so "activation patching to find circuits" finds the IOI paper's title word "Circuit".
    Phrases added by with_phrases come last, each as one term and its last word's other number, and do
    not count as words of the query."""
    text, phrases = _without_phrases(text)
    terms = _word_terms(text, max_words, stopwords)
    for phrase in phrases:
        *head, last = phrase.split(" ")
        for form in (last, *number_variants(last)):
            terms.setdefault(" ".join((*head, form)).casefold(), " ".join((*head, form)))
    return list(terms.values())


def _word_terms(text: str, max_words: int, stopwords: frozenset[str]) -> dict[str, str]:
    """search_terms of user text without phrases, by case-folded term."""
    words = query_words(text, max_words=max_words, stopwords=stopwords)
    content = [w for w in words if w.casefold() not in FRAMING_WORDS]
    # The joined forms are words of their own (one spelling of the same word), added at any length; only
    # a short query's get variants, as its words do.
    joined = [j for j in joined_forms(text, stopwords) if j.casefold() not in stopwords]
    if len(content) > MAX_VARIED_WORDS:
        return {t.casefold(): t for w in (*words, *joined)
                for t in (w, *norm_variants(w), *(split_forms(w) if w in words else ()))}
    out: dict[str, str] = {}
    for word in (*words, *joined):
        # A query of stop words only ("the") keeps them as they are, and a variant that is a stop
        # word ("uses" -> "us") would match most abstracts.
        variants: list[str] = []
        numbers: list[str] = []
        if word.casefold() not in stopwords:
            numbers = number_variants(word)
            # Each spelling in each number: "behaviour" also finds "behaviors".
            variants = [*numbers, *(s for w in (word, *numbers) for s in spelling_variants(w))]
        # A typed word split as papers also write it; not a joined form (its hyphenated form was typed).
        splits = [s for w in (word, *numbers) for s in split_forms(w)] if word in words else []
        for term in (word, *(v for v in variants if v.casefold() not in stopwords), *norm_variants(word),
                     *splits):
            out.setdefault(term.casefold(), term)
    return out


# What separates the phrases with_phrases adds from the query: a control character, which a search
# query never keeps (kg.search.normalise_query makes it a space), so no user text is read as a phrase.
PHRASE_SEPARATOR = "\x1e"


def with_phrases(text: str, phrases: Iterable[str]) -> str:
    """`text` for keyword search (search_terms, venue_query) with each of `phrases` looked for too as one
    phrase ("indirect object identification", an acronym's long form: hybrid search): each a term of
    its own that, unlike the query's words, counts toward no limit (MAX_VARIED_WORDS), so the query's
    words keep their other forms, and that matches the words together, never one of them alone."""
    cleaned = [" ".join(p.replace(PHRASE_SEPARATOR, " ").split()) for p in phrases]
    kept = [p for p in dict.fromkeys(cleaned) if p]
    return PHRASE_SEPARATOR.join([text.replace(PHRASE_SEPARATOR, " "), *kept])


def _without_phrases(text: str) -> tuple[str, list[str]]:
    """The user text and the phrases with_phrases added to it."""
    if PHRASE_SEPARATOR not in text:
        return text, []
    query, *phrases = text.split(PHRASE_SEPARATOR)
    return query, phrases


# A word of letters, then digits ("GPT2", "Llama3", "fp16"), which papers also write with a hyphen or a
# space ("GPT-2", "Llama 3"). Two letters at least: "l1", "L2" are norms (norm_variants), and "T5" a name.
_LETTERS_DIGITS = re.compile(r"([^\W\d_]{2,})([0-9]{1,4})")
# Prefixes papers write both joined and hyphenated ("pretrained"/"pre-trained", "nonlinear"/"non-linear",
# "ngram"/"n-gram", "selfattention"/"self-attention"), longest first: split_forms.
SPLIT_PREFIXES = ("multi", "post", "self", "semi", "anti", "pre", "non", "sub", "n")
# The fewest letters left after a prefix ("pre-set").
MIN_SPLIT_REST = 3


def split_forms(word: str) -> list[str]:
    """A joined word of user text as papers also write it, hyphenated: letters then digits ("GPT2" ->
    GPT-2, "Llama3" -> Llama-3) and a word after a common prefix ("pretrained" -> pre-trained, "ngram" ->
    n-gram, "nonlinear" -> non-linear; SPLIT_PREFIXES). Both indexes read the form as a phrase of its
    two words, so it matches "pre-trained" and "pre trained" but never "pre" alone. Only before an English
    word (english_words), and not a word that is one already ("present": "pre-sent" was one more look-up
    on every such query, matching nothing).
    Which other words to split needs the index's vocabulary: "feedforward" is split by search itself, as
    the taxonomy's "feed-forward" (kg.search.alias_spelling). Empty when there is none."""
    match = _LETTERS_DIGITS.fullmatch(word)
    if match is not None:
        return [f"{match[1]}-{match[2]}"]
    # Not an acronym ("NLP", "NMT"): its letters are no prefix.
    if not (word.isascii() and word.isalpha()) or word.isupper():
        return []
    lower = word.lower()
    # Only the longest prefix: "nonce" is no "n-once".
    prefix = next((p for p in SPLIT_PREFIXES if lower.startswith(p)), "")
    if not prefix or len(lower) - len(prefix) < MIN_SPLIT_REST:
        return []
    # No English word starts with "n" and a consonant but "ny-": "ngram", "nbody" are "n-" joined; "naive",
    # "neuron" are words.
    if prefix == "n" and lower[1] in "aeiouy":
        return []
    # What follows the prefix must be a word ("pre-trained", "n-gram", "non-linear"), not the rest of one
    # ("multi-ple", "sub-ject", "n-nsight"); and after a prefix that also starts words of its own, the
    # whole must be no word ("present", "prevent": "sent", "vent" are words too).
    words, prefixed_lemmas = english_words()
    rest = lower[len(prefix):]
    if rest not in words and rest not in _LATIN_RESTS:
        return []
    if prefix in _WORD_PREFIXES and lower in prefixed_lemmas:
        return []
    return [f"{word[:len(prefix)]}-{word[len(prefix):]}"]


# Latin words papers write after a prefix, which the English tables lack ("posthoc", "post-hoc").
_LATIN_RESTS = frozenset(("hoc",))
# Prefixes that also begin common words whose rest is a word ("present", "subset", "postwar", "nil" ...).
# The others ("non", "self", "semi", "anti", "multi") are the prefix in the words papers write joined and
# hyphenated alike, though a dictionary has some ("nonlinear", "nonnegative").
_WORD_PREFIXES = frozenset(("pre", "post", "sub", "n"))


@functools.cache
def english_words() -> tuple[frozenset[str], frozenset[str]]:
    """English words, lower case, letters only: (WordNet's lemmas and their inflected forms, as "trained",
    "heads"; the lemmas that start with one of _WORD_PREFIXES), from spacy-lookups-data (a dependency of
    the extractor). Read once, on the first word split_forms checks: 0.5-1 s, and some 25 MB kept."""
    data = files("spacy_lookups_data") / "data"
    by_part_of_speech = json.loads(gzip.decompress((data / "en_lemma_index.json.gz").read_bytes()))
    lemmas = {w.lower() for words in by_part_of_speech.values() for w in words if w.isalpha()}
    inflections = json.loads(gzip.decompress((data / "en_lemma_lookup.json.gz").read_bytes()))
    forms = {w.lower() for pair in inflections.items() for w in pair if w.isalpha()}
    return (frozenset(lemmas | forms),
            frozenset(w for w in lemmas if any(w.startswith(p) for p in _WORD_PREFIXES)))


# The characters a compound word is hyphenated with (ASCII, Unicode hyphen, non-breaking hyphen), as a
# character-class body: search's name matching uses the same set.
HYPHENS = "\\-\u2010\u2011"
# A word of letters and digits joined to the next by one of them.
_HYPHENATED = re.compile(rf"(?<![^\W_])[^\W_]+(?:[{HYPHENS}][^\W_]+)+(?![^\W_])")
_HYPHEN = re.compile(f"[{HYPHENS}]")


def joined_forms(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Each hyphenated pair of words of user text written as one word ("auto-encoder" -> autoencoder,
    "GPT-2" -> GPT2, "pre-trained" -> pretrained): papers write both, and the index cuts "auto-encoder"
    into "auto" and "encoder", so the words alone never match "autoencoder". Not a pair with a stop word
    ("state-of-the-art", "in-context": no paper writes "stateof" or "incontext"), nor one shorter than
    4 characters."""
    if "-" not in text and "\u2010" not in text and "\u2011" not in text:
        return []
    found: dict[str, str] = {}
    for match in _HYPHENATED.finditer(nfc(strip_format_characters(text))):
        parts = _HYPHEN.split(match.group(0))
        for first, second in itertools.pairwise(parts):
            word = first + second
            if len(word) >= 4 and first.casefold() not in stopwords and second.casefold() not in stopwords:
                found.setdefault(word.casefold(), word)
    return list(found.values())


# British and American spellings of one word (spelling_variants). Each rule: a pattern of the whole
# case-folded word and the other spellings of its variable part (group "v"), the rest kept.
# -ise/-ize and their derivatives ("optimise", "tokeniser", "generalisation"): the stem before them has
# at least 3 letters ("rise", "noise", "raise", "wise" are no -ize verbs), and the words whose "-ise" is
# no -ize ending are left alone (_NOT_IZE: "supervised", "pairwise", "promise" ...). A z-form stem
# shorter than that is left too ("size", "seize", "prize").
_ISE = re.compile(r"(?P<stem>[a-z]{3,})(?P<v>is|iz)(?P<end>ation|ations|ational|e|es|ed|ing|er|ers|able)")
_NOT_IZE = (
    "wise", "precise", "concise", "excise", "incise", "exercise", "circumcise", "promise", "premise",
    "compromise", "demise", "surmise", "chemise", "surprise", "enterprise", "comprise", "apprise", "reprise",
    "advise", "devise", "revise", "supervise", "improvise", "televise", "disguise", "cruise", "bruise",
    "franchise", "merchandise", "paradise", "treatise", "expertise", "praise", "raise", "noise", "poise",
    "advertise", "chastise", "despise", "mortise", "valise", "tortoise", "porpoise", "turquoise",
)
# -yse/-yze ("analyse", "catalysed"): no English word ends in "yse" otherwise.
_YSE = re.compile(r"(?P<stem>[a-z]{3,})(?P<v>ys|yz)(?P<end>e|es|ed|ing|er|ers)")
# -our/-or, only for the words that have both ("behaviour", "colour"; "four", "hour", "our", "pour",
# "tour", "flour" and "for", "author", "error" have one): the stems, with a prefix or none, and the
# endings both spellings share ("-ous" is the same in both: "rigorous", "humorous", "laborious").
_OUR = re.compile(
    r"(?P<pre>mis|dis|un|non)?(?P<stem>behavi|col|fav|hon|lab|neighb|rum|hum|flav|harb|vap|vig|arm|od|tum"
    r"|endeav|sav|savi|rig|clam|parl|splend|val|ferv|ard|cand|demean|ranc)(?P<v>our|or)"
    r"(?P<end>|s|al|ally|ed|ing|ite|ites|ful|fully|less|able|ably|er|ers|ism|ist|ists|hood|hoods)")
# -lled/-lling/-ller(s) and -led/-ling/-ler(s) ("modelled", "labelling", "traveller"): a word of at
# least 4 letters ending in a consonant, "e" or "a" and "l" before the ending, as British doubles its
# "l" ("model", "label", "signal", "cancel"). Where the "l" is doubled in both ("called", "controlled")
# or never ("revealed", "ruled", "compiled"), the other spelling is no word and matches nothing.
_LLED = re.compile(r"(?P<stem>[a-z]+[^aeiou][ea])(?P<v>ll|l)(?P<end>ed|ing|er|ers)")
# -tre/-ter and -bre/-ber, for the words that have both ("centre", "fibre", "kilometre"); "meter" is a
# measuring instrument too, and "parameter", "diameter" are written so in both.
_TRE = re.compile(r"(?P<pre>epi|kilo|centi|milli|micro|nano)?(?P<stem>cent|met|lit|fib|theat|calib|spect|lust"
                  r"|meag|somb|sab)(?P<v>re|er|res|ers|red|ered|ring|ering)")
_TRE_PAIRS = {"re": "er", "er": "re", "res": "ers", "ers": "res", "red": "ered", "ered": "red",
              "ring": "ering", "ering": "ring"}
# -ence/-ense ("defence", "offence", "pretence"), -dgement/-dgment ("judgement"), -ogue/-og ("dialogue",
# "analogue", "catalogue"), "artefact"/"artifact".
_ENCE = re.compile(r"(?P<stem>def|off|pret)(?P<v>ence|ense)(?P<end>s|)")
_DGEMENT = re.compile(r"(?P<stem>[a-z]*dg)(?P<v>ement|ment)(?P<end>s|)")
_OGUE = re.compile(r"(?P<stem>catal|dial|anal|monol|epil)(?P<v>ogue|og)(?P<end>s|)")
_ARTEFACT = re.compile(r"(?P<stem>art)(?P<v>e|i)(?P<end>fact|facts|factual)")
_SPELLING_RULES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (_ISE, {"is": "iz", "iz": "is"}), (_YSE, {"ys": "yz", "yz": "ys"}), (_OUR, {"our": "or", "or": "our"}),
    (_LLED, {"ll": "l", "l": "ll"}), (_TRE, _TRE_PAIRS), (_ENCE, {"ence": "ense", "ense": "ence"}),
    (_DGEMENT, {"ement": "ment", "ment": "ement"}), (_OGUE, {"ogue": "og", "og": "ogue"}),
    (_ARTEFACT, {"e": "i", "i": "e"}),
)
# A spelling variant shorter than this is left out: too many short words are other words.
MIN_SPELLING_CHARS = 4


def spelling_variants(word: str) -> list[str]:
    """The word's other spelling, British or American ("behaviour" -> behavior, "generalization" ->
    generalisation, "analyse" -> analyze, "modelling" -> modeling, "centre" -> center, "defence" ->
    defense), for the words that have one (_SPELLING_RULES: "four", "hour", "rise", "supervised" have
    none); keyword search then finds a paper written in the other spelling without re-indexing any store.
    Empty when there is none; case is kept except in the part that changes."""
    lower = word.casefold()
    if not lower.isascii() or not lower.isalpha() or len(lower) < MIN_SPELLING_CHARS:
        return []
    for pattern, other in _SPELLING_RULES:
        match = pattern.fullmatch(lower)
        if match is None:
            continue
        if (pattern is _ISE and match["v"] == "is" and not match["end"].startswith("ation")
                and (match["stem"] + "ise").endswith(_NOT_IZE)):
            return []
        start, end = match.span("v")
        variant = word[:start] + other[match["v"]] + word[end:]
        if word[start:end].isupper():
            variant = word[:start] + other[match["v"]].upper() + word[end:]
        return [variant] if len(variant) >= MIN_SPELLING_CHARS else []
    return []


# What the embedded store's FTS5 tokenizer (unicode61 remove_diacritics 2, SQLite's fts5_unicode2.c)
# folds, and nothing more, so keyword search finds the same papers on both backends:
# - a precomposed letter whose decomposition is an ASCII letter and combining marks U+0300-U+036F
#   ("é", "Å", Vietnamese "ệ") becomes that letter. Greek, Cyrillic and other letters keep their marks
#   ("ά", "й" stay: й is its own letter in Russian), as do letters with no decomposition ("ł", "ø").
#   SQLite's table leaves out U+01E0/U+01E1 (A with dot above and macron) and folds U+1E9B (long s
#   with dot above) to "s"; both quirks are kept.
# - the combining marks SQLite counts as diacritics (sqlite3Fts5UnicodeIsdiacritic: a subset of
#   U+0300-U+0331) are dropped wherever they stand, as in decomposed text ("e" + U+0301).
# Case is left alone: both indexes lower-case on their own.
_FTS5_DIACRITIC_MARKS = (0x08029FDF, 0x000361F8)  # bit i: U+0300 + i (SQLite's mask0, mask1)


def _fts5_fold_table() -> dict[int, str | None]:
    """The str.translate table of fold_diacritics (built once, from the rules above)."""
    table: dict[int, str | None] = {}
    for cp in range(0xC0, 0x2200):  # Latin-1 Supplement .. Letterlike Symbols (U+212B Angstrom sign)
        parts = unicodedata.normalize("NFD", chr(cp))
        if (len(parts) > 1 and parts[0].isascii() and parts[0].isalpha()
                and all("\u0300" <= m <= "\u036f" for m in parts[1:])):
            table[cp] = parts[0]
    del table[0x01E0], table[0x01E1]
    table[0x1E9B] = "s"
    for i in range(0x0332 - 0x0300):
        if _FTS5_DIACRITIC_MARKS[i // 32] >> (i % 32) & 1:
            table[0x0300 + i] = None
    return table


_FTS5_FOLD = _fts5_fold_table()


def fold_diacritics(text: str) -> str:
    """`text` with the accents removed exactly where the embedded store's FTS5 tokenizer
    (remove_diacritics 2) removes them: from Latin letters ("Naïve Ångström" -> "Naive Angstrom",
    "Việt" -> "Viet"), and marks in decomposed text; Greek, Cyrillic and other scripts unchanged."""
    if text.isascii():
        return text
    return text.translate(_FTS5_FOLD)


# What keyword search folds on both backends, in the indexed text and in the query alike
# (fold_for_search): FTS5's folding above, and Latin letters FTS5 leaves because Unicode gives them
# no decomposition into an ASCII letter and marks, which a name is nonetheless often written
# without ("Søgaard" as "Sogaard", "Łukasz" as "Lukasz"). For a letter (Lu, Ll, Lt; not modifier
# letters such as "ᵃ") of the Latin blocks below that FTS5 does not fold, the first rule that applies:
# 1. its compatibility decomposition is ASCII letters once FTS5-folded: "ĳ" -> "ij", "ǆ" -> "dz",
#    long "ſ" -> "s", and the "ﬁ" ligature of PDF text -> "fi";
# 2. it is a letter of its own with a customary ASCII spelling (_OWN_LETTERS: ß, æ, œ, þ, ð, dotless ı);
# 3. its Unicode name is "LATIN CAPITAL|SMALL LETTER <X> WITH <...>" for one letter X (or dotless
#    I/J): X in that case. This is FTS5's rule read from the name, for the letters drawn with a
#    stroke, bar, hook or middle dot: ø ł đ ħ ŧ ŀ ƀ ɨ ƙ ɗ ǥ ȼ ... (and "ǿ", "Ǡ", which decompose into
#    "ø" or "ȧ" and a mark);
# 4. it decomposes into a letter rules 2-3 fold and combining marks: "ǽ" -> "ae".
# Other letters of their own stay (ŋ, ə, ĸ), as do other scripts. Everything folds to ASCII, so
# FTS5 finds nothing left to fold in the folded text and both indexes hold the same terms.
_LATIN_BLOCKS = (
    (0x00C0, 0x024F),  # Latin-1 Supplement (letters), Latin Extended-A and -B
    (0x0250, 0x02AF),  # IPA Extensions (ɨ, ɗ, ɓ of African orthographies)
    (0x1D00, 0x1DBF),  # Phonetic Extensions and their Supplement
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, ẞ)
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0xA720, 0xA7FF),  # Latin Extended-D
    (0xAB30, 0xAB6F),  # Latin Extended-E
    (0xFB00, 0xFB06),  # Latin ligatures of Alphabetic Presentation Forms (ﬁ, ﬂ, ﬀ)
)
_OWN_LETTERS = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i",
}
_LETTER_WITH = re.compile(r"LATIN (CAPITAL|SMALL) LETTER (?:DOTLESS )?([A-Z]) WITH ")


def _search_fold_table() -> dict[int, str | None]:
    """The str.translate table of fold_for_search (built once, from the rules above)."""
    table = dict(_FTS5_FOLD)
    letters = [chr(cp) for first, last in _LATIN_BLOCKS for cp in range(first, last + 1)
               if cp not in _FTS5_FOLD and unicodedata.category(chr(cp)) in ("Lu", "Ll", "Lt")]
    for ch in letters:
        compat = unicodedata.normalize("NFKD", ch).translate(_FTS5_FOLD)
        if compat != ch and compat.isascii() and compat.isalpha():
            table[ord(ch)] = compat
        elif ch in _OWN_LETTERS:
            table[ord(ch)] = _OWN_LETTERS[ch]
        elif named := _LETTER_WITH.match(unicodedata.name(ch, "")):
            table[ord(ch)] = named[2] if named[1] == "CAPITAL" else named[2].lower()
    for ch in letters:
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if ord(ch) not in table and marks and ord(base) in table and all(
                unicodedata.category(m) == "Mn" for m in marks):
            table[ord(ch)] = table[ord(base)]
    return table


_SEARCH_FOLD = _search_fold_table()
# The characters fold_for_search changes: a regex replaces only them, where str.translate with a dict
# looks up every character (a 1 kB abstract with one "é" cost ~80 µs; re-folding 100k papers, minutes).
_SEARCH_FOLDED = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_SEARCH_FOLD)) + "]")


def _folded(match: re.Match[str]) -> str:
    return _SEARCH_FOLD[ord(match[0])] or ""


def fold_for_search(text: str) -> str:
    """`text` as keyword search indexes and matches it on both backends: fold_diacritics, and Latin
    letters with a stroke, bar or hook and ligatures in ASCII ("Søgaard" -> "Sogaard", "Łukasz" ->
    "Lukasz", "Straße" -> "Strasse", "Æsir" -> "AEsir"); see the rules above. Case is kept."""
    if text.isascii():
        return text
    return _SEARCH_FOLDED.sub(_folded, text)


# What the keyword index holds of a paper, beyond its folded text: bump it when that changes, so both
# stores index every paper again (search_fold_rule). "venue": venue_search_text, weighed as
# KEYWORD_FIELD_WEIGHTS says.
SEARCH_FIELDS_RULE = "title abstract authors venue+host-organisation"


def venue_search_text(venue: str | None, url: str | None) -> str:
    """What keyword search indexes as a paper's venue: the venue and the organisation its URL's host
    names when that is certain (kg.publishers: a transformer-circuits.pub page is Anthropic's), unless
    the venue says it already ("Transformer Circuits Thread (Anthropic)"). Not folded."""
    text = " ".join((venue or "").split())
    organisation = host_organisation(url)
    if organisation and organisation.casefold() not in text.casefold():
        text = f"{text} {organisation}".strip()
    return text


@functools.cache
def search_fold_rule() -> str:
    """A fingerprint of fold_for_search (a hash of its table) and of what the keyword index holds
    (SEARCH_FIELDS_RULE, the hosts venue_search_text reads): both stores record it beside the text
    they indexed, and index it again when it differs (an older paperkg, a Python whose Unicode tables
    differ), so indexed text and queries are folded alike and every paper has every field."""
    items = json.dumps([sorted(_SEARCH_FOLD.items()), SEARCH_FIELDS_RULE, hosts_rule()], ensure_ascii=True)
    return hashlib.sha256(items.encode()).hexdigest()[:16]


def search_forms(term: str) -> list[str]:
    """The forms of a query word keyword search matches: fold_for_search(term), and also
    fold_diacritics(term) when that differs, which is how text was indexed before fold_for_search
    (a store a reading command opens before `paperkg init` or an ingest re-folds it). Text indexed
    now holds no letter the second form keeps, so there it matches nothing and changes no score."""
    return list(dict.fromkeys((fold_for_search(term), fold_diacritics(term))))


def check_sort(sort: str) -> None:
    """Raise ValueError unless `sort` is a known paper order."""
    if sort not in SORTS:
        raise ValueError(f"sort must be 'date' or 'centrality', not {sort!r}")


def check_page(limit: int, offset: int) -> None:
    """Raise ValueError unless a page's limit and offset are >= 0."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, not {limit} and {offset}")


def check_run_status(status: str) -> None:
    """Raise ValueError unless `status` is a known ingest-run status."""
    if status not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")


def new_run(source: str) -> IngestRun:
    """A fresh ingest run of a source, started now."""
    return IngestRun(id=f"{source}-{uuid.uuid4().hex[:12]}", source=source, started=now())


def embedding_vector(values: Any, what: str) -> np.ndarray:
    """A float32 vector of EMBEDDING_DIM finite values, or ValueError naming `what`."""
    arr = np.asarray(values, dtype=np.float32).reshape(-1)
    if arr.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: expected {EMBEDDING_DIM} finite floats")
    return arr


def unit_query(vector: Any) -> np.ndarray | None:
    """A search vector scaled to unit length; None for the zero vector; ValueError when malformed."""
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(query)):
        raise ValueError(f"query vector must be {EMBEDDING_DIM} finite floats, got shape {query.shape}")
    norm = float(np.linalg.norm(query))
    # Cosine is undefined for a zero vector: it matches nothing.
    return None if norm == 0.0 else query / norm


def embedding_problem(values: Any) -> str | None:
    """What makes `values` unusable as a stored embedding ("embedding has shape (3,), expected (384,)"),
    or None when it is EMBEDDING_DIM finite floats with a finite non-zero float32 length."""
    try:
        vector = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        return f"embedding is not numeric: {exc}"
    if vector.shape != (EMBEDDING_DIM,):
        return f"embedding has shape {vector.shape}, expected ({EMBEDDING_DIM},)"
    if not np.all(np.isfinite(vector)):
        return "embedding contains NaN or infinite values"
    # Cosine similarity is undefined for a zero vector: Neo4j's vector.similarity.cosine fails (or
    # gives null) on it, which would break every filtered vector search. A norm that underflows or
    # overflows in float32 (how vectors are stored and indexed) is as bad.
    if not np.any(vector):
        return "embedding is the zero vector (cosine similarity needs a non-zero one)"
    with np.errstate(over="ignore", under="ignore"):
        norm = float(np.linalg.norm(vector))
    if norm == 0.0 or not math.isfinite(norm):
        return f"embedding's float32 length is {norm} (cosine similarity needs a finite non-zero one)"
    return None


def dedupe_techniques(bundle: PaperBundle) -> list[TechniqueUse]:
    """One USES edge per (technique, source); the last one given wins."""
    return list({(t.technique_id, t.source): t for t in bundle.techniques}.values())


def dedupe_evaluations(bundle: PaperBundle) -> list[EvaluationUse]:
    """One EVALUATES edge per (evaluation, source); the last one given wins."""
    return list({(e.evaluation_id, e.source): e for e in bundle.evaluations}.values())


def _check_source(name: str, what: str, source: str) -> None:
    if source not in EDGE_SOURCES:
        raise ValueError(f"{name}: {what} source must be one of {EDGE_SOURCES}, not {source!r}")


def validate_bundle(bundle: PaperBundle) -> tuple[Paper, np.ndarray | None]:
    """Check a bundle (id, title, year, embedding, edge sources, UTF-8 text) and return its paper and
    float32 embedding; ValueError names the record and the field."""
    paper = bundle.paper
    if not isinstance(paper.id, str) or not paper.id.strip():
        raise ValueError(f"paper {paper.id!r}: missing id")
    name = f"paper {paper.id!r}"
    if not isinstance(paper.title, str) or not paper.title.strip():
        raise ValueError(f"{name}: missing title")
    if paper.year is not None and not isinstance(paper.year, int | np.integer):
        raise ValueError(f"{name}: year must be an integer, not {paper.year!r}")
    version = paper.arxiv_version
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"{name}: arxiv_version must be an integer of at least 1, not {version!r}")
    vector = None
    if paper.embedding is not None:
        problem = embedding_problem(paper.embedding)
        if problem is not None:
            raise ValueError(f"{name}: {problem}")
        vector = np.asarray(paper.embedding, dtype=np.float32)
    # Optional text may be None; required values may not, and ids may not be blank either, since
    # a None id would MERGE on null (Neo4j) or write a NULL key (SQLite).
    optional: list[tuple[str, Any]] = [
        ("abstract", paper.abstract), ("arxiv_id", paper.arxiv_id), ("doi", paper.doi),
        ("published", paper.published), ("updated", paper.updated), ("venue", paper.venue),
        ("primary_category", paper.primary_category), ("url", paper.url),
        ("pdf_url", paper.pdf_url), ("item_type", paper.item_type),
        ("embedding_model", paper.embedding_model), ("content_hash", paper.content_hash),
        ("extraction_hash", paper.extraction_hash),
    ]
    ids: list[tuple[str, Any]] = [("id", paper.id)]  # keys of nodes and edges: non-empty
    required: list[tuple[str, Any]] = [("title", paper.title)]
    required += [("authors", a) for a in paper.authors]
    required += [("categories", c) for c in paper.categories]
    required += [("sources", s) for s in paper.sources]
    for t in bundle.techniques:
        ids.append(("technique", t.technique_id))
        required.append(("technique source", t.source))
        optional.append(("technique evidence", t.evidence))
    for e in bundle.evaluations:
        ids.append(("evaluation", e.evaluation_id))
        required.append(("evaluation source", e.source))
        optional.append(("evaluation evidence", e.evidence))
    for f in bundle.findings:
        ids.append(("finding id", f.id))
        ids += [("finding about", a.id) for a in f.about]
        required += [("finding text", f.text), ("finding kind", f.kind), ("finding source", f.source)]
    ids += [("model", m) for m in bundle.models]
    for r in bundle.list_rows:
        ids.append(("section id", r.section_id))
        required.append(("section title", r.section_title))
        required += [("section path", p) for p in r.section_path]
        optional += [("tldr", r.tldr), ("techniques_text", r.techniques_text),
                     ("evaluation_text", r.evaluation_text), ("title_in_list", r.title_in_list),
                     ("url_in_list", r.url_in_list)]
    for field_name, value in ids:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError(f"{name}: {field_name} is missing")
    for field_name, value in required:
        if value is None:
            raise ValueError(f"{name}: {field_name} is missing")
    _check_strings(name, ids + required + [(f, v) for f, v in optional if v is not None])
    for t in bundle.techniques:
        _check_source(name, "technique", t.source)
    for e in bundle.evaluations:
        _check_source(name, "evaluation", e.source)
    for f in bundle.findings:
        for a in f.about:
            if a.label not in ABOUT_LABELS:
                raise ValueError(
                    f"{name}: finding {f.id!r} is about a {a.label!r} (not one of {ABOUT_LABELS})"
                )
    return paper, vector


def _check_strings(name: str, present: list[tuple[str, Any]]) -> None:
    """Every value is a str that encodes as UTF-8 (no lone surrogates), or ValueError naming the field."""
    try:
        # One encode of everything is the fast path; the loop below only runs to name the field.
        "\x00".join([v for _, v in present]).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        for field_name, value in present:
            if not isinstance(value, str):
                raise ValueError(
                    f"{name}: {field_name} must be a string, not {type(value).__name__}"
                ) from None
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"{name}: {field_name} is not valid UTF-8 text ({exc.reason})") from exc


def fingerprint(bundle: PaperBundle, vector: np.ndarray | None) -> str:
    """A hash of everything an upsert writes except first_seen/last_seen."""
    p = bundle.paper
    content = {
        "paper": [p.id, p.title, p.abstract, p.arxiv_id, p.doi, list(p.authors), p.published,
                  p.updated, None if p.year is None else int(p.year), p.venue, p.primary_category,
                  list(p.categories), p.url, p.pdf_url, list(p.sources), p.item_type,
                  p.embedding_model, p.content_hash, p.extraction_hash,
                  # Appended only when known, so papers without a version keep their fingerprints.
                  *([p.arxiv_version] if p.arxiv_version is not None else [])],
        "techniques": sorted(
            [t.technique_id, t.source, t.evidence, t.score] for t in dedupe_techniques(bundle)
        ),
        "evaluations": sorted(
            [e.evaluation_id, e.source, e.evidence] for e in dedupe_evaluations(bundle)
        ),
        "findings": [
            [f.id, f.text, f.kind, f.source, sorted([a.label, a.id] for a in f.about)]
            for f in bundle.findings
        ],
        "models": sorted(set(bundle.models)),
        "rows": [
            [r.section_id, r.section_title, list(r.section_path), r.tldr, r.techniques_text,
             r.evaluation_text, r.title_in_list, r.url_in_list, r.line,
             section_topic_key(r.section_id, r.topic_ids)]
            for r in bundle.list_rows
        ],
    }
    # repr of str/int/float/None/list/dict is deterministic and much cheaper than json.dumps.
    digest = hashlib.sha256(repr(content).encode("utf-8"))
    if vector is not None:
        digest.update(vector.tobytes())
    return digest.hexdigest()


def prepare_batch(bundles: Sequence[PaperBundle]) -> tuple[list[Prepared], dict[str, str]]:
    """Validate a batch before any write: each bundle with its vector and fingerprint, and
    {finding id: paper id}. ValueError for a paper twice in the batch or a finding id reused."""
    prepared: list[Prepared] = []
    seen: set[str] = set()
    finding_ids: dict[str, str] = {}
    written = {b.paper.id for b in bundles}
    for bundle in bundles:
        paper, vector = validate_bundle(bundle)
        if paper.id in seen:
            raise ValueError(f"paper {paper.id!r}: appears twice in one batch")
        seen.add(paper.id)
        if written.intersection(bundle.replaces):
            raise ValueError(f"paper {paper.id!r}: replaces a paper written in the same batch")
        for f in bundle.findings:
            owner = finding_ids.setdefault(f.id, paper.id)
            if owner != paper.id or sum(1 for g in bundle.findings if g.id == f.id) > 1:
                raise ValueError(f"paper {paper.id!r}: finding id {f.id!r} is not unique")
        prepared.append((bundle, vector, fingerprint(bundle, vector)))
    return prepared, finding_ids


def classify(
    prepared: Sequence[Prepared], stored: Mapping[str, str]
) -> tuple[dict[str, str], list[Prepared]]:
    """Upsert statuses ("new"/"updated"/"unchanged") against the stored fingerprints by paper id,
    and the prepared bundles that need writing."""
    result: dict[str, str] = {}
    changed: list[Prepared] = []
    for bundle, vector, fp in prepared:
        pid = bundle.paper.id
        if stored.get(pid) == fp:
            result[pid] = "unchanged"
        else:
            result[pid] = "updated" if pid in stored else "new"
            changed.append((bundle, vector, fp))
    return result, changed


def taxonomy_references(bundles: Sequence[PaperBundle]) -> dict[tuple[str, str], str]:
    """Every (label, node id) a batch points at, with the first paper pointing at it, in batch order."""
    refs: dict[tuple[str, str], str] = {}
    for b in bundles:
        pid = b.paper.id
        for t in b.techniques:
            refs.setdefault((Label.TECHNIQUE, t.technique_id), pid)
        for e in b.evaluations:
            refs.setdefault((Label.EVALUATION, e.evaluation_id), pid)
        for m in b.models:
            refs.setdefault((Label.MODEL, m), pid)
        for f in b.findings:
            for a in f.about:
                refs.setdefault((a.label, a.id), pid)
    return refs


def check_references(refs: dict[tuple[str, str], str], labels: Mapping[str, str]) -> None:
    """ValueError naming the paper for the first reference to an unknown taxonomy node or to a node
    of another label (`labels`: node id -> its label, for the referenced ids that exist)."""
    for (label, node_id), paper_id in refs.items():
        actual = labels.get(node_id)
        if actual is None:
            raise ValueError(f"paper {paper_id!r}: unknown {label} id {node_id!r} "
                             "(is the taxonomy loaded? run `paperkg init`)")
        if actual != label:
            raise ValueError(
                f"paper {paper_id!r}: {node_id!r} is a {actual} node where a {label} is expected"
            )


def paper_authors(paper: Paper) -> list[tuple[int, str, str]]:
    """(position, author key, display name) of a paper's authors; blank names are skipped."""
    return [(i, key, " ".join(name.split()))
            for i, name in enumerate(paper.authors) if (key := author_key(name))]


def unique_list_rows(bundle: PaperBundle) -> list[tuple[int, ListRow]]:
    """(position, list row) with one row per section: the last row of a section wins."""
    return list({r.section_id: (i, r) for i, r in enumerate(bundle.list_rows)}.values())


def lock_held_message(name: str, owner: str, expires: float, now: float | None = None) -> str:
    """The LockHeld message: who holds the lock and until when (UTC, and how long from `now`; for a lock
    that looks expired, how long ago by this clock)."""
    # "Z", as the --json holder object's `expires` writes it (one time, one form).
    until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    left = expires - (datetime.now(UTC).timestamp() if now is None else now)
    if left <= 0:
        ago = max(1, math.ceil(-left / 60))
        return f"lock {name!r} is held by {owner!r} until {until}, {ago} min ago by this clock"
    # Whole minutes, rounded up: "in 0 min" would read as "free now" while it is still held.
    return f"lock {name!r} is held by {owner!r} until {until} (in {max(1, math.ceil(left / 60))} min)"


def shared_title_keys_warning(groups: dict[str, list[str]]) -> str | None:
    """The WARNING for title keys that recomputing made shared by several stored papers (all are
    kept; an ingest matching one of those titles takes the first stored), or None when there are none."""
    shared = {key: ids for key, ids in groups.items() if key and len(ids) > 1}
    if not shared:
        return None
    shown = "; ".join(f"{key!r}: {', '.join(ids)}" for key, ids in sorted(shared.items())[:20])
    more = f" (and {len(shared) - 20} more)" if len(shared) > 20 else ""
    return (f"the title-key rule changed and {len(shared)} title key(s) are now shared by several stored "
            f"papers, all kept (a list row with that title matches the first stored): {shown}{more}")
