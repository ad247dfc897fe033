"""kg/validation.py: query-word helpers of keyword search, and the checks and cleaning of imported text."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.entities import Paper, PaperBundle
from kg.schema import EMBEDDING_DIM
from kg.validation import (
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
    MAX_VARIED_WORDS,
    PHRASE_SEPARATOR,
    STOPWORDS,
    check_arxiv_id,
    check_length,
    check_paper_id,
    check_utf8,
    clean_text,
    embedding_problem,
    fold_diacritics,
    fold_for_search,
    number_variants,
    search_fold_rule,
    search_forms,
    search_terms,
    split_forms,
    validate_bundle,
    venue_query,
    with_phrases,
)


@pytest.mark.parametrize(("word", "variants"), [
    ("circuits", ["circuit"]), ("circuit", ["circuits"]), ("heads", ["head"]), ("theories", ["theory"]),
    ("theory", ["theories"]), ("patch", ["patches"]), ("SAE", ["SAEs"]), ("SAEs", ["SAE"]),
    ("LMs", ["LM"]), ("LM", ["LMs"]), ("LLMs", ["LLM"]),
    # -ses/-ches/-xes: the spelling cannot tell which is meant, so both (one matches nothing).
    ("phases", ["phase", "phas"]), ("patches", ["patche", "patch"]), ("lenses", ["lense", "lens"]),
    ("uses", ["use"]),  # not "us"
    # Nouns in -ing have a plural ("docstrings": a seed title), which a gerund's "+s" is not: it matches
    # nothing ("probings"); gerunds whose "+s" is another noun get none ("learnings": lessons).
    ("docstring", ["docstrings"]), ("finding", ["findings"]), ("embedding", ["embeddings"]),
    ("string", ["strings"]), ("findings", ["finding"]), ("probing", ["probings"]), ("learning", []),
    ("training", []),
    # Nor their compounds: no abstract writes "pretrainings" (one useless look-up each, with its split).
    ("pretraining", []), ("unlearning", []), ("selftraining", []),
    # No safe other number: singular nouns in -s, -ss, -us, -is; short or non-words.
    ("lens", []), ("bias", []), ("class", []), ("corpus", []), ("analysis", []),
    ("of", []), ("GPT-2", []), ("2023", []),
])
def test_number_variants(word: str, variants: list[str]) -> None:
    assert number_variants(word) == variants


@pytest.mark.parametrize(("word", "forms"), [
    # Letters then digits: the hyphenated name, which both indexes read as the phrase "GPT 2".
    ("GPT2", ["GPT-2"]), ("Llama3", ["Llama-3"]), ("fp16", ["fp-16"]),
    # A common prefix joined to a word.
    ("pretrained", ["pre-trained"]), ("Pretrained", ["Pre-trained"]), ("ngram", ["n-gram"]),
    ("ngrams", ["n-grams"]), ("nonlinear", ["non-linear"]), ("selfattention", ["self-attention"]),
    ("multilayer", ["multi-layer"]), ("subnetwork", ["sub-network"]), ("posthoc", ["post-hoc"]),
    # None: a norm or a one-letter name, an acronym, too little after the prefix, no prefix, a number.
    ("l1", []), ("L2", []), ("T5", []), ("NLP", []), ("NMT", []), ("none", []), ("nonce", []), ("naive", []),
    ("neuron", []), ("nylon", []), ("nbody", ["n-body"]),
    ("press", []), ("circuit", []), ("2023", []), ("GPT-2", []), ("feedforward", []),
    # Only before a word ("multi-ple", "sub-ject", "n-nsight" matched nothing); after "pre", "post", "sub"
    # and "n" only when the whole is no word ("present", "prevent": "sent", "vent" are words too).
    ("multiple", []), ("subject", []), ("nnsight", []), ("present", []), ("prevent", []),
    ("prediction", []), ("subset", []), ("preprocessing", ["pre-processing"]), ("subword", ["sub-word"]),
    ("pretraining", ["pre-training"]), ("nonnegative", ["non-negative"]), ("multihead", ["multi-head"]),
])
def test_split_forms(word: str, forms: list[str]) -> None:
    assert split_forms(word) == forms


def test_joined_words_are_also_looked_for_split() -> None:
    """ "GPT2" finds "GPT-2", "pretrained" "pre-trained", at any length; a typed hyphenated word is not split
    again (its words and joined form are looked for already)."""
    assert search_terms("GPT2") == ["GPT2", "GPT-2"]
    assert search_terms("pretrained") == ["pretrained", "pretraineds", "pre-trained"]
    long_query = "sparse autoencoders on pretrained gpt2 models"
    assert len(long_query.split()) > MAX_VARIED_WORDS
    assert search_terms(long_query) == ["sparse", "autoencoders", "pretrained", "pre-trained", "gpt2",
                                        "gpt-2", "models"]
    assert search_terms("n-gram") == ["n", "gram", "grams", "ngram", "ngrams"]
    assert search_terms("GPT-2") == ["GPT", "GPTs", "2", "GPT2"]


def test_short_queries_get_variants_long_ones_do_not() -> None:
    assert search_terms("induction circuits") == ["induction", "inductions", "circuits", "circuit"]
    long_query = "sparse autoencoders find interpretable features"
    assert len(long_query.split()) > MAX_VARIED_WORDS
    assert search_terms(long_query) == ["sparse", "autoencoders", "find", "interpretable", "features"]
    # Stop words are dropped, and a stop-word-only query is kept as typed, without variants.
    assert search_terms("the circuits of") == ["circuits", "circuit"]
    assert search_terms("the", stopwords=STOPWORDS) == ["the"]
    # One term per spelling: the variant of one word may be another word of the query.
    assert search_terms("circuit circuits") == ["circuit", "circuits"]


# -- imported text: ids, limits, control characters ------------------------------------------------
@pytest.mark.parametrize("value", [
    "2211.00593", "2211.00593v3", "0704.0001", "arXiv:2211.00593", "hep-th/9901001", "math.GT/0309136v2",
    "cond-mat.str-el/0601001", "q-bio/0401001",
])
def test_arxiv_ids_of_both_styles_are_accepted(value: str) -> None:
    assert check_arxiv_id(value) == value


@pytest.mark.parametrize("value", [
    "javascript:alert(14)", "2211.00593/../../x", "2211.00593 ", "2211.005", "٢٢١١.٠٠٥٩٣",
    "hep-th/990100", "../hep-th/9901001", "2211.00593v", "https://arxiv.org/abs/2211.00593",
])
def test_other_arxiv_ids_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="'arxiv_id' must be an arXiv id"):
        check_arxiv_id(value)


def test_paper_ids(shared_data: Path) -> None:
    seed_ids = [json.loads(line)["id"] for line in (shared_data / "seed_papers.jsonl").open(encoding="utf-8")]
    for value in [*seed_ids, "hep-th/9901001", "math.gt/0309136", "corpus:paper_1.2", "a" * MAX_ID_CHARS]:
        assert check_paper_id(value) == value
    for bad in ["../../api/stats", "//evil.com", "a//b", "a/b/c", "a/./b", "a/..", ".", "..", "-rf",
                "a b", "a\r\nb", "a\x00", "a?b=1", "a#b", "a%2e", "péché", "", "a/", "/a"]:
        with pytest.raises(ValueError, match="'id' must be letters, digits"):
            check_paper_id(bad)
    with pytest.raises(ValueError, match=f"'id' is {MAX_ID_CHARS + 1} characters long"):
        check_paper_id("a" * (MAX_ID_CHARS + 1))


def test_limits_and_unicode() -> None:
    assert check_length("t" * MAX_TITLE_CHARS, "title", MAX_TITLE_CHARS)
    with pytest.raises(ValueError, match=f"'title' is {MAX_TITLE_CHARS + 1} characters long"):
        check_length("t" * (MAX_TITLE_CHARS + 1), "title", MAX_TITLE_CHARS)
    assert check_utf8("naïve ✓ שלום", "title") == "naïve ✓ שלום"
    with pytest.raises(ValueError,
                       match=r"'title' is not valid Unicode text \(lone surrogate '\\udc80' at character 4"):
        check_utf8("Bad \udc80", "title")


def test_clean_text_removes_controls_and_bidi_overrides_only() -> None:
    controls = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0E, 0x1B, 0x7F, 0x80, 0x9B, 0x9F])
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert clean_text(f"a{controls}b{bidi}c") == "abc"
    # Tab and newline stay; CR LF and CR become newlines; whitespace controls become spaces.
    assert clean_text("a\tb\nc\r\nd\re") == "a\tb\nc\nd\ne"
    assert clean_text("a\x0bb\x0cc\x1fd\x85e") == "a b c d e"
    # Right-to-left letters and the LRM/RLM marks are text.
    text = "שלום \u200fمرحبا\u200e ok"
    assert clean_text(text) == text


@pytest.mark.parametrize(("text", "folded"), [
    ("Naïve Übersetzung", "Naive Ubersetzung"), ("Zoë Ångström", "Zoe Angstrom"), ("café Việt", "cafe Viet"),
    ("łódź", "łodz"),  # letters without a decomposition stay, as in FTS5's remove_diacritics 2
    ("機械的解釈 한국어 हिन्दी", "機械的解釈 한국어 हिन्दी"),  # other scripts come back unchanged
    # Greek and Cyrillic keep their marks, as in FTS5 (й is a letter of its own in Russian).
    ("ἀλήθεια Ελληνικά", "ἀλήθεια Ελληνικά"), ("Йошкар-Ола ёлка", "Йошкар-Ола ёлка"),
    ("cafe\u0301", "cafe"),  # a combining accent in decomposed text goes too
    ("plain ASCII", "plain ASCII"), ("", ""),
])
def test_fold_diacritics(text: str, folded: str) -> None:
    assert fold_diacritics(text) == folded


def _fts5_terms(texts: list[str], tokenizer: str) -> list[list[str]]:
    """The terms a real SQLite FTS5 table with `tokenizer` makes of each text, in order."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{tokenizer}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        conn.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", list(enumerate(texts)))
        terms: list[list[str]] = [[] for _ in texts]
        for doc, term in conn.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
            terms[doc].append(term)
        return terms
    finally:
        conn.close()


