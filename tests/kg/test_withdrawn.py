"""kg.withdrawn.abstract_with_withdrawal: the abstract stored for an arXiv version whose comment may say
the paper is withdrawn."""

from __future__ import annotations

import pytest

from kg.withdrawn import abstract_with_withdrawal, is_withdrawn


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
