"""TeX markup as arXiv sends it in titles and abstracts, read as the plain Unicode text it stands for.

arXiv gives titles and abstracts as their authors typed them: "\\emph{activation patching}",
"sparse autoencoders~(SAEs)", "$\\ell_1$-regularised", "G\\"odel", "{GPT}-2", "3\\%". Matching words
(extraction, title keys, title comparison) and writing BibTeX need the text those stand for:
"activation patching", "sparse autoencoders (SAEs)", "ℓ₁-regularised", "Gödel", "GPT-2", "3%".

What plain_text does, in one left-to-right pass (linear in the text):
- a command's name goes, its braced argument stays: \\emph{x}, \\textit{x}, \\textbf{x}, \\texttt{x},
  \\text{x}, \\mathrm{x}, \\mathbf{x} and any command it does not know are x; \\cite{...}, \\ref{...},
  \\label{...} go with their argument (a citation key is no word of the text);
- math letters and symbols become their Unicode character: \\ell ℓ, \\epsilon ε, \\alpha α ...,
  \\mathbb{R} ℝ, \\mathcal{L} ℒ, \\times ×, \\leq ≤, \\infty ∞, \\to → (_MACROS);
- math delimiters ($...$, $$...$$, \\(...\\), \\[...\\]) go, and inside math so do braces; a sub- or
  superscript of digits is written with Unicode's sub- and superscript digits: $\\ell_1$ is ℓ₁, $x^2$ x²,
  $\\mathbb{R}^{d}$ ℝ^d, $k$-sparse is k-sparse. A "$" without a partner
  (or one that cannot open or close math: "costs $5 and $10") stays;
- braces go ("{GPT}-2" is GPT-2; BibTeX users brace words to keep their case);
- \\% \\& \\_ \\$ \\# \\{ \\} are the character; TeX accents (\\"o, \\'{e}, {\\"o}, \\c{c}, \\v s, \\'\\i)
  and letters (\\ss, \\o, \\l, \\ae, \\aa ...) are the precomposed letter;
- "~" between two non-spaces is a space ("autoencoders~(SAEs)"); elsewhere it stays ("~30%" means about
  30%); "--" and "---" are the en and em dash; ``quotes'' are “quotes”;
- "\\\\" and the spacing commands (\\, \\; \\quad ...) are a space.

Text without any of it comes back unchanged (a fast path for the common case). plain_mapped also
tells, for every character of the plain text, which characters of the original it came from, so a
sentence found in the plain text can be quoted as the original has it (extraction's evidence is the
abstract as it is stored). display_text is what web pages show: plain_text, a citation dropped with
the space before it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Commands whose argument is no text of the paper: dropped with it.
_DROPPED_WITH_ARGUMENT = frozenset({
    "cite", "citep", "citet", "citealp", "citeauthor", "citeyear", "ref", "eqref", "autoref", "cref",
    "Cref", "label", "footnotemark", "vspace", "hspace", "includegraphics",
})
# Commands that only say how to typeset (sizes, font switches such as "{\\em x}"): nothing.
_SILENT = frozenset({
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "middle",
    "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "relax", "protect", "xspace", "em",
    "it", "bf", "rm", "sc", "tt", "sf", "sl", "itshape", "bfseries", "ttfamily", "scshape", "upshape",
    "normalfont", "small", "footnotesize", "large", "Large", "tiny", "huge", "boldmath", "unboldmath",
})
# Spacing commands: a space.
_SPACES = frozenset({"quad", "qquad", "enspace", "thinspace", "medspace", "thickspace", "newline",
                     "linebreak", "par", "noindent", "smallskip", "medskip", "bigskip"})
_GREEK = ("alpha", "beta", "gamma", "delta", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
          "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega")


def _unicode_name(letter: str) -> str:
    """A Greek letter's name as Unicode spells it (LAMDA, not LAMBDA)."""
    return "LAMDA" if letter == "lambda" else letter.upper()


