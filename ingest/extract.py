"""Rule-based extraction of techniques, evaluations, findings, models, topics and components from abstracts.

A paper's text is its title, its abstract and, for techniques and evaluations only, the TL;DRs of its
rows in the awesome list: the list's curators often name the method the abstract only paraphrases
(IOI's abstract says "causal interventions", its TL;DR "mean-ablation for activation and path
patching"). A technique or evaluation found only in a TL;DR has the TL;DR sentence as its evidence,
prefixed "List TL;DR: " so the reason shown says whose words it is. Findings, models, topics and
components come from the title and abstract alone, exactly as without TL;DRs: a TL;DR is the list's
summary, not a claim of the paper.

spaCy `blank("en")` + sentencizer + a component that sets `token.norm_` to a lemma (the lookup table of
spacy-lookups-data plus a plural rule), and two `PhraseMatcher`s built from the taxonomy aliases (on
NORM for phrases, on ORTH for case-sensitive acronyms). The output lists are in order of first
mention and identical across runs and processes.

Sentences (evidence, findings, and the same-sentence rules below) are the sentencizer's, with two
corrections:
- A full stop after a capital that follows a digit, a lower-case letter or a hyphen is split off by
  the tokenizer ("Mistral 7B.", "Pythia-1.4B.", "CoT.", "GPT-J."), so it ends the sentence like any
  other; spaCy's English suffix rules keep it on such a word, and the sentencizer never saw it. A
  single capital ("A. Smith") and spaCy's own exceptions ("e.g.", "i.e.", "vs.", "U.S.") keep their
  full stop, and "3.5", "v1.2", "GPT-3.5" and "2401.00001" have none to split.
- The full stop of an abbreviation ("Fig. 3", "Sec. 4", "Eq. 2", "cf. Olah", "approx. 5", "w.r.t. the")
  ends no sentence, nor does that of "et al." unless a capitalised word follows ("Elhage et al.
  (2022) show" is one sentence, "... of Nanda et al. We find ..." two). "etc." ends one as usual.

Matching rules (documented here because the extraction's precision depends on them):
- The text is read as its reader sees it (readable): arXiv's TeX markup as plain text (kg.tex:
  "\\emph{activation patching}", "autoencoders~(SAEs)", "SAE{s}", "$k$-sparse"), invisible format
  characters (zero-width space, soft hyphen) removed, no-break and other spaces as spaces, the Unicode
  hyphens U+2010/U+2011 as "-", decomposed letters composed, "auto-encoder" as "autoencoder". Evidence
  and findings still quote the title, abstract and TL;DRs as given (TeX and all), which is what the
  paper page shows and what search explanations look the evidence up in.
- Aliases match on NORM, so "linear probes", "sparse autoencoders", "steering vectors" and
  "interpreted in embedding space" match the aliases "linear probe", "sparse autoencoder",
  "steering vector" and "interpret in embedding space". "-ing" forms keep their surface form
  ("probing" is not "probe", "reasoning" is not "reason").
- Multi-word aliases match with or without hyphens between their words ("tuned lens",
  "tuned-lens"); a two-word alias also matches its joined form ("Llama 2", "Llama2"). Not an alias
  whose hyphenated last word is a function word ("greater-than": "greater than 90%" is a comparison,
  not the task): it matches only as written, and not inside a longer hyphenated word
  ("greater-than-chance").
- Short acronyms (one token with two or more capitals, e.g. SAE, CMA, ACDC, EAP, AtP, DLA, RS, FF,
  MLP, ICL, ROME, CAA, ITI, LAT, CLT, PCA, BERT, OPT, and T5-like letter+digit names) match
  case-sensitively only, plus their plural ("SAEs"); "opt" or "eap" in running text never fire. A
  model's acronym also matches in lower case, as checkpoint names write it ("gpt2-small",
  "bert-base-uncased", "t5-base", "roberta-base"), unless that is an English word of spaCy's lookup
  table ("opt"); "Bert" is neither form. Such a word is the model glued to a checkpoint size
  ("opt-1.3b", "opt-66b", "opt-125m"), not to a plain number ("opt-2").
- A model alias also matches glued to a size or version by a hyphen or nothing ("Pythia-1.4B",
  "Pythia-70M", "Mistral-7B", "OPT-66B", "Mixtral-8x7B", "GPT-Neo-1.3B", "Llama-3.1-8B", "Llama3"),
  its case rule unchanged ("OPT-66B" and "gpt2-1.5b" match, "opt-66b" by the size rule above); a variant
  word after it ("GPT-2-small", "BERT-base", "Mistral-7B-Instruct") is a token of its own. Only a size or
  version counts: a hyphenated word that starts with a model name ("Optimus-7B", "Alpacas-2") matches
  nothing.
- Coordination ellipsis: a multi-word alias (without a preposition) preceded by "and", "or", "&" or a
  comma, itself preceded by one to three words, also names the alias made of those words and the
  alias's shared head, when that is an alias too: "activation and path patching" is activation
  patching and path patching, "zero-, mean- and resample-ablation" three ablations, "edge attribution
  and path patching" EAP (the longest such modifier wins) and path patching, "attention and MLP
  layers" attention layers and MLP layers. Only whole aliases are made, so "activation functions and
  path patching" names path patching alone ("functions patching" is no alias).
- Overlapping matches: the longest wins. A shorter match that ends where the longer one ends (the
  head of a noun compound: "behavior-preserving *resampling ablations*") is kept as well when the
  longer alias has no preposition in it, the shorter alias is not ambiguous, and its node is not an
  ancestor of (or the same as) the longer match's node.
- A model is not one the paper studies when it is named as a tool ("we use GPT-4 to write
  explanations", "GPT-4 is used to generate ...", "we use GPT-4 as a judge", "GPT-4-generated labels",
  "based on GPT-4 judgements", "based on GPT-4 to identify ..."; "experiments based on Llama-2 show"
  study Llama-2; a fronted "Using GPT-4, ..." when the clause after its comma names another model:
  "Using GPT-4, we find that neurons in GPT-2 ..." studies GPT-2, "Using GPT-2, we find ..." GPT-2), as a
  contrast in its own phrase ("unlike", "in contrast to", "as opposed to": "Unlike BERT, GPT-2 stores ..."
  studies GPT-2, the comma ending the contrast, unless a list the contrast names ends there: "Unlike
  BERT, RoBERTa and T5, GPT-2 ..."), as the reference of a comparison (the technique rule's below:
  "Compared with GPT-4, Pythia ...", "our model ... relative to GPT-2"; "we compare GPT-2 versus Pythia"
  studies both), or as the name of a scaling law ("the Chinchilla scaling laws",
  "Chinchilla-optimal"). A component alias that names a kind of network ("MLP", "multilayer
  perceptron", "feed-forward") before a read-out ("an MLP probe", "MLP classifiers") is no component.
- Technique and evaluation mentions in artifact sentences (a URL, or "code ... available") do not
  count: "The code, dataset, visualizations ... are available" is not a use of visualization.
- Nor does a technique or evaluation named as what the paper does not use (word-window rules, no parse):
  (a) a negation of use before it in its clause, within eight words: "without" (not "with and
      without"), "instead of", "rather than", "no need for" (and "eliminates / removes / obviates the need
      for"), "with no", "requires / uses / needs no", "do not / never / no longer use / rely on / require /
      need / apply / measure ..." (not "not only uses"), a contrast ("unlike", "in contrast to/with", "as
      opposed to"), or a comparison ("compared to/with", "in comparison to/with", "relative to", "versus",
      "vs.") that makes it the paper's reference: one that opens its sentence ("Compared to attribution
      patching, our method is exact", "Versus attribution patching, ...") or whose sentence names the
      paper's own method ("our method / approach ...", "ours", "the proposed ..."). Any other comparison
      studies both sides ("we compare SAEs versus transcoders", "SAEs vs. Transcoders"), as does "we compare
      activation patching and / to attribution patching". The contrast and comparison cues are the model
      rule's too (one list). A new clause ends its reach ("Without retraining, we apply SAEs" applies
      SAEs), a comma too unless it continues a list of mentions that reaches its "and" / "or" ("without
      probing, patching or SAEs"; "Unlike SAEs, transcoders are ..." uses transcoders), and
      the nearest verb of use decides ("does not use gradients and relies on activation patching" relies
      on it);
  (b) a sentence whose subject is prior work, up to the paper's own clause ("Prior work relied on SAEs and
      the logit lens; we ...", "However, existing methods such as probing ...", "Previously, ..."); the
      subject only: "Building on prior work on SAEs, we ..." and "We find that the existing techniques of
      logit attribution ... scale" use them. The paper's clause starts at "we / our / but / however ...",
      at a consequence ("so / thus / therefore / hence this paper ...", "motivating"), at "this paper /
      work / study", "in this", "and this / our", or at a comma and an "-ing" verb with an object ("...,
      leading us to the tuned lens"; not "using", "including", "showing");
  (c) the subject of "has / have been (widely) used / applied / employed" or "was previously used", or a
      method followed by a relative clause criticising it ("..., which are costly / often brittle"),
      unless the paper speaks before it in its clause ("We apply SAEs, which have been used to ...") or
      builds on it ("a refinement of the earlier logit lens", "we improve on activation patching",
      "Building on activation patching, which has been widely used, ...", "SAEs, which suffer from dead
      latents, are improved by our method / are fixed by a gated architecture": a passive "is improved /
      fixed / extended / addressed / scaled / refined by", or "we / our / this paper" after the critique in
      its clause, not "are replaced by our method": a method the paper refines or extends is one it uses,
      as the list's labels say: Tuned Lens is tagged with the logit lens).
  Another mention of the same technique in the text still counts (and only counting mentions make its
  score), and a mention dropped here confirms no ambiguous alias.
- Nor does a technique or evaluation mention that refers back to a longer one of another node: after
  "these", "those", "this", "that", "such", "the" or "said", a mention whose words end the nearest earlier
  mention with the same head, in its sentence or the one before (same title, abstract or TL;DR), names that
  node again: "affine probes ..., where these probes are translators" is the tuned lens, not probing. When
  the nearest such mention is of the same node ("linear probes ... these probes") it counts as usual.
- A technique or evaluation's evidence is the sentence of a non-ambiguous mention when it has one: an
  abstract sentence before the title (which names the subject, not how it is used), the title before a
  list TL;DR. The title is quoted as given, without the full stop the analysed text adds after it.
- An ambiguous alias (the taxonomy's `ambiguous_aliases`) counts only when confirmed by
  (a) a non-ambiguous alias of the same node elsewhere in the title, abstract or TL;DRs (a TL;DR
      confirms techniques and evaluations only: topics, models and components come from the
      paper's own text), or
  (b) a non-ambiguous alias of another node of the same family (same top ancestor of the same
      label, e.g. any CMA or any Knockout method) elsewhere in the text
      (for (a) and (b): other words, not the same span nor another occurrence of the same alias), or
  (c) for techniques and evaluations only: an MI cue in the same sentence, i.e. a transformer
      component alias (attention head, MLP, residual stream, ...) or one of the words neuron,
      circuit, activation, representation, feature, logit, layer, MLP, head, hidden state; or,
  (d) instead of (c) for a node with `confirming_terms` in the taxonomy: one of those words
      (compared as lemmas) in the same sentence. Plausibility's "human-understandable" counts
      beside "rated" or "annotators", not beside "attention heads".
  A node found only through ambiguous aliases is dropped when one of its refinements is found
  through a non-ambiguous alias (the refinement says it more precisely).
- Topics and fundamental objects are the field's: a paper is linked to them (its topics, and what its
  findings are about) only when its title or abstract has the field's domain cue. "Circuit", "safety",
  "reasoning" or "superposition" name the MI topic in a paper on language models, not in one on power
  electronics, robots or qubits. The cue is the weekly relevance gate's (ingest.relevance): for a taxonomy
  without a `weekly:` block (the shipped mi.yaml) a language-model cue ("language model", LLM, GPT, a model
  family of the taxonomy, "transformer" or "attention heads" when nothing points to another field) or a
  neural-network cue ("neural networks", "ReLU network": MI of toy models) when nothing points to another
  field; for a file with a block, one of its `domain_cues` (none listed: every paper is in the field). Another
  field's file without a block (no Features and Circuits objects: is_mi_taxonomy) gates no paper. A paper
  without an abstract is not judged: a title is too short to carry the cue ("Toy Models of Superposition",
  "Progress measures for grokking via mechanistic interpretability" of a list ingested without arXiv).
  Techniques, evaluations, components and models are not gated: their ambiguous aliases have their own
  confirmation above.
- Findings are the abstract's claim sentences: "we (also/further/fully/...) find / show / discover /
  demonstrate / identify / reveal / observe / uncover / establish / confirm / prove / reverse engineer /
  present evidence ...", "we compute ... and find that ...", "our results / findings / experiments /
  analyses show / suggest / indicate ...", "This explains ...", "we boost / reduce ... (with a %)",
  "..., showing / finding / revealing / demonstrating that ...",
  "..., showing it to be ...", "..., identifying ...", "... evidence, arguing that ...", "we present
  successor heads: ...", and results said with a component as subject, right before the verb ("These
  induction heads overlap with ...", "Attention Head 10.7 (L10H7) suppresses ...", "They form in LLMs
  ...", "... induction heads has a close correlation with ..."). Not claims: "we" in a relative clause
  ("the motifs we identified"), a method told by its means ("we confirm the algorithm by analyzing
  ...", "By intervening ..., we identify the parameters"), "we argue that ..." (a position), a component
  in a question ("we investigate whether attention heads encode ..."). The items of a list a claim
  opens ("... by finding that: (1) A. B. (2) C.") are claims too, and "1.)" / "2.)" inside a sentence
  end none. Each is linked to the components, models, topics and objects named in that sentence,
  except a component that only describes the setting in a "with" phrase ("for larger models with
  MLPs, we present correlational evidence", "a layer with 512 neurons"). A title naming any of those
  is a finding too (kind "title", the claims being kind "claim"): "Toy Models of Superposition" is
  about superposition although no abstract sentence claims it.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from kg.entities import EvaluationUse, Finding, FindingAbout, TaxonomyNode, TechniqueUse
from kg.schema import TLDR_EVIDENCE_PREFIX, Label
from kg.taxonomy import Taxonomy
from kg.tex import Mapped, join, plain_mapped
from kg.validation import FORMAT_CHARACTERS, OTHER_SPACES

if TYPE_CHECKING:
    from ingest.relevance import DomainCue, LMCue

# Bump whenever a rule above or below changes what extraction returns for the same text and taxonomy:
# it is part of Extractor.signature, so stored extractions made by older rules are redone on re-ingest.
EXTRACTOR_VERSION = "16"  # 5: list TL;DRs and coordination ellipsis; 7: no modifier out of a longer term;
# 8: evidence from a non-ambiguous mention first; 9: sentences end after "7B." / "CoT.", not after "Fig.",
# and a model alias glued to a size or version is the model ("Pythia-1.4B", "Mistral-7B"), not only acronyms;
# 10: "we unveil / localize", "our results uncover / unveil" are claims; 11: TeX markup read as plain text
# ("\emph{activation patching}", "autoencoders~(SAEs)"), format characters, odd spaces and Unicode hyphens
# (see readable), "auto-encoder"; 12: claim rules (relative-clause "we", method sentences "by ...ing",
# "we ... and find that", component-subject results, adverbs, list items), "(2)" starts its sentence, "1.)"
# ends none, and a component only describing the setting is not linked; 13: topics and objects only in a
# paper with the field's domain cue (a language-model or network cue, or the weekly block's domain_cues);
# 14: a technique or evaluation named as not used (negated, contrasted, prior work) is no mention of its use,
# evidence prefers an abstract sentence to the title, and a title is quoted without an added full stop;
# 15: "greater-than" only hyphenated, a model's acronym in lower case ("gpt2-small"), a contrast ends at its
# comma, "compared to", a model as a judge or a scaling law is not studied, an "MLP probe" is no MLP layer;
# 16 (a landed submission is what git users run: no rule change waits for a release): "based on X" a
# tool only for X's output ("based on GPT-4 judgements"), a fronted "Using X," before another model and
# "X-generated" are tools, "greater-than" not inside "greater-than-chance", "opt-1.3b" (a word acronym
# glued to a checkpoint size) is OPT; a technique the paper compares its own method with ("Compared to X,
# our method ...", "versus", "relative to") is not used, and models read the same contrast and comparison
# cues; "these probes" after "affine probes" is no probing; "feature circuits" needs an attribution cue.
# Packages whose data shape the output (tokenizer, sentencizer, lemma table), also in the signature.
_SIGNATURE_PACKAGES = ("spacy", "spacy-lookups-data")
# The most characters of one paper's text (title + abstract + TL;DRs) analysed; the rest is not read. A last
# guard: the pipeline already turns away titles over 1,000 and abstracts over 20,000 characters
# (kg.validation), but a longer text from any other caller would make spaCy raise E088 past its
# max_length (1,000,000) and fail the whole batch. 100,000 is far above any real abstract, so
# normal results are unchanged (EXTRACTOR_VERSION stays), and bounds one text to ~0.2 s of work.
MAX_ANALYSED_CHARS = 100_000
# A run of more characters than this that are neither letters, digits nor spaces ("((((...", "!!!!...")
# gets a space after every PUNCTUATION_RUN of them before spaCy reads the text: spaCy's tokenizer takes
# such a run apart one character at a time, searching the rest of it each time (quadratic: an abstract
# of 19,000 "(" took 80 s). Real text has no such run (no seed paper's extraction changes; see the
# tests), and a space between two punctuation characters of a run makes no word: EXTRACTOR_VERSION
# stays.
PUNCTUATION_RUN = 50
_LONG_PUNCTUATION_RUN = re.compile(rf"(?:[^\w\s]|_){{{PUNCTUATION_RUN + 1},}}")
# Likewise any run of more than LONG_TOKEN characters without a space ("x's's's..." is taken apart one
# "'s" at a time, 10,000 characters in 10 s): a space after every LONG_TOKEN of them. No word or URL of
# real text is that long.
LONG_TOKEN = 400
_LONG_TOKEN = re.compile(rf"\S{{{LONG_TOKEN + 1},}}")

# Labels the matcher looks for, and which of them feed which output.
_MATCHED_LABELS = (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.COMPONENT, Label.MODEL, Label.OBJECT)
_ABOUT_LABELS = (Label.COMPONENT, Label.MODEL, Label.TOPIC, Label.OBJECT)
_CUE_CONFIRMED_LABELS = (Label.TECHNIQUE, Label.EVALUATION)
# Labels a paper gets only when it has the field's domain cue (see the module docstring).
_FIELD_LABELS = (Label.TOPIC, Label.OBJECT)
# The fundamental objects that make a taxonomy the MI one (is_mi_taxonomy).
_MI_OBJECTS = frozenset({"features", "circuits"})
# Labels the list's TL;DRs are read for (the rest come from the title and abstract alone).
_TLDR_LABELS = (Label.TECHNIQUE, Label.EVALUATION)

# Norms (lemmas) that mark a sentence as being about model internals (rule (c) above).
_CUE_NORMS = frozenset({
    "neuron", "circuit", "activation", "representation", "feature", "logit", "layer", "mlp", "head",
})
_CUE_BIGRAMS = frozenset({("hidden", "state"), ("residual", "stream"), ("attention", "head")})

_PREPOSITIONS = frozenset({"of", "to", "for", "with", "in", "on", "from", "by", "into", "onto", "over", "at"})
# Words that make a hyphenated alias's last word a grammar word ("greater-than"): without the hyphen it is a
# phrase of any sentence ("greater than 90%"), so it matches only as written.
_FUNCTION_WORDS = _PREPOSITIONS | {"than", "as", "and", "or"}

_CLAIM_VERBS = frozenset({
    "find", "show", "discover", "demonstrate", "identify", "reveal", "observe", "uncover", "unveil",
    "localize", "localise", "establish", "confirm", "prove", "verify", "report", "conclude",
})
# Claim verbs that also say what a method does: with an object (no "that") and a means ("we confirm the
# algorithm by analyzing ...", "by intervening on ..., we identify the subset of parameters"), the
# sentence describes how the study was done, not what it found.
_MEANS_VERBS = frozenset({
    "identify", "localize", "localise", "confirm", "verify", "demonstrate", "establish",
})
# Verbs that report a result after "we ... and": "we compute correlations ... and find that ...".
_AND_CLAIM_VERBS = frozenset({
    "find", "show", "discover", "demonstrate", "reveal", "observe", "confirm", "establish", "prove",
})
_CLAIM_RESULT_NOUNS = frozenset({
    "result", "finding", "experiment", "analysis", "analyses", "evidence", "study", "work", "observation",
})
_CLAIM_RESULT_VERBS = frozenset({
    "show", "suggest", "indicate", "reveal", "confirm", "demonstrate", "provide", "support", "highlight",
    "uncover", "unveil", "explain",
})
# Verbs of a measured change: with a percentage in the sentence, "we boost accuracy from 49% to 93%" or
# "we reduce toxicity by 50%" reports a measured result.
_MEASURED_VERBS = frozenset({
    "boost", "improve", "reduce", "increase", "decrease", "raise", "lower", "recover", "outperform",
})
_CLAIM_PARTICIPLES = frozenset({
    "showing", "finding", "revealing", "demonstrating", "suggesting", "indicating",
})
# A sentence opening with one of these and a result verb reports a result: "This reveals a distinct
# set of steps in middle-layer feed-forward modules".
_CLAIM_DEMONSTRATIVES = frozenset({"this", "these"})
# Participles that report a result with an object after a comma: "..., identifying interpretable
# polysemanticity in a Pythia successor head" (not after "by": "by identifying ..." is a means).
_CLAIM_OBJECT_PARTICIPLES = frozenset({"identifying", "uncovering", "discovering", "revealing"})
# Verbs that report a discovered component as their object: "we present successor heads: attention
# heads that increment tokens", "we present a single attention head in GPT-2 Small that ...".
_PRESENT_VERBS = frozenset({"present", "describe", "report"})
_PRESENT_GAP = frozenset({"a", "an", "the", "single", "new", "novel", "set", "of", "family", "class"})
_CLAIM_TRIGGERS = (_CLAIM_PARTICIPLES | _CLAIM_DEMONSTRATIVES | _CLAIM_OBJECT_PARTICIPLES
                   | {"we", "they", "arguing"})
_CLAIM_FILLERS = frozenset({
    "also", "further", "then", "first", "second", "third", "finally", "additionally", "empirically",
    "moreover", "furthermore", "surprisingly", "indeed", "now", "here", "thereby", "instead",
    "can", "could", "consistently", "theoretically", "experimentally", "both",
    "subsequently", "ultimately", "therefore", "thus", "even", "in", "particular", ",", "do", "did",
})
# Words after which "we" starts a clause of its own ("In this work we find", "Here we show", "and we
# find"); after any other word ("the motifs we identified") "we" opens a relative clause, which says
# nothing of what the sentence claims. Words ending in "-ly" ("Finally we show") count too.
_CLAUSE_OPENERS = frozenset({
    "and", "but", "that", "so", "then", "here", "thus", "hence", "therefore", "now", "also", "where",
    "when", "while", "whereas", "if", "as", "because", "since", "first", "second", "third", "finally",
    "overall", "together", "work", "paper", "study", "post", "instead", "particular", "addition", "sum",
    "short", "which", "further", "moreover", "furthermore", "surprisingly", "interestingly", "notably",
})
# What a transformer component does, said as a result with the component as subject: "These induction
# heads overlap with ...", "Attention Head 10.7 (L10H7) suppresses naive copying", "They form in LLMs
# ...", "Copy suppression leads to self-repair". Only right after the subject: "X are attention heads
# that implement ..." defines X.
_COMPONENT_RESULT_VERBS = frozenset({
    "implement", "overlap", "suppress", "form", "emerge", "develop", "correlate", "encode", "represent",
    "store", "mediate", "increment", "compute", "track", "copy", "move", "write", "attend", "lead",
    "explain", "predict", "promote", "inhibit", "detect", "respond", "activate", "fire", "recall",
    "boost", "dominate", "drive", "cause", "contribute",
})
# Words before a component that make it no subject of the verb after it: a preposition ("attention to
# induction heads is ..."; not "of": "the emergence of induction heads has a close correlation with ..."
# says the verb of the whole subject), or a question the study asks ("we investigate whether attention
# heads encode").
_NOT_SUBJECT = frozenset({
    "that", "which", "to", "by", "with", "from", "in", "on", "whether", "if", "how", "why", "what",
})
# "has a close correlation with": a result noun after the component and "has" / "have" / "show".
_CORRELATION_NOUNS = frozenset({"correlation", "overlap"})
# Words between a component and its verb: an identifier ("Attention Head 10.7 (L10H7) suppresses"), an
# adverb ("consistently", "-ly"), "also", "often".
_SUBJECT_GAP_WORDS = frozenset({"also", "often", "still", "thus", "then", "(", ")", "-"})
# The nouns a "with" phrase describes the setting of: "for larger models with MLPs, we present ...",
# "a layer with 512 neurons". A component named there restricts the setting; the finding is not about it.
_SETTING_NOUNS = frozenset({
    "model", "network", "transformer", "layer", "architecture", "lm", "llm", "variant", "net",
})
# An enumeration marker opening a sentence: "(2) Skill neurons are task-specific."
_ENUMERATION = re.compile(r"\((?:\d{1,2}|[ivx]{1,4}|[a-h])\)\s")

_EVIDENCE_MAX = 400
# Words that join coordinated modifiers ("activation and path patching", "zero-, mean- or ...").
_COORDINATORS = frozenset({"and", "or", "&", ","})
# The most words a coordinated modifier has ("edge attribution and path patching").
_MAX_MODIFIER_WORDS = 3
# Added to spaCy's English suffixes: the full stop after "7B", "1.4B", "CoT", "GPT-J" (a capital after a
# digit, a lower-case letter or a hyphen). The tokenizer applies suffixes to the whole space-free chunk before
# splitting it at hyphens, so "GPT-J." is seen whole; a lone initial ("A.") has no such character before it.
_FULL_STOP_AFTER_CAPITAL = r"(?<=[0-9a-z\-][A-Z])\."
# Abbreviations spaCy's tokenizer splits from their full stop ("Fig" "."): the sentencizer would start a
# sentence after them. "etc" is not one: it ends a sentence as often as not.
_ABBREVIATIONS = frozenset({
    "fig", "figs", "sec", "secs", "eq", "eqs", "cf", "approx", "resp", "ref", "refs", "w.r.t",
})
# "et al." ends a sentence only before a capitalised word: citations go on with "(2022)" or a verb.
_CITATION_ABBREVIATIONS = frozenset({"al"})
_ACRONYM = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Za-z0-9*]{2,7}$|^[A-Z][0-9]{1,2}$")
_PLURAL_KEEP = ("ss", "us", "is", "ous", "sis")
# A token made of a word and a size or version: "Pythia-1.4B", "Mistral-7B", "OPT-66B", "Mixtral-8x7B",
# "Llama-3.1", "Gemma2", "Pythia-70" (of "Pythia-70M": spaCy splits off units such as K, M and T, not B),
# "J-6B" (of "GPT-J-6B": spaCy splits a hyphen before a letter, never one before a digit). So a variant word
# ("-small", "-base", "-Instruct", "-chat", "-it", "-deduped") is always a token of its own, and the alias
# before it matches unaided; a hyphen between two digits is split too ("Gemma-2" "-" "2B"). Without a
# hyphen the word must end in a letter ("Llama3", not "T511"). The word counts only when it is the last
# word of a model alias in its own form, not a plural (_AliasMatcher._head; the copy matcher then needs the
# whole alias before it: "GPT-Neo-1.3B" is "GPT", "-", "Neo-1.3B"), so "layer-12", "v1.2" or "A100" match
# nothing.
_SIZED_TOKEN = re.compile(r"(?P<head>.+?)(?:-|(?<=[^\W\d_]))\d+(?:\.\d+)*(?:x\d+(?:\.\d+)?)?[KMBTkmbt]?")

# The size of a checkpoint glued to a lower-case name that is also a word: "opt-1.3b", "opt-66b", "opt-125"
# (spaCy splits the "m" off "opt-125m"), not a plain number ("opt-2").
_CHECKPOINT_SIZE = re.compile(r"-(?:\d+(?:\.\d+)?[kmbtKMBT]|\d+\.\d+|\d{3,})")


@dataclass
class Extraction:
    """What extraction found in a paper's title and abstract (techniques and evaluations: and TL;DRs)."""

    techniques: list[TechniqueUse] = field(default_factory=list)
    evaluations: list[EvaluationUse] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)


