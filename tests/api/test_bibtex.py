"""BibTeX entry types and years from free-text venues."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from api.bibtex import citation_key, escape, to_bibtex
from kg.entities import Paper


@pytest.mark.parametrize(("venue", "head", "venue_line", "year"), [
    ("ICLR 2023", "@inproceedings{",
     "booktitle = {International Conference on Learning Representations (ICLR 2023)}", 2023),
    ("NeurIPS 2023 (oral)", "@inproceedings{",
     "booktitle = {Advances in Neural Information Processing Systems (NeurIPS 2023)}", 2023),
    ("Findings of ACL 2024 (unconfirmed)", "@inproceedings{",
     "booktitle = {Findings of the Association for Computational Linguistics: ACL 2024}", 2024),
    ("TMLR 2024", "@article{", "journal = {Transactions on Machine Learning Research}", 2024),
    ("ICLR'24", "@inproceedings{",  # the list's venue tag
     "booktitle = {International Conference on Learning Representations (ICLR 2024)}", 2024),
    ("TMLR'23", "@article{", "journal = {Transactions on Machine Learning Research}", 2023),
    # Not a recognised venue: the paper's own year stays.
    ("Transformer Circuits Thread (Anthropic)", "@misc{", "note = {Transformer Circuits Thread (Anthropic)}",
     2022),
    ("ACLU 2020", "@misc{", "note = {ACLU 2020}", 2022),  # a name that merely starts like a venue
    ("ICLR", "@misc{", "note = {ICLR}", 2022),  # no year: not enough to call it proceedings
])
def test_entry_type_and_year_follow_the_venue(venue: str, head: str, venue_line: str, year: int) -> None:
    paper = Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022, venue=venue,
                  authors=["Kevin Wang"])
    text = to_bibtex(paper)
    # The key keeps the paper's own year (2022) whatever the venue: see test_a_venue_never_changes_the_key.
    assert text.startswith(f"{head}wang2022t,") and citation_key(paper) == "wang2022t"
    assert f"  {venue_line}," in text
    assert f"  year = {{{year}}}," in text
    assert "eprint = {2211.00593}" in text  # arXiv fields whatever the type


def test_no_venue_is_a_misc_without_a_note() -> None:
    text = to_bibtex(Paper(id="x", title="Untitled post"))
    assert text.startswith("@misc{") and "note" not in text and "booktitle" not in text


# Seed papers submitted to arXiv the year before their venue: (id, key, booktitle, venue year). The key
# has the arXiv year (it was the venue's before, and changed when the venue arrived).
SEED_VENUE_YEARS = [
    ("2012.14913", "geva2020transformer",  # arXiv 2020-12
     "Conference on Empirical Methods in Natural Language Processing (EMNLP 2021)", 2021),
    ("2309.08600", "cunningham2023sparse",  # arXiv 2023
     "International Conference on Learning Representations (ICLR 2024)", 2024),
    ("2212.09095", "bansal2022rethinking",  # arXiv 2022-12
     "Annual Meeting of the Association for Computational Linguistics (ACL 2023)", 2023),
]


@pytest.mark.parametrize(("paper_id", "key", "booktitle", "year"), SEED_VENUE_YEARS)
def test_seed_papers_are_cited_with_the_venue_year_and_keyed_with_their_own(
    client: FlaskClient, paper_id: str, key: str, booktitle: str, year: int
) -> None:
    response = client.get(f"/api/papers/{paper_id}/bibtex")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert client.get(f"/api/papers/{paper_id}").get_json()["year"] == year - 1  # the arXiv year
    assert text.startswith(f"@inproceedings{{{key},")
    assert f"  booktitle = {{{booktitle}}}," in text and f"  year = {{{year}}}," in text
    assert f"  eprint = {{{paper_id}}}," in text and "archivePrefix = {arXiv}" in text  # kept
    assert response.headers["Content-Disposition"] == f'inline; filename="{key}.bib"'


# -- a minimal BibTeX reader that counts braces as BibTeX does ---------------------------------------
def _read_braced(text: str, start: int) -> int:
    """The index just past the `}` closing the group opened at text[start] ("{"). A backslash does not
    escape a brace for BibTeX (it counts `\\{` too), so neither does this; ValueError when it never
    closes."""
    assert text[start] == "{"
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unclosed group from {start}: {text[start:start + 60]!r}")


_MONTH_MACRO = re.compile(r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b")


def parse_bib(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(type, key, fields) of each `@type{key, name = {value}, ...}` entry in text; every field
    value must be one brace-balanced group (or a month macro, `month = nov`) and the entry must close right
    after the last field."""
    entries = []
    pos = 0
    while (at := text.find("@", pos)) != -1:
        head = re.match(r"@(\w+)\{([^,\s{}]+),", text[at:])
        assert head, text[at:at + 80]
        kind, key = head.groups()
        pos = at + head.end()
        fields: dict[str, str] = {}
        while True:
            field = re.compile(r"\s*(\w+)\s*=\s*").match(text, pos)
            assert field, text[pos:pos + 80]
            if macro := _MONTH_MACRO.match(text, field.end()):
                assert field.group(1) == "month", field.group(1)
                end, value = macro.end(), macro.group(1)
            else:
                end = _read_braced(text, field.end())
                value = text[field.end() + 1:end - 1]
            assert field.group(1) not in fields
            fields[field.group(1)] = value
            sep = re.compile(r"\s*([,}])").match(text, end)
            assert sep, f"junk after {field.group(1)}: {text[end:end + 40]!r}"
            pos = sep.end()
            if sep.group(1) == "}":
                break
        entries.append((kind, key, fields))
    assert not text[pos:].strip()
    return entries


