"""BibTeX for a paper: a stable citation key and LaTeX-escaped fields."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable

from ingest.normalize import VENUE_APOSTROPHE
from kg.entities import Paper
from kg.publishers import publisher
from kg.safe_output import arxiv_abs_url, iri_safe, is_invisible, percent_encode, safe_http_url
from kg.tex import plain_text
from kg.validation import clean_text, fold_for_search
from kg.withdrawn import is_withdrawn

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


# -- TeX math kept as math ------------------------------------------------------------------------------
# plain_text reads "$W_{QK}$" as "W_QK" and "GPT-4$^\\dagger$" as "GPT-4^dagger", which escape would
# write as the text "W\\_QK" and "GPT-4\\^{}dagger". Math whose meaning that loses (a letter sub- or
# superscript, \\dagger, \\frac, \\hat ...) is written as LaTeX math instead, with only commands LaTeX has
# without a package; math that reads well as text ("$k$", "$\\ell_1$") is left to the text path, which
# writes a TeX title and its Unicode spelling alike. Math holding anything else (a command not known here,
# "\\{", "%") is left to the text path too: never an undefined command or an unbalanced brace.
_TEX_MATH_RE = re.compile(r"(?<![\\$])\$(?=[^\s$])((?:\\.|[^$\\])+?)(?<=\S)(?<!\\)\$(?![\d$])", re.DOTALL)
_MATH_TOKEN_RE = re.compile(r"\\[A-Za-z]+|\\[,;:! ]|\s+|.", re.DOTALL)
_MATH_TEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-=()[]<>,.;:!/|'*?")
# Commands of LaTeX's own whose meaning the text path loses: their math is written as math.
_ACCENT_COMMANDS = frozenset({"hat", "widehat", "tilde", "widetilde", "bar", "overline", "underline", "vec",
                              "dot", "ddot", "check", "breve", "acute", "grave"})
_LOSSY_COMMANDS = frozenset({"dagger", "ddagger", "frac", "sqrt"}) | _ACCENT_COMMANDS
# Commands with no argument LaTeX has without a package, beyond the symbols _math_of writes.
_KERNEL_SYMBOLS = frozenset({
    "dagger", "ddagger", "cdot", "ldots", "cdots", "vdots", "ddots", "dots", "bullet", "log", "ln", "exp",
    "max", "min", "arg", "sin", "cos", "tan", "tanh", "lim", "sup", "inf", "det", "dim", "ker", "top", "bot",
    "perp", "mid", "vert", "neg", "lnot",
})
# Commands with arguments (how many), and the font commands whose argument is letters.
_MATH_ARGUMENTS = {"frac": 2, "sqrt": 1, **dict.fromkeys(_ACCENT_COMMANDS, 1)}
_MATH_FONTS = {"mathrm": "mathrm", "mathbf": "mathbf", "mathit": "mathit", "mathsf": "mathsf",
               "mathtt": "mathtt", "operatorname": "mathrm", "text": "textrm", "textrm": "textrm",
               "textit": "textit", "textbf": "textbf", "mathnormal": "mathnormal"}
_MATH_ALPHABETS = frozenset({"mathbb", "mathbbm", "mathcal", "mathscr", "mathfrak"})
_FONT_ARGUMENT_RE = re.compile(r"\s*\{([A-Za-z0-9 .,:'-]+)\}")
_ALPHABET_ARGUMENT_RE = re.compile(r"\s*(?:\{\s*([A-Za-z])\s*\}|([A-Za-z])(?![A-Za-z]))")


_MAX_MATH_DEPTH = 8


class _NotPlainMath(ValueError):
    """Math holding something _tex_math does not write (it goes the text path)."""


class _MathReader:
    """Reads the inside of one $...$ into LaTeX math with a package-free vocabulary (see _tex_math)."""

    def __init__(self, source: str) -> None:
        self.tokens: list[str] = _MATH_TOKEN_RE.findall(source)
        self.at = 0
        self.depth = 0  # groups open: a hostile "{{{{..." must not exhaust Python's recursion limit
        self.lossy = False  # whether the text path would lose its meaning

    def read(self) -> str:
        """The whole math, or _NotPlainMath."""
        out = self._sequence(closing=False)
        if self.at != len(self.tokens):
            raise _NotPlainMath
        return out

    def _next(self) -> str:
        if self.at >= len(self.tokens):
            raise _NotPlainMath
        self.at += 1
        return self.tokens[self.at - 1]

    def _skip_space(self) -> None:
        while self.at < len(self.tokens) and self.tokens[self.at].isspace():
            self.at += 1

    def _sequence(self, closing: bool) -> str:
        out: list[str] = []
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            if token == "}":
                if not closing:
                    raise _NotPlainMath
                return "".join(out).strip()
            if token.isspace():
                self.at += 1
                if out and not out[-1].endswith(" "):
                    out.append(" ")
            elif token in "_^":
                self.at += 1
                self._skip_space()
                argument = self._argument()
                if not argument.isdigit():
                    self.lossy = True
                out.append(f"{token}{{{argument}}}")
            else:
                out.append(self._argument())
        if closing:
            raise _NotPlainMath
        return "".join(out).strip()

    def _argument(self) -> str:
        """One token or group, as math (a group's braces are the caller's to add)."""
        token = self._next()
        if token == "{":
            self.depth += 1
            if self.depth > _MAX_MATH_DEPTH:
                raise _NotPlainMath
            inner = self._sequence(closing=True)
            self._next()  # the "}"
            self.depth -= 1
            return inner
        if token.startswith("\\"):
            return self._command(token[1:])
        if token in _MATH_TEXT:
            return token
        raise _NotPlainMath

    def _command(self, name: str) -> str:
        if len(name) == 1 and name in ",;:! ":  # thin, medium, thick, negative and normal spaces
            return "\\" + name
        if not name.isalpha():  # "\{", "\%", "\\": the text path escapes them
            raise _NotPlainMath
        if name in _MATH_ALPHABETS or name in _MATH_FONTS:
            rest = "".join(self.tokens[self.at:])
            pattern = _ALPHABET_ARGUMENT_RE if name in _MATH_ALPHABETS else _FONT_ARGUMENT_RE
            argument = pattern.match(rest)
            if argument is None:
                raise _NotPlainMath
            self.at += len(_MATH_TOKEN_RE.findall(rest[:argument.end()]))
            if name in _MATH_FONTS:
                return f"\\{_MATH_FONTS[name]}{{{argument.group(1)}}}"
            # \mathcal{L} as LaTeX's \mathcal, \mathbb{R} as R (no amssymb), as their Unicode letters are.
            letter = plain_text(f"\\{name}{{{argument.group(1) or argument.group(2)}}}")
            math = _math_of(letter, 0, False)
            if math is not None and not math[0]:
                return math[1]
            plain = _plain_letter(letter)
            if not (plain.isascii() and plain.isalpha()):
                raise _NotPlainMath
            return plain
        if name in _MATH_ARGUMENTS:
            self.lossy = True
            arguments = []
            for _ in range(_MATH_ARGUMENTS[name]):
                self._skip_space()
                arguments.append("{" + self._argument() + "}")
            return "\\" + name + "".join(arguments)
        if name in _KERNEL_SYMBOLS:
            self.lossy = self.lossy or name in _LOSSY_COMMANDS
            return self._spaced("\\" + name)
        # A symbol kg.tex reads as one character _math_of writes: the command the text path would write.
        symbol = plain_text(f"$\\{name}$")
        math = _math_of(symbol, 0, False) if len(symbol) == 1 else None
        if math is None or math[0]:
            raise _NotPlainMath
        return self._spaced(math[1])

    def _spaced(self, command: str) -> str:
        """A command word, with a space after it when a letter follows ("\\alpha x", not "\\alphax")."""
        following = self.tokens[self.at] if self.at < len(self.tokens) else ""
        return command + " " if following[:1].isalpha() else command


def _tex_math(value: str) -> tuple[str, list[str]]:
    """value with each $...$ whose meaning text would lose (see above) replaced by a placeholder (a
    private-use character, the n-th of U+F0000 ...), and the LaTeX math each placeholder stands for."""
    maths: list[str] = []

    def replace(match: re.Match[str]) -> str:
        reader = _MathReader(match.group(1))
        try:
            math = reader.read()
        except _NotPlainMath:
            return match.group(0)
        if not reader.lossy or len(maths) >= _PLACEHOLDERS:
            return match.group(0)
        maths.append(f"${math}$")
        return chr(_PLACEHOLDER + len(maths) - 1)

    if "$" not in value:
        return value, maths
    return _TEX_MATH_RE.sub(replace, value), maths


_PLACEHOLDER = 0xF0000
_PLACEHOLDERS = 0xFFFE  # U+F0000 ... U+FFFFD, all in the plane _PRIVATE_PLANE_RE empties
# The placeholders' plane (supplementary private use area A): no text has a meaning in it.
_PRIVATE_PLANE_RE = re.compile("[\U000f0000-\U000fffff]")


def escape(value: str) -> str:
    """Escape text for a braced BibTeX field: TeX markup read as the text it stands for first (kg.tex:
    arXiv's "$\\ell_1$-Regularised", "\\textit{...}", "G\\"odel" are what "ℓ₁-Regularised",
    "...", "Gödel" give), but TeX math that text would lose ("$W_{QK}$", "$^\\dagger$") kept as LaTeX
    math (_tex_math); then LaTeX specials, control, bidi and format characters, newlines, accented
    Latin letters as LaTeX accent commands (latex_letters), math letters and symbols as LaTeX math
    ($\\ell$, $\\epsilon$, $\\mathcal{L}$), double-struck letters plain (ℝ as R), emoji left out; the
    result is always brace-balanced as BibTeX counts braces."""
    value, maths = _tex_math(_PRIVATE_PLANE_RE.sub("", clean_text(str(value))))
    value = " ".join(_plain_letters(plain_text(value)).split())
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
    escaped = latex_letters("".join(out))
    if maths:  # each placeholder back as its math (which holds no placeholder: the plane was emptied)
        escaped = _PRIVATE_PLANE_RE.sub(lambda m: maths[ord(m.group(0)) - _PLACEHOLDER], escaped)
    return escaped


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
    """The paper's citation key: the one the store issued it (Paper.citation_key: unique in the store
    and kept when the paper is retitled, its authors reordered or a venue recorded), else key_base
    (a paper the store has not keyed: not stored yet, or in a store not yet upgraded)."""
    return paper.citation_key or key_base(paper)


def key_base(paper: Paper) -> str:
    """firstauthorlastname + year + first title word, ASCII only (e.g. wang2022interpretability); the
    year is the paper's own (key_year), so a venue arriving later never changes the key. With no
    author, the organisation its host names (anthropic2023monosemanticity for a transformer-circuits.pub
    page). With neither a name nor a title word in Latin letters (a CJK title), the arXiv id
    (arxiv-2401.00001) or the paper id made key-safe, never a bare year. The key the store issues a
    paper is this, or this with a suffix (a, b, ...) when an earlier paper has it (kg.store)."""
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


def _publisher(paper: Paper) -> tuple[str, str | None] | None:
    """(publication series, organisation or None) the paper's URL's host names (kg.publishers), else None."""
    return publisher(paper.url)


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


# Venue strings are free text ("ICLR 2023", "NeurIPS 2023 (oral)", the list's "ACL'24", a reference
# manager's "Proceedings of the 62nd Annual Meeting of the Association for Computational Linguistics (ACL
# 2024)"): a known conference or journal with its year decides the entry type, and anything else stays a
# @misc with the venue as a note.
_CONFERENCES = ("ICLR", "ICML", "NeurIPS", "ACL", "EMNLP", "NAACL", "EACL", "AACL", "COLING",
                "AAAI", "IJCAI", "CoNLL", "BlackboxNLP", "COLM")
_JOURNALS = {
    "TMLR": "Transactions on Machine Learning Research",
    "JMLR": "Journal of Machine Learning Research",
    "TACL": "Transactions of the Association for Computational Linguistics",
}
# A conference's name in full: its booktitle is this and the short name with the year ("International
# Conference on Learning Representations (ICLR 2023)"), as a journal's is its full name.
_CONFERENCE_NAMES = {
    "ICLR": "International Conference on Learning Representations",
    "ICML": "International Conference on Machine Learning",
    "NeurIPS": "Advances in Neural Information Processing Systems",
    "ACL": "Annual Meeting of the Association for Computational Linguistics",
    "EMNLP": "Conference on Empirical Methods in Natural Language Processing",
    "NAACL": "Conference of the North American Chapter of the Association for Computational Linguistics",
    "EACL": "Conference of the European Chapter of the Association for Computational Linguistics",
    "AACL": "Conference of the Asia-Pacific Chapter of the Association for Computational Linguistics",
    "COLING": "International Conference on Computational Linguistics",
    "AAAI": "AAAI Conference on Artificial Intelligence",
    "IJCAI": "International Joint Conference on Artificial Intelligence",
    "CoNLL": "Conference on Computational Natural Language Learning",
    "BlackboxNLP": "Workshop on Analyzing and Interpreting Neural Networks for NLP",
    "COLM": "Conference on Language Modeling",
}
# The full names as they are written in a long-form venue (the words before them, "Proceedings of the
# 62nd", "Advances in", "2023 Conference on", are read by _LONG_VENUE_RE).
_LONG_NAMES = {
    "ICLR": r"International Conference on Learning Representations",
    "ICML": r"International Conference on Machine Learning",
    "NeurIPS": r"(?:Advances in )?Neural Information Processing Systems",
    "ACL": r"Meeting of the Association for Computational Linguistics",
    "EMNLP": r"Empirical Methods in Natural Language Processing",
    "NAACL": r"North American Chapter of the Association for Computational Linguistics"
             r"(?:: Human Language Technologies)?",
    "EACL": r"European Chapter of the Association for Computational Linguistics",
    "AACL": r"Asia-Pacific Chapter of the Association for Computational Linguistics",
    "COLING": r"International Conference on Computational Linguistics",
    "AAAI": r"AAAI Conference on Artificial Intelligence",
    "IJCAI": r"International Joint Conference on Artificial Intelligence",
    "CoNLL": r"Conference on Computational Natural Language Learning",
    "COLM": r"Conference on Language Modeling",
    **{short: re.escape(name) for short, name in _JOURNALS.items()},
}
# A former short name, as references to older volumes write it ("... Systems 30 (NIPS 2017)").
_SHORT_ALIASES = {"nips": "NeurIPS"}
_YEAR = r"(?:19|20)\d\d"
# The apostrophe of a two-digit year ("ICLR'24"): any an editor writes ("ICLR’24" from autocorrect lost
# the venue and its year). The list parser's own class, so a venue it splits off a title is read here.
_APOSTROPHE = VENUE_APOSTROPHE
# "ICLR 2023", or the list's tag form "ICLR'23".
_VENUE_RE = re.compile(
    r"^(Findings of )?(" + "|".join(_CONFERENCES + tuple(_JOURNALS))
    + rf")(?:\s+({_YEAR})|{_APOSTROPHE}(\d\d))\b"
)
# A full name, after the words that come before one ("the 62nd Annual", "the 2023 Conference on", "Advances
# in") and before its volume ("Neural Information Processing Systems 36"), then the year: bare, or in
# parentheses with the short name ("(ACL 2024)", "(2024)"); a leading year ("the 2023 Conference on ...")
# counts too. Only a venue that starts so: "Workshop on X at ICLR 2024" names a workshop, not ICLR.
_LONG_VENUE_RE = re.compile(
    rf"^(?:the\s+)?(?:(?P<lead_year>{_YEAR})\s+|\d{{1,3}}(?:st|nd|rd|th)\s+)?(?:annual\s+)?"
    r"(?:conference\s+(?:on|of)\s+(?:the\s+)?)?"
    r"(?:" + "|".join(f"(?P<{short}>{pattern})" for short, pattern in _LONG_NAMES.items()) + r")"
    r"(?:\s+\d{1,3}\b)?,?"
    rf"(?:\s*\(\s*(?:(?P<short>[A-Za-z]+)(?:\s+|{_APOSTROPHE}))?(?P<paren_year>{_YEAR}|(?<={_APOSTROPHE})\d\d)\s*\)"
    rf"|\s+(?P<year>{_YEAR})\b)?",
    re.IGNORECASE,
)
# What a reference manager writes before the venue: "In ", "Proceedings of the ", "Proc. of ".
_LEAD_IN_RE = re.compile(
    r"^(?:in:?\s+)?(?:(?:the\s+)?proceedings\s+of\s+(?:the\s+)?|proc\.\s+(?:of\s+)?(?:the\s+)?)?",
    re.IGNORECASE)
# "Findings of ACL 2024" and the ACL Anthology's "Findings of the Association for Computational Linguistics:
# EMNLP 2023".
_FINDINGS_LEAD_RE = re.compile(
    r"^findings\s+of\s+(?:the\s+)?(?:association\s+for\s+computational\s+linguistics\s*:\s*)?", re.IGNORECASE)
# A workshop or a named track ("Tiny Papers Track", "Datasets and Benchmarks Track") is cited by its name;
# the main track is the conference itself.
_NAMED_PART_RE = re.compile(r"\bworkshops?\b|(?<!\bmain )\btrack\b", re.IGNORECASE)
_FINDINGS_RE = re.compile(r"\bfindings\b", re.IGNORECASE)
# A remark after the venue: "(oral)", "(spotlight)", "(unconfirmed)", "(BlackboxNLP Workshop)".
_TRAILING_REMARK_RE = re.compile(r"\s*\(([^()]*)\)\s*$")
# A remark on how the paper was presented or accepted, never the name of a workshop ("(ATTRIB)" is one).
_PRESENTATION_RE = re.compile(r"\b(?:oral|spotlight|poster|unconfirmed|accepted|appear|award|best|"
                              r"outstanding|talk|presentation|volume|long|short|papers?)\b", re.IGNORECASE)


def _venue(venue: str | None) -> tuple[bool, str, str, str] | None:
    """(findings, name, four-digit year, workshop or track name or "") of a recognised conference or
    journal venue, else None. The venue may be written short ("ICLR 2023", "ACL'24") or in full
    ("Proceedings of the 62nd Annual Meeting of the Association for Computational Linguistics (ACL 2024)",
    "Transactions on Machine Learning Research (2024)"), after "In " or "Proceedings of"; a year is needed.
    A workshop or a named track at a conference keeps its name, written after the year ("MI Workshop",
    "Workshop on ...", "Tiny Papers Track", "Workshop (ATTRIB)") or as a remark in parentheses ("EMNLP 2023
    (BlackboxNLP Workshop)"); other remarks ("(oral)") are left out. "ACL'24 Findings" is Findings of ACL
    as "Findings of ACL 2024" is."""
    text = " ".join((venue or "").split())
    if lead_in := _LEAD_IN_RE.match(text):
        text = text[lead_in.end():]
    lead_findings = _FINDINGS_LEAD_RE.match(text)
    if lead_findings:
        text = text[lead_findings.end():]
    match = _VENUE_RE.match(text)
    if match is not None:
        findings, name, year, short_year = match.groups()
        year = year or f"20{short_year}"
    else:
        long_match = _LONG_VENUE_RE.match(text)
        name = next((short for short in _LONG_NAMES if long_match and long_match.group(short)), "")
        if long_match is None or not name:
            return None
        given = long_match.group("short")
        if given and _SHORT_ALIASES.get(given.casefold(), given).casefold() != name.casefold():
            return None  # two conferences: "International Conference on Machine Learning (ICLR 2024)"
        paren_year = long_match.group("paren_year")
        year = long_match.group("year") or (paren_year if paren_year and len(paren_year) == 4 else None)
        year = year or (f"20{paren_year}" if paren_year else long_match.group("lead_year"))
        if not year:
            return None
        findings, match = None, long_match
    rest = text[match.end():]
    findings = bool(findings) or bool(lead_findings) or bool(_FINDINGS_RE.search(rest))
    remarks: list[str] = []
    while remark := _TRAILING_REMARK_RE.search(rest):
        remarks.insert(0, remark.group(1))
        rest = rest[:remark.start()]
    # The name after the year, else the last remark naming a workshop or track.
    named = next((part for part in [rest, *reversed(remarks)] if _NAMED_PART_RE.search(part)), "")
    workshop = " ".join(named.lstrip(" ,;:-\u2013\u2014").split())
    if workshop and _NAMED_PART_RE.fullmatch(workshop):
        # A bare "Workshop" names its workshop in the remark after it: "ICLR 2024 Workshop (ATTRIB)".
        name_remark = next((r for r in remarks if r.strip() and not _PRESENTATION_RE.search(r)), "")
        if name_remark and named is rest:
            workshop = f"{workshop} ({' '.join(name_remark.split())})"
    return findings, name, year, workshop


def entry_year(paper: Paper) -> int | None:
    """The year to cite: the venue's ("EMNLP 2021") when recognised, else the paper's (arXiv
    submission) year; a preprint of December 2020 published at EMNLP 2021 is cited as 2021."""
    venue = _venue(paper.venue)
    return int(venue[2]) if venue else paper.year


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ISO_MONTH_RE = re.compile(r"((?:1[0-9]|20)\d\d)-(0[1-9]|1[0-2])\b")


def _month(paper: Paper) -> str | None:
    """BibTeX's month macro (jan ... dec) of the date the entry's year is from: the paper's published
    date, when the year cited is the paper's own and that date's; None for a venue's year (its month is
    not known) or no date."""
    date = _ISO_MONTH_RE.match(paper.published or "")
    if date is None or _venue(paper.venue) is not None or paper.year != int(date.group(1)):
        return None
    return _MONTHS[int(date.group(2)) - 1]


# A venue that says only that the paper is on arXiv ("arXiv", "arXiv preprint", "arXiv preprint
# arXiv:2303.08112"): for a paper with an arXiv id, `howpublished = {arXiv:ID}` says it already.
_ARXIV_ONLY_RE = re.compile(
    r"(?:an?\s+)?arxiv(?:\.org)?(?:\s+(?:pre-?print|e-?print))?(?:\s+(?:arxiv:\s*)?[\w./-]+)?", re.IGNORECASE)


def _container(venue: str | None, text: Callable[[str], str]) -> tuple[str, str | None]:
    """(entry type, the journal's or proceedings' title) for a free-text venue, the venue's own words in it
    (a workshop's name) given as `text` makes them: ("misc", None) for a venue of no known kind."""
    parsed = _venue(venue)
    if parsed is None:
        return "misc", None
    findings, name, year, workshop = parsed
    if name in _JOURNALS:
        return "article", _JOURNALS[name]
    if workshop:
        return "inproceedings", f"{'Findings of ' if findings else ''}{name} {year} {text(workshop)}"
    if findings:  # as the ACL Anthology names them
        return "inproceedings", f"Findings of the Association for Computational Linguistics: {name} {year}"
    return "inproceedings", f"{_CONFERENCE_NAMES[name]} ({name} {year})"


def _entry_type(venue: str | None) -> tuple[str, list[tuple[str, str]]]:
    """(entry type, venue fields) for a free-text venue."""
    kind, title = _container(venue, escape)
    if title is None:
        return "misc", [("note", escape(venue))] if venue else []
    return kind, [("journal" if kind == "article" else "booktitle", title)]


def _written_kind(paper: Paper, kind: str, organisation: str | None) -> str:
    """`kind`, except "misc" for an @article or @inproceedings that would have no author: none given and
    no organisation its host names (see to_bibtex)."""
    if kind != "misc" and not organisation and not any(a.strip() for a in paper.authors):
        return "misc"
    return kind


def cited_as(paper: Paper) -> tuple[str, str | None]:
    """(entry type to_bibtex writes for the paper: "article", "inproceedings" or "misc"; the journal's or
    proceedings' title it names, plain text, or None for a @misc), for citation metadata (a page's
    Highwire tags) that says what its BibTeX says."""
    kind, title = _container(paper.venue, str)
    publisher = _publisher(paper)
    kind = _written_kind(paper, kind, publisher[1] if publisher else None)
    return (kind, title) if kind != "misc" else ("misc", None)


def _withdrawal_note(paper: Paper) -> str | None:
    """A withdrawn paper's note ("Withdrawn (arXiv:2303.08112v5)", the withdrawing version when known),
    else None: its entry cites a paper its authors or arXiv took back, which a reader should be told."""
    if not is_withdrawn(paper.abstract):
        return None
    if paper.arxiv_id and paper.arxiv_version:
        return f"Withdrawn (arXiv:{escape(paper.arxiv_id)}v{paper.arxiv_version})"
    return "Withdrawn"


# Fields written bare, not braced: BibTeX's month macros (jan ... dec), which every style prints as the
# month's name in its own language and form.
_MACRO_FIELDS = frozenset({"month"})


def to_bibtex(paper: Paper, key: str | None = None) -> str:
    """An @inproceedings / @article entry for a recognised conference or journal venue (with the venue's
    year), else @misc; arXiv eprint fields whenever the paper has an arXiv id, and for a @misc an
    `howpublished = {arXiv:ID}` too, or without one the series a publishing host names (`howpublished =
    {Transformer Circuits Thread}`, `organization = {Anthropic}`). An entry without authors has a `key`
    field (_sort_label), never invented authors; an @inproceedings or @article without them (which the
    classic styles warn about: "empty author") has its host's organisation as its author when certain, and
    is otherwise a @misc with the venue as its note. `month` when the year is the paper's own; a note when
    the paper is withdrawn. Every field is brace-balanced, so a hostile title cannot swallow the fields or
    entries after it. `key`: the citation key to write instead of citation_key(paper) (a bulk export's
    disambiguated one)."""
    kind, venue_fields = _entry_type(paper.venue)
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    authors = [_author(a)[0] for a in paper.authors if a.strip()]
    publisher = _publisher(paper)
    organisation = publisher[1] if publisher else None
    if not authors and kind != "misc":
        # plain, abbrv, alpha, unsrt and the natbib styles require an author for @article and
        # @inproceedings ("empty author in ..."; `key` only spares a @misc). The organisation a host
        # names is certain, and braced it is one corporate author; with none, only @misc fits.
        if _written_kind(paper, kind, organisation) == "misc":
            kind, venue_fields = "misc", [("note", escape(paper.venue or ""))]
        else:
            authors = ["{" + escape(organisation or "") + "}"]
    if authors:
        fields.append(("author", " and ".join(authors)))
    else:
        # A list-only page has no authors: never invented, but `key` gives BibTeX something to sort by
        # ("to sort, need author or key") and natbib a label ("Anthropic (2023)", not "mon").
        fields.append(("key", escape(_sort_label(paper, organisation))))
    if kind == "misc" and paper.arxiv_id and _ARXIV_ONLY_RE.fullmatch(" ".join((paper.venue or "").split())):
        # howpublished below says arXiv:ID: a note "arXiv preprint" too is printed twice by plainnat.
        venue_fields = []
    if withdrawn := _withdrawal_note(paper):
        notes = [value for name, value in venue_fields if name == "note"]
        venue_fields = [(n, v) for n, v in venue_fields if n != "note"]
        venue_fields.append(("note", "; ".join([*notes, withdrawn])))
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
        if month := _month(paper):
            fields.append(("month", month))
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
    body = ",\n".join(f"  {name} = {value}" if name in _MACRO_FIELDS else f"  {name} = {{{value}}}"
                      for name, value in fields)
    return f"@{kind}{{{key or citation_key(paper)},\n{body}\n}}\n"