class PaperExtractor(Protocol):
    """What ingest needs from an extractor (Extractor, or a stand-in)."""

    def extract(self, paper_id: str, title: str, abstract: str, tldrs: Sequence[str] = ()) -> Extraction:
        """The techniques, evaluations, findings, models, topics and components of one paper."""


@dataclass(frozen=True)
class _Entry:
    """One node an alias pattern stands for."""

    node_id: str
    ambiguous: bool


@dataclass
class _Hit:
    node_id: str
    start: int
    end: int
    sent: int
    ambiguous: bool
    key: str = ""  # the normalised alias that matched


_LEMMAS: dict[str, str] | None = None
_LEMMAS_LOCK = threading.Lock()


def _lemma_table() -> Any:
    """The English lookup lemma table of spacy-lookups-data (loaded once per process)."""
    global _LEMMAS
    with _LEMMAS_LOCK:
        if _LEMMAS is None:
            from spacy.lookups import load_lookups

            _LEMMAS = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        return _LEMMAS


class _Normalizer:
    """Maps a token's text to its norm: lowercased lemma, keeping "-ing" forms, with a plural rule."""

    def __init__(self) -> None:
        self._table = _lemma_table()
        self._memo: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        """The norm of one token text."""
        norm = self._memo.get(text)
        if norm is None:
            norm = self._compute(text)
            if len(self._memo) < 200_000:  # bounded: vocabularies are small, but stay safe
                self._memo[text] = norm
        return norm

    def _compute(self, text: str) -> str:
        # The table is not closed under itself ("lenses" -> "lens" -> "len"): iterate to a fixed
        # point so every inflection of a word lands on the same norm.
        norm = text.lower()
        for _ in range(3):
            nxt = self._step(norm)
            if nxt == norm:
                break
            norm = nxt
        return norm

    def _step(self, lower: str) -> str:
        if len(lower) == 2 and lower[1] == "." and lower[0].isalpha():
            return lower[0]  # the tokenizer keeps a lone initial's full stop: "GPT J." is one "J." token
        if lower.endswith("ing") or not lower.isascii() or not any(c.isalpha() for c in lower):
            return lower
        lemma = self._table.get(lower)
        if lemma:
            return str(lemma).lower()
        # Words the table lacks ("autoencoders", "saes", "transcoders", "llms"): a plural rule.
        if len(lower) > 3 and lower.endswith("s") and not lower.endswith(_PLURAL_KEEP):
            if lower.endswith("ies") and len(lower) > 4:
                return lower[:-3] + "y"
            return lower[:-1]
        return lower