_FOLD_WORDS = [
    "Naïve", "Übersetzung", "Ångström", "ÉCOLE", "façade", "Zoë", "Øresund", "łódź", "straße", "İstanbul",
    "Việt Nam", "Nguyễn Thị Ánh", "ἀλήθεια", "Ελληνικά", "Йошкар-Ола", "ёлка", "Ўзбек", "機械的解釈",
    "한국어", "हिन्दी", "ǡ Ǡ ẛ ǖ", "ﬁne Ａ",
]


def test_fold_diacritics_folds_exactly_what_the_embedded_stores_fts5_folds() -> None:
    """The Neo4j full-text index holds fold_diacritics(text) (and queries are folded alike): for
    both backends to find the same papers, an FTS5 tokenizer without diacritic removal must make of
    the folded text exactly the terms the embedded store's tokenizer (remove_diacritics 2) makes of
    the text, for these words, their decomposed forms, and every character up to U+24FF."""
    from kg.embedded_schema import SCHEMA

    tokenizer = re.search(r"papers_fts USING fts5\([^)]*tokenize = '([^']*)'", SCHEMA)
    assert tokenizer is not None and "remove_diacritics 2" in tokenizer[1]
    plain = tokenizer[1].replace("remove_diacritics 2", "remove_diacritics 0")
    texts = [*_FOLD_WORDS, *(unicodedata.normalize("NFD", w) for w in _FOLD_WORDS)]
    texts += [f"x{chr(cp)}y" for cp in range(0x80, 0x2500)
              if not unicodedata.category(chr(cp)).startswith("C")]  # (controls, unassigned left out)
    expected = _fts5_terms(texts, tokenizer[1])
    got = _fts5_terms([fold_diacritics(t) for t in texts], plain)
    diverging = [(t, e, g) for t, e, g in zip(texts, expected, got, strict=True) if e != g]
    assert diverging == []
    assert expected[_FOLD_WORDS.index("Ελληνικά")] == ["ελληνικά"]  # FTS5 keeps the Greek accent
    assert expected[_FOLD_WORDS.index("Việt Nam")] == ["viet", "nam"]


