"""BibTeX for a paper: a stable citation key and LaTeX-escaped fields."""

from __future__ import annotations

import re
import unicodedata

from kg.entities import Paper
from kg.safe_output import safe_http_url
from kg.validation import clean_text

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
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))


def escape(value: str) -> str:
    """Escape text for a braced BibTeX field (LaTeX specials, control and bidi characters, newlines)."""
    value = " ".join(clean_text(str(value)).split())
    return _SPECIAL_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], value)


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]", "", folded)


def citation_key(paper: Paper) -> str:
    """firstauthorlastname + year + first title word, ASCII only (e.g. wang2023interpretability); the
    year is the venue's when the venue names one, as in the entry's `year` field."""
    author = paper.authors[0].split()[-1] if paper.authors and paper.authors[0].split() else ""
    stop = {"a", "an", "the", "on", "of", "in", "towards", "toward"}
    first_word = next(
        (w for w in (_ascii_word(t) for t in paper.title.split()) if w and w.lower() not in stop), ""
    )
    key = f"{_ascii_word(author).lower()}{entry_year(paper) or ''}{first_word.lower()}"
    return key or _ascii_word(paper.id).lower() or "paper"


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


def _venue(venue: str | None) -> tuple[bool, str, str] | None:
    """(findings, name, four-digit year) of a recognised conference or journal venue, else None."""
    match = _VENUE_RE.match(venue or "")
    if match is None:
        return None
    findings, name, year, short_year = match.groups()
    return bool(findings), name, year or f"20{short_year}"


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
    findings, name, year = parsed
    if name in _JOURNALS:
        return "article", [("journal", _JOURNALS[name])]
    return "inproceedings", [("booktitle", f"{'Findings of ' if findings else ''}{name} {year}")]


def to_bibtex(paper: Paper) -> str:
    """An @inproceedings / @article entry for a recognised conference or journal venue (with the venue's
    year), else @misc; arXiv eprint fields whenever the paper has an arXiv id."""
    kind, venue_fields = _entry_type(paper.venue)
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(escape(a) for a in paper.authors)))
    fields += venue_fields
    year = entry_year(paper)
    if year:
        fields.append(("year", str(year)))
    if paper.arxiv_id:
        fields += [("eprint", escape(paper.arxiv_id)), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", escape(paper.primary_category)))
    if paper.doi:
        fields.append(("doi", escape(paper.doi)))
    # Only an http(s) URL is cited: a javascript: or data: URL from the data is left out.
    url = safe_http_url(paper.url) or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
    if url:
        # \url{} takes its argument verbatim: only braces, backslashes and spaces must go.
        fields.append(("url", re.sub(r"[{}\\\s]", "", clean_text(url))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{citation_key(paper)},\n{body}\n}}\n"