class _NormSetter:
    """spaCy pipeline component: sets every token's NORM from the normalizer (array in, array out)."""

    def __init__(self, normalizer: _Normalizer) -> None:
        self.normalizer = normalizer
        self._by_orth: dict[int, int] = {}  # ORTH hash -> NORM hash: no Token objects per token

    def __call__(self, doc: Any) -> Any:
        """Set every token's norm."""
        import numpy as np
        from spacy.attrs import NORM, ORTH

        strings = doc.vocab.strings
        cache = self._by_orth
        norms = []
        for orth in doc.to_array(ORTH).tolist():
            norm = cache.get(orth)
            if norm is None:
                norm = strings.add(self.normalizer(strings[orth]))
                if len(cache) < 500_000:
                    cache[orth] = norm
            norms.append(norm)
        if norms:
            doc.from_array([NORM], np.array(norms, dtype="uint64").reshape(-1, 1))
        return doc


def _abbreviation_stops(doc: Any) -> Any:
    """spaCy pipeline component (before the sentencizer): an abbreviation's full stop starts no sentence."""
    from spacy.attrs import ORTH

    stop = doc.vocab.strings["."]
    n = len(doc)
    for i, orth in enumerate(doc.to_array(ORTH).tolist() if n else []):
        if orth != stop or i == 0 or i + 1 >= n or doc[i - 1].whitespace_:
            continue
        word = doc[i - 1].lower_
        if _marker_follows(doc, i) and word not in _ABBREVIATIONS and word not in _CITATION_ABBREVIATIONS:
            # "... are perturbed. (2) Skill neurons are ...": the sentencizer would keep "(" with the
            # sentence before (it follows the stop) and start the next at "2": the item starts at "(".
            doc[i + 1].is_sent_start = True
            for j in range(i + 2, i + 5):
                doc[j].is_sent_start = False
            continue
        if len(word) <= 2 and word.isdigit() and doc[i + 1].text == ")":
            pass  # an enumeration marker inside a sentence: "and 1.) show that ..., and 2.) that ..."
        elif word in _CITATION_ABBREVIATIONS:
            if doc[i + 1].text[:1].isupper():
                continue  # "... of Nanda et al. We find": a new sentence
        elif word not in _ABBREVIATIONS:
            continue
        # The sentencizer starts a sentence at the first word past the stop and any punctuation
        # ("et al. (2022)"): the sentencizer keeps a start already set, so set them all to "no".
        for j in range(i + 1, n):
            doc[j].is_sent_start = False
            if not doc[j].is_punct:
                break
    return doc


def _marker_follows(doc: Any, i: int) -> bool:
    """Whether an enumeration marker ("(2)", "(b)", "(iii)") and a word follow the stop at i and a space."""
    return (i + 4 < len(doc) and bool(doc[i].whitespace_) and doc[i + 1].text == "("
            and doc[i + 3].text == ")" and bool(_ENUMERATION.fullmatch(f"({doc[i + 2].text}) ")))


_FACTORY_LOCK = threading.Lock()


def _register_components() -> None:
    """Register the "paperkg_norm" factory and "paperkg_abbreviations" component once per process."""
    from spacy.language import Language

    with _FACTORY_LOCK:
        if not Language.has_factory("paperkg_norm"):
            @Language.factory("paperkg_norm")
            def _make_norm_setter(nlp: Any, name: str) -> _NormSetter:
                return _NormSetter(_Normalizer())
        if not Language.has_factory("paperkg_abbreviations"):
            Language.component("paperkg_abbreviations", func=_abbreviation_stops)


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def extractor_signature(
    nodes: Iterable[TaxonomyNode], confirming_terms: Mapping[str, Sequence[str]] | None = None,
    domain_cues: Sequence[str] | None = None,
) -> str:
    """Short sha256 hex over EXTRACTOR_VERSION, the spaCy data versions and the matched taxonomy content.

    Nodes go in id order (their order in the file does not change matches); alias lists keep their
    written order, since which alias of a shared normalised form comes first can shape the patterns.
    `domain_cues`: a weekly block's cues (None: no block, the built-in cues, which EXTRACTOR_VERSION covers).
    """
    content = {
        "version": EXTRACTOR_VERSION,
        "packages": {name: _package_version(name) for name in _SIGNATURE_PACKAGES},
        "nodes": [
            [n.id, n.label, list(n.aliases), list(n.ambiguous_aliases), n.parent]
            for n in sorted(nodes, key=lambda n: n.id)
        ],
        "confirming_terms": {k: list(v) for k, v in sorted((confirming_terms or {}).items())},
    }
    if domain_cues is not None:  # only then, so a file without a weekly block keeps its signature's form
        content["domain_cues"] = list(domain_cues)
    return _sha(json.dumps(content, ensure_ascii=False, separators=(",", ":")))[:16]


def is_mi_taxonomy(taxonomy: Taxonomy) -> bool:
    """Whether a taxonomy is the MI one (mi.yaml or an edited copy): its fundamental objects include the
    figure's Features and Circuits. Its built-in cues (language models, neural networks) are the MI field's;
    another field's file gets none of them."""
    objects = {n.id for n in taxonomy.nodes if n.label == Label.OBJECT}
    return objects >= _MI_OBJECTS


def _english_words(table: Any, words: set[str]) -> set[str]:
    """Those of the lower-case `words` that are English words: forms or lemmas of the lookup table ("opt")."""
    if not words:
        return set()
    return {w for w in words if w in table} | {str(v) for v in table.values() if v in words}


def _is_acronym(alias: str) -> bool:
    return bool(_ACRONYM.match(alias)) and " " not in alias and "-" not in alias


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EVIDENCE_MAX else text[: _EVIDENCE_MAX - 1].rstrip() + "…"


def _hyphen_variants(norms: list[str]) -> list[list[str]]:
    """Token sequences of an alias with a space or a hyphen token between its words."""
    gaps = len(norms) - 1
    if gaps <= 0:
        return [list(norms)]
    choices = range(2**gaps) if gaps <= 3 else (0, 2**gaps - 1)  # long aliases: all or none
    out = []
    for mask in choices:
        seq = [norms[0]]
        for i, norm in enumerate(norms[1:]):
            if mask >> i & 1:
                seq.append("-")
            seq.append(norm)
        out.append(seq)
    return out


@dataclass(frozen=True)
class _Layout:
    """Where the parts of a paper's analysed text start: abstract (title_end), TL;DRs (tldr_start)."""

    title_end: int
    tldr_start: int
    tldr_starts: tuple[int, ...] = ()
    title_length: int = 0  # the title's own characters (title_end also counts a full stop added after it)


def broken_long_runs(text: str) -> str:
    """The text with a space after every PUNCTUATION_RUN characters of a longer punctuation run, and
    after every LONG_TOKEN characters of a longer run without a space."""

    def every(size: int) -> Any:
        return lambda match: " ".join(match.group(0)[i:i + size] for i in range(0, len(match.group(0)), size))

    return _LONG_TOKEN.sub(every(LONG_TOKEN), _LONG_PUNCTUATION_RUN.sub(every(PUNCTUATION_RUN), text))


# What extraction reads besides TeX (kg.tex): format characters (zero-width space, soft hyphen, word
# joiner, BOM; not the LRM/RLM marks, which clean_text keeps) go, as they join what they stand in;
# other spaces (no-break, thin, ideographic) are a space; the Unicode hyphens U+2010/U+2011 are "-"
# ("path‑patching"); decomposed letters ("o" + U+0308) are composed; the ligatures of PDF text ("ﬁ")
# are their letters; "auto-encoder" is "autoencoder" (the taxonomy's spelling).
_FORMAT_CHARACTER = re.compile(f"\u061c|{FORMAT_CHARACTERS.pattern}")  # clean_text's, and the ALM mark
_UNICODE_HYPHEN = re.compile("[\u2010\u2011]")
_DECOMPOSED = re.compile("[^\u0300-\u036f][\u0300-\u036f]+")
_LIGATURE = re.compile("[\ufb00-\ufb06]")
_AUTO_ENCODER = re.compile(r"\b((?i:auto))-(?=(?i:encod))")
# Any of them: most texts have none, and skip the passes.
_UNICODE_FIXES = re.compile("|".join(p.pattern for p in (
    _FORMAT_CHARACTER, OTHER_SPACES, _UNICODE_HYPHEN, _DECOMPOSED, _LIGATURE, _AUTO_ENCODER)))


def readable(text: str) -> Mapped:
    """A part of a paper's text as extraction reads it, with where each character came from: long
    runs broken (broken_long_runs), TeX markup as plain text (kg.tex.plain_mapped: "\\emph{activation
    patching}" is "activation patching", "autoencoders~(SAEs)" "autoencoders (SAEs)"), and the Unicode
    fixes above."""
    mapped = plain_mapped(broken_long_runs(text))
    if not _UNICODE_FIXES.search(mapped.text):
        return mapped
    mapped = mapped.sub(_FORMAT_CHARACTER, "").sub(OTHER_SPACES, " ").sub(_UNICODE_HYPHEN, "-")
    mapped = mapped.sub(_DECOMPOSED, lambda m: unicodedata.normalize("NFC", m.group(0)))
    mapped = mapped.sub(_LIGATURE, lambda m: unicodedata.normalize("NFKC", m.group(0)))
    return mapped.sub(_AUTO_ENCODER, lambda m: m.group(1))


def _paper_text(title: Mapped, abstract: Mapped, tldrs: Sequence[Mapped]) -> tuple[Mapped, _Layout]:
    """Title, abstract and TL;DRs (blank and repeated ones dropped) as one text, a line each, and where."""
    head = title.strip()
    parts: list[Mapped | str] = []
    if head.text:
        parts += [head, "."] if head.text[-1] not in ".?!" else [head]
        parts.append("\n")
    title_end = len(head.text) + (1 if head.text and head.text[-1] not in ".?!" else 0)
    body = abstract.strip()
    parts.append(body)
    length = title_end + (1 if head.text else 0) + len(body.text)
    tldr_start = length + 1  # past the end when there is none
    starts = []
    seen: set[str] = set()
    for tldr in tldrs:
        tldr = tldr.strip()
        if not tldr.text or tldr.text in seen:
            continue
        seen.add(tldr.text)
        parts.append("\n")
        length += 1
        starts.append(length)
        parts.append(tldr)
        length += len(tldr.text)
    if starts:
        tldr_start = starts[0]
    return join(parts), _Layout(title_end, tldr_start, tuple(starts), len(head.text))


