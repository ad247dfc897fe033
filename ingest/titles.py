"""Whether two paper titles name the same paper: the normalised-title score the arXiv title look-up
uses, and the looser rule for an arXiv id a list row links (a short name, a subtitle, LM spellings).

Apart from the arXiv client, so the list parser can use it without loading it."""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

from ingest.normalize import split_venue_tag, title_key
from kg.tex import plain_text

TITLE_MATCH = 0.97  # a normalised-title similarity this high is the same paper (a typo at most)


def title_score(key: str, other: str) -> float:
    """Similarity of two normalised title keys (1.0 when equal)."""
    return 1.0 if key == other else SequenceMatcher(None, key, other).ratio()


# Title words that say nothing about which paper it is, and abbreviations lists write for arXiv's words.
_FILLER_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "by", "can", "do", "does", "for", "from", "how", "in", "into", "is",
    "its", "of", "on", "or", "our", "the", "their", "through", "to", "via", "we", "what", "with"})
_ABBREVIATIONS = {"lm": ("language", "model"), "lms": ("language", "model"),
                  "llm": ("large", "language", "model"), "llms": ("large", "language", "model")}
_TRAILING_PARENTHESES = re.compile(r"\s*\([^()]{1,40}\)\s*$")  # "... Interpretability (ACDC)"


def _words(key: str) -> Counter[str]:
    """A title key's content words: filler left out, "gpt 2" as "gpt2", plurals and LM/LLM(s) spelled out."""
    tokens: list[str] = []
    for token in key.split():
        if token.isdigit() and tokens and tokens[-1].isalpha():
            tokens[-1] += token  # "GPT-2" and "GPT2", "Claude 3" and "Claude3"
        else:
            tokens.append(token)
    # Counted, not a set: "Attention is not not Explanation" is another paper than "... not ...".
    words: Counter[str] = Counter()
    for token in tokens:
        if token in _ABBREVIATIONS:
            words.update(_ABBREVIATIONS[token])
        elif token not in _FILLER_WORDS:
            words[token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss")
                  else token] += 1
    return words


def same_words(key: str, other: str) -> bool:
    """Whether two title keys have the same content words, as often each (filler, plurals, word
    order, "GPT-2"/"GPT2" and LM/LLM spellings aside). Equal, not merely overlapping: one word more
    makes another paper ("Are Emergent Abilities of LLMs a Mirage?" answers "Emergent Abilities of
    LLMs"; "Sparse Autoencoders for Vision Transformers" is not "... for Transformers")."""
    words = _words(key)
    return bool(words) and words == _words(other)


def _title_parts(title: str) -> list[str]:
    """The keys of a title's parts that may stand for the whole: the part before a colon (the subtitle
    left out), the part after it ("ROME: Locating ..."), the title without a trailing "(ACDC)"; none
    shorter than 8 characters ("A:" or "Part 1:" alone names no paper)."""
    text = split_venue_tag(plain_text(title))[0]  # arXiv's TeX title as the list writes it (see title_key)
    head, colon, tail = text.partition(":")
    keys = [title_key(head), title_key(tail)] if colon else []
    keys.append(title_key(_TRAILING_PARENTHESES.sub("", text)))
    return [key for key in keys if len(key) >= 8]


def same_paper_title(list_title: str, arxiv_title: str) -> bool:
    """Whether a title the list gives and arXiv's title of the linked id can name the same paper.

    Only a clearly different title is refused, as a link to another paper: the titles match as the
    title look-up does (case, accents, punctuation, TeX markup such as arXiv's "\\textit{...}" or
    "$\\ell_1$" and venue tags ignored, a typo allowed), or one is
    the other without its subtitle after a colon, without a short name before a colon ("ROME: ...")
    or without a trailing "(ACDC)", or they have the same content words (see same_words).
    """
    key, other = title_key(list_title), title_key(arxiv_title)
    if not key or not other:
        return False
    pairs = [(key, other), *((part, other) for part in _title_parts(list_title)),
             *((part, key) for part in _title_parts(arxiv_title))]
    if any(title_score(part, full) >= TITLE_MATCH for part, full in pairs):
        return True
    return same_words(key, other)
