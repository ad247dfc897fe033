"""kg.withdrawn.abstract_with_withdrawal: the abstract stored for an arXiv version whose comment may say
the paper is withdrawn."""

from __future__ import annotations

import pytest

from kg.withdrawn import abstract_with_withdrawal, is_withdrawal_comment, is_withdrawn


@pytest.mark.parametrize(("abstract", "comment", "stored"), [
    (None, "Withdrawn due to an error in Lemma 2", "Withdrawn due to an error in Lemma 2."),
    ("We find X.", "  The authors have withdrawn this paper:\n the proof is wrong. ",
     "The authors have withdrawn this paper: the proof is wrong. We find X."),
    ("We find X.", "This paper has been withdrawn by arXiv administrators. 12 pages",
     "This paper has been withdrawn by arXiv administrators. 12 pages. We find X."),
])
def test_a_comment_saying_the_paper_is_withdrawn_opens_the_abstract(abstract: str | None, comment: str,
                                                                    stored: str) -> None:
    assert abstract_with_withdrawal(abstract, comment) == stored
    assert is_withdrawn(stored)


@pytest.mark.parametrize("comment", [
    None, "", "12 pages, 5 figures", "v2 withdrawn figure 3 replaced",
    "12 pages. This paper has been withdrawn",  # not the comment's first sentence: as for abstracts
    "We discuss papers withdrawn by their authors after peer review.",
])
def test_other_comments_leave_the_abstract_as_it_is(comment: str | None) -> None:
    assert abstract_with_withdrawal("We find X.", comment) == "We find X."
    assert abstract_with_withdrawal(None, comment) is None


def test_an_abstract_that_already_is_a_notice_is_kept() -> None:
    notice = "This paper has been withdrawn by the author."
    assert abstract_with_withdrawal("Withdrawn.", notice) == "Withdrawn."


# arXiv comments about venues and other versions of a live paper: not this version's withdrawal.
LIVE_PAPER_COMMENTS = [
    "Withdrawn from ICLR 2024; accepted at ICML 2024",
    "The previous version was withdrawn due to an error in Lemma 3; this version fixes it",
    "This paper has been withdrawn from ICLR 2025 and is under review at ICML",
    "Our submission was withdrawn from ACL; extended version",
    "We withdraw the earlier preprint arXiv:2301.00001 in favour of this one",
    "Superseded: the v1 manuscript is withdrawn. This v2 is the camera-ready",
    "The earlier version of this paper was withdrawn from NeurIPS 2023. 12 pages",
    "Withdrawn by the authors from NeurIPS 2024; accepted at TMLR",
    "This paper has been withdrawn; the camera-ready version appears at COLM 2025",
    "We withdrew this paper from EMNLP. 9 pages, 4 figures",
]


@pytest.mark.parametrize("comment", LIVE_PAPER_COMMENTS)
def test_a_comment_about_a_venue_or_another_version_leaves_the_abstract_as_it_is(comment: str) -> None:
    assert abstract_with_withdrawal("We find X.", comment) == "We find X."
    assert abstract_with_withdrawal(None, comment) is None
    assert not is_withdrawal_comment(comment)


@pytest.mark.parametrize("comment", [
    "This paper has been withdrawn by the author(s)",
    "This paper has been withdrawn by the authors due to a crucial error in Eq. 3",
    "This submission has been withdrawn by arXiv administrators due to inappropriate text overlap",
    "Withdrawn.", "Withdrawn by the authors", "withdrawn",
    "This paper has been withdrawn from arXiv by the authors.",
    "We withdraw this paper because the main result is wrong.",
    "This paper has been withdrawn by the authors as it overlaps with prior work.",
    "arXiv admin note: this version has been withdrawn by arXiv administrators because the submitter did not "
    "have the right to agree to the license.",
    "The current version has been withdrawn due to an error in the main theorem.",
])
def test_arxivs_own_notice_forms_are_withdrawal_comments(comment: str) -> None:
    assert is_withdrawal_comment(comment)
    assert is_withdrawn(abstract_with_withdrawal("We find X.", comment))


@pytest.mark.parametrize("abstract", [
    "This paper has been withdrawn from ICLR 2025 and is under review at ICML.",
    "Withdrawn from NeurIPS 2024. We study induction heads in GPT-2.",
])
def test_an_abstract_opening_with_a_withdrawal_from_a_venue_is_not_withdrawn(abstract: str) -> None:
    assert not is_withdrawn(abstract)