@pytest.mark.parametrize(("text", "folded"), [
    ("Anders Søgaard", "Anders Sogaard"), ("ØRESUND", "ORESUND"), ("Łukasz Łódź", "Lukasz Lodz"),
    ("Đorđe Dorr", "Dorde Dorr"), ("Ħal Ŧarxien", "Hal Tarxien"), ("Iıl ŀl", "Iil ll"),
    ("Straße ẞ", "Strasse SS"), ("Æsir æther", "AEsir aether"), ("Œuvre cœur", "OEuvre coeur"),
    ("Þór Guðrún Ðóra", "THor Gudrun Dora"), ("ĳs ǆ", "ijs dz"), ("efﬁcient ﬂow", "efficient flow"),
    ("ƀ ɨ ƙ ɗ ǥ ȼ", "b i k d g c"), ("ǿ ǽ", "o ae"),  # stroked or ligature base letter with an accent
    ("Naïve Ångström Việt", "Naive Angstrom Viet"), ("cafe\u0301", "cafe"),  # fold_diacritics' folding
    ("ŋ ə ĸ", "ŋ ə ĸ"), ("Ελληνικά Йошкар 機械 ᵃ", "Ελληνικά Йошкар 機械 ᵃ"),  # left as they are
    ("plain ASCII", "plain ASCII"), ("", ""),
])
def test_fold_for_search(text: str, folded: str) -> None:
    assert fold_for_search(text) == folded