def balanced(value: str) -> bool:
    """Whether BibTeX's brace count (backslashes ignored) never dips below zero and ends at zero."""
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def top_level_authors(field: str) -> list[str]:
    """The author field split as BibTeX splits it: at " and " outside braces, in any case."""
    names, depth, start = [], 0, 0
    for match in re.finditer(r"[{}]|\s+and\s+", field, re.IGNORECASE):
        if match.group(0) in "{}":
            depth += 1 if match.group(0) == "{" else -1
        elif depth == 0:
            names.append(field[start:match.start()])
            start = match.end()
    return [*names, field[start:]]


HOSTILE_TITLES = ["An unbalanced { brace", 'Title with "}" closing quote brace', "}{", "{{", "}}x{",
                  "a \\{ b", "ends in a backslash \\", "{balanced} and } lone"]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_lone_braces_leave_every_field_balanced(title: str) -> None:
    paper = Paper(id="p1", arxiv_id="2401.00001", title=title, year=2024, venue=f"Note {title}",
                  authors=[f"Ada {title} Lovelace", "Alan Turing"], doi="10.1000/{braced",
                  url="https://example.org/x}y")
    text = to_bibtex(paper)
    ((kind, key, fields),) = parse_bib(text)
    assert kind == "misc" and key == citation_key(paper)
    # Every field is there: a field left open would have swallowed the ones after it.
    assert list(fields) == ["title", "author", "note", "howpublished", "year", "eprint", "archivePrefix",
                            "doi", "url"]
    assert all(balanced(v) for v in fields.values()), fields
    assert len(top_level_authors(fields["author"])) == 2
    # Two such entries in one .bib stay two entries, the second intact.
    other = to_bibtex(Paper(id="p2", title="Neighbour", authors=["Grace Hopper"], year=2020))
    assert [e[1] for e in parse_bib(text + "\n" + other)] == [key, "hopper2020neighbour"]


def test_lone_braces_are_latex_text_braces_and_pairs_stay_escaped() -> None:
    # A pair of braces is TeX's group (arXiv's "{GPT}-2" keeps its case), read as the text inside (kg.tex);
    # an escaped pair is braces the title shows.
    text = to_bibtex(Paper(id="p", title="A } and a { and {pair} and \\{shown\\}", year=2024))
    title = parse_bib(text)[0][2]["title"]
    assert title == r"{A \textbraceright{} and a \textbraceleft{} and pair and \{shown\}}"
    assert escape("}{") == r"\textbraceright{}\textbraceleft{}"


