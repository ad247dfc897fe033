"""Acronyms in a query and the long forms the corpus defines for them (IOI: indirect object identification).

The embedding model does not know field acronyms: "IOI circuit" lands nowhere near the IOI paper, whose
abstract spells the task out. The long form is read from the abstracts that use the acronym, with the
Schwartz & Hearst (2003) rule: a parenthesised short form and, before it, the shortest run of words whose
letters contain the short form's characters in order, the first one starting a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable

from kg.entities import TaxonomyNode
from kg.schema import Label

# A query token that may be an acronym: 2-10 letters/digits, standing alone.
_TOKEN = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z0-9]{1,9})(?![\w-])")
# A query token read as an acronym: such a token with at least two capitals ("IOI", "CoT", "LLMs").
_QUERY_ACRONYM = re.compile(r"(?<![\w-])(?=(?:[A-Za-z0-9]*[A-Z]){2})([A-Za-z][A-Za-z0-9]{1,9})(?![\w-])")
# "long form (SF)" in running text; SF starts with a letter and holds a capital.
_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")
_WORD = re.compile(r"[^\s()]+")
_CLAUSE_BREAK = re.compile(r"[.;:!?](?:\s|$)")
# A taxonomy alias that can spell an acronym out: two or more words of letters ("in-context learning").
_SPELLED_OUT = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*(?: [A-Za-z]+(?:-[A-Za-z]+)*)+")


def query_acronyms(query: str, lowercase: Container[str] = frozenset()) -> list[str]:
    """Acronym-like tokens of a query, in order, without repeats: those with two capitals, and those
    typed otherwise ("sae", "Cma") whose case-folded form is in `lowercase` (see lowercase_acronyms)."""
    tokens = (m.group(1) for m in _TOKEN.finditer(query or ""))
    return list(dict.fromkeys(t for t in tokens if _QUERY_ACRONYM.fullmatch(t) or t.casefold() in lowercase))


# Words WordNet's lemma list lacks: pronouns, determiners, auxiliaries, prepositions, conjunctions (a
# custom taxonomy's DID, ITS or WAS must not turn "how did its ..." into acronyms).
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "it", "its", "he", "him", "his", "she", "her",
    "hers", "they", "them", "their", "theirs", "we", "us", "our", "ours", "you", "your", "yours", "i",
    "me", "my", "mine", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did",
    "done", "have", "has", "had", "can", "could", "may", "might", "must", "shall", "should", "will",
    "would", "and", "or", "but", "nor", "if", "then", "than", "so", "as", "at", "by", "for", "from",
    "in", "into", "of", "on", "onto", "out", "over", "to", "up", "with", "without", "about", "after",
    "before", "not", "no", "yes", "all", "any", "each", "every", "some", "such", "what", "which", "who",
    "whom", "whose", "when", "where", "why", "how", "here", "there"
})


def _english_words(candidates: set[str]) -> set[str]:
    """Those of the lower-case `candidates` that are English words: WordNet lemmas ("rome", "lat",
    "opt", "atp") and their inflected forms ("was", "models"), from spacy-lookups-data (read once by
    kg.validation.english_words, which search's word splitting keeps too), and function words."""
    from kg.validation import english_words

    return (candidates & _FUNCTION_WORDS) | (candidates & english_words()[0])


def lowercase_acronyms(nodes: Iterable[TaxonomyNode]) -> frozenset[str]:
    """The acronyms a query may type in lower case, case-folded: the taxonomy's all-capital acronym
    aliases (a plural "s" aside: "SAEs") that are no English word, so "sae" and "cma" are read as
    acronyms while "rome" (ROME) and "lat" (LAT), words too, must be typed in capitals to be read."""
    caps = set()
    for node in nodes:
        for alias in (*node.aliases, *node.ambiguous_aliases, node.name):
            core = alias[:-1] if alias.endswith("s") and alias[:-1].isupper() else alias
            if _QUERY_ACRONYM.fullmatch(alias) and core.isupper():
                caps.add((alias.casefold(), core.casefold()))
    if not caps:
        return frozenset()
    english = _english_words({form for pair in caps for form in pair})
    return frozenset(alias for alias, core in caps if alias not in english and core not in english)


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
        by_fold: Counter[str] = Counter()
        for spelling, n in spellings.items():
            by_fold[spelling.casefold()] += n
        best = max(by_fold.items(), key=lambda item: (item[1], item[0]))[0]
        out[wanted[key]] = min((s for s in spellings if s.casefold() == best),
                               key=lambda s: (-spellings[s], not s.islower(), s))
    return out


def taxonomy_long_forms(nodes: Iterable[TaxonomyNode]) -> dict[str, str]:
    """Case-folded acronym -> long form, from taxonomy nodes listing both (ICL: in-context learning).

    The fallback for acronyms no abstract defines. The long form is the node's first alias that
    spells the acronym out by the Schwartz & Hearst rule, starts with its first letter and has no
    more words than it has letters, so "ITI" is not read as "difference-in-means direction". A
    component's aliases all name one part of the model, and its first alias of several words is
    the name papers give that part, so a component's acronym is read as that alias even where a
    later alias spells the acronym out ("MLP": "feed-forward layers", not "multi-layer perceptron",
    which names the stand-alone network); a technique's aliases may name different methods of one
    family, so only an alias spelling its acronym out is a reading."""
    out: dict[str, str] = {}
    for node in nodes:
        names = [*node.aliases, *node.ambiguous_aliases, node.name]
        synonym = next((n for n in names if _SPELLED_OUT.fullmatch(n)), None) \
            if node.label == Label.COMPONENT else None
        for alias in names:
            if not _QUERY_ACRONYM.fullmatch(alias) or alias.casefold() in out:
                continue
            if synonym:
                out[alias.casefold()] = synonym
                continue
            core = alias[:-1] if alias.endswith("s") and alias[:-1].isupper() else alias
            for candidate in names:
                if (_SPELLED_OUT.fullmatch(candidate) and candidate[0].casefold() == core[0].casefold()
                        and len(candidate.replace("-", " ").split()) <= len(core)
                        and _long_form(core, candidate.split()) == candidate):
                    out[alias.casefold()] = candidate
                    break
    return out


def known_long_form(acronym: str, long_forms: dict[str, str]) -> str | None:
    """The long form of an acronym in a case-folded table, in either grammatical number ("SAEs", "SAE")."""
    folded = acronym.casefold()
    singular = folded[:-1] if folded.endswith("s") else folded
    return next((long_forms[k] for k in (folded, singular, folded + "s") if k in long_forms), None)


def expand(query: str, long_forms: dict[str, str]) -> str:
    """The query with each defined acronym followed by its long form in parentheses."""
    if not long_forms:
        return query

    def repl(match: re.Match[str]) -> str:
        token = match.group(1)
        long_form = long_forms.get(token)
        return f"{token} ({long_form})" if long_form else token

    # Any token, as typed: the keys are the tokens read as acronyms, lower-case ones included ("sae").
    return _TOKEN.sub(repl, query)