def test_fold_for_search_leaves_nothing_for_fts5_to_fold() -> None:
    """Both backends index fold_for_search(text) (the embedded one with remove_diacritics 2, Neo4j with
    an analyzer that folds nothing): for them to hold the same terms, FTS5 must find nothing left to
    fold in it, for every character up to U+24FF and of the Latin blocks, as words and decomposed. It
    folds whatever fold_diacritics does, to ASCII, and folding twice changes nothing (a store re-folds
    its text when the fingerprint changes; rows already folded stay as they are)."""
    from kg.validation import _LATIN_BLOCKS, _SEARCH_FOLD

    latin = [cp for first, last in _LATIN_BLOCKS for cp in range(first, last + 1)]
    chars = [chr(cp) for cp in sorted({*range(0x80, 0x2500), *latin})
             if not unicodedata.category(chr(cp)).startswith("C")]
    texts = [*_FOLD_WORDS, *(f"x{c}y" for c in chars)]
    texts += [unicodedata.normalize("NFD", t) for t in texts]
    folded = [fold_for_search(t) for t in texts]
    rd2 = "unicode61 remove_diacritics 2"
    assert _fts5_terms(folded, rd2) == _fts5_terms(folded, "unicode61 remove_diacritics 0")
    assert [fold_for_search(f) for f in folded] == folded
    assert [fold_for_search(fold_diacritics(t)) for t in texts] == folded
    assert all(v is None or (v.isascii() and v.isalpha()) for v in _SEARCH_FOLD.values())
    assert search_fold_rule() == search_fold_rule() and len(search_fold_rule()) == 16


@pytest.fixture
def uncached_fold_rule() -> Iterator[None]:
    """search_fold_rule (cached per process) computed afresh in the test, and again after it."""
    search_fold_rule.cache_clear()
    yield
    search_fold_rule.cache_clear()  # the value of a table the test changed must not outlive it


def test_the_fold_fingerprint_covers_the_stroke_and_ligature_rules(
    monkeypatch: pytest.MonkeyPatch, uncached_fold_rule: None
) -> None:
    """Stores re-fold their text when search_fold_rule changes: a changed rule for a letter FTS5 does
    not fold itself (ø) must change it too, or text indexed as "Sogaard" stays so under a rule that
    now makes queries "Soegaard"."""
    from kg.validation import _SEARCH_FOLD

    before = search_fold_rule()
    monkeypatch.setitem(_SEARCH_FOLD, ord("ø"), "oe")
    search_fold_rule.cache_clear()
    assert search_fold_rule() != before


def test_search_forms_add_the_older_fold_only_when_it_differs() -> None:
    """A query word is matched as text is indexed now and as an older paperkg indexed it (a store not
    yet re-folded); words the two folds agree on are one form."""
    assert search_forms("Søgaard") == ["Sogaard", "Søgaard"]
    assert search_forms("Ærø") == ["AEro", "Ærø"]
    assert search_forms("naïve") == ["naive"] and search_forms("circuit") == ["circuit"]
    assert search_forms("機械") == ["機械"]


