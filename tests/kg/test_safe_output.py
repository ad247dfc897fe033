"""Outside text on its way out (kg/safe_output.py): which URLs may become links, what may reach a terminal."""

from __future__ import annotations

import pytest

from kg.safe_output import iri_safe, safe_http_url, shown_text, terminal_safe
from tests.api.test_cli import HOSTILE_TITLE


@pytest.mark.parametrize("url", [
    "https://arxiv.org/abs/2211.00593", "http://example.org/a?b=1&c=<2>", "HTTPS://Example.org",
    "https://[::1]:8000/x", "https://example.org/path#frag",
])
def test_absolute_http_urls_with_a_host_are_kept(url: str) -> None:
    assert safe_http_url(url) == url


def test_surrounding_whitespace_is_removed() -> None:
    assert safe_http_url("  https://example.org/a \n") == "https://example.org/a"


@pytest.mark.parametrize("url", [
    None, "", "   ", "javascript:alert(1)", " JavaScript:alert(1)", "javascript://example.org/%0Aalert(1)",
    "data:text/html,<script>x</script>",
    "vbscript:msgbox(1)", "//evil.example/x", "/relative/path", "example.org/no-scheme", "ftp://example.org/f",
    "https://", "http:///path-only", "http://[x", "https://example.org/a\nSet-Cookie: x=1",
    "https://exa\x00mple.org", "https://example.org/\x7f",
])
def test_other_urls_never_become_links(url: str | None) -> None:
    assert safe_http_url(url) is None


def test_terminal_safe_removes_control_and_keeps_text() -> None:
    assert terminal_safe(HOSTILE_TITLE) == "Induction heads in hidden transformers \u00e7\u00e9\u4e2d"
    assert terminal_safe("line\none\ttab") == "line one tab"
    # An unterminated title sequence loses its introducer only, not the text after it.
    assert terminal_safe("a \x1b]0;rest of the title") == "a 0;rest of the title"
    assert terminal_safe("plain \u00fcnicode \U0001f642") == "plain \u00fcnicode \U0001f642"


def test_terminal_safe_turns_any_object_into_one_row_of_text() -> None:
    assert terminal_safe(2211.00593) == "2211.00593"
    assert terminal_safe("a\r\nb\u2028c\x85d\x0be") == "a b c d e"
    # A DCS string goes up to its 8-bit terminator (ST); NEL is a line break; an unterminated 8-bit DCS
    # introducer goes alone, keeping the text after it.
    assert terminal_safe("x\x1bPq#0;payload\x9cy\x85z\x90w") == "xy zw"


def test_terminal_safe_drops_bidi_embeddings_overrides_and_isolates() -> None:
    """`paperkg related "x\u202e' OR 1=1 --"` echoed the override: the terminal showed the rest reversed."""
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert terminal_safe(f"x{controls}' OR 1=1 --") == "x' OR 1=1 --"
    # Text of a right-to-left script needs none of them: it is kept, as are other marks of a name.
    assert terminal_safe("\u05e9\u05dc\u05d5\u05dd caf\u00e9") == "\u05e9\u05dc\u05d5\u05dd caf\u00e9"


def test_shown_text_escapes_undecodable_bytes_drops_controls_and_cuts() -> None:
    assert shown_text("/tmp/ev\x1b[31mRED\x1b]0;pwn\x07il\u202e.jsonl") == "/tmp/evREDil.jsonl"
    assert shown_text("caf\udce9") == "caf\\xe9"  # the byte 0xE9 of a Latin-1 file name, as typed
    assert shown_text("a" * 10, 4) == "aaaa…" and shown_text("abcd", 4) == "abcd"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/a b{c}\\d%20e#frag", "https://example.com/a%20b%7Bc%7D%5Cd%20e#frag"),
    ('https://example.org/q?a="<x>"&b=^`|', "https://example.org/q?a=%22%3Cx%3E%22&b=%5E%60%7C"),
    ("https://example.org/100%/x%2", "https://example.org/100%25/x%252"),  # a "%" that is no escape
    ("https://[::1]:8080/p[1]?q=[2]#a#b", "https://[::1]:8080/p%5B1%5D?q=%5B2%5D#a%23b"),
    ("https://example.org/\u202eevil\x85\U000f0001", "https://example.org/%E2%80%AEevil%C2%85%F3%B0%80%81"),
    ("https://example.org/a\xa0b\u200bc\ufeff", "https://example.org/a%C2%A0b%E2%80%8Bc%EF%BB%BF"),
    # Visible but outside RFC 3987's ucschar: U+FFFD, U+FFFC (U+FFF0-FFFF), a variation selector in
    # U+E0100-E01EF, a plane's last code points but one (U+1FFFE is a non-character).
    ("https://example.org/\ufffd\ufffc/x\U000e0100?q=\U0001fffe",
     "https://example.org/%EF%BF%BD%EF%BF%BC/x%F3%A0%84%80?q=%F0%9F%BF%BE"),
    # Already valid IRIs stay as they are: escapes, reserved characters, Unicode (ucschar).
    ("https://arxiv.org/abs/2401.00001v2?x=1&y=%20;(z)!*'+,=@:$#sec-2/?",
     "https://arxiv.org/abs/2401.00001v2?x=1&y=%20;(z)!*'+,=@:$#sec-2/?"),
    ("https://例え.jp/パス?q=ü~", "https://例え.jp/パス?q=ü~"),
    ("https://example.org/\u2764\ufe0f/\U0001f642/\U00020000\uff5e\ufdf0",
     "https://example.org/\u2764\ufe0f/\U0001f642/\U00020000\uff5e\ufdf0"),  # symbols, CJK ext. B
])
def test_iri_safe_percent_encodes_what_no_iri_may_hold(url: str, expected: str) -> None:
    assert iri_safe(url) == expected
    assert iri_safe(expected) == expected  # encoding twice changes nothing
