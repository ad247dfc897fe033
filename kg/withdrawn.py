"""Whether a paper is withdrawn: arXiv replaces a withdrawn version's abstract by a notice ("This paper
has been withdrawn by the authors due to an error ..."), so the stored abstract says so.

The one rule every output uses: the suggested list rows leave such a paper out
(ingest.export_rows), and the API, web pages, feed, BibTeX and search mark it, all computed from the
stored abstract (no flag of its own is stored). "Withdrawn from ICLR 2025" (a venue, not arXiv) is not
such a notice.

arXiv's current policy states a withdrawal in the version's Comments field instead ("Withdrawals will
display the reason for withdrawal entered as a comment"), the abstract being empty or the previous one.
So that the stored abstract still says so, and every output above with it, an arXiv entry whose comment
is a withdrawal notice is stored with that comment as its abstract's first sentence, followed by the
abstract arXiv gives, if any (`abstract_with_withdrawal`): the comment's notice is stored inside the
abstract. Comments talk of venues and versions far more often than abstracts, so the comment's rule is
stricter: the abstract's rule on its first sentence, and nothing in the whole comment about an earlier
version or preprint ("The previous version was withdrawn ...", "the v1 manuscript is withdrawn"), a
replacement ("in favour of", "superseded") or this version being live ("accepted at ICML", "camera-ready",
"extended version", "under review"). A comment that only mentions a withdrawal ("v2 withdrawn figure 3
replaced") or says nothing of one ("12 pages, 5 figures") changes nothing.
"""

from __future__ import annotations

import re

from kg.explain import split_sentences

# What a paper that arXiv lists as withdrawn says in its abstract's first sentence (the abstract of
# the withdrawing version is the notice): "This paper has been withdrawn by the author(s) due to ...",
# "Withdrawn.", "The authors have withdrawn this paper ...", "This submission has been withdrawn by
# arXiv administrators ...". Each form names the paper itself (this/the/our paper, or the notice's
# bare "Withdrawn"), so a paper that studies withdrawn papers ("papers withdrawn by their authors")
# is not taken for one.
_ITSELF = r"(?:paper|article|manuscript|submission|preprint|work|version|report|note|draft|letter|e-?print)"
_WITHDRAWN = re.compile(
    # "This paper has been withdrawn", "the manuscript was (temporarily) withdrawn", "this version of the
    # paper is withdrawn", "arXiv admin note: this version has been withdrawn"
    rf"\b(?:this|the|our|my)\s+(?:[\w-]+\s+)?{_ITSELF}(?:\s+of\s+(?:this|the|our|my)\s+{_ITSELF})?"
    r"\s+(?:has|have|had|is|was|were|will|must|should)\s+(?:be\s+|been\s+|being\s+)?(?:\w+ly\s+)?withdrawn\b"
    # The notice alone: "Withdrawn.", "withdrawn", "[Withdrawn]", "Paper withdrawn by the author",
    # "Withdrawn due to an error" (but not "Withdrawn papers are ...")
    rf"|^\W*(?:{_ITSELF}\s+)?withdrawn(?:\s*$|\s*[.!;:,()\[\]\-\u2013\u2014]|\s+(?:by|due|because|for|from|"
    r"pending|until|owing|after|at|on|as|since)\b)"
    # "The authors have withdrawn this paper", "We withdraw this paper", "I hereby withdraw the manuscript"
    rf"|\b(?:authors?|author\(s\)|submitters?|we|i)\s+(?:(?:have|has|hereby|herewith|would\s+like\s+to|wish\s+to|"
    rf"decided\s+to|must|had\s+to|have\s+to)\s+)*(?:withdraw|withdrew|withdrawn)\s+(?:this|the|our|my)\s+"
    rf"(?:[\w-]+\s+)?{_ITSELF}\b"
    # "Due to an error in Lemma 2, withdrawn by the authors.", "Paper is withdrawn by the author due to ..."
    # (ending there, or going on to say why: "papers, withdrawn by the authors after ..." is left alone)
    rf"|(?:[,;:]\s*|\b{_ITSELF}\s+(?:(?:is|was|has\s+been|had\s+been)\s+)?)withdrawn\s+by\s+(?:the\s+)?"
    r"(?:authors?|author\(s\)|submitters?|arxiv(?:\s+admin\w*)?|moderators?|administrators?)"
    r"(?:\W*$|\s+(?:due|because|for|since|as|owing|pending)\b)",
    re.IGNORECASE,
)