_MACROS: dict[str, str] = {
    **{name: unicodedata.lookup(f"GREEK SMALL LETTER {_unicode_name(name)}") for name in _GREEK},
    **{name.capitalize(): unicodedata.lookup(f"GREEK CAPITAL LETTER {_unicode_name(name)}")
       for name in ("gamma", "delta", "theta", "lambda", "xi", "pi", "sigma", "upsilon", "phi", "psi",
                    "omega")},
    # \epsilon is drawn lunate (ϵ) and \varepsilon as ε, but texts use both for the one letter, written
    # ε when typed in Unicode ("ε-greedy"): both are ε, so either spelling matches the typed one.
    "epsilon": "ε", "varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varrho": "ϱ", "varsigma": "ς",
    "varpi": "ϖ", "ell": "ℓ", "hbar": "ℏ", "imath": "ı", "jmath": "ȷ", "aleph": "ℵ", "wp": "℘",
    "Re": "ℜ", "Im": "ℑ", "partial": "∂", "nabla": "∇", "infty": "∞", "emptyset": "∅", "varnothing": "∅",
    "times": "×", "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…", "pm": "±", "mp": "∓",
    "div": "÷", "ast": "∗", "star": "⋆", "circ": "∘", "bullet": "•", "leq": "≤", "le": "≤", "geq": "≥",
    "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝",
    "ll": "≪", "gg": "≫", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐",
    "leftrightarrow": "↔", "mapsto": "↦", "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨",
    "wedge": "∧", "vee": "∨", "sum": "∑", "prod": "∏", "int": "∫", "sqrt": "√", "top": "⊤", "bot": "⊥",
    "perp": "⊥", "mid": "|", "vert": "|", "Vert": "‖", "langle": "⟨", "rangle": "⟩", "prime": "′",
    "deg": "°", "log": "log", "ln": "ln", "exp": "exp", "max": "max", "min": "min", "arg": "arg",
    "sin": "sin", "cos": "cos", "tanh": "tanh", "lim": "lim", "sup": "sup", "inf": "inf",
    # Text-mode symbols and letters of their own.
    "textendash": "–", "textemdash": "—", "textquoteleft": "‘", "textquoteright": "’",
    "textquotedblleft": "“", "textquotedblright": "”", "textasciitilde": "~", "textbackslash": "\\",
    "textbar": "|",
    "textless": "<", "textgreater": ">", "textbullet": "•", "textdegree": "°", "texttimes": "×",
    "S": "§", "P": "¶", "dag": "†", "ddag": "‡", "copyright": "©", "pounds": "£", "euro": "€",
    "ss": "ß", "SS": "SS", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "aa": "å", "AA": "Å", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ",
    "dj": "đ", "DJ": "Đ", "LaTeX": "LaTeX", "TeX": "TeX",
}
# Letters written inside words ("Stra\\ss e", "S\\o ren"): the space after them is TeX's, not the text's.
_GLUED_LETTERS = frozenset({"ss", "o", "O", "l", "L", "ae", "AE", "oe", "OE", "aa", "AA", "i", "j"})
# Symbol accents (\"o) and letter accents (\c{c}) as combining marks.
_ACCENTS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328", "r": "\u030a", "d": "\u0323",
    "b": "\u0331",
}
_ESCAPED = {"%": "%", "&": "&", "_": "_", "$": "$", "#": "#", "{": "{", "}": "}", "-": "", "/": "",
            "\\": " ", ",": " ", ";": " ", ":": " ", " ": " ", "!": "", ">": " ", "@": ""}
# \mathbb{R}, \mathcal{L}, \mathfrak{g}: the letter in that alphabet (Unicode's names for them).
_ALPHABETS = {
    "mathbb": ("DOUBLE-STRUCK", "MATHEMATICAL DOUBLE-STRUCK"),
    "mathbbm": ("DOUBLE-STRUCK", "MATHEMATICAL DOUBLE-STRUCK"),
    "mathcal": ("SCRIPT", "MATHEMATICAL SCRIPT"),
    "mathscr": ("SCRIPT", "MATHEMATICAL SCRIPT"),
    "mathfrak": ("BLACK-LETTER", "MATHEMATICAL FRAKTUR"),
}

# Anything plain_text may change: text without it is returned as it is.
_TEX_SIGNS = re.compile(r"[\\{}$~]|--|``|''")
# The pieces of a text, each read whole: a command, an escaped character, a brace, a "$" or "$$", a dash,
# TeX quotes, "~", a sub/superscript mark, or a run of anything else.
_PIECE = re.compile(r"\\[A-Za-z]+\*?|\\.|\\$|\$\$?|[{}]|---?|``|''|~|[_^]|[^\\{}$~_^`'-]+|.", re.DOTALL)
# A symbol accent's letter: "o", "{o}", "{\i}", "\i" (spaces allowed inside the braces).
_LETTER = r"(\\[ij](?![A-Za-z])|[A-Za-z])"  # a letter, or the dotless \i or \j
_ACCENT_ARGUMENT = re.compile(rf"\s*(?:\{{\s*{_LETTER}\s*\}}|{_LETTER})")
# A letter accent's letter: "{c}" or " c" (a space is needed after \c before a bare letter).
_LETTER_ACCENT_ARGUMENT = re.compile(rf"(?:\s*\{{\s*{_LETTER}\s*\}}|\s+([A-Za-z])(?![A-Za-z]))")
_ALPHABET_ARGUMENT = re.compile(r"\s*\{\s*([A-Za-z])\s*\}|\s+([A-Za-z])(?![A-Za-z])")
# A braced argument without braces inside (what \cite{...} and friends take), after optional [...].
_PLAIN_ARGUMENT = re.compile(r"\s*(?:\[[^\[\]{}]*\]\s*)*\{[^{}]*\}")
# A "$" that may open math is followed by a non-space; one that may close it follows a non-space and
# comes before no digit unless a command precedes it ("costs $5 and $10" holds no math, "$\\sim$70%" does).
_DOLLARS = re.compile(r"(?<!\\)\$\$?")