# -- author names --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "rendered", "key_name"), [
    ("Martin Luther King Jr.", "King, Jr., Martin Luther", "king"),
    ("Sammy Davis, Jr.", "Davis, Jr., Sammy", "davis"),
    ("Henry Ford III", "Ford, III, Henry", "ford"),
    ("John Smith Sr", "Smith, Sr, John", "smith"),
    ("Pope Leo IV", "Leo, IV, Pope", "leo"),
    ("Juan de la Cruz II", "de la Cruz, II, Juan", "cruz"),
    ("King Jr.", "King, Jr.,", "king"),  # no given name: BibTeX's empty third part
    (", Jr.", ", Jr.", ""),  # nothing but a suffix: left as it is
    ("King, Jr., Martin Luther", "King, Jr., Martin Luther", "king"),  # already in BibTeX's order
    ("Wang, Kevin", "Wang, Kevin", "wang"),
    ("Kevin Wang", "Kevin Wang", "wang"),
    ("John von Neumann", "John von Neumann", "neumann"),
    ("Plato", "Plato", "plato"),
    # Not persons: one braced unit, never split at "and", keyed by the first word.
    ("Research and Development Lab", "{Research and Development Lab}", "research"),
    ("Gemini Team", "{Gemini Team}", "gemini"),
    ("Anthropic Interpretability Team", "{Anthropic Interpretability Team}", "anthropic"),
    ("The Pythia Consortium", "{The Pythia Consortium}", "pythia"),
    ("ATLAS Collaboration", "{ATLAS Collaboration}", "atlas"),
    ("EleutherAI Research Group", "{EleutherAI Research Group}", "eleutherai"),
    ("BigScience Project", "{BigScience Project}", "bigscience"),
    ("Tom AND Jerry", "{Tom AND Jerry}", "tom"),
    ("A, B, C, D", "{A, B, C, D}", "a"),  # too many commas for BibTeX's name parts
])
def test_author_names_keep_their_parts(name: str, rendered: str, key_name: str) -> None:
    paper = Paper(id="p", title="Probing", year=2024, authors=[name, "Ada Lovelace"])
    fields = parse_bib(to_bibtex(paper))[0][2]
    assert fields["author"] == f"{rendered} and Ada Lovelace"
    assert top_level_authors(fields["author"]) == [rendered, "Ada Lovelace"]
    assert citation_key(paper) == f"{key_name}2024probing"


# -- venues: workshops and Findings ---------------------------------------------------------------
@pytest.mark.parametrize(("venue", "booktitle", "year"), [
    ("ICML'24 MI Workshop", "ICML 2024 MI Workshop", 2024),
    ("NeurIPS 2023 ATTRIB Workshop", "NeurIPS 2023 ATTRIB Workshop", 2023),
    ("ICLR 2024 Workshop on Reliable and Responsible Foundation Models",
     "ICLR 2024 Workshop on Reliable and Responsible Foundation Models", 2024),
    ("EMNLP 2023 BlackboxNLP Workshop", "EMNLP 2023 BlackboxNLP Workshop", 2023),
    ("ICML'24 MI Workshop (spotlight)", "ICML 2024 MI Workshop", 2024),
    ("NeurIPS 2023 Workshop on R&D", r"NeurIPS 2023 Workshop on R\&D", 2023),
    ("ACL'24 Findings", "Findings of the Association for Computational Linguistics: ACL 2024", 2024),
    ("EMNLP 2023 (Findings)", "Findings of the Association for Computational Linguistics: EMNLP 2023", 2023),
    ("Findings of EMNLP 2023", "Findings of the Association for Computational Linguistics: EMNLP 2023", 2023),
    # A workshop named in a remark is the workshop, not the main conference; other remarks go.
    ("EMNLP 2023 (BlackboxNLP Workshop)", "EMNLP 2023 BlackboxNLP Workshop", 2023),
    ("ICML 2024 (Workshop on MI) (oral)", "ICML 2024 Workshop on MI", 2024),
    ("ICML'24 (oral) (MI Workshop)", "ICML 2024 MI Workshop", 2024),
    ("NeurIPS 2023 (oral)", "Advances in Neural Information Processing Systems (NeurIPS 2023)", 2023),
    # A named track keeps its name as a workshop does; the main track is the conference.
    ("ICLR 2024 Tiny Papers Track", "ICLR 2024 Tiny Papers Track", 2024),
    ("NeurIPS 2023 (Datasets and Benchmarks Track)", "NeurIPS 2023 Datasets and Benchmarks Track", 2023),
    ("IJCAI 2023 (Main Track)", "International Joint Conference on Artificial Intelligence (IJCAI 2023)",
     2023),
])
def test_workshops_and_findings_keep_their_name(venue: str, booktitle: str, year: int) -> None:
    paper = Paper(id="p", title="T", year=2022, venue=venue, authors=["Kevin Wang"])
    ((kind, key, fields),) = parse_bib(to_bibtex(paper))
    assert kind == "inproceedings" and fields["booktitle"] == booktitle
    assert fields["year"] == str(year) and key == "wang2022t"  # the key's year is the paper's own