@pytest.mark.parametrize(("values", "problem"), [
    (np.full(EMBEDDING_DIM, 0.05, dtype=np.float32), None),
    ([0.5] * EMBEDDING_DIM, None),
    (np.ones(3, dtype=np.float32), f"embedding has shape (3,), expected ({EMBEDDING_DIM},)"),
    (np.ones((1, EMBEDDING_DIM), dtype=np.float32), f"embedding has shape (1, {EMBEDDING_DIM}), "
                                                     f"expected ({EMBEDDING_DIM},)"),
    ([np.nan] * EMBEDDING_DIM, "embedding contains NaN or infinite values"),
    ([0.0] * (EMBEDDING_DIM - 1) + [np.inf], "embedding contains NaN or infinite values"),
    (np.zeros(EMBEDDING_DIM), "embedding is the zero vector (cosine similarity needs a non-zero one)"),
    ([1e-30] + [0.0] * (EMBEDDING_DIM - 1),
     "embedding's float32 length is 0.0 (cosine similarity needs a finite non-zero one)"),
    ([1e30] * EMBEDDING_DIM,
     "embedding's float32 length is inf (cosine similarity needs a finite non-zero one)"),
])
def test_embedding_problem_names_what_makes_a_vector_unusable(values: object, problem: str | None) -> None:
    """One check for every stored vector (validate_bundle, cached vectors): right size, finite,
    a finite non-zero float32 length; None when usable."""
    assert embedding_problem(values) == problem


def test_embedding_problem_names_non_numeric_values() -> None:
    problem = embedding_problem(["a"] * EMBEDDING_DIM)
    assert problem is not None and problem.startswith("embedding is not numeric: ")
    bundle = PaperBundle(paper=Paper(id="t1", title="T", embedding=["a"] * EMBEDDING_DIM))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^paper 't1': embedding is not numeric: "):
        validate_bundle(bundle)


def test_a_zero_embedding_is_rejected_naming_the_paper() -> None:
    """Cosine similarity is undefined for the zero vector (Neo4j's vector.similarity.cosine fails on
    it), and so for one whose float32 length underflows to 0 or overflows; a small one is fine."""
    zero = PaperBundle(paper=Paper(id="z1", title="T", embedding=np.zeros(EMBEDDING_DIM, dtype=np.float32)))
    with pytest.raises(ValueError, match=r"paper 'z1': embedding is the zero vector"):
        validate_bundle(zero)
    for value, ok in ((1e-10, True), (1e-30, False), (1e30, False)):
        vector = np.zeros(EMBEDDING_DIM, dtype=np.float32)
        vector[3] = value
        bundle = PaperBundle(paper=Paper(id="v1", title="T", embedding=vector))
        if ok:
            assert validate_bundle(bundle)[1] is not None
        else:
            with pytest.raises(ValueError, match=r"paper 'v1': embedding's float32 length is (0\.0|inf)"):
                validate_bundle(bundle)


def test_an_arxiv_id_longer_than_the_id_limit_is_refused() -> None:
    """An old-style archive name may be long, but an id is at most MAX_ID_CHARS characters (mutation
    audit: V3): exactly the limit passes, one more is refused."""
    longest = "a" * (MAX_ID_CHARS - len("/0309136")) + "/0309136"
    assert len(longest) == MAX_ID_CHARS and check_arxiv_id(longest) == longest
    with pytest.raises(ValueError, match="'arxiv_id' must be an arXiv id"):
        check_arxiv_id("a" + longest)


def test_a_finding_id_twice_in_one_bundle_is_refused_naming_it(tmp_path: Path) -> None:
    """Two findings of one paper with one id (mutation audit: V1): a ValueError naming the paper and the
    id before any write, not the database's UNIQUE constraint halfway through."""
    from kg.entities import Finding
    from kg.validation import prepare_batch
    from tests.seed_store import taxonomy_store

    def bundle() -> PaperBundle:
        return PaperBundle(paper=Paper(id="2211.00593", title="A circuit", arxiv_id="2211.00593"), findings=[
            Finding("2211.00593#f1", "first claim", kind="claim", source="extracted"),
            Finding("2211.00593#f1", "second claim", kind="claim", source="extracted")])

    message = r"^paper '2211\.00593': finding id '2211\.00593#f1' is not unique$"
    with pytest.raises(ValueError, match=message):
        prepare_batch([bundle()])
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        with pytest.raises(ValueError, match=message):
            store.upsert_papers([bundle()])
        assert store.paper_ids() == []
    finally:
        store.close()