# "withdrawn from ICLR 2024", "withdrew our paper from ACL": a venue, not arXiv, whose withdrawal leaves the
# arXiv entry live. Only arXiv (and publication/circulation, as its notices say) is an arXiv withdrawal.
_FROM_A_VENUE = re.compile(
    rf"\bwithdr(?:awn|aw|ew|awing)\s+(?:(?:this|the|our|my)\s+(?:[\w-]+\s+)?{_ITSELF}\s+)?from\s+"
    r"(?!(?:the\s+)?(?:arxiv|e-?print\s+archive|publication|circulation|distribution)\b)",
    re.IGNORECASE,
)
# What makes an arXiv comment not a notice about this version: an earlier version or preprint ("The
# previous version was withdrawn", "the v1 manuscript", "the earlier preprint"), a replacement ("in
# favour of this one", "Superseded"), or this version described as live ("accepted at ICML",
# "camera-ready", "extended version", "under review", "this version fixes it").
# (Not "work": "it overlaps with prior work" is a reason arXiv's notices give.)
_VERSION = r"(?:version|revision|paper|article|manuscript|submission|preprint|draft|e-?print)\b"
_NOT_THIS_VERSION = re.compile(
    rf"\b(?:earlier|previous|prior|preceding|former|old|older|original|first|initial|outdated)\s+"
    rf"(?:[\w-]+\s+)?{_VERSION}"
    rf"|\bv\d+\s+(?:of\s+(?:this|the|our)\s+)?(?:[\w-]+\s+)?{_VERSION}"
    r"|\bin\s+favou?r\s+of\b|\bsupersed\w*|\bcamera[\s-]*ready\b|\baccepted\b|\bextended\b"
    r"|\bunder\s+review\b|\bto\s+appear\b"
    # ("This version has been withdrawn" is arXiv's own admin note: only a version that fixes is live.)
    r"|\bthis\s+(?:version|revision|v\d+)\s+(?:fix|correct|replac|adds?\b)",
    re.IGNORECASE,
)


def is_withdrawn(abstract: str | None) -> bool:
    """Whether an abstract's first sentence says the paper itself is withdrawn ("This paper has been
    withdrawn by the authors due to an error.", "Withdrawn."), as arXiv's withdrawal notices do; an
    abstract that discusses withdrawn papers, or mentions a withdrawal only later, is not."""
    # Every form above has "withdr" in it: most abstracts are done without splitting them into sentences
    # (search looks up the withdrawn papers among its candidates on every query).
    if "withdr" not in (abstract or "").casefold():
        return False
    first = split_sentences(abstract or "")[:1]
    return bool(first) and _WITHDRAWN.search(first[0]) is not None and not _FROM_A_VENUE.search(first[0])


def is_withdrawal_comment(comment: str | None) -> bool:
    """Whether an arXiv comment is a notice that this paper (version) is withdrawn from arXiv ("This
    paper has been withdrawn by the authors due to ...", "Withdrawn."): `is_withdrawn` on its first
    sentence, and nothing in it about an earlier version, a replacement or this version being live."""
    return is_withdrawn(comment) and not _NOT_THIS_VERSION.search(comment or "")


def abstract_with_withdrawal(abstract: str | None, comment: str | None) -> str | None:
    """The abstract to store for an arXiv version: when its `comment` is a withdrawal notice
    (`is_withdrawal_comment`) and the abstract does not already open with one, the comment
    (whitespace collapsed, a full stop added when it has no end mark) followed by the abstract, if any;
    otherwise the abstract as given."""
    notice = " ".join((comment or "").split())
    if not is_withdrawal_comment(notice) or is_withdrawn(abstract):
        return abstract
    if notice[-1] not in ".!?":
        # The notice is a sentence of its own: the abstract after it must not read as its continuation.
        notice += "."
    text = " ".join((abstract or "").split())
    return f"{notice} {text}" if text else notice