# -- citation keys ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("paper", "key"), [
    (Paper(id="p", title="Probing", year=2024, authors=["Anders Søgaard"]), "sogaard2024probing"),
    (Paper(id="p", title="Logik", year=1930, authors=["Jan Łukasiewicz"]), "lukasiewicz1930logik"),
    (Paper(id="p", title="Øresund straße", year=2020, authors=["Ærø"]), "aero2020oresund"),
    # No usable name or title word: the arXiv id, else the paper id, made key-safe; never a bare year.
    (Paper(id="2401.00001", arxiv_id="2401.00001", title="可解释性研究", year=2024, authors=["王凯"]),
     "arxiv-2401.00001"),
    (Paper(id="hep-th/9901001", arxiv_id="hep-th/9901001", title="量子", year=1999),
     "arxiv-hep-th-9901001"),
    (Paper(id="records:论文-7", title="可解释性", year=2024, authors=["李"]), "records-7"),
    (Paper(id="王凯", title="可解释性", year=2024), "paper-"),
    # A name but no title word (or the reverse) still makes a key from what there is.
    (Paper(id="p", title="可解释性", year=2024, authors=["Kai Wang"]), "wang2024"),
])
def test_citation_keys_fold_letters_and_never_are_just_a_year(paper: Paper, key: str) -> None:
    assert citation_key(paper).startswith(key) and re.fullmatch(r"[a-z0-9.\-]+", citation_key(paper))
    assert citation_key(paper) == citation_key(Paper(**vars(paper)))  # deterministic
    assert parse_bib(to_bibtex(paper))[0][1] == citation_key(paper)


def test_key_names_the_first_author_the_entry_lists() -> None:
    # A blank name is left out of the author field, so the key skips it too.
    paper = Paper(id="p", title="Probing", year=2024, authors=[" ", "", "Kevin Wang", "Ada Lovelace"])
    ((_, key, fields),) = parse_bib(to_bibtex(paper))
    assert fields["author"] == "Kevin Wang and Ada Lovelace"
    assert key == citation_key(paper) == "wang2024probing"


def test_keys_of_unnamed_papers_differ_by_paper() -> None:
    keys = {citation_key(Paper(id=pid, title="可解释性", year=2024)) for pid in ("王凯", "李", "张伟")}
    assert len(keys) == 3 and all(re.fullmatch(r"paper-[0-9a-f]{8}", k) for k in keys)


# -- doi and url are written as identifiers, not LaTeX text ---------------------------------------
@pytest.mark.parametrize(("doi", "field"), [
    ("10.1000/abc_def", "10.1000/abc_def"),
    *[(sici, sici) for sici in ["10.1002/(SICI)1097-4571(199806)49:8<1::AID>3.0.CO;2-#"]],
    ("10.1000/100%~x&y$z^", "10.1000/100%~x&y$z^"),
    ("10.1000/{braced", "10.1000/%7Bbraced"),
    ("10.1000/a}b{c} d", "10.1000/a%7Db%7Bc%7D%20d"),
])
def test_doi_is_raw_except_braces(doi: str, field: str) -> None:
    fields = parse_bib(to_bibtex(Paper(id="p", title="T", doi=doi)))[0][2]
    assert fields["doi"] == field


