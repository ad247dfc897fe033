"""Titles whose keys changed when venue tags without a year began to be removed, and the keys the
older rule gave them: what both backends' title-key upgrade tests store and expect to recompute. "tex":
a title in TeX as arXiv gives it, whose key changed when title_key began to read TeX as text.
"unicode-math": a title with a math symbol, which every rule before spelled no word for ("When A ≤ B
..." was keyed as "When A ≥ B ..."), a word since."""

TITLES = {"feature-splitting": "A Study of Feature Splitting in Small Transformers (ICML'24 Oral)",
          "probes": "Sparse probing (Spotlight)", "probes-2": "Sparse Probing",
          "plain": "Toy Models of Superposition", "lens": "Logit lens (ATTRIB Workshop)",
          "tex": r"\textit{Induction Heads} in $\ell_1$ Models", "unicode-math": "When A ≤ B in Transformers"}
OLDER_KEYS = {"feature-splitting": "a study of feature splitting in small transformers icml 24 oral",
              "probes": "sparse probing spotlight", "probes-2": "sparse probing",
              "plain": "toy models of superposition", "lens": "logit lens attrib workshop",
              "tex": "textit induction heads in ell 1 models", "unicode-math": "when a b in transformers"}