# -- `since` values: one rule for the API, the New page, the CLI and the stores ---------------------
SINCE_ACCEPTED = ["2024-01-31", "2024-01-31T12:00:00Z", "2024-01-31t12:00:00.5z", "2024-01-31T12:00:00+02:00",
                  "0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-01:00",
                  "9999-12-31T23:59:59.999999Z", "9999-12-31T22:59:59+01:00"]
# Each of these some parser took before (the CLI's fromisoformat, the New page's first 10 characters).
SINCE_MALFORMED = ["", " ", " 2024-01-31", "2024-01-31 ", "2024-01-31xyz", "20240131", "2024-W05-3",
                   "2024-01-31T12:00:00", "2024-01-31T12:00Z", "2024-01-31 12:00:00Z", "2024-02-30",
                   "２０２４-01-31", "2024-01-31T12:00:00+24:00", "yesterday"]
# Valid RFC 3339 whose moment in UTC is before 0001-01-01 or after 9999-12-31 (a 500 and tracebacks before).
SINCE_OUT_OF_RANGE = ["0001-01-01T00:00:00+00:01", "0001-01-01T05:00:00+06:00", "9999-12-31T23:59:59-01:00",
                      "9999-12-31T23:00:00.5-01:00"]


@pytest.mark.parametrize("value", SINCE_ACCEPTED)
def test_parse_since_takes_a_date_or_an_rfc3339_timestamp(value: str) -> None:
    from datetime import UTC, date, datetime

    from kg.validation import normalise_since, parse_since

    parsed = parse_since(value)
    if len(value) == 10:
        assert type(parsed) is date and parsed.isoformat() == value
        assert normalise_since(value) == value  # a date stays a date
    else:
        assert isinstance(parsed, datetime) and parsed.tzinfo is not None
        assert parsed == datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        stored = normalise_since(value)  # the stored first_seen format: UTC, microseconds
        assert stored.endswith("+00:00") and datetime.fromisoformat(stored) == parsed.astimezone(UTC)


@pytest.mark.parametrize("value", SINCE_MALFORMED)
def test_parse_since_refuses_every_other_form(value: str) -> None:
    from kg.validation import SINCE_RULE, normalise_since, parse_since

    with pytest.raises(ValueError) as caught:
        parse_since(value)
    shown = repr(value) if value else "an empty value"
    assert str(caught.value) == f"not an ISO date or timestamp: {shown} (use {SINCE_RULE})"
    with pytest.raises(ValueError, match=r"^not an ISO date or timestamp: "):
        normalise_since(value)  # the stores take what the API, the pages and the CLI take


@pytest.mark.parametrize("value", SINCE_OUT_OF_RANGE)
def test_parse_since_refuses_moments_outside_the_datetime_range(value: str) -> None:
    """Before: OverflowError from .astimezone(UTC), a 500 on /api/new and a traceback from the CLI."""
    from kg.validation import SINCE_RULE, normalise_since, parse_since

    for parse in (parse_since, normalise_since):
        with pytest.raises(ValueError) as caught:
            parse(value)
        assert str(caught.value) == f"out of range: {value!r} (use {SINCE_RULE})"
    assert SINCE_RULE == ("a date like 2024-01-31 or an RFC 3339 timestamp like 2024-01-31T12:00:00Z, "
                          "from 0001-01-01 to 9999-12-31 in UTC")


def test_a_phrase_added_to_a_query_is_one_term_that_counts_toward_no_limit() -> None:
    """Hybrid's acronym long form (kg.search.spelled_out_keywords): OR-ed in as words it made "SAE
    features" a query of 4 words, past MAX_VARIED_WORDS, which lost "SAEs" and "feature"."""
    text = with_phrases("SAE features", ["sparse  autoencoder", "sparse autoencoder", ""])
    assert search_terms(text) == ["SAE", "SAEs", "features", "feature", "sparse autoencoder",
                                  "sparse autoencoders"]
    assert venue_query(with_phrases("IOI", ["indirect object identification"])) == venue_query("IOI")
    # A phrase only when added so: the separator in the text itself is no phrase's.
    assert with_phrases(f"a{PHRASE_SEPARATOR}b", []) == "a b"
    assert search_terms(with_phrases("circuits", [])) == search_terms("circuits")