@pytest.mark.parametrize(("url", "field"), [
    ("https://example.com/a b{c}\\d%20e#frag", "https://example.com/a%20b%7Bc%7D%5Cd%20e#frag"),
    ("https://example.org/a?b=1&c=<2>|`^\"", "https://example.org/a?b=1&c=%3C2%3E%7C%60%5E%22"),
    ("https://example.org/100%/x%2Fy%zz", "https://example.org/100%25/x%2Fy%25zz"),
    ("https://example.org/wiki/Straße?q=ü", "https://example.org/wiki/Straße?q=ü"),  # IRI letters stay
    # clean_text: a no-break space is a space, a zero-width space goes (both copy-paste debris).
    ("https://example.org/a\u00a0b\u200bc", "https://example.org/a%20bc"),
    ("https://example.org/a\u2028b", "https://example.org/a%E2%80%A8b"),
    ("https://example.org/p;v=1,2/[x]/~u/@!$'()*+", "https://example.org/p;v=1,2/%5Bx%5D/~u/@!$'()*+"),
])
def test_url_is_percent_encoded_not_cut(url: str, field: str) -> None:
    fields = parse_bib(to_bibtex(Paper(id="p", title="T", url=url)))[0][2]
    assert fields["url"] == field


# -- letters outside ASCII: classic BibTeX reads bytes ---------------------------------------------
# A name word starting with a UTF-8 letter has no uppercase first letter for BibTeX 0.99d: it is taken
# for a "von" particle (plainnat cites "Çağlar Gülçehre and Bengio", abbrv does not abbreviate it) and
# alpha's label takes its first byte, half a character (pdflatex: "Invalid UTF-8 byte sequence"). A
# braced accent command is one letter to BibTeX, with its case.
@pytest.mark.parametrize(("name", "rendered"), [
    ("Çağlar Gülçehre", r"{\c{C}}a{\u{g}}lar G{\"u}l{\c{c}}ehre"),
    ("Øyvind Tafjord", r"{\O}yvind Tafjord"),
    ("José Ñúñez", r"Jos{\'e} {\~N}{\'u}{\~n}ez"),
    ("Åse Ødegård", r"{\AA}se {\O}deg{\aa}rd"),
    ("Żaneta Żółć", r"{\.Z}aneta {\.Z}{\'o}{\l}{\'c}"),
    ("Íñigo Łukasiewicz", r"{\'I}{\~n}igo {\L}ukasiewicz"),
    ("Paul Erdős", r"Paul Erd{\H{o}}s"),
    ("Antonín Dvořák", r"Anton{\'\i}n Dvo{\v{r}}{\'a}k"),  # i under an accent is the dotless \i
    ("Ævar Œdipe", r"{\AE}var {\OE}dipe"),
    ("Hans Weiß", r"Hans Wei{\ss}"),
    ("Agnieszka Gąsior", r"Agnieszka G{\k{a}}sior"),
    ("Ēriks Ėlė", r"{\=E}riks {\.E}l{\.e}"),
    ("Emre Işık", r"Emre I{\c{s}}{\i}k"),  # Turkish dotless i
    ("Nguyễn Việt", r"Nguy{\~{\^e}}n Vi{\^{\d{e}}}t"),  # two marks: nested, innermost first
    ("Jose\u0301 Nun\u0303ez", r"Jos{\'e} Nu{\~n}ez"),  # decomposed input, as precomposed
    ("Lorenzo Müller, Jr.", r"M{\"u}ller, Jr., Lorenzo"),  # the name parts are kept
])
def test_accented_letters_in_names_are_latex_accent_commands(name: str, rendered: str) -> None:
    paper = Paper(id="p", title="Probing", year=2024, authors=[name, "Yoshua Bengio"])
    fields = parse_bib(to_bibtex(paper))[0][2]
    assert fields["author"] == f"{rendered} and Yoshua Bengio"
    assert fields["author"].isascii() and balanced(fields["author"])
    # Every name word starts with an ASCII letter or a braced special character, as BibTeX needs.
    for word in re.split(r"[\s,]+", rendered):
        assert not word or (word[0].isascii() and (word[0].isalpha() or word.startswith("{\\"))), word