# The digits of a sub- or superscript in math: "_1", "^{12}".
_SCRIPT_DIGITS = re.compile(r"\s*(?:\{\s*([0-9]{1,4})\s*\}|([0-9]))")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Mapped:
    """Plain text and where each of its characters came from in the original text.

    Character i of `text` stands for source[starts[i]:ends[i]] (a TeX command it replaces, and any markup
    dropped just before it, such as "\\emph{", or just after it, such as "}"). starts and ends are None
    for a text standing for itself (source is text): most texts hold no TeX, and spelling out their
    offsets would cost more than reading them."""

    text: str
    source: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    @classmethod
    def of(cls, text: str) -> Mapped:
        """A text standing for itself."""
        return cls(text, text)

    def offsets(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(starts, ends), spelt out for a text standing for itself too."""
        if self.starts is None or self.ends is None:
            return tuple(range(len(self.text))), tuple(range(1, len(self.text) + 1))
        return self.starts, self.ends

    def source_span(self, start: int, end: int) -> str:
        """The original text the plain characters start..end (end excluded) came from."""
        end = min(end, len(self.text))
        if start >= end:
            return ""
        if self.starts is None or self.ends is None:
            return self.text[start:end]
        return self.source[self.starts[start]:self.ends[end - 1]]

    def strip(self) -> Mapped:
        """Without the plain text's leading and trailing whitespace (the source stays whole)."""
        stripped = self.text.strip()
        if stripped == self.text:
            return self
        if self.starts is None or self.ends is None:
            return Mapped.of(stripped)
        first = len(self.text) - len(self.text.lstrip())
        last = first + len(stripped)
        return Mapped(stripped, self.source, self.starts[first:last], self.ends[first:last])

    def sub(self, pattern: re.Pattern[str], replacement: str | Callable[[re.Match[str]], str]) -> Mapped:
        """pattern.sub on the plain text, each replacement standing for what its match stood for."""
        matches = list(pattern.finditer(self.text))
        if not matches:
            return self
        old_starts, old_ends = self.offsets()
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        done = 0
        for match in matches:
            first, last = match.span()
            new = replacement if isinstance(replacement, str) else replacement(match)
            pieces.append(self.text[done:first])
            starts += old_starts[done:first]
            ends += old_ends[done:first]
            if new:
                begin = old_starts[first] if first < last else (old_ends[first - 1] if first else 0)
                stop = old_ends[last - 1] if first < last else begin
                pieces.append(new)
                starts += [begin] * len(new)
                ends += [stop] * len(new)
            elif first < last and starts:
                ends[-1] = max(ends[-1], old_ends[last - 1])  # a deleted character goes with the one before
            done = last
        pieces.append(self.text[done:])
        starts += old_starts[done:]
        ends += old_ends[done:]
        return Mapped("".join(pieces), self.source, tuple(starts), tuple(ends))


def join(parts: Sequence[Mapped | str]) -> Mapped:
    """Texts one after the other (a str stands for itself), each keeping where its characters came from."""
    mapped = [Mapped.of(part) if isinstance(part, str) else part for part in parts]
    if all(m.starts is None for m in mapped):
        return Mapped.of("".join(m.text for m in mapped))
    texts: list[str] = []
    sources: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    offset = 0
    for part in mapped:
        part_starts, part_ends = part.offsets()
        texts.append(part.text)
        sources.append(part.source)
        starts += [s + offset for s in part_starts]
        ends += [e + offset for e in part_ends]
        offset += len(part.source)
    return Mapped("".join(texts), "".join(sources), tuple(starts), tuple(ends))


def has_tex(text: str) -> bool:
    """Whether plain_text could change the text (a backslash, brace, "$", "~", "--" or TeX quotes)."""
    return _TEX_SIGNS.search(text) is not None


def plain_text(text: str) -> str:
    """The text with its TeX markup read as plain Unicode text (see the module's docstring)."""
    return plain_mapped(text).text if has_tex(text) else text


def _math_dollars(text: str) -> set[int]:
    """The positions of the "$" and "$$" that open or close math, in pairs; others are text."""
    found = [(m.start(), m.end()) for m in _DOLLARS.finditer(text)]
    paired: set[int] = set()
    opening: tuple[int, int] | None = None
    for start, end in found:
        after = text[end:end + 1]
        before = text[start - 1:start] if start else ""
        # "$\sim$70%": a closing "$" may come before a digit when what it closes is clearly math.
        closes = bool(before) and not before.isspace() and (
            not after.isdigit() or (opening is not None and "\\" in text[opening[1]:start]))
        if opening is not None and end - start == opening[1] - opening[0] and closes:
            paired.update((opening[0], start))
            opening = None
        elif after and not after.isspace():
            opening = (start, end)
        else:
            opening = None
    return paired


def _paired_braces(text: str) -> set[int]:
    """The positions of the braces that open or close a group ("{GPT}"); a lone one is text ("A } B")."""
    opened: list[int] = []
    paired: set[int] = set()
    for match in _PIECE.finditer(text):  # pieces as plain_mapped reads them: "\\{" is no brace
        if match.group(0) == "{":
            opened.append(match.start())
        elif match.group(0) == "}" and opened:
            paired.update((opened.pop(), match.start()))
    return paired


class _Builder:
    """The plain text as it is made, with each character's source span (see Mapped)."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.pending: int | None = None  # where markup dropped before the next character began

    def emit(self, text: str, start: int, end: int) -> None:
        """Characters that together stand for source[start:end] (a command, an accent, a dash)."""
        if not text:
            self.drop_before(start)
            return
        self.chars.append(text)
        self.starts.append(start if self.pending is None else self.pending)
        self.pending = None
        self.starts.extend([start] * (len(text) - 1))
        self.ends.extend([end] * len(text))

    def copy(self, text: str, start: int) -> None:
        """A run of the source copied as it is, each character standing for itself."""
        end = start + len(text)
        self.chars.append(text)
        self.starts.append(start if self.pending is None else self.pending)
        self.pending = None
        self.starts.extend(range(start + 1, end))
        self.ends.extend(range(start + 1, end + 1))

    def drop_before(self, start: int) -> None:
        """Markup that goes with the next character ("\\emph{", an opening "$")."""
        if self.pending is None:
            self.pending = start

    def drop_after(self, start: int, end: int) -> None:
        """Markup that goes with the character before it ("}", a closing "$")."""
        if self.pending is None and self.ends:
            self.ends[-1] = max(self.ends[-1], end)
        else:
            self.drop_before(start)

    def result(self, source: str) -> Mapped:
        """The Mapped text."""
        if self.pending is not None and self.ends:
            self.ends[-1] = len(source)
        return Mapped("".join(self.chars), source, tuple(self.starts), tuple(self.ends))


def _accented(letter: str, mark: str) -> str:
    """A letter ("o", "\\i") with a combining mark, precomposed where Unicode has the letter."""
    base = {"\\i": "i", "\\j": "j"}.get(letter, letter)
    return unicodedata.normalize("NFC", base + mark)


def _alphabet_letter(alphabet: str, letter: str) -> str:
    """\\mathbb{R} -> ℝ, \\mathcal{L} -> ℒ: Unicode's letter of that alphabet, else the letter itself."""
    short, long = _ALPHABETS[alphabet]
    case = "CAPITAL" if letter.isupper() else "SMALL"
    for name in (f"{short} {case} {letter.upper()}", f"{long} {case} {letter.upper()}"):
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return letter


def plain_mapped(text: str) -> Mapped:
    """plain_text(text) with where each of its characters came from in `text`."""
    if not has_tex(text):
        return Mapped.of(text)
    dollars = _math_dollars(text)
    braces = _paired_braces(text)
    out = _Builder()
    math = False
    position = 0
    length = len(text)
    while position < length:
        match = _PIECE.match(text, position)
        assert match is not None  # "." matches any one character
        piece, start, end = match.group(0), match.start(), match.end()
        if piece.startswith("\\") and len(piece) > 1 and (piece[1].isalpha()):
            end = _command(text, piece.rstrip("*")[1:], start, end, out)
        elif piece.startswith("\\") and len(piece) == 2:
            symbol = piece[1]
            if symbol in "([":
                math = True
                out.drop_before(start)
            elif symbol in ")]":
                math = False
                out.drop_after(start, end)
            elif symbol in _ACCENTS and (argument := _ACCENT_ARGUMENT.match(text, end)):
                end = argument.end()
                out.emit(_accented(argument.group(1) or argument.group(2), _ACCENTS[symbol]), start, end)
            elif symbol in _ESCAPED:
                out.emit(_ESCAPED[symbol], start, end)
            else:
                out.emit(symbol, start, end)
        elif piece in ("$", "$$"):
            if start in dollars:
                math = not math
                if math:
                    out.drop_before(start)
                else:
                    out.drop_after(start, end)
            else:
                out.emit(piece, start, end)
        elif piece == "{" and start in braces:
            out.drop_before(start)
        elif piece == "}" and start in braces:
            out.drop_after(start, end)
        elif piece in ("--", "---"):
            out.emit("–" if piece == "--" else "—", start, end)
        elif piece == "``":
            out.emit("“", start, end)
        elif piece == "''":
            out.emit("”", start, end)
        elif piece == "~":
            between = start > 0 and end < length and not text[start - 1].isspace() and not text[end].isspace()
            out.emit(" " if between else "~", start, end)
        elif piece in ("_", "^") and math:
            digits = _SCRIPT_DIGITS.match(text, end)
            if digits:  # x^2 is x², \ell_1 is ℓ₁ (NFKC gives the digit back to title keys)
                table = _SUPERSCRIPTS if piece == "^" else _SUBSCRIPTS
                out.emit((digits.group(1) or digits.group(2)).translate(table), start, digits.end())
                end = digits.end()
            else:  # $\mathbb{R}^d$ is ℝ^d, as it is typed without TeX
                out.copy(piece, start)
        else:
            out.copy(piece, start)
        position = end
    return out.result(text)


def _command(text: str, name: str, start: int, end: int, out: _Builder) -> int:
    """Read the command `name` (its name ends at `end`) into `out`; where reading goes on."""
    if name in _ACCENTS and (argument := _LETTER_ACCENT_ARGUMENT.match(text, end)):
        out.emit(_accented(argument.group(1) or argument.group(2), _ACCENTS[name]), start, argument.end())
        return argument.end()
    if name in _ALPHABETS and (argument := _ALPHABET_ARGUMENT.match(text, end)):
        out.emit(_alphabet_letter(name, argument.group(1) or argument.group(2)), start, argument.end())
        return argument.end()
    if name in _DROPPED_WITH_ARGUMENT:
        argument = _PLAIN_ARGUMENT.match(text, end)
        stop = argument.end() if argument else end
        out.drop_after(start, stop)
        return stop
    if name in _SPACES:
        out.emit(" ", start, end)
        return end
    if name in _MACROS:
        out.emit(_MACROS[name], start, end)
        # TeX ends a control word at a space it eats: "Stra\ss e" is "Straße".
        if name in _GLUED_LETTERS and text[end:end + 1] == " " and text[end + 1:end + 2].isalpha():
            return end + 1
        return end
    if name in _SILENT:  # "{\\em x}": the space after a control word is TeX's
        stop = end + 1 if text[end:end + 1] == " " else end
        out.drop_before(start)
        return stop
    if text[end:end + 1] in ("{", "["):
        # \emph, \textit, \textbf, \texttt, \text, \mathrm, \operatorname, \textsc, any other command
        # with an argument: its name goes, its argument is read as text.
        out.drop_before(start)
        return end
    # A command TeX would not know without its package, or a backslash in plain text ("A\B testing"):
    # the name stays a word, without the backslash.
    out.drop_before(start)
    out.copy(text[start + 1:end], start + 1)
    return end


# A citation with the space or tie before it ("small~\\cite{x}."): plain_text drops the citation but keeps
# the tie's space, which a reader sees as "small ." — shown text drops both.
_CITATION = re.compile(r"[ \t]*~?\\cite[A-Za-z]*\*?(?:\s*\[[^\[\]{}]*\])*\s*\{[^{}]*\}")


def display_text(text: str | None) -> str:
    """The text as a reader is shown it: plain_text, and a citation goes with the space before it.

    Always a plain str (never a markupsafe.Markup passed in), for templates to escape as any text."""
    if not text:
        return ""
    text = str.__str__(text)  # a str subclass (Markup) passed through unchanged would skip escaping
    if not has_tex(text):
        return text
    return plain_text(_CITATION.sub("", text))
