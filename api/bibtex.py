"""BibTeX for a paper: a stable citation key and LaTeX-escaped fields."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

from kg.entities import Paper
from kg.safe_output import arxiv_abs_url, iri_safe, is_invisible, percent_encode, safe_http_url
from kg.tex import plain_text
from kg.validation import clean_text, fold_for_search

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
# BibTeX counts every brace, even after a backslash: `\{` opens a group all the same. A brace of a
# matched pair stays `\{`/`\}` (balanced); a lone one becomes a brace-free LaTeX text command, else the
# field would never close and take the fields and entries after it along.
_LONE_BRACE = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}


def _lone_braces(value: str) -> set[int]:
    """The positions of the braces in value that have no partner."""
    opened: list[int] = []
    lone: set[int] = set()
    for i, ch in enumerate(value):
        if ch == "{":
            opened.append(i)
        elif ch == "}":
            if opened:
                opened.pop()
            else:
                lone.add(i)
    return lone | set(opened)


# -- letters outside ASCII as LaTeX accent commands -------------------------------------------------
# Classic BibTeX (0.99d) reads bytes, not characters: a name word starting with a UTF-8 letter
# ("Çağlar", "Øyvind") has no uppercase first letter for it, so it is taken for a "von" particle
# (plainnat prints "Çağlar Gülçehre and Bengio", abbrv never abbreviates it), and alpha's label takes
# its first byte, half a character, which pdflatex refuses. A braced accent command, {\c{C}}, is a
# "special character" to BibTeX: one uppercase C for case, labels, abbreviation and sorting, and the
# same letter to LaTeX and biblatex. Combining marks (after NFD) to their command:
_ACCENTS = {
    "\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
    "\u0307": ".", "\u0327": "c", "\u0306": "u", "\u030c": "v", "\u030a": "r", "\u0328": "k",
    "\u030b": "H", "\u0323": "d",
}
# Marks written above the letter: on an i or j they go on the dotless form (\'\i, as BibTeX's own
# special characters spell it; T1 has these as single glyphs).
_ABOVE = frozenset("\u0301\u0300\u0302\u0308\u0303\u0304\u0307\u0306\u030c\u030a\u030b")
# Letters with no decomposition, and the ring-a LaTeX spells as a letter of its own.
_LETTERS = {
    "ø": r"\o", "Ø": r"\O", "ł": r"\l", "Ł": r"\L", "ß": r"\ss", "æ": r"\ae", "Æ": r"\AE",
    "œ": r"\oe", "Œ": r"\OE", "ı": r"\i", "ȷ": r"\j", "đ": r"\dj", "Đ": r"\DJ", "ð": r"\dh",
    "Ð": r"\DH", "þ": r"\th", "Þ": r"\TH",
}
_RING_A = {"a": r"\aa", "A": r"\AA"}
# A letter (ASCII or one of _LETTERS) and the combining marks after it, in NFD.
_LETTER_AND_MARKS = re.compile("([A-Za-z" + "".join(_LETTERS) + "])([\u0300-\u036f]*)")
# A character and the combining marks written after it, as the text has them.
_CLUSTER = re.compile("[^\u0300-\u036f][\u0300-\u036f]*")


def _latex_letter(cluster: str) -> str:
    """One character and its marks as a braced LaTeX command ({\\"u}, {\\c{C}}, {\\o}, {\\'\\i}), or
    as it is when it is no Latin letter or has a mark with no command (it stays UTF-8)."""
    if cluster.isascii():
        return cluster
    match = _LETTER_AND_MARKS.fullmatch(unicodedata.normalize("NFD", cluster))
    if match is None:
        return cluster
    base, marks = match.group(1), match.group(2)
    if marks == "\u030a" and base in _RING_A:
        return "{" + _RING_A[base] + "}"
    if any(mark not in _ACCENTS for mark in marks):
        return cluster
    text = _LETTERS.get(base, base)
    if base in "ij" and marks and marks[0] in _ABOVE:
        text = "\\" + base
    # NFD orders the marks innermost first (below before above): each wraps what is built so far.
    for i, mark in enumerate(marks):
        command = _ACCENTS[mark]
        if command.isalpha() or not (i == 0 and (len(text) == 1 or text in (r"\i", r"\j"))):
            text = f"\\{command}{{{text}}}"
        else:  # a symbol command takes one letter (or \i) unbraced: \"u, \'\i
            text = f"\\{command}{text}"
    return "{" + text + "}"


def latex_letters(text: str) -> str:
    """text with its accented and special Latin letters as braced LaTeX commands ("Gülçehre" ->
    "G{\\"u}l{\\c{c}}ehre", "Ødegård" -> "{\\O}deg{\\aa}rd"). Characters LaTeX has no text command
    for (CJK, Greek, Cyrillic, a letter with a mark not in _ACCENTS) stay as they are, in UTF-8:
    biblatex and a UTF-8 LaTeX read them, and classic BibTeX passes them through (it only misreads
    them at the start of a name word)."""
    if text.isascii():
        return text
    return _CLUSTER.sub(lambda m: _latex_letter(m.group(0)), text)


# -- math letters and symbols, emoji ------------------------------------------------------------------
# pdflatex stops at a character its inputenc has no definition for ("Unicode character ℓ (U+2113) not set
# up for use with LaTeX"), and arXiv's TeX titles read as text (kg.tex) hold such letters: "$\\ell_1$" is
# "ℓ₁". Those with a command of LaTeX's own (no package) become math: ℓ $\\ell$, ε $\\epsilon$, ∞, ≤, →,
# script capitals $\\mathcal{L}$, sub- and superscript digits. Double-struck, bold and other
# mathematical letters are their plain letter (ℝ is R): \\mathbb needs amssymb, which a document may not
# load. Greek letters are math ("ε-greedy", "β-VAE") unless the text is Greek (three Greek letters in a
# row): Greek text stays UTF-8, as other scripts do (see latex_letters). Emoji carry nothing a citation
# needs and no LaTeX font has them: they are left out.
_MATH_SYMBOLS = {
    "ℓ": r"\ell", "ℏ": r"\hbar", "∞": r"\infty", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx",
    "∼": r"\sim", "≃": r"\simeq", "≡": r"\equiv", "∝": r"\propto", "≪": r"\ll", "≫": r"\gg",
    "×": r"\times", "÷": r"\div", "±": r"\pm", "∓": r"\mp", "→": r"\to", "←": r"\leftarrow",
    "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "↔": r"\leftrightarrow", "↦": r"\mapsto", "∈": r"\in",
    "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap", "∀": r"\forall",
    "∃": r"\exists", "∧": r"\wedge", "∨": r"\vee", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "√": r"\surd", "∂": r"\partial", "∇": r"\nabla", "∅": r"\emptyset", "∘": r"\circ", "⋆": r"\star",
    "∗": r"\ast", "⊤": r"\top", "⊥": r"\bot", "⟨": r"\langle", "⟩": r"\rangle", "′": r"\prime",
    "‖": r"\|", "⋯": r"\cdots", "ℜ": r"\Re", "ℑ": r"\Im", "ℵ": r"\aleph", "℘": r"\wp",
}
# Greek letters LaTeX names (the capitals that look like Latin ones have no command: they are that letter).
_GREEK_NAMES = ("alpha", "beta", "gamma", "delta", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
                "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega")
_GREEK_CAPITALS = ("gamma", "delta", "theta", "lambda", "xi", "pi", "sigma", "upsilon", "phi", "psi", "omega")
_GREEK_LETTERS = {
    **{unicodedata.lookup(f"GREEK SMALL LETTER {n.upper().replace('LAMBDA', 'LAMDA')}"): "\\" + n
       for n in _GREEK_NAMES if n != "epsilon"},
    **{unicodedata.lookup(f"GREEK CAPITAL LETTER {n.upper().replace('LAMBDA', 'LAMDA')}"):
       "\\" + n.capitalize() for n in _GREEK_CAPITALS},
    "ε": r"\epsilon", "ϵ": r"\epsilon", "ϑ": r"\vartheta", "ϕ": r"\phi", "ϱ": r"\varrho",
    "ς": r"\varsigma", "ϖ": r"\varpi", "ο": "o", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_SCRIPTS = {**{ch: ("^", str(d)) for d, ch in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
            **{ch: ("_", str(d)) for d, ch in enumerate("₀₁₂₃₄₅₆₇₈₉")}}
_SCRIPT_CAPITAL = re.compile(r"(?:MATHEMATICAL )?SCRIPT CAPITAL ([A-Z])$")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe00-\ufe0f\u20e3]")


# Three Greek letters in a row: Greek text (a name, a title), not math ("αβ" of "$\\alpha\\beta$").
_GREEK_WORD = re.compile("[\u0370-\u03ff\u1f00-\u1fff]{3,}")


def _math_of(value: str, i: int, greek_text: bool) -> tuple[str, str] | None:
    """("_"/"^", digit) for a sub- or superscript digit, ("", command) for another math character at
    value[i], else None; `greek_text`: value holds a Greek word, so its Greek letters stay text."""
    ch = value[i]
    if ch in _SCRIPTS:
        return _SCRIPTS[ch]
    if ch in _MATH_SYMBOLS:
        return "", _MATH_SYMBOLS[ch]
    if ch in _GREEK_LETTERS:
        command = _GREEK_LETTERS[ch]
        return ("", command) if command.startswith("\\") and not greek_text else None
    if ord(ch) >= 0x2100 and (script := _SCRIPT_CAPITAL.match(unicodedata.name(ch, ""))):
        return "", f"\\mathcal{{{script.group(1)}}}"
    return None


def _math_run(tokens: list[tuple[str, str]]) -> str:
    """Consecutive math characters as one $...$ ("ℓ₁₂" -> $\\ell_{12}$): sub- and superscript digits
    in one group each, so LaTeX never sees a double subscript."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind:
            digits = ""
            while i < len(tokens) and tokens[i][0] == kind:
                digits += tokens[i][1]
                i += 1
            out.append(f"{kind}{{{digits}}}")
            continue
        if out and out[-1][-1].isalpha() and text[-1:].isalpha() and not text.startswith("\\"):
            out.append(" ")
        out.append(text)
        i += 1
    return "$" + "".join(out) + "$"


def _plain_letters(value: str) -> str:
    """Mathematical and letterlike letters that are a plain letter in another style (ℝ, 𝔼, 𝐱, ℕ) as
    that letter, emoji left out."""
    value = _EMOJI.sub("", value)
    if value.isascii():
        return value
    return "".join(_plain_letter(ch) if ord(ch) >= 0x2100 else ch for ch in value)


def _plain_letter(ch: str) -> str:
    """A double-struck, bold, fraktur ... letter as its plain letter (ℝ -> R); another character as it is."""
    if ch in _MATH_SYMBOLS or _SCRIPT_CAPITAL.match(unicodedata.name(ch, "")):
        return ch
    folded = unicodedata.normalize("NFKC", ch)
    return folded if folded.isascii() and folded.isalnum() else ch


def escape(value: str) -> str:
    """Escape text for a braced BibTeX field: TeX markup read as the text it stands for first (kg.tex:
    arXiv's "$\\ell_1$-Regularised", "\\textit{...}", "G\\"odel" are what "ℓ₁-Regularised",
    "...", "Gödel" give), then LaTeX specials, control, bidi and format characters, newlines, accented
    Latin letters as LaTeX accent commands (latex_letters), math letters and symbols as LaTeX math
    ($\\ell$, $\\epsilon$, $\\mathcal{L}$), double-struck letters plain (ℝ as R), emoji left out; the
    result is always brace-balanced as BibTeX counts braces."""
    value = " ".join(_plain_letters(plain_text(clean_text(str(value)))).split())
    lone = _lone_braces(value)
    # The specials first, by position (lone braces are found in the text as given); the accent
    # commands added after bring balanced braces of their own, and no combining mark can follow a
    # letter of an escape command (each ends in "}" or a symbol).
    # Once per value, not per Greek letter (a search per letter was quadratic in a long Greek text).
    greek_text = _GREEK_WORD.search(value) is not None
    out: list[str] = []
    run: list[tuple[str, str]] = []
    for i, ch in enumerate(value):
        math = None if ch.isascii() else _math_of(value, i, greek_text)
        if math is not None:
            run.append(math)
            continue
        if run:
            out.append(_math_run(run))
            run = []
        out.append(_LONE_BRACE[ch] if i in lone else _LATEX_SPECIALS.get(ch, ch))
    if run:
        out.append(_math_run(run))
    return latex_letters("".join(out))


# -- percent-encoding for the identifier fields (doi; url: kg.safe_output.iri_safe) --------------------
def _doi_field(doi: str) -> str:
    """The DOI as it is (biblatex reads `doi` verbatim, so no LaTeX escapes), but for braces, which
    would unbalance the field, and whitespace or invisible characters: those are percent-encoded,
    as in a doi.org link, which resolves them."""
    return "".join(percent_encode(ch) if ch in "{}" or is_invisible(ch) else ch
                   for ch in clean_text(doi).strip())


# -- author names ----------------------------------------------------------------------------------
_SUFFIXES = {"II", "III", "IV"}
# A name holding one of these words names a team or an organisation, not a person: BibTeX would take
# its last word for a family name ("Team, Gemini") and split it at an "and".
_ORGANISATION_WORDS = {
    "team", "teams", "lab", "labs", "laboratory", "laboratories", "consortium", "group", "collaboration",
    "project", "institute", "initiative", "foundation", "committee", "association", "society",
    "inc", "ltd", "llc", "gmbh", "corporation", "authors", "contributors", "community", "organization",
    "organisation", "university",
}


def _is_suffix(word: str) -> bool:
    return word.rstrip(".").lower() in ("jr", "sr") or word in _SUFFIXES


def _is_organisation(name: str) -> bool:
    """Whether name is a team or an organisation (or holds an "and" BibTeX would split it at)."""
    words = [w.strip(".,;:()").lower() for w in name.split()]
    return "and" in words or any(w in _ORGANISATION_WORDS for w in words)


def _author(name: str) -> tuple[str, str]:
    """(the name as a BibTeX author, its family name for the citation key).

    "Given Family" stays as it is; a suffix ("Martin Luther King Jr.", "Sammy Davis, Jr.") is moved
    into BibTeX's "von Family, Jr., Given" form, which is the only one that keeps it out of the family
    name; a team or organisation, or a name with more commas than BibTeX's three parts, is braced
    whole, so it is one author, never split at an "and" or into given and family names."""
    name = " ".join(clean_text(name).split())
    parts = [p.strip() for p in name.split(",")]
    words = name.replace(",", " ").split()
    if _is_organisation(name) or len(parts) > 3:
        return "{" + escape(name) + "}", next((w for w in words if w.lower() != "the"), "")
    if len(parts) == 1 and len(words) > 1 and _is_suffix(words[-1]):
        given_family, suffix = words[:-1], words[-1]
    elif len(parts) == 2 and _is_suffix(parts[1]) and parts[0]:
        given_family, suffix = parts[0].split(), parts[1]
    else:
        # "Given Family", or already "Family, Given" / "Family, Jr., Given".
        family_part = parts[0] if len(parts) > 1 else name
        return escape(name), (family_part.split() or [""])[-1]
    # The family name is the last word and the lowercase particles before it ("de la Cruz"); the
    # first word always stays a given name.
    start = len(given_family) - 1 if len(given_family) > 1 else 0
    while start > 1 and given_family[start - 1][:1].islower():
        start -= 1
    given, family = given_family[:start], given_family[start:]
    rendered = f"{escape(' '.join(family))}, {escape(suffix)}, {escape(' '.join(given))}".rstrip()
    return rendered, family[-1]


# -- citation key ----------------------------------------------------------------------------------
def _ascii_fold(text: str) -> str:
    """text folded to ASCII: accents removed, letters with no ASCII form dropped."""
    # fold_for_search first: NFKD alone drops letters with no decomposition ("Søgaard" -> "sgaard").
    return unicodedata.normalize("NFKD", fold_for_search(text)).encode("ascii", "ignore").decode("ascii")


def _ascii_word(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", _ascii_fold(text))


def _key_safe(identifier: str) -> str:
    """An id as key characters: folded ASCII letters, digits and dots, other runs as one "-"."""
    return re.sub(r"[^a-z0-9.]+", "-", _ascii_fold(identifier).lower()).strip("-.")


def citation_key(paper: Paper) -> str:
    """firstauthorlastname + year + first title word, ASCII only (e.g. wang2022interpretability); the
    year is the paper's own (key_year), so a venue arriving later never changes the key. With no
    author, the organisation its host names (anthropic2023monosemanticity for a transformer-circuits.pub
    page). With neither a name nor a title word in Latin letters (a CJK title), the arXiv id
    (arxiv-2401.00001) or the paper id made key-safe, never a bare year. The same paper always gets the
    same key; two papers may share one (this does not look at the store)."""
    # The first author the entry lists: to_bibtex leaves blank names out.
    first_author = next((a for a in paper.authors if a.strip()), None)
    if first_author is not None:
        author = _author(first_author)[1]
    else:
        author = (_publisher(paper) or ("", None))[1] or ""
    stop = {"a", "an", "the", "on", "of", "in", "towards", "toward"}
    first_word = next(
        (w for w in (_ascii_word(t) for t in plain_text(paper.title).split()) if w and w.lower() not in stop),
        "")
    name = _ascii_word(author).lower()
    if name or first_word:
        return f"{name}{key_year(paper) or ''}{first_word.lower()}"
    if paper.arxiv_id and (arxiv := _key_safe(paper.arxiv_id)):
        return f"arxiv-{arxiv}"
    return _key_safe(paper.id) or f"paper-{hashlib.sha256(paper.id.encode('utf-8')).hexdigest()[:8]}"


def key_year(paper: Paper) -> int | None:
    """The year in the citation key: the paper's own (its first version's, arXiv's submission year),
    else the venue's. Not entry_year: a key written in a document must survive the venue arriving
    (wang2022interpretability stays that when ICLR 2023 is recorded; the entry's `year` becomes 2023)."""
    if paper.year:
        return paper.year
    venue = _venue(paper.venue)
    return int(venue[2]) if venue else None


# Hosts all of whose pages one publication series publishes: (its name, for `howpublished`; the
# organisation behind it, only when that is certain from the host, else None). transformer-circuits.pub
# is Anthropic's interpretability thread; Distill's authors come from many organisations.
_PUBLISHING_HOSTS: dict[str, tuple[str, str | None]] = {
    "transformer-circuits.pub": ("Transformer Circuits Thread", "Anthropic"),
    "distill.pub": ("Distill", None),
}


def _publisher(paper: Paper) -> tuple[str, str | None] | None:
    """(publication series, organisation or None) the paper's URL's host names, else None."""
    url = safe_http_url(paper.url)
    if not url:
        return None
    host = (urlsplit(url).hostname or "").casefold().removeprefix("www.")
    return _PUBLISHING_HOSTS.get(host)


def _sort_label(paper: Paper, organisation: str | None) -> str:
    """What an authorless entry's `key` field holds: the organisation when certain, else the title up to
    its first colon ("Causal Scrubbing"), and the entry's year after a comma ("Anthropic, 2023").

    BibTeX sorts such an entry by it (without one: "to sort, need author or key"); natbib's styles print
    it as the label and in the authors' place, and, since plainnat leaves the year out of a label that
    is the key field, the year is in it: \\citep gives "(Anthropic, 2023)", not "(Anthropic, a)" (nor,
    without a key, the first three letters of the citation key: "(mon, 2023)")."""
    if organisation:
        name = organisation
    else:
        title = " ".join(plain_text(paper.title).split())
        name = title.split(": ", 1)[0].strip() or title or paper.id
    year = entry_year(paper)
    return f"{name}, {year}" if year else name


# Venue strings are free text ("ICLR 2023", "NeurIPS 2023 (oral)", the list's "ACL'24"): a leading
# conference or journal name with its year decides the entry type, and anything else stays a
# @misc with the venue as a note.
_CONFERENCES = ("ICLR", "ICML", "NeurIPS", "ACL", "EMNLP", "NAACL", "EACL", "AACL", "COLING",
                "AAAI", "IJCAI", "CoNLL", "BlackboxNLP", "COLM")
_JOURNALS = {
    "TMLR": "Transactions on Machine Learning Research",
    "JMLR": "Journal of Machine Learning Research",
    "TACL": "Transactions of the Association for Computational Linguistics",
}
# "ICLR 2023", or the list's tag form "ICLR'23".
_VENUE_RE = re.compile(
    r"^(Findings of )?(" + "|".join(_CONFERENCES + tuple(_JOURNALS)) + r")(?:\s+((?:19|20)\d\d)|'(\d\d))\b"
)
# A workshop or a named track ("Tiny Papers Track", "Datasets and Benchmarks Track") is cited by its name;
# the main track is the conference itself.
_NAMED_PART_RE = re.compile(r"\bworkshops?\b|(?<!\bmain )\btrack\b", re.IGNORECASE)
_FINDINGS_RE = re.compile(r"\bfindings\b", re.IGNORECASE)
# A remark after the venue: "(oral)", "(spotlight)", "(unconfirmed)", "(BlackboxNLP Workshop)".
_TRAILING_REMARK_RE = re.compile(r"\s*\(([^()]*)\)\s*$")


def _venue(venue: str | None) -> tuple[bool, str, str, str] | None:
    """(findings, name, four-digit year, workshop or track name or "") of a recognised conference or
    journal venue, else None. A workshop or a named track at a conference keeps its name, written after
    the year ("MI Workshop", "Workshop on ...", "Tiny Papers Track") or as a remark in parentheses
    ("EMNLP 2023 (BlackboxNLP Workshop)"); other remarks ("(oral)") are left out. "ACL'24 Findings"
    is Findings of ACL as "Findings of ACL 2024" is."""
    match = _VENUE_RE.match(venue or "")
    if match is None:
        return None
    findings, name, year, short_year = match.groups()
    rest = (venue or "")[match.end():]
    findings = bool(findings) or bool(_FINDINGS_RE.search(rest))
    remarks: list[str] = []
    while remark := _TRAILING_REMARK_RE.search(rest):
        remarks.insert(0, remark.group(1))
        rest = rest[:remark.start()]
    # The name after the year, else the last remark naming a workshop or track.
    named = next((text for text in [rest, *reversed(remarks)] if _NAMED_PART_RE.search(text)), "")
    workshop = " ".join(named.lstrip(" ,;:-\u2013\u2014").split())
    return findings, name, year or f"20{short_year}", workshop


def entry_year(paper: Paper) -> int | None:
    """The year to cite: the venue's ("EMNLP 2021") when recognised, else the paper's (arXiv
    submission) year; a preprint of December 2020 published at EMNLP 2021 is cited as 2021."""
    venue = _venue(paper.venue)
    return int(venue[2]) if venue else paper.year


def _entry_type(venue: str | None) -> tuple[str, list[tuple[str, str]]]:
    """(entry type, venue fields) for a free-text venue."""
    parsed = _venue(venue)
    if parsed is None:
        return "misc", [("note", escape(venue))] if venue else []
    findings, name, year, workshop = parsed
    if name in _JOURNALS:
        return "article", [("journal", _JOURNALS[name])]
    if workshop:
        return "inproceedings", [("booktitle", f"{'Findings of ' if findings else ''}{name} {year} "
                                               f"{escape(workshop)}")]
    return "inproceedings", [("booktitle", f"{'Findings of ' if findings else ''}{name} {year}")]


def to_bibtex(paper: Paper, key: str | None = None) -> str:
    """An @inproceedings / @article entry for a recognised conference or journal venue (with the venue's
    year), else @misc; arXiv eprint fields whenever the paper has an arXiv id, and for a @misc an
    `howpublished = {arXiv:ID}` too, or without one the series a publishing host names (`howpublished =
    {Transformer Circuits Thread}`, `organization = {Anthropic}`). An entry without authors has a `key`
    field (_sort_label), never invented authors. Every field is brace-balanced, so a hostile title cannot
    swallow the fields or entries after it. `key`: the citation key to write instead of citation_key(paper)
    (a bulk export's disambiguated one)."""
    kind, venue_fields = _entry_type(paper.venue)
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    authors = [_author(a)[0] for a in paper.authors if a.strip()]
    publisher = _publisher(paper)
    organisation = publisher[1] if publisher else None
    if authors:
        fields.append(("author", " and ".join(authors)))
    else:
        # A list-only page has no authors: never invented, but `key` gives BibTeX something to sort by
        # ("to sort, need author or key") and natbib a label ("Anthropic (2023)", not "mon").
        fields.append(("key", escape(_sort_label(paper, organisation))))
    fields += venue_fields
    if kind == "misc" and paper.arxiv_id:
        # plain, abbrv, alpha and unsrt print no eprint, archivePrefix or url: without this a preprint
        # is cited with no identifier at all. Every classic style prints a @misc's howpublished (an
        # @article's journal or @inproceedings' booktitle already says where it is).
        fields.append(("howpublished", f"arXiv:{escape(paper.arxiv_id)}"))
    elif kind == "misc" and publisher and publisher[0].casefold() not in (paper.venue or "").casefold():
        # (A venue naming the series, "Transformer Circuits Thread (Anthropic)", is the note already.)
        fields.append(("howpublished", escape(publisher[0])))
        if organisation:  # biblatex prints a @misc's organization; the classic styles ignore it
            fields.append(("organization", escape(organisation)))
    year = entry_year(paper)
    if year:
        fields.append(("year", str(year)))
    if paper.arxiv_id:
        fields += [("eprint", escape(paper.arxiv_id)), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", escape(paper.primary_category)))
    if paper.doi and (doi := _doi_field(paper.doi)):
        fields.append(("doi", doi))
    # Only an http(s) URL is cited: a javascript: or data: URL from the data is left out.
    url = safe_http_url(paper.url) or (arxiv_abs_url(paper.arxiv_id) if paper.arxiv_id else None)
    if url:
        # Like doi, url is read verbatim: percent-encoded, not LaTeX-escaped.
        fields.append(("url", iri_safe(clean_text(url))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key or citation_key(paper)},\n{body}\n}}\n"