def test_the_theano_entry_is_seven_bit_and_keeps_its_key() -> None:
    paper = Paper(id="x1", title="Theano", authors=["Çağlar Gülçehre", "Yoshua Bengio"], year=2016,
                  arxiv_id="1605.02688")
    text = to_bibtex(paper)
    assert text.isascii()
    assert "author = {{\\c{C}}a{\\u{g}}lar G{\\\"u}l{\\c{c}}ehre and Yoshua Bengio}" in text
    assert parse_bib(text)[0][1] == citation_key(paper) == "gulcehre2016theano"


def test_other_fields_spell_accents_too_and_specials_stay_escaped() -> None:
    # TeX markup is read first (kg.tex): "{1}" is a group, "$x^2$" math, "\\ " a space; what is left of
    # the specials is escaped.
    paper = Paper(id="p", title="Gödel, Escher & Bach_{1} ~ 100% $x^2$ #1 \\ Straße ^ \\$5 a\\b",
                  venue="Café Workshop on Naïve Models", year=2020)
    fields = parse_bib(to_bibtex(paper))[0][2]
    assert fields["title"] == (r"{G{\"o}del, Escher \& Bach\_1 \~{} 100\% x$^{2}$ \#1 Stra{\ss}e "
                               r"\^{} \$5 ab}")
    assert fields["note"] == r"Caf{\'e} Workshop on Na{\"\i}ve Models"
    assert escape("a } ü {") == r"a \textbraceright{} {\"u} \textbraceleft{}"


@pytest.mark.parametrize("text", ["王凯", "可解释性研究", "Καραγιάννης", "Чебышёв", "a\u20dd", "ŋ"])
def test_characters_with_no_latex_command_stay_utf8(text: str) -> None:
    # Nothing better exists for classic BibTeX; biblatex and a UTF-8 LaTeX read them as they are.
    assert escape(text) == text
    fields = parse_bib(to_bibtex(Paper(id="p", title=text, authors=[f"{text} Wang"], year=2024)))[0][2]
    assert fields["title"] == "{" + text + "}" and fields["author"] == f"{text} Wang"


def test_escape_is_unchanged_for_ascii() -> None:
    for value in ["Kevin Wang", "A & B", "100%", "x_y", "{pair}", "}{", "a\\b", "~^"]:
        assert escape(value).isascii()
    assert escape("Plain ASCII title") == "Plain ASCII title"


# -- arXiv preprints carry an identifier every classic style prints ---------------------------------
@pytest.mark.parametrize(("paper", "howpublished"), [
    (Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022), "arXiv:2211.00593"),
    (Paper(id="hep-th/9901001", arxiv_id="hep-th/9901001", title="T", year=1999), "arXiv:hep-th/9901001"),
    # An unrecognised venue stays a note, beside the arXiv id.
    (Paper(id="2301.1", arxiv_id="2301.00001", title="T", year=2023, venue="Transformer Circuits Thread"),
     "arXiv:2301.00001"),
    # Not on arXiv, or at a venue (the booktitle/journal says where): none.
    (Paper(id="p", title="T", year=2022, url="https://example.org/post"), None),
    (Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022, venue="ICLR 2023", authors=["Wang"]),
     None),
    (Paper(id="2211.00593", arxiv_id="2211.00593", title="T", year=2022, venue="TMLR 2024", authors=["Wang"]),
     None),
])
def test_arxiv_misc_entries_have_howpublished(paper: Paper, howpublished: str | None) -> None:
    fields = parse_bib(to_bibtex(paper))[0][2]
    assert fields.get("howpublished") == howpublished
    if paper.arxiv_id:  # the eprint fields stay for biblatex and natbib styles
        assert fields["eprint"] == paper.arxiv_id and fields["archivePrefix"] == "arXiv"


def test_a_given_key_replaces_the_citation_key() -> None:
    paper = Paper(id="p", title="Probing", year=2024, authors=["Kevin Wang"])
    assert parse_bib(to_bibtex(paper, "wang2024probinga"))[0][1] == "wang2024probinga"
    assert to_bibtex(paper, "wang2024probinga").replace("probinga,", "probing,", 1) == to_bibtex(paper)
