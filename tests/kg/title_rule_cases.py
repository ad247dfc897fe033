"""Titles whose keys changed when venue tags without a year began to be removed, and the keys the
older rule gave them: what both backends' title-key upgrade tests store and expect to recompute."""

TITLES = {"feature-splitting": "A Study of Feature Splitting in Small Transformers (ICML'24 Oral)",
          "probes": "Sparse probing (Spotlight)", "probes-2": "Sparse Probing",
          "plain": "Toy Models of Superposition", "lens": "Logit lens (ATTRIB Workshop)"}
OLDER_KEYS = {"feature-splitting": "a study of feature splitting in small transformers icml 24 oral",
              "probes": "sparse probing spotlight", "probes-2": "sparse probing",
              "plain": "toy models of superposition", "lens": "logit lens attrib workshop"}
