"""URL and author checks of kg/validation.py: a URL urlsplit cannot read, one author name too long."""

from __future__ import annotations

import pytest

from kg.validation import MAX_AUTHOR_CHARS, check_author_length, check_url, clean_text


@pytest.mark.parametrize("url", [
    "https://arxiv.org/abs/2211.00593", "https://[::1]:8000/p", "http://127.0.0.1/x", "not a url", "",
    "javascript:alert(1)",  # parsable: whether it may become a link is kg.safe_output's rule
])
def test_a_url_urlsplit_reads_is_kept(url: str) -> None:
    assert check_url(url, "url") == url


@pytest.mark.parametrize(("given", "reason"), [
    ("https://x\x1b[evil]/p", "'evil' does not appear to be an IPv4 or IPv6 address"),
    ("ftp://x\x1b[31mRED\x1b]0;pwn\x07", "'31mRED' does not appear to be an IPv4 or IPv6 address"),
    ("http://[x", "Invalid IPv6 URL"),
])
def test_a_url_that_cannot_be_parsed_once_cleaned_is_refused_by_name(given: str, reason: str) -> None:
    """Checked as the store keeps it (clean_text): the ESC removed, the host is in brackets."""
    cleaned = clean_text(given)
    with pytest.raises(ValueError) as raised:
        check_url(cleaned, "pdf_url")
    assert str(raised.value) == f"'pdf_url' is not a valid URL ({reason}): {cleaned[:60]!r}"


def test_one_author_too_long_is_named_by_its_place() -> None:
    assert check_author_length("Ada Lovelace", 1) == "Ada Lovelace"
    assert check_author_length("A" * MAX_AUTHOR_CHARS, 2) == "A" * MAX_AUTHOR_CHARS
    with pytest.raises(ValueError) as raised:
        check_author_length("A" * 2000, 3)
    assert str(raised.value) == "author 3 of 'authors' is 2000 characters long (the limit is 300)"