class _AliasMatcher:
    """PhraseMatchers (NORM for phrases, ORTH for case-sensitive acronyms), returning string keys.

    Model aliases are also matched glued to a size or version ("Pythia-1.4B", "Mistral-7B", "OPT-66B",
    "Mixtral-8x7B", "Llama3", "Gemma-2-2B"): see _SIZED_TOKEN.
    """

    def __init__(self, vocab: Any, normalizer: _Normalizer) -> None:
        from spacy.matcher import PhraseMatcher

        self.vocab = vocab
        self._normalizer = normalizer
        self._norm = PhraseMatcher(vocab, attr="NORM")
        self._orth = PhraseMatcher(vocab, attr="ORTH")
        # The model aliases alone, run on a copy of the doc whose sized tokens are cut to their head.
        self._model_norm = PhraseMatcher(vocab, attr="NORM")
        self._model_orth = PhraseMatcher(vocab, attr="ORTH")
        self._keys: set[str] = set()
        self._model_keys: set[str] = set()
        # The last word of every model alias (a size follows the whole alias): its norm, or an acronym's text.
        self._model_norms: set[str] = set()
        self._model_orths: set[str] = set()
        self._glued_only: set[str] = set()  # lower-case words that are models before a size only ("opt")
        self._head_cache: dict[int, str | None] = {}  # ORTH hash -> head of a sized model token, or None

    def _doc(self, words: list[str], norms: list[str] | None = None) -> Any:
        from spacy.tokens import Doc

        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        for token, norm in zip(doc, norms or words, strict=True):
            token.norm_ = norm
        return doc

    def add_norm(self, key: str, sequences: list[list[str]], model: bool = False) -> None:
        """Match token sequences on NORM (the first sequences given for a key); a model alias's also glued."""
        if key not in self._keys:
            self._keys.add(key)
            self._norm.add(key, [self._doc(seq, seq) for seq in sequences])
        if model and key not in self._model_keys:
            self._model_keys.add(key)
            self._model_norm.add(key, [self._doc(seq, seq) for seq in sequences])
            self._model_norms.update(seq[-1] for seq in sequences)

    def add_orth(self, key: str, sequences: list[list[str]], model: bool = False,
                 glued_only: Sequence[str] = ()) -> None:
        """Match token sequences on exact text (the first given for a key); a model acronym's also glued.
        `glued_only`: words that name the model only glued to a size ("opt" of "opt-1.3b")."""
        if key not in self._keys:
            self._keys.add(key)
            self._orth.add(key, [self._doc(seq) for seq in sequences])
        if model and key not in self._model_keys:
            self._model_keys.add(key)
            # Only sized tokens are looked for in the model matchers' doc, so a word of `glued_only` alone
            # ("we opt for") matches nothing.
            self._model_orth.add(key, [self._doc(seq) for seq in [*sequences, *([w] for w in glued_only)]])
            # Not the plural: "OPTs-2" is no model. The lower-case form is ("gpt2-1.5b").
            self._model_orths.update(seq[-1] for seq in sequences if seq[-1] != sequences[0][-1] + "s")
            self._glued_only.update(glued_only)

    def _head(self, text: str) -> str | None:
        """The model-alias word a token starts with when the rest is a size or version, else None."""
        match = _SIZED_TOKEN.fullmatch(text)
        if match is None:
            return None
        head = match.group("head")
        norm = self._normalizer(head)
        # A name in its own form: "Alpacas-2" or "transformers-2" is no sized model name.
        if head in self._model_orths or (norm in self._model_norms and norm == head.lower()):
            return head
        # "opt-1.3b", "opt-125m": a checkpoint's size, with its unit ("opt-2" is no name).
        if head in self._glued_only and _CHECKPOINT_SIZE.fullmatch(text, len(head)):
            return head
        return None

    def __call__(self, doc: Any) -> list[tuple[int, int, str]]:
        """(start, end, key) of every match in the doc."""
        strings = self.vocab.strings
        out = [(start, end, strings[mid]) for mid, start, end in self._norm(doc)]
        out.extend((start, end, strings[mid]) for mid, start, end in self._orth(doc))
        if self._model_keys and len(doc):
            out.extend(self._sized_matches(doc, out))
        return out

    def _sized_matches(self, doc: Any, found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Model aliases whose last word is glued to a size or version: "Pythia-1.4B", "GPT-Neo-1.3B"."""
        import numpy as np
        from spacy.attrs import NORM, ORTH, SPACY
        from spacy.tokens import Doc

        strings = self.vocab.strings
        rows = doc.to_array([ORTH, NORM, SPACY]).tolist()
        # "GPT-2", "Gemma-2": aliases as written, read as such.
        whole = {start for start, end, _ in found if end == start + 1}
        heads: dict[int, str] = {}
        for i, row in enumerate(rows):
            head = self._head_cache.get(row[0], "")
            if head == "":
                head = self._head(strings[row[0]])
                if len(self._head_cache) < 500_000:
                    self._head_cache[row[0]] = head
            if head and i not in whole:
                heads[i] = head
        if not heads:
            return []
        # A copy of the doc (same tokens, so the same indices) in which each sized token is its head alone;
        # only the model aliases are looked for in it, so no other label gains a match.
        words = [heads.get(i) or strings[row[0]] for i, row in enumerate(rows)]
        copy = Doc(self.vocab, words=words, spaces=[bool(row[2]) for row in rows])
        norms = [strings.add(self._normalizer(heads[i])) if i in heads else row[1]
                 for i, row in enumerate(rows)]
        # thinc's Ints2d (spaCy's stub) is not a type numpy's stubs produce: this is a 2-D uint64 array.
        copy.from_array([NORM], np.array(norms, dtype="uint64").reshape(-1, 1))  # type: ignore[arg-type]
        spans = {(start, end) for start, end, _ in found}  # a span already matched keeps its own alias
        matches = [*self._model_norm(copy), *self._model_orth(copy)]
        return [
            (start, end, strings[mid]) for mid, start, end in matches
            if (start, end) not in spans and any(i in heads for i in range(start, end))
        ]


class Extractor:
    """Extract taxonomy mentions and claims from titles, abstracts and list TL;DRs (build once, reuse)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._nodes: dict[str, TaxonomyNode] = {
            n.id: n for n in taxonomy.nodes if n.label in _MATCHED_LABELS
        }
        self._family = {nid: self._family_root(nid) for nid in self._nodes}
        self._confirming_terms = {k: v for k, v in taxonomy.confirming_terms.items() if k in self._nodes}
        self._confirming_norms: dict[str, frozenset[str]] = {}  # filled with the pipeline (needs norms)
        self._ancestors = {nid: self._ancestor_ids(nid) for nid in self._nodes}
        self._entries: dict[str, set[_Entry]] = {}
        self._key_has_preposition: dict[str, bool] = {}
        self._hyphen_only_keys: set[str] = set()  # aliases matched as written only ("greater-than")
        self._lock = threading.Lock()
        self._nlp: Any = None
        self._matcher: Any = None
        self._strings: dict[int, str] = {}  # hash -> string memo for reading token arrays
        self._signature: str | None = None
        self._normalizer: _Normalizer | None = None
        self._english_lowers: set[str] = set()  # model acronyms whose lower case is a word ("opt")
        # The field's domain cue, as the weekly gate finds it (imported here: relevance imports numpy).
        from ingest.relevance import DomainCue, LMCue

        weekly = taxonomy.weekly
        self._field_cue: LMCue | DomainCue
        self._domain_cues: tuple[str, ...] | None  # None: the built-in cues (EXTRACTOR_VERSION covers them)
        if weekly is not None:
            self._field_cue, self._domain_cues = DomainCue(weekly.domain_cues), tuple(weekly.domain_cues)
        elif is_mi_taxonomy(taxonomy):
            self._field_cue, self._domain_cues = LMCue(taxonomy), None
        else:  # another field's file without a block: its papers are not judged by language-model words
            self._field_cue, self._domain_cues = DomainCue(()), ()
        self._network_cue: LMCue | None = self._field_cue if isinstance(self._field_cue, LMCue) else None

    @property
    def signature(self) -> str:
        """Short sha256 hex of what determines this extractor's output (rules version, packages, taxonomy)."""
        if self._signature is None:
            self._signature = extractor_signature(self._nodes.values(), self._confirming_terms,
                                                  self._domain_cues)
        return self._signature

    def in_field(self, text: str) -> bool:
        """Whether a paper's title and abstract have the field's domain cue (its topics and objects count)."""
        cue = self._field_cue
        if not cue.required:
            return True
        if cue.find(text) is not None:
            return True
        # MI of toy models names no language model, only neural networks (when nothing points elsewhere).
        return self._network_cue is not None and self._network_cue.network(text) is not None

    # -- taxonomy helpers -----------------------------------------------------------------
    def _family_root(self, node_id: str) -> str:
        node = self._nodes[node_id]
        seen = {node_id}
        while node.parent and node.parent in self._nodes and self._nodes[node.parent].label == node.label:
            if node.parent in seen:
                break
            seen.add(node.parent)
            node = self._nodes[node.parent]
        return node.id

    def _ancestor_ids(self, node_id: str) -> set[str]:
        out: set[str] = set()
        node = self._nodes[node_id]
        while node.parent and node.parent in self._nodes and node.parent not in out:
            out.add(node.parent)
            node = self._nodes[node.parent]
        return out

    # -- pipeline ---------------------------------------------------------------------------
    def _pipeline(self) -> tuple[Any, Any]:
        """Build the spaCy pipeline and matcher once (lazily: spaCy costs ~2 s to import)."""
        with self._lock:
            if self._nlp is None:
                import spacy
                from spacy.util import compile_suffix_regex

                _register_components()
                nlp = spacy.blank("en")
                # spaCy types Defaults.suffixes as optional (English sets them) and nlp.tokenizer as any
                # callable (spacy.blank makes a Tokenizer, which has suffix_search).
                suffixes = [*nlp.Defaults.suffixes, _FULL_STOP_AFTER_CAPITAL]  # type: ignore[misc]
                nlp.tokenizer.suffix_search = compile_suffix_regex(suffixes).search  # type: ignore[union-attr]
                nlp.add_pipe("paperkg_abbreviations")
                nlp.add_pipe("sentencizer")
                nlp.add_pipe("paperkg_norm")
                # get_pipe is typed as any component; this one is ours (see _register_components).
                normalizer = cast(_NormSetter, nlp.get_pipe("paperkg_norm")).normalizer
                matcher = _AliasMatcher(nlp.vocab, normalizer)
                # A model's acronym is also written in lower case ("gpt2-small", "bert-base-uncased"),
                # unless that is an English word ("opt").
                lowered = {a.strip().lower() for n in self._nodes.values() if n.label == Label.MODEL
                           for a in (*n.aliases, *n.ambiguous_aliases) if _is_acronym(a.strip())}
                self._english_lowers = _english_words(_lemma_table(), lowered)
                for node in self._nodes.values():
                    ambiguous = {a.casefold() for a in node.ambiguous_aliases}
                    for alias in dict.fromkeys([*node.aliases, *node.ambiguous_aliases]):
                        entry = _Entry(node.id, alias.casefold() in ambiguous)
                        self._add_alias(nlp, normalizer, matcher, alias, entry, node.label == Label.MODEL)
                # "probe" is ambiguous but "probes" is not, and both normalise to "probe": when
                # one normalised alias is both, the cautious reading (ambiguous) wins.
                for key, entries in self._entries.items():
                    weak = {e.node_id for e in entries if e.ambiguous}
                    self._entries[key] = {e for e in entries if e.ambiguous or e.node_id not in weak}
                self._confirming_norms = {
                    node_id: frozenset(normalizer(w.casefold()) for w in words)
                    for node_id, words in self._confirming_terms.items()
                }
                self._matcher = matcher
                self._normalizer = normalizer
                self._nlp = nlp
            return self._nlp, self._matcher

    def _add_alias(self, nlp: Any, normalizer: _Normalizer, matcher: _AliasMatcher, alias: str,
                   entry: _Entry, is_model: bool) -> None:
        alias = alias.strip()
        if not alias:
            return
        if _is_acronym(alias):
            key = "CS:" + alias
            forms = [[alias]] if alias.endswith(("s", "*")) else [[alias], [alias + "s"]]
            glued_only: list[str] = []
            if is_model and alias.lower() != alias and alias.lower() not in self._english_lowers:
                forms.append([alias.lower()])  # "gpt2", "bert", "t5": checkpoint names
            elif is_model and alias.lower() != alias:
                glued_only.append(alias.lower())  # "opt" is a word, "opt-1.3b" a checkpoint name
            if key not in self._entries or is_model:  # the matcher keeps the first forms of a key
                matcher.add_orth(key, forms, model=is_model, glued_only=glued_only)
        else:
            tokens = [t.text for t in nlp.make_doc(alias)]
            words = [w for w in tokens if w != "-"]
            norms = [normalizer(w) for w in words]
            written = [w if w == "-" else normalizer(w) for w in tokens]
            # "greater-than" is the task only with its hyphen: "greater than 90%" is a comparison. An alias
            # whose hyphenated last word is a function word matches as written alone (a key of its own).
            hyphen_only = len(tokens) > 1 and tokens[-2] == "-" and words[-1].lower() in _FUNCTION_WORDS
            key = "N:" + " ".join(written if hyphen_only else norms)
            if hyphen_only:
                self._hyphen_only_keys.add(key)
            self._key_has_preposition[key] = any(w.lower() in _PREPOSITIONS for w in words)
            if key not in self._entries or is_model:  # the matcher keeps the first variants of a key
                variants = [written] if hyphen_only else _hyphen_variants(norms)
                if written not in variants:  # the alias as written, hyphens where it has them
                    variants.append(written)
                if len(words) == 2 and not hyphen_only:  # "Llama 2" is also written "Llama2"
                    variants.append([normalizer("".join(words))])
                matcher.add_norm(key, variants, model=is_model)
        self._entries.setdefault(key, set()).add(entry)

    # -- public API ---------------------------------------------------------------------------
    def extract(self, paper_id: str, title: str, abstract: str, tldrs: Sequence[str] = ()) -> Extraction:
        """Extract techniques, evaluations, findings, models, topics and components of one paper.

        `tldrs`: the paper's list TL;DRs, read for techniques and evaluations only.
        """
        return self.extract_many([(paper_id, title, abstract, tldrs)])[0]

    def extract_many(
        self, items: Iterable[tuple[str, str, str] | tuple[str, str, str, Sequence[str]]],
        batch_size: int = 256,
    ) -> list[Extraction]:
        """Extract from many (paper_id, title, abstract[, tldrs]) tuples at once (nlp.pipe)."""
        nlp, matcher = self._pipeline()
        papers = [(item[0], item[1] or "", item[2] or "", (item[3] or ()) if len(item) > 3 else ())
                  for item in items]
        bound = min(MAX_ANALYSED_CHARS, nlp.max_length)
        texts, layouts = [], []
        mapped: list[Mapped] = []
        for _, title, abstract, tldrs in papers:
            # Each part made readable before it is laid out, so the layout's offsets are those of the
            # text read; evidence and findings quote the parts as given (Mapped.source_span).
            text, layout = _paper_text(readable(title), readable(abstract), [readable(t) for t in tldrs if t])
            mapped.append(text)
            texts.append(text.text[:bound])
            layouts.append(_Layout(min(layout.title_end, bound), min(layout.tldr_start, bound),
                                   tuple(s for s in layout.tldr_starts if s < bound),
                                   min(layout.title_length, bound)))
        out = []
        for (pid, _, _, _), doc, layout, text in zip(
            papers, nlp.pipe(texts, batch_size=batch_size), layouts, mapped, strict=True
        ):
            # The paper's own text (title and abstract, read as plain text) says whether it is in the field;
            # a title alone is too short to say it ("Toy Models of Superposition" of a list without arXiv).
            field_text = text.text[:min(layout.tldr_start, bound)]
            has_abstract = bool(field_text[layout.title_end:].strip())
            in_field = not has_abstract or self.in_field(field_text)
            out.append(self._extract_doc(pid, doc, matcher, layout, text, in_field))
        return out

    # -- internals ------------------------------------------------------------------------------
    def _spans(self, doc: Any, matcher: Any) -> list[tuple[int, int, str, frozenset[str] | None]]:
        """Matched (start, end, key, allowed node ids or None for all) after the overlap rules."""
        found = set(matcher(doc))
        ordered = sorted(found, key=lambda s: (-(s[1] - s[0]), s[0], s[2]))
        taken = [False] * len(doc)
        kept: list[tuple[int, int, str, frozenset[str] | None]] = []
        by_end: dict[int, list[tuple[int, int, str]]] = {}
        for start, end, key in ordered:
            if not any(taken[start:end]):
                kept.append((start, end, key, None))
                by_end.setdefault(end, []).append((start, end, key))
                for i in range(start, end):
                    taken[i] = True
                continue
            # A compound's head ("... resampling ablations") names what the longer term is a kind of.
            for lstart, _lend, lkey in by_end.get(end, []):
                if lstart < start and not self._key_has_preposition.get(lkey, False):
                    outer = {e.node_id for e in self._entries[lkey]}
                    allowed = frozenset(
                        e.node_id for e in self._entries[key]
                        if not e.ambiguous and e.node_id not in outer
                        and not any(e.node_id in self._ancestors[o] for o in outer)
                    )
                    if allowed:
                        kept.append((start, end, key, allowed))
                    break
        return sorted(kept, key=lambda s: (s[0], s[1]))

    def _ellipsis_spans(
        self, tokens: _TokenView, spans: list[tuple[int, int, str, frozenset[str] | None]],
    ) -> list[tuple[int, int, str, frozenset[str] | None]]:
        """Aliases named through a coordinated modifier: "activation" in "activation and path patching"."""
        assert self._normalizer is not None  # set with the pipeline
        out: list[tuple[int, int, str, frozenset[str] | None]] = []
        lowers = tokens.lowers
        for start, _end, key, allowed in spans:
            # Only whole aliases of the head-final kind: "approximation to activation patching" has
            # its head first, and a compound head inside a longer match has no coordinator before it.
            if allowed is not None or not key.startswith("N:") or self._key_has_preposition.get(key, False):
                continue
            words = key[2:].split(" ")
            if len(words) < 2:
                continue
            first = tokens.bounds[tokens.sent_of[start]][0]
            at = start
            while True:
                j = at - 1
                if j < first or lowers[j] not in _COORDINATORS:
                    break
                if lowers[j] != "," and j - 1 >= first and lowers[j - 1] == ",":
                    j -= 1  # ", and": the serial comma
                end = j - 1 if j - 1 >= first and lowers[j - 1] == "-" else j  # "zero - and"
                modifier = self._modifier_words(tokens, first, end)
                found = None
                for n in range(len(modifier), 0, -1):  # the longest modifier that makes an alias
                    # Words the modifier leaves out must not make a term of their own with it: in
                    # "feature attribution and path patching" the attribution is feature attribution,
                    # not attribution patching ("Unlike activation and path patching" is fine).
                    if any("N:" + " ".join(norm for _, norm in modifier[-k:]) in self._entries
                           for k in range(n + 1, len(modifier) + 1)):
                        continue
                    for m in range(1, len(words)):  # the longest shared head first
                        candidate = "N:" + " ".join([norm for _, norm in modifier[-n:]] + words[m:])
                        if candidate in self._entries and not self._key_has_preposition.get(candidate, False):
                            found = (modifier[-n][0], end, candidate)
                            break
                    if found:
                        break
                if found is None:
                    break
                out.append((*found, None))
                at = found[0]  # a list goes on: "zero-, mean- and resample-ablation"
        return out

    def _modifier_words(self, tokens: _TokenView, first: int, end: int) -> list[tuple[int, str]]:
        """Up to _MAX_MODIFIER_WORDS (token index, norm) pairs ending at `end`, hyphens allowed between."""
        assert self._normalizer is not None
        words: list[tuple[int, str]] = []
        i = end - 1
        while i >= first and len(words) < _MAX_MODIFIER_WORDS:
            lower = tokens.lowers[i]
            if lower == "-" and words and i - 1 >= first:  # "edge-attribution": one modifier
                i -= 1
                continue
            word = lower.rstrip("-")  # "zero-" of "zero- and mean-ablation" is one token
            if not word or lower in _COORDINATORS or not any(c.isalnum() for c in word):
                break
            norm = tokens.norms[i] if word == lower else self._normalizer(word)
            words.insert(0, (i, norm))
            i -= 1
        return words

    def _extract_doc(
        self, paper_id: str, doc: Any, matcher: Any, layout: _Layout, text: Mapped, in_field: bool = True,
    ) -> Extraction:
        title_end = layout.title_end
        starts = (title_end, *layout.tldr_starts) if title_end else layout.tldr_starts
        tokens = _TokenView(doc, self._strings, starts, text)
        spans = self._spans(doc, matcher)
        by_span: dict[tuple[str, int, int], _Hit] = {}
        for start, end, key, allowed in spans + self._ellipsis_spans(tokens, spans):
            for entry in self._entries[key]:
                if allowed is not None and entry.node_id not in allowed:
                    continue
                # "SAE" and "SAEs" are two patterns of one node: one hit per node and span.
                old = by_span.get((entry.node_id, start, end))
                if old is None or (old.ambiguous and not entry.ambiguous):
                    by_span[(entry.node_id, start, end)] = _Hit(
                        entry.node_id, start, end, tokens.sent_of[start], entry.ambiguous, key
                    )
        hits = sorted(by_span.values(), key=lambda h: (h.start, h.end, h.node_id))
        artifact = {i for i in range(len(tokens.bounds)) if tokens.is_artifact(i)}
        models = frozenset(i for h in hits if self._nodes[h.node_id].label == Label.MODEL
                           for i in range(h.start, h.end))
        hits = [
            h for h in hits
            if (h.sent not in artifact or self._nodes[h.node_id].label not in _CUE_CONFIRMED_LABELS)
            and not (self._nodes[h.node_id].label == Label.MODEL and _not_studied(tokens, h, models))
            and not (self._nodes[h.node_id].label == Label.COMPONENT and _names_a_read_out(tokens, h))
            and not (h.key in self._hyphen_only_keys and _hyphen_joined_on(tokens, h))
        ]
        # A technique or evaluation named as what the paper does not do ("Unlike activation patching, ...",
        # "Prior work relied on SAEs") is no mention of its use, nor does it confirm an ambiguous alias of it.
        used = [h for h in hits if self._nodes[h.node_id].label in _TLDR_LABELS]
        if used:
            mentions = _Mentions.of(used)
            # "affine probes ..., where these probes are translators": the generic head refers back to the
            # longer mention before it (Tuned Lens), it names no second technique (probing).
            parts = [bisect.bisect_right(starts, tokens.start_char(i)) for i in range(len(tokens.bounds))]
            hits = [h for h in hits if self._nodes[h.node_id].label not in _TLDR_LABELS
                    or not (_unused_mention(tokens, h, mentions) or _refers_back(tokens, h, used, parts))]
        counted = self._resolve(hits, tokens)
        in_tldr = [tokens.idx[h.start] >= layout.tldr_start for h in hits]
        # The paper's own text decides everything but techniques and evaluations, resolved without the
        # TL;DRs, so a TL;DR neither adds nor confirms a finding, model, topic or component: those
        # are exactly what the title and abstract alone give.
        own = self._resolve([h for h, t in zip(hits, in_tldr, strict=True) if not t], tokens) if any(
            in_tldr) else counted
        if not in_field:  # "circuit" in a power-electronics paper is not the MI object (module docstring)
            own = [h for h in own if self._nodes[h.node_id].label not in _FIELD_LABELS]

        extraction = Extraction()
        first: dict[str, _Hit] = {}
        # The evidence of a technique or criterion: a mention by a non-ambiguous alias when it has one
        # (Tuned Lens's "logit lens" sentence, not an earlier "lens" one); among those, an abstract sentence
        # before the title (which names the paper's subject, not how it is used: "using sparse autoencoders
        # to reconstruct the internal activations", not "Sparse Autoencoders Find ... Features"), the title
        # before a TL;DR; then the first.
        said: dict[str, tuple[tuple[bool, int, int], _Hit]] = {}
        count: dict[str, int] = {}
        for hit in counted:
            if self._nodes[hit.node_id].label in _TLDR_LABELS:
                first.setdefault(hit.node_id, hit)
                at = tokens.idx[hit.start]
                part = 1 if at < title_end else 2 if at >= layout.tldr_start else 0
                rank = (hit.ambiguous, part, hit.start)
                if hit.node_id not in said or rank < said[hit.node_id][0]:
                    said[hit.node_id] = (rank, hit)
                count[hit.node_id] = count.get(hit.node_id, 0) + 1  # the TL;DRs' mentions count too
        for hit in own:
            if self._nodes[hit.node_id].label not in _TLDR_LABELS:
                first.setdefault(hit.node_id, hit)
        # In order of first mention, as without TL;DRs (the hits are sorted by position).
        for node_id, _hit in sorted(first.items(), key=lambda item: (item[1].start, item[1].end, item[0])):
            label = self._nodes[node_id].label
            if label in _TLDR_LABELS:
                evidence = said[node_id][1]
                at = tokens.idx[evidence.start]
                # A title quoted as given: without the full stop _paper_text ends it with.
                sentence = tokens.text(evidence.sent, layout.title_length if at < title_end else None)
                if at >= layout.tldr_start:
                    sentence = TLDR_EVIDENCE_PREFIX + sentence.strip()
                if label == Label.TECHNIQUE:
                    extraction.techniques.append(TechniqueUse(
                        node_id, "extracted", evidence=_clip(sentence), score=float(count[node_id])
                    ))
                else:
                    extraction.evaluations.append(
                        EvaluationUse(node_id, "extracted", evidence=_clip(sentence)))
            elif label == Label.MODEL:
                extraction.models.append(node_id)
            elif label == Label.TOPIC:
                extraction.topics.append(node_id)
            elif label == Label.COMPONENT:
                extraction.components.append(node_id)
        extraction.findings = self._findings(paper_id, tokens, own, title_end, layout.tldr_start)
        return extraction

    def _resolve(self, hits: list[_Hit], tokens: _TokenView) -> list[_Hit]:
        """The hits that count: non-ambiguous ones, and ambiguous ones with a confirming term."""
        strong = [h for h in hits if not h.ambiguous]
        strong_nodes = {h.node_id for h in strong}
        cue_sents: set[int] | None = None
        counted: list[_Hit] = []
        for hit in hits:
            if not hit.ambiguous:
                counted.append(hit)
                continue
            family = self._family[hit.node_id]
            # The confirming words must be other words: not this span, nor the same alias
            # elsewhere ("causal mediation analysis" is CMA's alias and ambiguous for patching).
            confirmed = any(
                (s.node_id == hit.node_id or self._family[s.node_id] == family)
                and (s.start, s.end) != (hit.start, hit.end) and s.key != hit.key
                for s in strong
            )
            terms = self._confirming_norms.get(hit.node_id)
            if not confirmed and terms is not None:
                start, end = tokens.bounds[hit.sent]
                confirmed = any(norm in terms for norm in tokens.norms[start:end])
            elif not confirmed and self._nodes[hit.node_id].label in _CUE_CONFIRMED_LABELS:
                if cue_sents is None:
                    cue_sents = self._cue_sentences(tokens, hits)
                confirmed = hit.sent in cue_sents
            if confirmed:
                counted.append(hit)
        # A node found only through ambiguous aliases is redundant next to a refinement of it.
        weak_only = {h.node_id for h in counted} - strong_nodes
        redundant = {n for n in weak_only if any(n in self._ancestors[s] for s in strong_nodes)}
        return [h for h in counted if h.node_id not in redundant]

    def _cue_sentences(self, tokens: _TokenView, hits: list[_Hit]) -> set[int]:
        """Sentences that mention model internals (a component alias or an MI cue word)."""
        out = {h.sent for h in hits if not h.ambiguous and self._nodes[h.node_id].label == Label.COMPONENT}
        norms = tokens.norms
        for i, (start, end) in enumerate(tokens.bounds):
            if i in out:
                continue
            for t in range(start, end):
                if norms[t] in _CUE_NORMS or (t > start and (norms[t - 1], norms[t]) in _CUE_BIGRAMS):
                    out.add(i)
                    break
        return out

    def _findings(self, paper_id: str, tokens: _TokenView, hits: list[_Hit], title_end: int,
                  tldr_start: int) -> list[Finding]:
        """Claim sentences of the abstract (not of the TL;DRs), each linked to what it mentions."""
        about_by_sent: dict[int, list[FindingAbout]] = {}
        components_by_sent: dict[int, list[tuple[int, int]]] = {}
        for hit in hits:
            node = self._nodes[hit.node_id]
            if node.label not in _ABOUT_LABELS:
                continue
            if node.label == Label.COMPONENT:
                first = tokens.bounds[hit.sent][0]
                components_by_sent.setdefault(hit.sent, []).append((hit.start - first, hit.end - first))
                if _in_setting(tokens.lowers, tokens.norms, first, hit.start):
                    continue  # "for larger models with MLPs, we present ...": not what the finding is about
            about = about_by_sent.setdefault(hit.sent, [])
            if not any(a.id == node.id for a in about):
                about.append(FindingAbout(node.label, node.id))
        findings: list[Finding] = []
        seen: set[str] = set()
        title_about: list[FindingAbout] = []
        for hit in hits:  # by character: a title may hold more than one sentence
            node = self._nodes[hit.node_id]
            named = FindingAbout(node.label, node.id)
            if tokens.idx[hit.start] < title_end and node.label in _ABOUT_LABELS and named not in title_about:
                title_about.append(named)
        if title_about:
            # A title usually states what the paper is about ("Toy Models of Superposition") even
            # when no abstract sentence claims it: it becomes a finding of its own kind.
            text = " ".join(tokens.source.source_span(0, title_end).split()).rstrip(".")
            finding_id = f"{paper_id}:{_sha(text)[:12]}"
            seen.add(finding_id)
            findings.append(Finding(finding_id, text, kind="title", source="extracted", about=title_about))
        abstract = [i for i in range(len(tokens.bounds))
                    if title_end <= tokens.start_char(i) < tldr_start]
        claims = {i for i in abstract if is_claim(tokens.lowers[tokens.bounds[i][0]:tokens.bounds[i][1]],
                                                   tokens.norms[tokens.bounds[i][0]:tokens.bounds[i][1]],
                                                   components_by_sent.get(i, ()))}
        claims |= _enumerated_items(tokens, abstract, claims)
        for i in abstract:
            if i not in claims:
                continue
            text = " ".join(tokens.text(i).split())
            finding_id = f"{paper_id}:{_sha(text)[:12]}"
            if finding_id in seen:
                continue
            seen.add(finding_id)
            findings.append(Finding(finding_id, text, kind="claim", source="extracted",
                                    about=list(about_by_sent.get(i, []))))
        return findings


def _in_setting(lowers: Sequence[str], norms: Sequence[str], first: int, start: int) -> bool:
    """Whether the mention at `start` ends a "with" phrase describing the setting: "models with MLPs", "a
    layer with 512 neurons", "models with at least two attention layers"."""
    for w in range(start - 1, max(first, start - 4) - 1, -1):
        if lowers[w] == "with":
            return w - 1 >= first and norms[w - 1] in _SETTING_NOUNS
        if not any(c.isalnum() for c in lowers[w]):
            return False
    return False


def _enumerated_items(tokens: _TokenView, sents: Sequence[int], claims: set[int]) -> set[int]:
    """The items of a list a claim opens: "... by finding that: (1) Skill neurons are crucial. Performance
    drops when they are perturbed. (2) Skill neurons are task-specific." The sentences that open with a
    marker ("(2)", "b)") after a claim holding the first, and those between two such items."""
    out: set[int] = set()
    # Most abstracts have no claim with a bracket: no sentence text to build.
    if not any("(" in tokens.lowers[tokens.bounds[i][0]:tokens.bounds[i][1]] for i in claims):
        return out
    texts = {i: tokens.text(i).lstrip() for i in sents}
    opened = False
    pending: list[int] = []
    for i in sents:
        starts_item = bool(_ENUMERATION.match(texts[i]))
        if i in claims and _ENUMERATION.search(texts[i]) and not starts_item:
            opened, pending = True, []
        elif opened and starts_item:
            out.update(pending)
            out.add(i)
            pending = []
        elif opened:
            pending.append(i)
    return out


# A model named as the tool of the study ("we use GPT-4 to write explanations", "an approach based
# on GPT-4") or as the contrast to it ("in contrast to a large transformer like GPT-3") is not a
# model the paper studies.
_TOOL_VERBS = frozenset({"use", "using", "leverage", "prompt", "query", "employ", "ask"})
# What a model used as a tool does ("to automatically write", "to score"); "we use Pythia to show
# that ..." studies Pythia.
_TOOL_TASKS = frozenset({
    "write", "generate", "explain", "score", "label", "annotate", "automatically", "judge", "rate",
    "produce", "simulate", "summarize", "describe", "grade",
})
# A contrast reaches the model only within its own clause: "Unlike prior work, we study GPT-2"
# studies GPT-2, "in contrast to a large, modern transformer like GPT-3" does not study GPT-3.
_CLAUSE_SUBJECTS = frozenset({"we", "our", "i", "they", "it", "this", "these", ";", ":"})
# Cues that set a model, technique or criterion against the paper's own subject, one list for the model rule
# (_in_contrast) and the technique rule (_negation_cue_ends_at), read at the cue's last word (see
# _contrast_cue_ending_at). A contrast always sets what follows apart: "unlike X", "in contrast to / with X",
# "as opposed to X". A comparison ("compared to / with X", "in comparison to / with X", "relative to X",
# "versus X", "vs. X") makes X only the reference the paper measures against when it is fronted ("Compared to
# attribution patching, our method ...", "Compared with GPT-4, Pythia ...") or its other side is the paper's
# own method ("our method is exact compared to attribution patching"); else the paper studies both sides
# ("we compare SAEs versus transcoders", "SAEs vs. Transcoders").
_CONTRAST_WORDS = frozenset({"contrast"})  # before "to" / "with"
_COMPARISON_WORDS = frozenset({"compared", "comparison"})  # before "to" / "with"; "relative" before "to"
_COMPARISON_CUES = frozenset({"versus", "vs.", "vs"})
# Words a fronted comparison may follow at the start of its sentence ("However, compared to ...", "When
# compared with ...", "In comparison to ...").
_FRONTING_WORDS = frozenset({
    "however", "but", "yet", "and", "also", "moreover", "furthermore", "notably", "importantly", "crucially",
    "overall", "finally", "thus", "in", "when", "as", "here", ",",
})
# Where the clause of a comparison ends, for finding the paper's own side in it ("we" opens a clause of its
# own).
_OWN_SIDE_BREAKS = frozenset({";", ":", "we", "but", "whereas", "while", "although", "though"})
# "our method / approach ...": the paper's own side of a comparison. Norms (lemmas). Not "model" nor
# "analysis": "our analysis compares SAEs versus transcoders" and "our model" (often the model studied) speak
# of both sides.
_OWN_METHOD_NOUNS = frozenset({
    "method", "approach", "technique", "framework", "algorithm", "tool", "metric", "procedure", "pipeline",
    "estimator", "variant", "formulation", "objective", "architecture", "lens",
})
# "Unlike BERT, the GPT-2 model ...": words that may stand between the comma ending a contrast and the
# model that opens the main clause.
_CLAUSE_OPENING_WORDS = frozenset({"the", "a", "an", "its", "their"})
# What a model serves as when it is a tool: "we use GPT-4 as a judge", "with GPT-4 as an evaluator".
_JUDGE_NOUNS = frozenset({
    "judge", "evaluator", "annotator", "grader", "labeler", "labeller", "rater", "critic", "oracle",
    "explainer", "simulator",
})
# A verb of a passive tool use after the model: "GPT-4 is used to generate ...".
_PASSIVE_AUXILIARIES = frozenset({"is", "was", "are", "were", "being", "been"})
# What a model's output is when the study is "based on" it as a tool: "based on GPT-4 judgements" (an
# analysis "based on Llama-2" studies Llama-2). Norms (lemmas).
_PRODUCT_NORMS = frozenset({
    "judgement", "judgment", "annotation", "label", "rating", "score", "explanation", "feedback",
    "preference", "grade", "assessment", "evaluation", "critique", "judge", "annotator", "evaluator",
})
# "GPT-4-generated labels", "ChatGPT-written prompts", "GPT-4-annotated data": a product of the model, the
# model a tool. Norms (lemmas) of the word after the hyphen.
_MADE_BY_VERBS = frozenset({
    "generate", "write", "annotate", "label", "produce", "score", "rate", "judge", "grade", "create",
    "synthesize", "synthesise", "author", "simulate", "explain", "evaluate", "assist",
})
# A size after a model's mention and a hyphen: "Llama-2-7b" ("Llama-2" is the mention).
_SIZE_WORD = re.compile(r"\d+(?:\.\d+)?[kmbt]?")
# Words that open a sentence naming a tool before its clause: "Using GPT-4, we ...".
_FRONTED_TOOL_WORDS = frozenset({"using", "leveraging", "employing", "prompting", "querying"})
# Words of a model's variant that may follow its mention ("GPT-4 turbo", "GPT-4o-mini").
_VARIANT_WORDS = frozenset({
    "small", "medium", "large", "xl", "base", "mini", "turbo", "instruct", "chat", "pro", "ultra", "o",
})


def _contrast_cue_ending_at(lowers: Sequence[str], j: int, first: int) -> tuple[bool, int] | None:
    """Whether a contrast or comparison cue ends at token j (see _CONTRAST_WORDS): (whether it is a
    comparison, the index of its first word), else None."""
    word = lowers[j]
    if word == "unlike":
        return False, j
    if word in _COMPARISON_CUES:
        return True, j
    before = lowers[j - 1] if j - 1 >= first else ""
    if word == "to" and before == "opposed" and j - 2 >= first and lowers[j - 2] == "as":
        return False, j - 2
    if word not in {"to", "with"}:
        return None
    if before in _CONTRAST_WORDS:
        return False, j - 1
    if before in _COMPARISON_WORDS or (before == "relative" and word == "to"):
        return True, j - 1
    return None


def _reference_of_comparison(lowers: Sequence[str], norms: Sequence[str], cue: int, cue_end: int, first: int,
                             last: int) -> bool:
    """Whether a comparison cue spanning `cue`..`cue_end` makes what it names the paper's reference, not a
    side it studies: the cue opens its sentence ("Compared to attribution patching, our method ...", "Versus
    GPT-4, ...") or the sentence names the paper's own method ("our approach", "ours", "the proposed")."""
    if all(lowers[k] in _FRONTING_WORDS or not lowers[k].strip() for k in range(first, cue)):
        return True
    # The paper's own method counts in the cue's clause only: "Our method is exact, and we also run activation
    # patching versus attribution patching" compares two methods the paper runs.
    start = next((k + 1 for k in range(cue - 1, first - 1, -1) if lowers[k] in _OWN_SIDE_BREAKS), first)
    end = next((k for k in range(cue_end + 1, last) if lowers[k] in _OWN_SIDE_BREAKS), last)
    for k in range(start, end):
        if cue <= k <= cue_end:
            continue
        if lowers[k] == "ours" or (lowers[k] == "proposed" and k > first and lowers[k - 1] in {"the", "our"}):
            return True
        if lowers[k] == "our" and any(norms[m] in _OWN_METHOD_NOUNS for m in range(k + 1, min(end, k + 4))):
            return True
    return False


def _in_contrast(lowers: Sequence[str], norms: Sequence[str], start: int, first: int, last: int,
                 models: frozenset[int]) -> bool:
    """Whether a contrast cue ("unlike", "in contrast to/with", "as opposed to") or a comparison cue making
    the model the reference ("Compared to GPT-4, ...": _reference_of_comparison) governs the model at
    `start`, in its own phrase: a comma right before the model ends it ("Unlike BERT, GPT-2 stores ..."),
    unless the model is in a list the contrast names ("Unlike BERT, RoBERTa and T5, GPT-2 ..."). `models`:
    the token indices of the sentence's model mentions."""
    for i in range(start - 1, max(first, start - 10) - 1, -1):
        word = lowers[i]
        if word in _CLAUSE_SUBJECTS:
            return False
        if word == "," and _opens_main_clause(lowers, i, start, last, models):
            return False  # "Unlike BERT, GPT-2 ...": the contrast ended at the comma
        cue = _contrast_cue_ending_at(lowers, i, first)
        if cue is not None:
            comparison, cue_start = cue
            return not comparison or _reference_of_comparison(lowers, norms, cue_start, i, first, last)
    return False


def _opens_main_clause(lowers: Sequence[str], comma: int, start: int, last: int,
                       models: frozenset[int]) -> bool:
    """Whether the model at `start` is in the words that open the clause after a comma: right after it, or
    in a list of models that starts there ("Unlike BERT, GPT-2 and Pythia store ..."), unless that list is
    itself closed by a comma (the contrast's own list: "Unlike BERT, RoBERTa and T5, GPT-2 ...")."""
    k = comma + 1
    while k < start and lowers[k] in _CLAUSE_OPENING_WORDS:
        k += 1
    if any(j not in models and lowers[j] not in {"and", "or", ","} for j in range(k, start)):
        return False  # "in contrast to a large, modern transformer like GPT-3"
    return not _listed_before_comma(lowers, k, last, models)


def _listed_before_comma(lowers: Sequence[str], start: int, last: int, models: frozenset[int]) -> bool:
    """Whether a list of models starting at `start` is closed by "and" / "or" and a comma ("RoBERTa and T5,
    GPT-2 ...": a list a contrast before it names, not the main clause's subject)."""
    j, joined = start, False
    while j < last:
        if j in models:
            pass
        elif lowers[j] in {"and", "or"}:
            joined = True
        elif lowers[j] != "," or joined:
            break
        j += 1
    return joined and j < last and lowers[j] == ","


def _as_tool(lowers: Sequence[str], norms: Sequence[str], start: int, end: int, first: int,
             last: int) -> bool:
    """Whether a model mention is a tool of the study: "we use GPT-4 to write explanations", "GPT-4 is used
    to generate prompts", "we use GPT-4 as a judge"."""
    j = end + 1 if end < last and lowers[end] == "-" else end  # "GPT-4-as-a-judge"
    if j < last and lowers[j] == "as":
        for k in range(j + 1, min(last, j + 4)):
            if norms[k] in _JUDGE_NOUNS:
                return True
            if not lowers[k].isalpha():
                break
    after = list(lowers[end:min(last, end + 5)])
    if "to" not in after:
        return False
    to = after.index("to")
    if not _TOOL_TASKS.intersection(after[to + 1:]):
        return False
    near = {norms[i] for i in range(max(first, start - 3), start)}
    passive = bool(after) and after[0] in _PASSIVE_AUXILIARIES and bool(
        _TOOL_VERBS.intersection(norms[end:end + to]))
    return bool(near & _TOOL_VERBS) or passive


def _scaling_law(lowers: Sequence[str], norms: Sequence[str], end: int, last: int) -> bool:
    """Whether a model's name is that of its scaling law, not the model: "the Chinchilla scaling laws",
    "Chinchilla-optimal", "Chinchilla's compute-optimal ratio"."""
    j = end
    while j < last and lowers[j] in {"-", "'s", "’s", "compute"}:
        j += 1
    if j >= last:
        return False
    return norms[j] in {"optimal", "optimally", "law"} or (
        lowers[j] == "scaling" and j + 1 < last and norms[j + 1] == "law")


def _past_variant(lowers: Sequence[str], end: int, last: int) -> int:
    """The index after a model mention's variant words and size ("GPT-4-turbo", "Llama-2-7b"), from `end`."""
    j = end
    while j < last:
        if lowers[j] in _VARIANT_WORDS:
            j += 1
        elif lowers[j] == "-" and j + 1 < last and (
                lowers[j + 1] in _VARIANT_WORDS or _SIZE_WORD.fullmatch(lowers[j + 1])):
            j += 2
        else:
            break
    return j


def _makes_product(lowers: Sequence[str], norms: Sequence[str], start: int, end: int, first: int,
                   last: int) -> bool:
    """Whether a model mention names what produced something the study uses: "GPT-4-generated labels",
    "based on GPT-4 judgements", "based on GPT-4 to identify ...". "Experiments based on Llama-2-7b show ..."
    studies Llama-2."""
    j = _past_variant(lowers, end, last)
    if j + 1 < last and lowers[j] == "-" and norms[j + 1] in _MADE_BY_VERBS:
        return True  # "GPT-4-generated", "ChatGPT-written", "GPT-4-annotated"
    if j < last and lowers[j] in {"'s", "’s"}:
        j += 1
    near = lowers[max(first, start - 3):start]
    based_on = any(near[i:i + 2] == ["based", "on"] for i in range(len(near) - 1))
    # "based on GPT-4 judgements", "an approach based on GPT-4 to identify neurons": what the model makes or
    # does for the study.
    return based_on and j < last and (norms[j] in _PRODUCT_NORMS or lowers[j] == "to")


def _fronted_tool(lowers: Sequence[str], start: int, end: int, first: int, last: int,
                  models: frozenset[int]) -> bool:
    """Whether the model is the tool of a fronted "Using X, ..." when the clause after the comma names
    another model, the one studied: "Using GPT-4, we find that neurons in GPT-2 are polysemantic".
    "Using GPT-2 small, we find that its neurons ..." studies GPT-2."""
    i = first
    while i < start and lowers[i].isspace():  # the line break after a title
        i += 1
    i += lowers[i:i + 1] == ["by"]  # "By using GPT-4, ..."
    if i >= start or lowers[i] not in _FRONTED_TOOL_WORDS:
        return False
    # The fronted phrase may name several tools: "Using GPT-4 and Claude, ...".
    in_phrase = _CLAUSE_OPENING_WORDS | _VARIANT_WORDS | {"and", "or", "-"}
    if any(k not in models and lowers[k] not in in_phrase for k in range(i + 1, start)):
        return False
    j = end
    while j < last and (j in models or lowers[j] in in_phrase):
        j += 1
    if j >= last or lowers[j] != ",":
        return False
    return any(k in models for k in range(j + 1, last))


def _not_studied(tokens: _TokenView, hit: _Hit, models: frozenset[int]) -> bool:
    """Whether a model mention is a tool, a contrast or a scaling law rather than a model the paper
    studies. `models`: the token indices of all model mentions."""
    first, last = tokens.bounds[hit.sent]
    lowers, norms = tokens.lowers, tokens.norms
    return (_makes_product(lowers, norms, hit.start, hit.end, first, last)
            or _fronted_tool(lowers, hit.start, hit.end, first, last, models)
            or _in_contrast(lowers, norms, hit.start, first, last, models)
            or _as_tool(lowers, norms, hit.start, hit.end, first, last)
            or _scaling_law(lowers, norms, hit.end, last))


def _hyphen_joined_on(tokens: _TokenView, hit: _Hit) -> bool:
    """Whether a hyphen joins another word to the end of a mention: "greater-than-chance" is a word of its
    own, not the greater-than task."""
    last = tokens.bounds[hit.sent][1]
    j = hit.end
    return j + 1 < last and tokens.lowers[j] == "-" and any(c.isalnum() for c in tokens.lowers[j + 1])


# A component alias that is also the name of a network ("MLP", "multilayer perceptron", "feed-forward")
# before a word of a trained read-out names that read-out, not the transformer's layer: "an MLP probe", "an
# MLP classifier", "an MLP-based probe". "A probe on the MLP layers" reads the layer.
_NETWORK_KIND_WORDS = frozenset({"mlp", "mlps", "perceptron", "perceptrons", "forward", "feedforward", "ffn"})
_READ_OUT_NORMS = frozenset({"probe", "classifier", "regressor", "predictor", "decoder"})


def _names_a_read_out(tokens: _TokenView, hit: _Hit) -> bool:
    """Whether a component mention names a probe or classifier network ("MLP probe"), not the component."""
    last = tokens.bounds[hit.sent][1]
    if tokens.lowers[hit.end - 1] not in _NETWORK_KIND_WORDS:
        return False
    j = hit.end
    while j < last and tokens.lowers[j] in {"-", "based"}:
        j += 1
    return j < last and tokens.norms[j] in _READ_OUT_NORMS


# -- Mentions that are no use (module docstring: "A technique or evaluation named as what the paper does
# not do ...") ----------------------------------------------------------------------------------------
# Words that end the stretch a negating cue governs: a new clause ("without retraining, we apply SAEs":
# the negation is of the retraining), a relative clause, a turn of the contrast.
_CLAUSE_BREAKS = frozenset({
    ";", ":", ".", "(", ")", "we", "our", "us", "i", "they", "it", "this", "these", "which", "that", "who",
    "but", "while", "whereas", "although", "though", "yet", "however", "instead", "here", "then",
})
# How many words (other mentions not counted: "without probing, activation patching or SAEs") a negating
# cue may stand before the mention it governs ("we do not rely on any form of activation patching").
_NEGATION_REACH = 8
# A verb of use that "not" / "never" / "no longer" negates: "we do not use probing", "does not require SAEs",
# "we do not measure faithfulness".
_USE_VERBS = frozenset({
    "use", "rely", "require", "need", "employ", "apply", "leverage", "utilize", "utilise", "depend",
    "involve", "measure", "evaluate", "assess",
})
# "not only uses SAEs but also ..." uses them.
_DETERMINERS = frozenset({"the", "a", "an", "its", "their", "our", "this", "that", "these", "those"})
_NOT_ONLY = frozenset({"only", "just", "merely", "simply"})
# Verbs that take away the need: "eliminates the need for activation patching".
_NEED_REMOVERS = frozenset({"eliminate", "obviate", "remove", "avoid", "bypass", "without", "no"})
# A sentence whose subject is prior work: an adjective and a noun of work ("Prior work", "Existing
# circuit discovery methods", "Most previous studies") or an adverb ("Previously, ...") after openers only.
_PRIOR_ADJECTIVES = frozenset({
    "prior", "previous", "earlier", "existing", "past", "recent", "traditional", "conventional",
})
_PRIOR_NOUNS = frozenset({
    "work", "method", "approach", "study", "research", "technique", "literature", "effort", "analysis",
    "analyses", "paper", "attempt", "tool", "author", "researcher",
})
_PRIOR_ADVERBS = frozenset({"previously", "traditionally", "historically"})
# Words a sentence may open with before its prior-work subject ("However, prior work ...", "Unlike most
# existing methods, ...", "In contrast to prior work, ..."); any other first word ("Building on prior work")
# makes prior work no subject.
_PRIOR_OPENERS = frozenset({
    "however", "but", "yet", "while", "whereas", "although", "though", "unlike", "in", "contrast", "to",
    "with", "as", "opposed", "date", "so", "far", "most", "many", "much", "some", "several", "all", "the",
    "such", ",",
})
# What ends the prior work's part of the sentence: the paper's own clause ("Prior work relied on SAEs; we
# use the logit lens", "Whereas prior work probes, our method patches").
_PRIOR_SCOPE_BREAKS = frozenset({
    ";", "we", "our", "us", "i", "but", "whereas", "while", "however", "instead", "here",
    # A consequence the paper draws: "Existing methods struggle, so this paper introduces ...", "...,
    # motivating the tuned lens".
    "so", "thus", "therefore", "hence", "motivating",
})
# "so far" and "so-called" go on with prior work ("Prior work has so far relied on probing").
_NOT_SO = frozenset({"far", "-", "called"})
# Two words that start the paper's own clause: "and this paper applies ...", "in this work".
_PRIOR_SCOPE_PAIRS = frozenset({("and", "this"), ("and", "our"), ("in", "this")})
_OWN_WORK_NOUNS = frozenset({"paper", "work", "study", "article", "letter", "note"})
# After a comma, an "-ing" verb taking an object starts a clause of its own ("..., motivating the tuned
# lens", "..., leading us to ..."); not a verb of use or report, which goes on with what prior work did
# ("Prior work studied heads, using the logit lens", "..., showing the logit lens ..."), nor a noun of a
# list ("probing, pruning and the logit lens": no object follows).
_PARTICIPLE_OBJECTS = frozenset({
    "the", "a", "an", "this", "these", "it", "its", "us", "them", "researchers", "to", "for", "new",
})
_PRIOR_WORK_PARTICIPLES = frozenset({"include", "show", "find", "demonstrate", "reveal", "report", "such"})
# "Activation patching has been used to ..." (and "was previously used"): background, not the paper's use.
_PRIOR_PARTICIPLES = frozenset({"use", "apply", "employ", "adopt", "leverage", "utilize", "utilise", "rely"})
_PAST_ADVERBS = frozenset({
    "previously", "originally", "first", "initially", "traditionally", "historically", "recently",
    "widely", "extensively", "commonly", "often", "already", "successfully", "mostly", "largely",
})
# "..., which are costly / often brittle": a relative clause criticising the method named before it.
_CRITIQUE_NORMS = frozenset({
    "costly", "expensive", "brittle", "unreliable", "slow", "inefficient", "intractable", "prohibitive",
    "fragile", "unscalable", "unstable", "inaccurate", "misleading", "limited", "suffer", "fail", "struggle",
})
# Words a critique's "which" may stand after besides other mentions: "SAEs and the logit lens, which",
# "the logit lens technique, which".
_CRITIQUE_GAP = frozenset({
    "and", "or", ",", "the", "a", "an", '"', "'", "`", "-", "technique", "techniques", "method", "methods",
    "approach", "approaches", "tool", "tools",
})
# A method the paper builds on is one it uses: "a refinement of the earlier logit lens", "we improve on
# activation patching", "Building on activation patching, which has been used ...". (before, after) pairs,
# a norm for the first word.
_BUILD_ON = frozenset({
    ("refinement", "of"), ("extension", "of"), ("variant", "of"), ("generalization", "of"),
    ("generalisation", "of"), ("improvement", "on"), ("improvement", "over"), ("improvement", "upon"),
    ("improve", "on"), ("improve", "upon"), ("build", "on"), ("build", "upon"), ("building", "on"),
    ("building", "upon"), ("base", "on"), ("based", "on"), ("inspire", "by"), ("inspired", "by"),
})
_BUILD_ON_VERBS = frozenset({"extend", "extending", "refine", "refining", "generalize", "generalise", "adapt",
                             "adapting"})


@dataclass(frozen=True)
class _Mentions:
    """The technique and evaluation mentions of a text: the token indices they cover, start and end at."""

    covered: frozenset[int]
    starts: frozenset[int]
    ends: frozenset[int]

    @classmethod
    def of(cls, hits: Iterable[_Hit]) -> _Mentions:
        """The mentions of these hits."""
        spans = [(h.start, h.end) for h in hits]
        return cls(frozenset(i for s, e in spans for i in range(s, e)), frozenset(s for s, _ in spans),
                   frozenset(e for _, e in spans))

    def listed_at(self, lowers: Sequence[str], comma: int) -> bool:
        """Whether the comma at `comma` separates two mentions of a list ("probing, patching or SAEs", "SAEs,
        and probing"), not a mention and a clause of its own ("SAEs, uses the logit lens"): the mentions after
        it reach an "and" / "or" of the list. "Compared to SAEs, transcoders are ..." is no list: the
        contrast ends at its comma, and transcoders open the main clause."""
        if comma not in self.ends:
            return False
        after = comma + 1
        if after < len(lowers) and lowers[after] in {"and", "or"}:
            after += 1
            return after < len(lowers) and after in self.starts
        if after not in self.starts:
            return False
        j = after
        while j < len(lowers) and (j in self.covered or lowers[j] == ","):
            j += 1
        return j < len(lowers) and lowers[j] in {"and", "or"}


def _unused_mention(tokens: _TokenView, hit: _Hit, mentions: _Mentions) -> bool:
    """Whether a technique or evaluation mention says the paper does not use it: a negation of its use
    governs it ("Unlike activation patching, ...", "We do not use probing", "without SAEs") or it stands in
    a sentence framed as prior work ("Prior work relied on SAEs", "Activation patching has been used to
    ...", "the logit lens, which is costly"), a method the paper builds on excepted."""
    first, last = tokens.bounds[hit.sent]
    if _negated_use(tokens.lowers, tokens.norms, first, hit.start, last, mentions):
        return True
    if _prior_work_subject(tokens.lowers, tokens.norms, first, hit.start, last):
        return True
    critique = _critique_after(tokens.lowers, tokens.norms, hit.end, last, mentions)
    if critique is None and not _prior_use(tokens.lowers, tokens.norms, hit.end, last):
        return False
    # A background sentence of the paper's own clause ("we apply SAEs, which have been used to ...") or of a
    # method it builds on ("Building on activation patching, which is costly, ...") is a use, as is a
    # criticised method the paper then improves ("SAEs, which suffer from dead latents, are improved by our
    # method").
    return not (_first_person_before(tokens.lowers, first, hit.start)
                or _builds_on(tokens.lowers, tokens.norms, first, hit.start)
                or (critique is not None and _improved_after(tokens.lowers, tokens.norms, critique, last)))


# Words that make a mention refer back to one before it: "these probes", "such probes", "the probes".
_ANAPHORIC_DETERMINERS = frozenset({"these", "those", "this", "that", "such", "the", "said"})


def _refers_back(tokens: _TokenView, hit: _Hit, mentions: Sequence[_Hit], parts: Sequence[int]) -> bool:
    """Whether a mention after an anaphoric determiner ("these probes") repeats the head of a longer mention
    of another node just before it ("affine probes", Tuned Lens), in its sentence or the one before in the
    same part (title, abstract, a TL;DR): it names that technique again, not a new one. The nearest earlier
    mention with the same head decides ("linear probes ... these probes" is probing)."""
    if hit.start == 0 or tokens.lowers[hit.start - 1] not in _ANAPHORIC_DETERMINERS:
        return False
    norms = tokens.norms
    head = norms[hit.start:hit.end]
    earlier = [m for m in mentions if m.end <= hit.start - 1 and hit.sent - 1 <= m.sent <= hit.sent
               and parts[m.sent] == parts[hit.sent] and norms[m.end - len(head):m.end] == head]
    if not earlier:
        return False
    nearest = max(earlier, key=lambda m: (m.end, m.end - m.start))
    return nearest.node_id != hit.node_id and nearest.end - nearest.start > len(head)


def _negation_cue_ends_at(lowers: Sequence[str], norms: Sequence[str], j: int, first: int,
                          last: int) -> bool | None:
    """Whether a cue negating the use of what follows ends at token j: "without", "instead of", "rather
    than", "no need for", "do not use / rely on", a contrast ("unlike", "in contrast to / with", "as opposed
    to") or a comparison making it the paper's reference ("Compared to attribution patching, our method ...",
    "our approach is exact versus attribution patching": see _CONTRAST_WORDS); None when an affirmative verb
    of use does ("does not use gradients and relies on activation patching") or a comparison of two sides
    the paper studies ("we compare SAEs versus transcoders")."""
    word = lowers[j]
    before = lowers[j - 1] if j - 1 >= first else ""
    cue = _contrast_cue_ending_at(lowers, j, first)
    if cue is not None:
        comparison, cue_start = cue
        return not comparison or _reference_of_comparison(lowers, norms, cue_start, j, first, last) or None
    if word == "without":
        return before not in {"and", "or"}  # "with and without activation steering" uses it
    if word == "no" and j - 1 >= first and (before == "with" or norms[j - 1] in _USE_VERBS):
        return True  # "requires no SAEs", "with no probing"
    if (before, word) in {("instead", "of"), ("rather", "than")}:
        return True
    if (before, word) == ("need", "for"):
        return any(lowers[k] in _NEED_REMOVERS or norms[k] in _NEED_REMOVERS
                   for k in range(max(first, j - 4), j - 1))
    relies_on = word in {"on", "upon"} and j - 1 >= first and norms[j - 1] in {"rely", "depend"}
    if norms[j] in _USE_VERBS or relies_on:
        verb = j - 1 if relies_on else j
        if verb > first and lowers[verb - 1] in _DETERMINERS:
            return False  # a noun: "Unlike the use of activation patching"
        for k in range(verb - 1, max(first, verb - 3) - 1, -1):
            no_longer = k > first and lowers[k - 1:k + 1] == ["no", "longer"]
            if lowers[k] in {"not", "n't", "never"} or no_longer:
                return True if lowers[k + 1] not in _NOT_ONLY else None
        return None
    return False


def _negated_use(lowers: Sequence[str], norms: Sequence[str], first: int, start: int, last: int,
                 mentions: _Mentions) -> bool:
    """Whether a negating cue governs the mention at `start`: before it, in the same clause, within
    _NEGATION_REACH words (a list of mentions is one stretch: "without probing, patching or SAEs")."""
    budget = _NEGATION_REACH
    j = start - 1
    while j >= first and budget > 0:
        cue = _negation_cue_ends_at(lowers, norms, j, first, last)
        if cue is not False:
            return bool(cue)  # the nearest verb of use governs the mention, affirmed or negated
        word = lowers[j]
        if word in _CLAUSE_BREAKS or (word == "," and not mentions.listed_at(lowers, j)):
            return False  # "," goes on only in a list of mentions: "without probing, patching"
        if j not in mentions.covered:
            budget -= 1
        j -= 1
    return False


def _prior_work_subject(lowers: Sequence[str], norms: Sequence[str], first: int, start: int,
                        last: int) -> bool:
    """Whether the mention at `start` is in the part of its sentence whose subject is prior work
    ("Prior work relied on SAEs and the logit lens", "However, existing methods such as probing ...")."""
    k = first
    while k < start and (lowers[k] in _PRIOR_OPENERS or not lowers[k].strip()):
        k += 1
    if k >= start:
        return False
    if lowers[k] in _PRIOR_ADVERBS:
        end = k + 1
    elif lowers[k] in _PRIOR_ADJECTIVES:
        # "Prior work", "Existing circuit discovery methods", "Previous SAE work" (the mention inside).
        noun = next((m for m in range(k + 1, min(last, k + 4)) if norms[m] in _PRIOR_NOUNS), None)
        if noun is None:
            return False
        end = noun + 1
    else:
        return False
    return not any(_prior_scope_breaks_at(lowers, norms, t, start) for t in range(end, start))


def _prior_scope_breaks_at(lowers: Sequence[str], norms: Sequence[str], t: int, start: int) -> bool:
    """Whether the paper's own clause starts at token t, before the mention at `start`, in a sentence whose
    subject is prior work ("; we ...", "so this paper ...", "and this work ...", ", motivating the ...")."""
    word = lowers[t]
    after = lowers[t + 1] if t + 1 < start else ""
    if word in _PRIOR_SCOPE_BREAKS:
        return not (word == "so" and after in _NOT_SO)
    if (word, after) in _PRIOR_SCOPE_PAIRS or (word == "this" and after and norms[t + 1] in _OWN_WORK_NOUNS):
        return True
    if word != "," or t + 2 >= start or not (after.endswith("ing") and len(after) > 5 and after.isalpha()):
        return False
    stem = after[:-3]
    verbs = _USE_VERBS | _PRIOR_PARTICIPLES | _PRIOR_WORK_PARTICIPLES
    if stem in verbs or stem + "e" in verbs:  # "using", "relying", "including"
        return False
    return lowers[t + 2] in _PARTICIPLE_OBJECTS


def _prior_use(lowers: Sequence[str], norms: Sequence[str], end: int, last: int) -> bool:
    """Whether the mention ending at `end` is the subject of "has / have been (widely) used" or "was
    previously used"."""
    for j in range(end, min(last - 2, end + 6)):
        if lowers[j] in {";", ".", "we", "our", "us"}:
            return False
        if lowers[j] in {"has", "have"} and lowers[j + 1] == "been":
            m = j + 2
        elif lowers[j] in {"was", "were"} and lowers[j + 1] in _PAST_ADVERBS:
            m = j + 1
        else:
            continue
        while m < last - 1 and (lowers[m] in _PAST_ADVERBS or _is_adverb(lowers[m])):
            m += 1
        return m < last and norms[m] in _PRIOR_PARTICIPLES and lowers[m].endswith("ed")
    return False


def _critique_after(lowers: Sequence[str], norms: Sequence[str], end: int, last: int,
                    mentions: _Mentions) -> int | None:
    """Where a relative clause right after the mention ending at `end` criticises it ("..., which are
    costly", "the logit lens technique, which is often brittle"): the critical word, else None."""
    j = end
    while j < last and (j in mentions.covered or lowers[j] in _CRITIQUE_GAP):
        j += 1
    if j >= last or lowers[j] not in {"which", "that"}:
        return None
    for k in range(j + 1, min(last, j + 6)):
        if lowers[k] in {",", ";", ".", "but", "and", "not", "n't"}:
            return None
        if norms[k] in _CRITIQUE_NORMS:
            return k
    return None


# Participles of "is / are improved by ...": a criticised method the sentence improves.
_IMPROVING = frozenset({
    "improve", "fix", "extend", "address", "scale", "refine", "mitigate", "remedy", "resolve", "alleviate",
})
# What ends the clause after a critique: "our" past it is of another clause ("SAEs, which are costly, are
# popular; our method ...").
_IMPROVED_STOPS = frozenset({";", ":", ".", "but", "whereas", "while", "however", "instead", "although",
                             "though", "yet", "unlike", "than"})
# The paper replaces, not improves, a method its clause names with "our": "..., are replaced by our method".
_REPLACING = frozenset({"replace", "outperform", "surpass", "supersede", "beat", "avoid", "motivate",
                        "abandon", "discard"})


def _improved_after(lowers: Sequence[str], norms: Sequence[str], critique: int, last: int) -> bool:
    """Whether the clause after a critique at `critique` says the method is improved, by the paper or in a
    passive ("..., are improved by our method", "... that suffer from shrinkage are fixed by a gated
    architecture", "..., which is costly, is what we scale"): the paper uses the method it improves."""
    for j in range(critique + 1, last):
        if lowers[j] in _IMPROVED_STOPS or norms[j] in _REPLACING:
            return False  # "..., are replaced by our method", "...; our method ..."
        if lowers[j] in {"we", "our"} or (lowers[j] == "this" and j + 1 < last
                                          and norms[j + 1] in _OWN_WORK_NOUNS):
            return True
        if norms[j] == "be" and lowers[j] != "being":
            m = j + 1
            while m < last - 1 and (_is_adverb(lowers[m]) or lowers[m] in {"further", "then", "also"}):
                m += 1  # "are further / greatly improved by"
            if (m + 1 < last and norms[m] in _IMPROVING and lowers[m].endswith("ed")
                    and lowers[m + 1] == "by"):
                return True
    return False


def _first_person_before(lowers: Sequence[str], first: int, start: int) -> bool:
    """Whether the paper speaks ("we", "our") in the clause of the mention at `start`, before it."""
    for j in range(start - 1, first - 1, -1):
        if lowers[j] == ";":
            return False
        if lowers[j] in {"we", "our", "us"}:
            return True
    return False


def _builds_on(lowers: Sequence[str], norms: Sequence[str], first: int, start: int) -> bool:
    """Whether the mention at `start` is what the sentence builds on: "a refinement of the earlier logit
    lens", "we improve on activation patching", "Building on activation patching"."""
    for j in range(start - 1, max(first, start - _NEGATION_REACH) - 1, -1):
        if lowers[j] in _CLAUSE_BREAKS:
            return False
        if norms[j] in _BUILD_ON_VERBS or lowers[j] in _BUILD_ON_VERBS:
            return True
        if j - 1 >= first and ((lowers[j - 1], lowers[j]) in _BUILD_ON
                               or (norms[j - 1], lowers[j]) in _BUILD_ON):
            return True
    return False


class _TokenView:
    """Per-token strings and sentence bounds of a doc, read once as arrays (no Token objects)."""

    def __init__(self, doc: Any, strings: dict[int, str], starts: Sequence[int] = (),
                 source: Mapped | None = None) -> None:
        from spacy.attrs import IDX, LIKE_URL, LOWER, NORM, SENT_START

        self.doc = doc
        self.source = source if source is not None else Mapped.of(doc.text)
        vocab = doc.vocab.strings
        rows = doc.to_array([LOWER, NORM, LIKE_URL, SENT_START, IDX]).tolist() if len(doc) else []

        def text_of(h: int) -> str:
            value = strings.get(h)
            if value is None:
                value = vocab[h]
                if len(strings) < 500_000:
                    strings[h] = value
            return value

        self.lowers = [text_of(r[0]) for r in rows]
        self.norms = [text_of(r[1]) for r in rows]
        self.urls = [bool(r[2]) for r in rows]
        self.idx = [r[4] for r in rows]
        self.bounds: list[tuple[int, int]] = []
        self.sent_of: list[int] = []
        # The sentencizer does not split after a title ending in "U.S." or "Fig.": the
        # abstract still starts a sentence of its own, or its first claim would be lost. Each TL;DR
        # (often without a full stop) starts one too.
        forced = {bisect.bisect_left(self.idx, offset) for offset in starts}
        start = 0
        for i, r in enumerate(rows):
            if i and (r[3] == 1 or i in forced):
                self.bounds.append((start, i))
                start = i
            self.sent_of.append(len(self.bounds))
        if rows:
            self.bounds.append((start, len(rows)))

    def text(self, sent: int, limit: int | None = None) -> str:
        """The text of one sentence as the paper gives it (TeX markup and all: see readable), cut at the
        analysed text's character `limit` when given."""
        start, end = self.bounds[sent]
        span = self.doc[start:end]
        stop = span.end_char if limit is None else min(span.end_char, limit)
        return self.source.source_span(span.start_char, stop)

    def start_char(self, sent: int) -> int:
        """Character offset where a sentence starts."""
        return self.idx[self.bounds[sent][0]]

    def is_artifact(self, sent: int) -> bool:
        """A sentence announcing code/data ("... are available at https://...")."""
        start, end = self.bounds[sent]
        if any(self.urls[start:end]):
            return True
        lowers = set(self.lowers[start:end])
        return "available" in lowers and bool(lowers & {"code", "github", "dataset", "demo", "notebook"})


def is_claim(lowers: Sequence[str], norms: Sequence[str],
             components: Sequence[tuple[int, int]] = ()) -> bool:
    """True when a sentence (its lowercased tokens and their norms) states a result: "we find ...".

    `components`: the (start, end) token spans of the transformer components the sentence names, for
    results said with a component as subject ("These induction heads overlap with ...").
    """
    n = len(lowers)
    if not _CLAIM_TRIGGERS.intersection(lowers) and not _CLAIM_RESULT_NOUNS.intersection(norms) and not (
            components and (_COMPONENT_RESULT_VERBS | _CORRELATION_NOUNS).intersection(norms)):
        return False
    k = next((i for i, lower in enumerate(lowers) if lower.strip()), n)  # the first word
    if k + 1 < n and lowers[k] in _CLAIM_DEMONSTRATIVES and norms[k + 1] in _CLAIM_RESULT_VERBS and (
        norms[k + 1] != "provide" or "evidence" in lowers[k + 2: k + 6]
    ):
        return True
    # "They form in LLMs ...": a pronoun subject and a result verb of a component.
    if k + 1 < n and lowers[k] == "they" and norms[_skip_gap(lowers, k + 1)] in _COMPONENT_RESULT_VERBS:
        return True
    for start, end in components:
        if _component_subject_result(lowers, norms, start, end):
            return True
    starts = {start for start, _ in components}
    for i, lower in enumerate(lowers):
        if lower == "we":
            if _we_claims(lowers, norms, i) or _presents_component(lowers, norms, i, starts):
                return True
        elif lower in _CLAIM_PARTICIPLES and (
            lowers[i + 1: i + 2] == ["that"] or lowers[i + 1: i + 3] == ["evidence", "that"]
            or _object_to_be(lowers, i + 1)
        ):
            # Before the result-noun test: "finding" is both ("..., finding evidence that ...").
            return True
        elif lower in _CLAIM_OBJECT_PARTICIPLES and i > 0 and lowers[i - 1] == ",":
            return True
        elif lower == "arguing" and lowers[i + 1: i + 2] == ["that"] and "evidence" in lowers[:i]:
            # "We present six lines of evidence, arguing that ...": an argument from the evidence
            # given ("we argue that ..." alone states a position).
            return True
        elif norms[i] in _CLAIM_RESULT_NOUNS and i + 1 < n:
            j = i + 1
            while j < n and j <= i + 3 and lowers[j] in _CLAIM_FILLERS:
                j += 1
            if j < n and norms[j] in _CLAIM_RESULT_VERBS and (
                norms[j] != "provide" or "evidence" in lowers[j + 1: j + 5]
            ):
                return True
    return False


def _is_adverb(lower: str) -> bool:
    """An "-ly" adverb ("fully", "significantly"); "only", "early" and "family" are words of their own."""
    return len(lower) > 4 and lower.endswith("ly") and lower.isalpha() and lower not in {"early", "family"}


def _skip_gap(lowers: Sequence[str], j: int, most: int = 6) -> int:
    """The first token at or after j that is not an identifier, bracket or adverb (at most `most` skipped)."""
    end = min(len(lowers) - 1, j + most)
    while j < end and (lowers[j] in _SUBJECT_GAP_WORDS or _is_adverb(lowers[j]) or (
            any(c.isdigit() for c in lowers[j]) and not lowers[j].isalpha())):
        j += 1
    return min(j, len(lowers) - 1)


def _component_subject_result(lowers: Sequence[str], norms: Sequence[str], start: int, end: int) -> bool:
    """Whether a component named at [start, end) is the subject of a result verb right after it."""
    if start > 0 and lowers[start - 1] in _NOT_SUBJECT:
        return False  # not a subject: "the role of induction heads in ...", "whether attention heads encode"
    if end >= len(lowers):
        return False
    j = _skip_gap(lowers, end)
    if norms[j] in _COMPONENT_RESULT_VERBS and not lowers[j].endswith("ing"):
        return True
    # "... induction heads has a close correlation with ...": "has" and a result noun.
    return norms[j] in {"have", "show"} and bool(_CORRELATION_NOUNS.intersection(norms[j + 1: j + 4]))


def _presents_component(lowers: Sequence[str], norms: Sequence[str], i: int, starts: set[int]) -> bool:
    """"we present successor heads: ...": a component (starting at one of `starts`) as the direct object
    of "we present / describe / report"."""
    j = i + 1
    while j < len(lowers) and (lowers[j] in _CLAIM_FILLERS or _is_adverb(lowers[j])):
        j += 1
    if j >= len(lowers) or norms[j] not in _PRESENT_VERBS or (i > 0 and not _opens_clause(lowers[i - 1])):
        return False
    j += 1
    while j < len(lowers) and j not in starts and lowers[j] in _PRESENT_GAP:
        j += 1
    return j in starts


def _object_to_be(lowers: Sequence[str], j: int) -> bool:
    """"showing it to be more predictive": a short object and "to be" after a claim participle."""
    window = list(lowers[j: j + 5])
    return "to" in window and window[window.index("to") + 1: window.index("to") + 2] == ["be"] and not (
        {",", ";", "."} & set(window[: window.index("to")]))


def _we_claims(lowers: Sequence[str], norms: Sequence[str], i: int) -> bool:
    """Whether the "we" at i reports a result: "we (also) find ...", "we fully reverse engineer ...",
    "we present evidence ...", "we compute ... and find that ..."."""
    n = len(lowers)
    if i > 0 and not _opens_clause(lowers[i - 1]):
        return False  # a relative clause: "the motifs we identified"
    j = i + 1
    while j < n and j <= i + 4 and (lowers[j] in _CLAIM_FILLERS or _is_adverb(lowers[j])):
        j += 1
    if j >= n:
        return False
    if norms[j] in _CLAIM_VERBS and not _by_means(lowers, norms, i, j):
        return True
    if norms[j] == "reverse" and "engineer" in lowers[j + 1: j + 3] and lowers[j + 1] in {"engineer", "-"}:
        return True  # "we fully reverse engineer the algorithm", "we reverse-engineer ..."
    if lowers[j] in {"present", "provide", "give", "find", "outline"} and "evidence" in lowers[j + 1: j + 7]:
        return True
    if norms[j] in _MEASURED_VERBS and "%" in lowers[j + 1:]:
        return True
    # "we analyze successor heads ... and find that they implement ...": the claim verb of a later
    # conjunct of the same clause (not past a full stop or semicolon).
    for t in range(j + 1, n - 1):
        if lowers[t] in {";", ":"} or (lowers[t] == "we" and t > j):
            break
        if lowers[t] != "and":
            continue
        v = t + 1
        while v < min(n - 1, t + 4) and not any(c.isalpha() for c in lowers[v]):
            v += 1  # "and 1.) show that"
        if norms[v] in _AND_CLAIM_VERBS and lowers[v + 1: v + 2] == ["that"]:
            return True
    return False


def _opens_clause(previous: str) -> bool:
    """Whether "we" after this word starts a clause (not "the motifs we identified")."""
    return previous in _CLAUSE_OPENERS or _is_adverb(previous) or not any(c.isalpha() for c in previous)


def _by_means(lowers: Sequence[str], norms: Sequence[str], i: int, j: int) -> bool:
    """A method sentence: a means verb with an object and "by ...ing" ("we confirm the algorithm by
    analyzing ...", "By intervening on ..., we identify the subset ...")."""
    if norms[j] not in _MEANS_VERBS or lowers[j + 1: j + 2] == ["that"]:
        return False

    def by_ing(words: Sequence[str]) -> bool:
        return any(w == "by" and nxt.endswith("ing") for w, nxt in itertools.pairwise(words))

    first = next((t for t, w in enumerate(lowers) if w.strip()), 0)
    return by_ing(lowers[j + 1:]) or (lowers[first] == "by" and by_ing(lowers[first:i]))
