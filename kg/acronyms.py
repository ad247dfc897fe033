"""Acronyms in a query and the long forms the corpus defines for them (IOI: indirect object identification).

The embedding model does not know field acronyms: "IOI circuit" lands nowhere near the IOI paper, whose
abstract spells the task out. The long form is read from the abstracts that use the acronym, with the
Schwartz & Hearst (2003) rule: a parenthesised short form and, before it, the shortest run of words whose
letters contain the short form's characters in order, the first one starting a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# A query token read as an acronym: 2-10 letters/digits with at least two capitals ("IOI", "CoT", "LLMs").
_QUERY_ACRONYM = re.compile(r"(?<![\w-])(?=(?:[A-Za-z0-9]*[A-Z]){2})([A-Za-z][A-Za-z0-9]{1,9})(?![\w-])")
# "long form (SF)" in running text; SF starts with a letter and holds a capital.
_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")
_WORD = re.compile(r"[^\s()]+")
_CLAUSE_BREAK = re.compile(r"[.;:!?](?:\s|$)")


def query_acronyms(query: str) -> list[str]:
    """Acronym-like tokens of a query, in order, without repeats."""
    return list(dict.fromkeys(m.group(1) for m in _QUERY_ACRONYM.finditer(query or "")))


def _long_form(short: str, words: list[str]) -> str | None:
    """The shortest suffix of `words` whose characters contain `short`'s in order (Schwartz & Hearst)."""
    text = " ".join(words)
    chars = [c.lower() for c in short if c.isalnum()]
    s, pos = len(chars) - 1, len(text) - 1
    while s >= 0:
        c = chars[s]
        # The first character of the short form must start a word of the long form.
        while pos >= 0 and (text[pos].lower() != c or (s == 0 and pos > 0 and text[pos - 1].isalnum())):
            pos -= 1
        if pos < 0:
            return None
        pos -= 1
        s -= 1
    start = text.rfind(" ", 0, pos + 1) + 1
    long_form = text[start:].strip(" ,;:")
    n_words = len(long_form.split())
    # A long form is longer than its acronym, within one clause, and not a sentence (Schwartz &
    # Hearst's word bound).
    if (len(long_form) <= len(short) or _CLAUSE_BREAK.search(long_form)
            or n_words > min(len(chars) + 5, 2 * len(chars))
            or short.casefold() in long_form.casefold().split()):  # "the IOI task (IOI)"
        return None
    return long_form


def definitions(text: str) -> dict[str, str]:
    """Acronym -> long form for every "long form (SF)" the text contains (first definition wins)."""
    out: dict[str, str] = {}
    for match in _DEFINITION.finditer(text or ""):
        short = match.group(1)
        if not any(ch.isupper() for ch in short) or short in out:
            continue
        before = _WORD.findall(text[max(0, match.start() - 200):match.start()])
        plural = short.endswith("s") and short[:-1].isupper()
        core = short[:-1] if plural else short
        window = before[-min(len(core) + 5, 2 * len(core)):]
        long_form = _long_form(core, window)
        if long_form:
            out[short] = long_form
    return out


def expansions(acronyms: Iterable[str], texts: Iterable[str]) -> dict[str, str]:
    """For each acronym, the long form the texts define most often (case-folded vote).

    It is given in its most frequent spelling, lower case on a tie, so the answer does not depend
    on the order of the texts."""
    wanted = {a.casefold(): a for a in acronyms}
    votes: dict[str, Counter[str]] = {}
    for text in texts:
        for short, long_form in definitions(text).items():
            # "(SAEs)" serves a query's "SAE", and "(SAE)" its "SAEs".
            folded = short.casefold()
            singular = folded[:-1] if folded.endswith("s") else folded
            key = next((k for k in (folded, singular, folded + "s") if k in wanted), None)
            if key is not None:
                votes.setdefault(key, Counter())[long_form] += 1
    out = {}
    for key, spellings in votes.items():
        folded: Counter[str] = Counter()
        for spelling, n in spellings.items():
            folded[spelling.casefold()] += n
        best = max(folded.items(), key=lambda item: (item[1], item[0]))[0]
        out[wanted[key]] = min((s for s in spellings if s.casefold() == best),
                               key=lambda s: (-spellings[s], not s.islower(), s))
    return out


def expand(query: str, long_forms: dict[str, str]) -> str:
    """The query with each defined acronym followed by its long form in parentheses."""
    if not long_forms:
        return query

    def repl(match: re.Match[str]) -> str:
        token = match.group(1)
        long_form = long_forms.get(token)
        return f"{token} ({long_form})" if long_form else token

    return _QUERY_ACRONYM.sub(repl, query)
