"""`paperkg export list-rows`: suggested awesome-list rows parse back with the project's own list parser."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from ingest.awesome_list import parse_list
from ingest.export_rows import (
    DEFAULT_SECTION,
    ROW_LIMIT,
    UNSORTED_SECTION,
    LabelSpeller,
    ListHeadings,
    choose_section,
    list_rows_export,
    list_rows_markdown,
    render_rows,
    section_choice,
    suggest_row,
    suggested_rows,
)
from ingest.extract import Extractor
from ingest.normalize import title_key
from ingest.pipeline import run_ingest
from ingest.records import Record
from kg.embedded import EmbeddedStore
from kg.entities import (
    EvaluationUse,
    Finding,
    FindingAbout,
    Paper,
    PaperBundle,
    PaperDetail,
    TechniqueUse,
)
from kg.taxonomy import Taxonomy, load_taxonomy
from kg.withdrawn import is_withdrawn
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

DATA = Path(__file__).parent / "data" / "relevance_set.jsonl"

LISTED = """## Paper Collection
### Findings and Applications
#### Applications of MI
|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |
| :----- | :--------------: | :--------------: | :--------------: |
| [Already Listed: Refusal Heads](https://arxiv.org/pdf/2611.99001) | Activation Patching | N/A | Listed. |
"""


def mi_records() -> list[Record]:
    """The hand-written MI records of the relevance set, as arXiv-like records with invented ids."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i, row in enumerate(r for r in rows if r["label"] == 1):
        out.append(Record(source="arxiv", source_id=f"2611.{80000 + i}", title=row["title"],
                          abstract=row["abstract"], arxiv_id=f"2611.{80000 + i}", published="2026-11-20",
                          categories=["cs.CL"]))
    # Awkward characters for a markdown table cell and link text.
    out.append(Record(source="arxiv", source_id="2611.89999",
                      title="Heads | Tails: [Induction] Heads and Path Patching in GPT-2",
                      abstract="We use path patching on GPT-2 small and find that induction heads copy "
                               "tokens | symbols from earlier positions.", arxiv_id="2611.89999",
                      published="2026-11-21"))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, taxonomy: Taxonomy) -> tuple[EmbeddedStore, str]:
    """A store with one list paper before and after `since`, and 23 new arXiv papers after it."""
    store = taxonomy_store(tmp_path_factory.mktemp("export") / "paperkg.sqlite3")
    extractor = Extractor(taxonomy)
    embedder = HashEmbedder()
    old = Record(source="arxiv", source_id="2601.00001", title="An Older Paper on Logit Lens Decoding",
                 abstract="We apply the logit lens to GPT-2.", arxiv_id="2601.00001")
    run_ingest(store, [old], source="arxiv", embedder=embedder, extractor=extractor, progress=False)
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    listed = parse_list(LISTED, taxonomy).papers
    run_ingest(store, [*mi_records(), *listed], source="arxiv", embedder=embedder, extractor=extractor,
               progress=False)
    return store, since


def test_rows_parse_back_into_the_same_papers_sections_and_techniques(
    exported: tuple[EmbeddedStore, str], taxonomy: Taxonomy
) -> None:
    store, since = exported
    markdown = list_rows_markdown(store, since, taxonomy)
    expected = suggested_rows(store, since, taxonomy)
    parsed = parse_list(markdown, taxonomy)

    assert parsed.unreadable_rows == [] and parsed.unknown_labels == []
    assert len(expected) == len(mi_records()) == len(parsed.rows)
    # The listed paper and the paper first seen before `since` are not suggested.
    ids = {r.paper_id for r in expected}
    assert "2611.99001" not in ids and "2601.00001" not in ids
    assert {title_key(p.title) for p in parsed.papers} == {title_key(r.title) for r in expected}
    by_key = {title_key(r.title): r for r in expected}
    for row in parsed.rows:
        want = by_key[title_key(row.title_in_list)]
        assert row.url_in_list == f"https://arxiv.org/pdf/{want.paper_id}"
        # The parser drops headings every table shares; what is left is the end of our path.
        assert row.section_path and want.section_path[-len(row.section_path):] == row.section_path
        assert row.technique_ids == want.technique_ids
        assert row.evaluation_ids == want.evaluation_ids
        assert row.tldr and row.tldr.replace("|", "") == want.tldr.replace("|", "").strip()

    # Not vacuous: several sections, list spellings, techniques on most rows.
    assert len({r.section for r in expected}) >= 3
    assert sum(bool(r.technique_ids) for r in expected) >= 0.75 * len(expected)
    assert "Activation Patching" in markdown and "Path Patching" in markdown
    assert "### Findings and Applications\n####" in markdown
    assert "Heads \\| Tails: \\[Induction\\] Heads" in markdown  # brackets escaped: text, not a link


def _detail(pid: str, findings: list[Finding], techniques: list[str] = ()) -> PaperDetail:
    return PaperDetail(paper=Paper(id=pid, title=pid, arxiv_id=pid, abstract="First sentence. Second."),
                       techniques=[TechniqueUse(t, "extracted") for t in techniques], evaluations=[],
                       findings=findings, models=[], list_rows=[])


def test_section_comes_from_the_strongest_topic_then_techniques(taxonomy: Taxonomy) -> None:
    steering = Finding("a:1", "We steer outputs.", about=[FindingAbout("Topic", "lm_generation_steering")])
    heads = Finding("a:2", "Induction heads copy.", about=[FindingAbout("Topic", "lm_components"),
                                                           FindingAbout("Component", "induction_head")])
    assert choose_section(_detail("a", [steering]), taxonomy) == "Applications of MI"
    # Components named in claim sentences weigh half a topic: three outweigh one steering claim...
    assert choose_section(_detail("b", [steering, heads, heads, heads]), taxonomy) == (
        "Findings on circuits / Interpreting Transformer Components")
    # ... two tie with it, and the tie goes to the topic the paper is about, not to section order.
    assert choose_section(_detail("b", [steering, heads, heads]), taxonomy) == "Applications of MI"
    superposition = Finding("c:1", "Features in superposition.",
                            about=[FindingAbout("Topic", "superposition")])
    assert choose_section(_detail("c", [superposition]), taxonomy) == "Findings on Features"
    assert choose_section(_detail("d", [], ["sae", "logit_lens"]), taxonomy) == "Findings on Features"
    assert choose_section(_detail("e", [], ["path_patching"]), taxonomy) == DEFAULT_SECTION
    assert choose_section(_detail("f", []), taxonomy) == DEFAULT_SECTION


def test_paper_without_url_is_a_bare_title_and_arxiv_id_still_links(taxonomy: Taxonomy) -> None:
    def detail(pid: str, **kw: str) -> PaperDetail:
        paper = Paper(id=pid, title=f"Probing Paper {pid}", abstract="We train linear probes.", **kw)
        return PaperDetail(paper=paper, techniques=[TechniqueUse("probing", "extracted")], evaluations=[],
                           findings=[], models=[], list_rows=[])

    rows = [suggest_row(detail("bare"), taxonomy), suggest_row(detail("2611.55555", arxiv_id="2611.55555"),
            taxonomy), suggest_row(detail("blog", url="https://example.org/blog"), taxonomy)]
    markdown = render_rows(rows, taxonomy)
    assert "]()" not in markdown
    assert "| Probing Paper bare | Probing |" in markdown
    assert "| [Probing Paper 2611.55555](https://arxiv.org/pdf/2611.55555) | Probing |" in markdown
    assert "| [Probing Paper blog](https://example.org/blog) | Probing |" in markdown
    parsed = parse_list(markdown, taxonomy)
    assert parsed.unreadable_rows == []
    by_title = {r.title_in_list: r for r in parsed.rows}
    assert set(by_title) == {"Probing Paper bare", "Probing Paper 2611.55555", "Probing Paper blog"}
    assert by_title["Probing Paper bare"].url_in_list is None
    assert by_title["Probing Paper bare"].technique_ids == ["probing"]
    assert by_title["Probing Paper 2611.55555"].url_in_list == "https://arxiv.org/pdf/2611.55555"


def test_cli_export_list_rows(data_dir: Path, taxonomy: Taxonomy) -> None:
    from kg.cli import main

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    bundle = PaperBundle(
        paper=Paper(id="2611.77777", title="Attribution Patching Finds Circuits Fast", arxiv_id="2611.77777",
                    abstract="We show attribution patching recovers circuits.",
                    embedding=np.eye(384, dtype=np.float32)[0], embedding_model="hash"),
        techniques=[TechniqueUse("attribution_patching", "extracted")],
    )
    store.upsert_papers([bundle])
    store.close()
    runner = CliRunner()
    result = runner.invoke(main, ["export", "list-rows", "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    assert "| [Attribution Patching Finds Circuits Fast](https://arxiv.org/pdf/2611.77777) | " \
           "Attribution Patching |" in result.output
    parsed = parse_list(result.output, taxonomy)
    assert [r.technique_ids for r in parsed.rows] == [["attribution_patching"]]
    bad = runner.invoke(main, ["export", "list-rows", "--since", "yesterday"])
    assert bad.exit_code != 0 and "not an ISO date" in bad.output


def _hostile_detail(pid: str, **kw: str) -> PaperDetail:
    paper = Paper(id=pid, **{"title": f"Probing Paper {pid}", "abstract": "We train linear probes.", **kw})
    return PaperDetail(paper=paper, techniques=[TechniqueUse("probing", "extracted")], evaluations=[],
                       findings=[], models=[], list_rows=[])


def test_non_http_urls_never_become_links(taxonomy: Taxonomy) -> None:
    details = [_hostile_detail("js", url="JaVaScRiPt:alert(11)"),
               _hostile_detail("data", url="data:text/html,x", pdf_url="vbscript:y"),
               _hostile_detail("pdf", url="javascript:z", pdf_url="https://example.org/p.pdf"),
               _hostile_detail("2611.44444", url="javascript:q", arxiv_id="2611.44444")]
    rows = [suggest_row(d, taxonomy) for d in details]
    markdown = render_rows(rows, taxonomy)
    assert "script:" not in markdown.lower() and "data:" not in markdown
    assert "| Probing Paper js | Probing |" in markdown and "| Probing Paper data | Probing |" in markdown
    assert "| [Probing Paper pdf](https://example.org/p.pdf) | Probing |" in markdown
    assert "| [Probing Paper 2611.44444](https://arxiv.org/pdf/2611.44444) | Probing |" in markdown


def test_hostile_urls_and_text_stay_in_their_cells(taxonomy: Taxonomy) -> None:
    escape = "https://example.org/a) | injected | cell | here | row2 (x) <y> \\"
    title = "Heads | tails\n| :--- |\nrow [x] \\"
    details = [_hostile_detail("esc", url=escape, title=title, abstract="TL | DR\n| x | y |"),
               # A URL with a line break in it is no URL: the row is a bare title.
               _hostile_detail("nl", url="https://example.org/a)\n| row2 |")]
    rows = [suggest_row(d, taxonomy) for d in details]
    markdown = render_rows(rows, taxonomy)
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 4, markdown  # header, separator, two rows: nothing broke out
    assert ("[Heads \\| tails \\| :--- \\| row \\[x\\] \\\\](https://example.org/a%29%20%7C%20injected%20%7C%20cell"
            "%20%7C%20here%20%7C%20row2%20%28x%29%20%3Cy%3E%20%5C) | Probing |") in table[2]
    assert table[3].startswith("| Probing Paper nl | Probing |") and "row2" not in table[3]
    parsed = parse_list(markdown, taxonomy)
    assert parsed.unreadable_rows == [] and len(parsed.rows) == 2
    first = parsed.rows[0]
    assert first.title_in_list == "Heads | tails | :--- | row [x] \\"  # the title as it is, backslash and all
    assert first.url_in_list == escape.replace(" ", "%20").replace("|", "%7C").replace(")", "%29") \
        .replace("(", "%28").replace("<", "%3C").replace(">", "%3E").replace("\\", "%5C")
    assert first.technique_ids == ["probing"] and first.tldr == "TL | DR | x | y |"
    assert parsed.rows[1].url_in_list is None and parsed.rows[1].technique_ids == ["probing"]


def test_html_in_titles_is_written_as_entities_and_read_back_as_text(taxonomy: Taxonomy) -> None:
    """GitHub renders HTML in markdown tables: a "<!--" in a title would hide the rows after it."""
    title = "Heads <!-- hidden and a < b & c, the literal &lt; and &notation"
    markdown = render_rows([suggest_row(_hostile_detail("html", title=title), taxonomy)], taxonomy)
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert "<!--" not in "\n".join(table) and "&lt;!--" in table[-1]
    # The reason comment above the table holds the title too, and cannot be ended early by it.
    (comment,) = [line for line in markdown.splitlines() if line.startswith("<!--")]
    assert comment.count("<!--") == 1 and comment.endswith("-->") and comment.count(">") == 1
    (row,) = parse_list(markdown, taxonomy).rows
    assert row.title_in_list == title


def test_rows_drop_bidi_controls(taxonomy: Taxonomy) -> None:
    row = suggest_row(_hostile_detail("bidi", title="Heads \u202ereversed\u2066 x"), taxonomy)
    markdown = render_rows([row], taxonomy)
    assert "\u202e" not in markdown and "\u2066" not in markdown and "Heads reversed x" in markdown


# Titles holding Markdown (QA: "A [link](https://example.com) in a title" came back unreadable, a
# link-less title's "http://..." came back as the paper's link and was cut out of the title).
_MARKDOWN_TITLES = [
    "A [link](https://example.com) in a title",
    "URL-like http://example.com/a?b=1&c=2 in title",
    "Heads | Tails (and [brackets]) in GPT-2",
    "Back\\slash \\[not an escape\\] and a trailing backslash \\",
    "*Emphasis*, _underscores_, **bold**, __dunder__, `code` and ~~struck~~ words",
    "Tom & Jerry &amp; &lt;b&gt; <i>tags</i> and a last &",
    "(A Whole Title in Parentheses)",
    "[A Whole Title in Brackets]",
    "— Dashes, colons; and commas at the edges: -",
    "![an image](https://example.com/i.png) and <https://example.com/auto> inside",
    "Title ([pdf](https://x.org/a.pdf), [code](https://x.org/c))",
    "Sparse Autoencoders (SAEs) Find Features (ICLR'24)",
    "Code",
]


@pytest.mark.parametrize("with_url", [True, False])
def test_every_title_reads_back_as_the_same_title_link_and_labels(taxonomy: Taxonomy, with_url: bool) -> None:
    details = []
    for i, title in enumerate(_MARKDOWN_TITLES):
        paper = Paper(id=f"md-{i}", title=title, abstract="We train linear probes on residual streams.",
                      url=f"https://papers.example.org/{i}?a=1&b=2" if with_url else None)
        details.append(PaperDetail(
            paper=paper, techniques=[TechniqueUse("probing", "extracted"), TechniqueUse("sae", "extracted")],
            evaluations=[EvaluationUse("faithfulness", "extracted")], findings=[], models=[], list_rows=[]))
    rows = [suggest_row(d, taxonomy) for d in details]
    parsed = parse_list(render_rows(rows, taxonomy), taxonomy)

    assert parsed.unreadable_rows == [] and parsed.unknown_labels == []
    assert [r.title_in_list for r in parsed.rows] == _MARKDOWN_TITLES
    want_urls = [[f"https://papers.example.org/{i}?a=1&b=2"] if with_url else []
                 for i in range(len(_MARKDOWN_TITLES))]
    assert [r.urls for r in parsed.rows] == want_urls  # the paper's own link, and only that
    assert all(r.technique_ids == ["probing", "sae"] and r.evaluation_ids == ["faithfulness"]
               for r in parsed.rows)
    # One paper per row, none merged with another nor given another's link.
    assert len(parsed.papers) == len(_MARKDOWN_TITLES)
    assert sorted(p.url or "" for p in parsed.papers) == sorted(u[0] if u else "" for u in want_urls)


# -- a maintainer's week: real abstracts of /tmp/maint-qa/week/week1.jsonl through the real extractor --
WEEK = [
    # Ingested out of published order: the rows must come out oldest first all the same.
    {"arxiv_id": "2611.10008", "published": "2026-11-21T10:00:00Z",
     "title": "Latent Language Lens: Decoding Which Language Multilingual LLMs Think In",
     "abstract": "We propose the latent language lens, a variant of the logit lens that projects "
                 "intermediate activations of multilingual language models onto language-specific "
                 "vocabulary subspaces. Applying it to Llama-2 and Qwen models, we find that middle "
                 "layers operate in an English-biased concept space before a late switch to the output "
                 "language."},
    {"arxiv_id": "2611.10007", "published": "2026-11-20T11:00:00Z",
     "title": "Linear Probes Recover Chess Board State from a Transformer's Residual Stream",
     "abstract": "We train linear probes on the residual stream of a 50M-parameter transformer language "
                 "model trained on chess games in PGN notation. The probes decode the board state with 99% "
                 "accuracy from layer 6 onwards, and we show that intervening on the probed representation "
                 "changes the model's predicted legal moves, suggesting the model maintains a world model "
                 "of the board."},
    {"arxiv_id": "2611.10002", "published": "2026-11-18T10:00:00Z",
     "title": "Induction Heads Form in Two Phases: A Learning-Dynamics Study of Pythia Checkpoints",
     "abstract": "We study how induction heads emerge during training across 154 checkpoints of the Pythia "
                 "suite. Using zero-ablation and attention-pattern visualization at every checkpoint, we "
                 "show that induction heads form in two distinct phases: previous-token heads appear "
                 "first, and induction heads compose with them only after a plateau in the loss. We "
                 "find that the phase change coincides with a sharp improvement in in-context learning, "
                 "and that its timing scales predictably with model size."},
    {"arxiv_id": "2611.10006", "published": "2026-11-20T08:00:00Z",
     "title": "Ordinal Successor Heads in Gemma-2: A Circuit for Incrementing Sequences",
     "abstract": "We identify attention heads in Gemma-2-9B that increment ordinal tokens (first -> second, "
                 "Monday -> Tuesday). With path patching and the logit lens we show that these successor "
                 "heads read a mod-10 feature from the residual stream, and we find the same heads are "
                 "reused for months and numbers."},
    {"arxiv_id": "2611.10003", "published": "2026-11-18T12:00:00Z",
     "title": "Are Automated Feature Explanations Faithful? Stress-Testing Autointerp Scores for Sparse "
              "Autoencoder Features",
     "abstract": "Automated interpretability pipelines use a language model to explain sparse autoencoder "
                 "features and score the explanations by simulation. We evaluate the faithfulness of these "
                 "explanation scores on GPT-2 small and Gemma-2-2B SAEs and show that simulation scoring "
                 "rewards explanations of frequent tokens while missing the feature's causal effect. We "
                 "propose an intervention-based score and find that it correlates better with human ratings "
                 "of plausibility by annotators."},
    {"arxiv_id": "2611.10005", "published": "2026-11-19T15:00:00Z",
     "title": "Universal Arithmetic Circuits Across GPT-2, Pythia and OLMo",
     "abstract": "Do language models of different families implement addition the same way? Using path "
                 "patching and circuit discovery with ACDC, we recover the circuits for two-digit addition "
                 "in GPT-2, Pythia and OLMo models. We find that the circuits share the same components "
                 "across families: operand-mover attention heads and a set of MLP neurons that compute the "
                 "sum with trigonometric features, suggesting universality of arithmetic mechanisms."},
]

# The list as the maintainer has it: its own label spellings ("Zero-ablation", "Mean-ablation"), a
# 2-column Universality table and a 3-column table.
WEEK_LIST = """## Paper Collection
### Findings and Applications
#### Findings on circuits
##### Interpreting LM Behaviors
|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |
| :----- | :--------------: | :--------------: | :--------------: |
| [Listed A](https://arxiv.org/pdf/2601.90001) | Zero-ablation, Visualization | Faithfulness | A. |
| [Listed B](https://arxiv.org/pdf/2601.90002) | Zero-ablation | | B. |
| [Listed C](https://arxiv.org/pdf/2601.90003) | Zero-Ablation, Mean-ablation | | C. |

#### Findings on Universality
| Paper | TL;DR |
| :--- | :--- |
| [Listed D](https://arxiv.org/pdf/2601.90004) | D. |

#### Findings on Learning Dynamics
| Paper | Techniques | TL;DR |
| :--- | :---: | :--- |
| [Listed E](https://arxiv.org/pdf/2601.90005) | Visualization | E. |
"""


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, taxonomy: Taxonomy) -> tuple[EmbeddedStore, str]:
    """The week's papers and the listed papers, ingested after `since`."""
    store = taxonomy_store(tmp_path_factory.mktemp("week") / "paperkg.sqlite3")
    since = datetime.now(UTC).isoformat()
    records = [Record(source="arxiv", source_id=r["arxiv_id"], title=r["title"], abstract=r["abstract"],
                      arxiv_id=r["arxiv_id"], published=r["published"], categories=["cs.CL"]) for r in WEEK]
    run_ingest(store, [*records, *parse_list(WEEK_LIST, taxonomy).papers], source="arxiv",
               embedder=HashEmbedder(), extractor=Extractor(taxonomy), progress=False)
    return store, since


def test_week_rows_go_to_the_section_the_paper_is_about(week: tuple[EmbeddedStore, str],
                                                         taxonomy: Taxonomy) -> None:
    store, since = week
    rows = {r.paper_id: r for r in suggested_rows(store, since, taxonomy)}
    # Title and a claim are about learning dynamics; its heads tie with that only as components.
    assert rows["2611.10002"].section == "Findings on Learning Dynamics"
    assert "Learning Dynamics" in rows["2611.10002"].reason and "in passing" in rows["2611.10002"].reason
    # "Residual Stream" in the title is where the probes read, and probing is a feature technique.
    assert rows["2611.10007"].section == "Findings on Features"
    # A paper about heads, found with a circuit technique, still goes to the components section.
    assert rows["2611.10006"].section == "Findings on circuits / Interpreting Transformer Components"
    assert rows["2611.10005"].section == "Findings on Universality"
    markdown = list_rows_markdown(store, since, taxonomy)
    assert ('<!-- paperkg: "Induction Heads Form in Two Phases: A Learning-Dynamics Study of Pythia '
            'Checkpoints" in this section because the title and 1 claim sentence name Learning Dynamics; '
            in markdown)
    # The reason comments sit above the tables: the rows still parse back, one per paper.
    parsed = parse_list(markdown, taxonomy)
    assert parsed.unreadable_rows == [] and parsed.row_warnings == []
    assert sorted(r.url_in_list for r in parsed.rows) == sorted(f"https://arxiv.org/pdf/{r}" for r in rows)


def test_week_tldrs_are_claims_not_titles_or_dangling(week: tuple[EmbeddedStore, str],
                                                      taxonomy: Taxonomy) -> None:
    store, since = week
    rows = {r.paper_id: r for r in suggested_rows(store, since, taxonomy)}
    assert all(r.tldr != r.title for r in rows.values())
    assert rows["2611.10002"].tldr.startswith("Using zero-ablation and attention-pattern visualization at "
                                              "every checkpoint, we show that induction heads form")
    assert rows["2611.10006"].tldr.startswith("We identify attention heads in Gemma-2-9B")
    assert rows["2611.10007"].tldr.startswith("The probes decode the board state")
    # Its only claim opens "Applying it to ...": the sentence "it" refers to is the better TL;DR.
    assert rows["2611.10008"].tldr.startswith("We propose the latent language lens")
    # No claim the extractor recognises: the abstract's "... and show that" sentence, not its background.
    assert rows["2611.10003"].tldr.startswith("We evaluate the faithfulness of these explanation scores")


def test_week_rows_are_oldest_first(week: tuple[EmbeddedStore, str], taxonomy: Taxonomy) -> None:
    store, since = week
    ids = [r.paper_id for r in suggested_rows(store, since, taxonomy)]
    assert ids == [r["arxiv_id"] for r in sorted(WEEK, key=lambda r: r["published"])]


def test_labels_use_the_lists_own_spelling(week: tuple[EmbeddedStore, str], taxonomy: Taxonomy) -> None:
    store, since = week
    markdown = list_rows_markdown(store, since, taxonomy)
    (row,) = [r for r in suggested_rows(store, since, taxonomy) if r.paper_id == "2611.10002"]
    # The list writes "Zero-ablation" twice and "Zero-Ablation" once; the label map alone prefers
    # the Title Case one.
    assert "Zero-ablation" in row.techniques and "Zero-Ablation" not in markdown
    assert "Zero-ablation" in markdown
    (parsed,) = [r for r in parse_list(markdown, taxonomy).rows if "Two Phases" in r.title_in_list]
    assert parsed.technique_ids == row.technique_ids and "zero_ablation" in parsed.technique_ids


def test_rows_follow_the_column_layout_of_the_lists_table(week: tuple[EmbeddedStore, str],
                                                          taxonomy: Taxonomy) -> None:
    store, since = week
    markdown = list_rows_markdown(store, since, taxonomy, list_markdown=WEEK_LIST)
    lines = markdown.splitlines()
    universal = next(line for line in lines if "Arithmetic Circuits" in line and line.startswith("|"))
    assert universal.count(" | ") == 1 and universal.endswith("suggesting universality of arithmetic "
                                                              "mechanisms. |")
    assert "| Paper | TL;DR |" in lines
    dynamics = next(line for line in lines if "Two Phases" in line and line.startswith("|"))
    assert dynamics.count(" | ") == 2 and "Zero-ablation" in dynamics
    # Sections the list has no table for keep the 4-column table.
    assert "|  Paper  |      Techniques    |      Evaluation    |      TL;DR    |" in lines

    # Pasted into the list's own tables, the rows read back with their cells in place, no warning.
    pasted = WEEK_LIST.replace("| [Listed D](https://arxiv.org/pdf/2601.90004) | D. |\n",
                               f"| [Listed D](https://arxiv.org/pdf/2601.90004) | D. |\n{universal}\n")
    pasted = pasted.replace("| [Listed E](https://arxiv.org/pdf/2601.90005) | Visualization | E. |\n",
                            f"| [Listed E](https://arxiv.org/pdf/2601.90005) | Visualization | E. |\n"
                            f"{dynamics}\n")
    parsed = parse_list(pasted, taxonomy)
    assert parsed.row_warnings == [] and parsed.unknown_labels == []
    by_title = {r.title_in_list: r for r in parsed.rows}
    arithmetic = by_title["Universal Arithmetic Circuits Across GPT-2, Pythia and OLMo"]
    assert arithmetic.tldr and arithmetic.tldr.startswith("We find that the circuits share")
    assert arithmetic.extra == {}
    phases = by_title["Induction Heads Form in Two Phases: A Learning-Dynamics Study of Pythia Checkpoints"]
    assert "zero_ablation" in phases.technique_ids and phases.tldr and phases.tldr.startswith("Using")


def test_speller_prefers_the_lists_most_used_spelling_then_the_nodes_name(taxonomy: Taxonomy) -> None:
    def spelled(**counts: int) -> str | None:
        spellings = Counter({k.replace("_", "-"): v for k, v in counts.items()})
        usage = {("techniques", "zero_ablation"): spellings}
        return LabelSpeller(taxonomy, usage).label("zero_ablation", "techniques")

    assert spelled() == "Zero-Ablation"  # no list rows: the label map's Title Case spelling
    assert spelled(Zero_Knockout=2, Zero_ablation=1) == "Zero-Knockout"
    # The seed list writes each once: the one spelling the node's name ("Zero Ablation") wins.
    assert spelled(Zero_Knockout=1, Zero_ablation=1) == "Zero-ablation"


def test_a_paper_with_no_abstract_and_no_claims_gets_an_empty_tldr_not_its_title(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    # Before: with neither a claim nor an abstract the TL;DR cell repeated the title.
    store = _store_of_one_record(tmp_path, taxonomy, {
        "id": "bare-1", "title": "Sparse Autoencoders on GPT-2 Small", "authors": ["A. Author"], "year": 2026,
        "abstract": None, "url": "https://example.org/bare-1", "item_type": "paper"})
    try:
        (row,) = suggested_rows(store, "2000-01-01", taxonomy)
        assert row.title == "Sparse Autoencoders on GPT-2 Small" and row.tldr == ""
        markdown = list_rows_markdown(store, "2000-01-01", taxonomy)
    finally:
        store.close()
    # Paper | Techniques | Evaluation | TL;DR: the last two cells empty.
    assert "| [Sparse Autoencoders on GPT-2 Small](https://example.org/bare-1) | SAE |  |  |\n" in markdown
    parsed = parse_list(markdown, taxonomy)
    assert parsed.unreadable_rows == [] and parsed.row_warnings == []
    (listed,) = parsed.rows
    assert listed.title_in_list == "Sparse Autoencoders on GPT-2 Small"
    assert listed.url_in_list == "https://example.org/bare-1"
    assert listed.tldr is None  # the empty cell, read back as no TL;DR


def _store_of_one_record(tmp_path: Path, taxonomy: Taxonomy, record: dict[str, Any]) -> EmbeddedStore:
    """A new store holding one paper, ingested from a records file (the caller closes it)."""
    from ingest.records_file import read_records_file

    records = tmp_path / "papers.jsonl"
    records.write_text(json.dumps(record) + "\n", encoding="utf-8")
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    run_ingest(store, read_records_file(records).records, source="records", embedder=HashEmbedder(),
               extractor=Extractor(taxonomy), progress=False)
    return store


def test_a_tldr_from_the_abstract_is_not_cut_at_an_abbreviation(tmp_path: Path, taxonomy: Taxonomy) -> None:
    abstract = ("We study attention heads in small models, e.g. GPT-2 and Pythia, across many prompts and "
                "layers. Their roles vary across layers.")
    store = _store_of_one_record(tmp_path, taxonomy, {
        "id": "abbr-1", "title": "Heads in Small Models", "abstract": abstract, "year": 2026,
        "url": "https://example.org/abbr-1"})
    try:
        (row,) = suggested_rows(store, "2000-01-01", taxonomy)
    finally:
        store.close()
    # Before: "We study attention heads in small models, e.g." (split after "e.g.").
    assert row.tldr == abstract.split(" Their")[0]


# -- withdrawn papers ---------------------------------------------------------------------------------
WITHDRAWN_SENTENCES = [
    "This paper has been withdrawn by the authors due to an error in the experiments.",
    "This paper has been withdrawn by the author(s).",
    "This paper has been withdrawn by the author(s) due to a crucial error in Eq. 3. More text.",
    "This paper has been withdrawn.",
    "Withdrawn.", "withdrawn", "WITHDRAWN", "Withdrawn by the authors.", "[Withdrawn] The results are wrong.",
    "Withdrawn due to an error in Theorem 1.",
    "This submission has been withdrawn by arXiv administrators due to inappropriate text overlap.",
    "arXiv admin note: this version has been withdrawn by arXiv administrators because the submitter did "
    "not have the right to agree to the license.",
    "The authors have withdrawn this paper due to a crucial error in Section 3.",
    "The author has withdrawn this paper.",
    "We withdraw this paper because the main result is wrong.",
    "I hereby withdraw this manuscript.",
    "This version of the paper has been withdrawn; please see v1.",
    "This article has been temporarily withdrawn for revision.",
    "Paper withdrawn by the author.",
    "This manuscript was withdrawn due to an error.",
    "Due to an error in Lemma 2, this paper has been withdrawn.",
    "Due to an error in Lemma 2, withdrawn by the authors.",
    "This paper is being withdrawn because of an error in the proof of the main theorem.",
    "  The present paper is withdrawn: its claims do not hold.",
]
NOT_WITHDRAWN_SENTENCES = [
    "", None,
    "We study papers withdrawn by their authors from arXiv and how often they are still cited.",
    "Withdrawn papers keep being cited: we measure how often.",
    "This paper studies why preprints are withdrawn.",
    "We analyse 1,200 submissions withdrawn by the authors on OpenReview.",
    "We analyse preprints (withdrawn by the authors) and their citations.",
    "Retracted and withdrawn papers are a growing concern; we build a detector for them.",
    "Models that were withdrawn after deployment reveal failure modes of interpretability tools.",
    "We study how sparse autoencoders behave when features are withdrawn from the residual stream.",
    "This paper presents a method for withdrawing features from a model.",
    "Why do authors withdraw papers? We survey 500 arXiv withdrawals.",
    "We withdraw attention from distractor tokens to study induction heads.",
    # Only the first sentence is the notice's place: a later mention is not one.
    "We find that attention heads in GPT-2 implement induction. This paper has been withdrawn.",
]


@pytest.mark.parametrize("abstract", WITHDRAWN_SENTENCES)
def test_withdrawal_notices_are_recognised(abstract: str) -> None:
    assert is_withdrawn(abstract)


@pytest.mark.parametrize("abstract", NOT_WITHDRAWN_SENTENCES)
def test_papers_that_discuss_withdrawal_are_not_withdrawn(abstract: str | None) -> None:
    assert not is_withdrawn(abstract)


WITHDRAWN_ID = "2611.66601"
NOTICE = ("This paper has been withdrawn by the authors due to an error in the patching experiments "
          "of Section 4.")


@pytest.fixture
def with_withdrawn(data_dir: Path, taxonomy: Taxonomy) -> Iterator[EmbeddedStore]:
    """A store where an arXiv paper's v2 replaced its abstract by arXiv's withdrawal notice (an
    "updated" paper to the ingest), next to a paper about withdrawn papers, which is not withdrawn."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    kw = {"embedder": HashEmbedder(), "extractor": Extractor(taxonomy), "progress": False}
    v1 = Record(source="arxiv", source_id=WITHDRAWN_ID, arxiv_id=WITHDRAWN_ID, published="2026-11-20",
                title="Activation Patching Finds a Refusal Circuit in Llama",
                abstract="We use activation patching to find a circuit of attention heads that implements "
                         "refusal in Llama-2.")
    about = Record(source="arxiv", source_id="2611.66602", arxiv_id="2611.66602", published="2026-11-21",
                   title="Probing Models of Withdrawn Papers",
                   abstract="We train linear probes on papers withdrawn by their authors and show that "
                            "probes recover the reason for the withdrawal.")
    run_ingest(store, [v1, about], source="arxiv", **kw)
    summary = run_ingest(store, [replace(v1, abstract=NOTICE, updated="2026-11-25")], source="arxiv", **kw)
    assert summary.updated == 1
    yield store
    store.close()


def test_a_withdrawn_paper_gets_no_row_and_is_named(with_withdrawn: EmbeddedStore,
                                                     taxonomy: Taxonomy) -> None:
    """Before: the withdrawn v2 was suggested for the list with the notice as its TL;DR."""
    export = list_rows_export(with_withdrawn, "2000-01-01", taxonomy)
    assert export.withdrawn == [WITHDRAWN_ID]
    assert "withdrawn by the authors due to" not in export.markdown and WITHDRAWN_ID not in export.markdown
    assert [r.paper_id for r in suggested_rows(with_withdrawn, "2000-01-01", taxonomy)] == ["2611.66602"]
    assert list_rows_markdown(with_withdrawn, "2000-01-01", taxonomy) == export.markdown


def test_cli_export_names_skipped_withdrawn_papers_on_stderr(with_withdrawn: EmbeddedStore) -> None:
    from kg.cli import main

    with_withdrawn.close()  # the command opens the store file itself
    result = CliRunner().invoke(main, ["export", "list-rows", "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"skipped withdrawn paper {WITHDRAWN_ID}\n"
    assert "Probing Models of Withdrawn Papers" in result.stdout and WITHDRAWN_ID not in result.stdout


@pytest.mark.parametrize("abstract", [
    "We find that activation patching works via [this link](https://evil.example/phish).",
    "We find that activation patching works, ![a tracking image](https://evil.example/p.png) here.",
    "We find that activation patching works via [this link][ref].\n\n[ref]: https://evil.example/phish",
])
def test_links_and_images_in_the_tldr_are_written_as_text_as_in_titles(taxonomy: Taxonomy,
                                                                     abstract: str) -> None:
    """Security QA: a Markdown link in the abstract stayed a live link in the TL;DR cell of the PR row;
    both cells now go through one function, which escapes the brackets (text on GitHub, read back as
    written)."""
    title = "Heads [with a link](https://evil.example/t)"
    detail = _hostile_detail("linked", title=title, abstract=abstract, url="https://x.org/p")
    row = suggest_row(detail, taxonomy)
    assert "[" in row.tldr  # the TL;DR is the abstract's sentence, link and all
    markdown = render_rows([row], taxonomy)
    table = "\n".join(line for line in markdown.splitlines() if line.startswith("|"))
    assert "](https://evil" not in table and "[this link]" not in table and "![" not in table
    (line,) = [line for line in table.splitlines() if "evil.example" in line]
    assert "[Heads \\[with a link\\](https\\://evil.example/t)](https://x.org/p)" in line
    # Every "[" but the one opening the paper's own link is escaped: GitHub shows it as text.
    assert re.findall(r"(?<!\\)\[", line) == ["["] and line.startswith("| [Heads")
    (parsed,) = parse_list(markdown, taxonomy).rows
    assert parsed.title_in_list == title and parsed.tldr == " ".join(row.tldr.split())  # read back as written
    assert parsed.urls == ["https://x.org/p"]


def _five_new_papers(path: Path) -> EmbeddedStore:
    """A store with five new probing papers 2611.70000 .. 2611.70004, each stored after the one before
    (so the last is the newest), none of them in the list."""
    store = taxonomy_store(path)
    for i in range(5):  # one write each: first_seen, then the store's insertion order, says which is newer
        store.upsert_papers([PaperBundle(
            Paper(id=f"2611.7000{i}", arxiv_id=f"2611.7000{i}", title=f"Probes Find Syntax {i}",
                  abstract="We show that linear probes recover syntax."),
            techniques=[TechniqueUse("probing", "extracted")])])
    return store


def test_rows_come_from_the_newest_papers_and_the_export_counts_the_rest(tmp_path: Path,
                                                                         taxonomy: Taxonomy) -> None:
    """Before: rows stopped at the newest 1,000 papers of the period and nothing said so (the export
    had no count of the papers it did not look at, and no way to look at more)."""
    store = _five_new_papers(tmp_path / "paperkg.sqlite3")
    try:
        cut = list_rows_export(store, "2000-01-01", taxonomy, limit=3)
        whole = list_rows_export(store, "2000-01-01", taxonomy)
        newest = [r.paper_id for r in suggested_rows(store, "2000-01-01", taxonomy, limit=3)]
        with pytest.raises(ValueError, match="at least 1, not 0"):
            list_rows_export(store, "2000-01-01", taxonomy, limit=0)
    finally:
        store.close()
    assert (cut.considered, cut.total, cut.cut) == (3, 5, True)
    assert newest == ["2611.70002", "2611.70003", "2611.70004"]
    assert [r.url_in_list for r in parse_list(cut.markdown, taxonomy).rows] == [
        f"https://arxiv.org/pdf/{pid}" for pid in newest]
    assert (whole.considered, whole.total, whole.cut) == (5, 5, False)
    assert all(f"Probes Find Syntax {i}" in whole.markdown for i in range(5))


def test_cli_export_says_on_stderr_how_many_older_papers_it_did_not_look_at(data_dir: Path) -> None:
    from ingest.weekly_cli import list_rows_cmd
    from kg.cli import main

    _five_new_papers(data_dir / "paperkg.sqlite3").close()
    runner = CliRunner()
    cut = runner.invoke(main, ["export", "list-rows", "--since", "2000-01-01", "--limit", "3"])
    assert cut.exit_code == 0, cut.output
    assert cut.stderr == ("only the 3 newest of the 5 papers first seen since 2000-01-01 were looked at; "
                          "the 2 older were not (--limit 5 takes them all)\n")
    assert [f"Probes Find Syntax {i}" in cut.stdout for i in range(5)] == [False, False, True, True, True]
    whole = runner.invoke(main, ["export", "list-rows", "--since", "2000-01-01"])
    assert whole.exit_code == 0 and whole.stderr == ""
    assert all(f"Probes Find Syntax {i}" in whole.stdout for i in range(5))
    bad = runner.invoke(main, ["export", "list-rows", "--since", "2000-01-01", "--limit", "0"])
    assert bad.exit_code == 2
    assert "Error: Invalid value for '--limit': must be at least 1, not '0'" in bad.output
    assert next(p.default for p in list_rows_cmd.params if p.name == "limit") == ROW_LIMIT


# --- Another field's list: its own headings, never the MI list's ------------------------------------

SB_TAXONOMY = Path(__file__).parent / "data" / "sb_list_taxonomy.yaml"

# The other field's list: its findings sections at "## Findings" / "### ...", a Software table.
SB_LIST = """# Awesome Membrane Protein Structures

## Methods

| Paper | Techniques | Evaluation | TL;DR |
| :--- | :---: | :---: | :--- |
| [Single-particle cryo-EM at atomic resolution](https://arxiv.org/abs/2601.00001) | Cryo-EM | | A. |

## Findings

### Conformational Dynamics

| Paper | Techniques | Evaluation | TL;DR |
| :--- | :---: | :---: | :--- |
| [Gating of a voltage-gated potassium channel](https://arxiv.org/abs/2601.00005) | Cryo-EM | | B. |

### Ligands and Drugs

| Paper | Techniques | Evaluation | TL;DR |
| :--- | :---: | :---: | :--- |
| [Structural basis of drug binding to a transporter](https://arxiv.org/abs/2601.00007) | Docking | | C. |

## Software

| Name | Description |
| :--- | :--- |
| [RELION](https://github.com/3dem/relion) | Cryo-EM processing. |
"""

SB_WEEK = [
    ("2611.10001", "2026-11-16", "Cryo-EM structure of a mechanosensitive channel in lipid nanodiscs",
     "We present cryo-EM structures of the mechanosensitive channel MscS in lipid nanodiscs. We find "
     "that lipids occupy the pockets between transmembrane helices and that their removal triggers "
     "channel gating."),
    ("2611.10004", "2026-11-17", "Inhibitor binding to a sodium-coupled transporter",
     "We determine cryo-EM structures of a transporter with two inhibitors. We find that inhibitor binding "
     "locks the outward-facing state."),
    ("2611.10005", "2026-11-18",
     "Crystal structures of a bacterial ABC transporter reveal an allosteric site",
     "X-ray crystallography of an ABC transporter reveals an allosteric site that regulates ATP hydrolysis. "
     "Site-directed mutagenesis confirms the allosteric regulation."),
    ("2611.10008", "2026-11-19", "Protein language models pick particles for cryo-EM of membrane proteins",
     "We show that protein language models improve particle picking for cryo-EM of membrane proteins."),
]


@pytest.fixture(scope="module")
def sb_week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, str, Taxonomy]]:
    """A store of the other field: its taxonomy, its list's papers, and four new arXiv papers."""
    sb = load_taxonomy(SB_TAXONOMY)
    store = EmbeddedStore(tmp_path_factory.mktemp("sb") / "paperkg.sqlite3")
    store.init_schema()
    store.load_taxonomy(sb.nodes)
    extractor = Extractor(sb)
    run_ingest(store, parse_list(SB_LIST, sb).papers, source="list", embedder=HashEmbedder(),
               extractor=extractor, progress=False)
    since = datetime.now(UTC).isoformat()
    records = [Record(source="arxiv", source_id=pid, title=title, abstract=abstract, arxiv_id=pid,
                      published=published) for pid, published, title, abstract in SB_WEEK]
    run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor, progress=False)
    yield store, since, sb
    store.close()


def _heading_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("#")]


@pytest.mark.parametrize("with_list", [False, True], ids=["stored-rows", "list"])
def test_another_fields_rows_go_under_its_own_headings_and_parse_back(
    sb_week: tuple[EmbeddedStore, str, Taxonomy], with_list: bool
) -> None:
    """Before: the rows went under the MI list's "### Findings and Applications" / "#### Findings" /
    "##### Conformational Dynamics", and pasted into the list read back as a section under Software
    that no section key maps to a topic; `--list` changed nothing."""
    store, since, sb = sb_week
    markdown = list_rows_markdown(store, since, sb, list_markdown=SB_LIST if with_list else None)
    assert _heading_lines(markdown) == ["## Findings", "### Conformational Dynamics", "### Ligands and Drugs",
                                        "## Unsorted"]
    rows = {r.paper_id: r for r in suggested_rows(store, since, sb)}
    assert {pid: r.section for pid, r in rows.items()} == {
        "2611.10001": "Findings / Conformational Dynamics", "2611.10004": "Findings / Ligands and Drugs",
        "2611.10005": UNSORTED_SECTION, "2611.10008": UNSORTED_SECTION}
    # Pasted at the end of the list, each row reads back in the section it was suggested for, and the
    # sections of the list map to their topics again.
    parsed = parse_list(SB_LIST + "\n" + markdown, sb)
    assert parsed.unreadable_rows == [] and parsed.row_warnings == []
    by_url = {r.url_in_list: r for r in parsed.rows}
    paths = {pid: by_url[f"https://arxiv.org/pdf/{pid}"].section_path for pid in rows}
    assert paths == {"2611.10001": ["Findings", "Conformational Dynamics"],
                     "2611.10004": ["Findings", "Ligands and Drugs"],
                     "2611.10005": ["Unsorted"], "2611.10008": ["Unsorted"]}
    assert sb.section_topic_ids(paths["2611.10001"]) == ["conformational_change"]
    assert sb.section_topic_ids(paths["2611.10004"]) == ["drug_binding"]


def test_a_topic_without_a_list_section_is_named_as_such_not_as_no_topic(
    sb_week: tuple[EmbeddedStore, str, Taxonomy],
) -> None:
    """Before: "no finding names a topic" for a paper whose title finding names Allostery."""
    store, since, sb = sb_week
    rows = {r.paper_id: r for r in suggested_rows(store, since, sb)}
    assert rows["2611.10005"].reason.startswith("no topic with a list section (Allostery has none), and no "
                                                "technique decides: no section chosen")
    assert rows["2611.10008"].reason.startswith("no finding names a topic, and no technique decides")
    assert all(DEFAULT_SECTION not in r.reason and "default section" not in r.reason for r in rows.values())


def test_headings_take_the_depth_and_the_headings_above_that_the_list_uses(
    sb_week: tuple[EmbeddedStore, str, Taxonomy],
) -> None:
    """Before: the headings always started at ### with the MI list's "Findings and Applications"."""
    _store, _since, sb = sb_week
    # The whole list under one "## Papers" heading (the parser leaves it out of every path), the
    # findings one level deeper than in SB_LIST.
    deep = SB_LIST.replace("## ", "### ").replace("# Awesome Membrane Protein Structures",
                                                  "# Awesome Membrane Protein Structures\n\n## Papers")
    conformational = "Findings / Conformational Dynamics"
    assert ListHeadings(sb, deep).of(conformational) == [(3, "Findings"), (4, "Conformational Dynamics")]
    assert ListHeadings(sb, deep).of(UNSORTED_SECTION) == [(3, "Unsorted")]
    # A list writing the findings under a heading of its own: that heading comes along, from the list or
    # from the stored paths (which are the list's headings).
    nested = SB_LIST.replace("## Findings\n", "## Results\n\n### Findings\n").replace("### Con", "#### Con")
    nested = nested.replace("### Lig", "#### Lig")
    want = [(2, "Results"), (3, "Findings"), (4, "Conformational Dynamics")]
    assert ListHeadings(sb, nested).of(conformational) == want
    stored = sorted({tuple(r.section_path) for r in parse_list(nested, sb).rows})
    assert ListHeadings(sb, None, [list(p) for p in stored]).of(conformational) == want
    # Without the list or its rows: the section key's own headings, from ##.
    assert ListHeadings(sb).of(conformational) == [(2, "Findings"), (3, "Conformational Dynamics")]

    detail = PaperDetail(paper=Paper(id="2611.10001", title="Channel gating", arxiv_id="2611.10001"),
                         techniques=[], evaluations=[], models=[], list_rows=[],
                         findings=[Finding("t", "Channel gating", about=[FindingAbout("Topic", "gating")],
                                           kind="title")])
    for markdown in (deep, nested):
        row = suggest_row(detail, sb, headings=ListHeadings(sb, markdown))
        rendered = render_rows([row], sb)
        parsed = parse_list(markdown + "\n" + rendered, sb)
        (pasted,) = [r for r in parsed.rows if r.url_in_list == "https://arxiv.org/pdf/2611.10001"]
        (gating,) = [r for r in parse_list(markdown, sb).rows if "Gating of" in r.title_in_list]
        assert pasted.section_path == gating.section_path  # the section of the list's own gating paper
        assert sb.section_topic_ids(pasted.section_path) == ["conformational_change"]


def test_a_taxonomy_without_section_topics_sorts_no_row_into_an_mi_section(tmp_path: Path) -> None:
    """Before: every row went to "Findings on circuits / Interpreting LM Behaviors" under "### Findings and
    Applications", the MI list's largest section, and a technique with an MI technique's id ("knockout")
    was taken for a circuit technique."""
    path = tmp_path / "min.yaml"
    path.write_text("techniques:\n  - {id: cryo_em, label: Cryo-EM, aliases: [cryo-EM]}\n"
                    "  - {id: knockout, label: Gene knockout, aliases: [gene knockout]}\n"
                    "findings:\n  - {id: gating, label: Channel gating, aliases: [channel gating]}\n"
                    "list_label_map:\n  sections:\n    \"Methods\": null\n", encoding="utf-8")
    small = load_taxonomy(path)
    detail = PaperDetail(paper=Paper(id="2611.1", title="Gating", arxiv_id="2611.1"),
                         techniques=[TechniqueUse("knockout", "extracted")], evaluations=[], models=[],
                         list_rows=[], findings=[Finding("c", "Channel gating.",
                                                         about=[FindingAbout("Topic", "gating")])])
    section, reason = section_choice(detail, small)
    assert section == UNSORTED_SECTION
    assert reason == ("no topic with a list section (Channel gating has none), and no technique decides: "
                      "no section chosen (move the row to its section by hand)")
    markdown = render_rows([suggest_row(detail, small)], small)
    assert _heading_lines(markdown) == ["## Unsorted"]
    assert "Findings and Applications" not in markdown and "Interpreting LM Behaviors" not in markdown


@pytest.fixture(scope="module")
def seed_week(tmp_path_factory: pytest.TempPathFactory, taxonomy: Taxonomy,
              seed_list: str) -> tuple[EmbeddedStore, str]:
    """The MI seed list's papers, then the week's papers and the relevance set's, first seen after `since`."""
    store = taxonomy_store(tmp_path_factory.mktemp("seed") / "paperkg.sqlite3")
    run_ingest(store, parse_list(seed_list, taxonomy).papers, source="list", embedder=HashEmbedder(),
               extractor=Extractor(taxonomy), progress=False)
    since = datetime.now(UTC).isoformat()
    records = [Record(source="arxiv", source_id=r["arxiv_id"], title=r["title"], abstract=r["abstract"],
                      arxiv_id=r["arxiv_id"], published=r["published"], categories=["cs.CL"]) for r in WEEK]
    run_ingest(store, [*records, *mi_records()], source="arxiv", embedder=HashEmbedder(),
               extractor=Extractor(taxonomy), progress=False)
    return store, since


MI_HEADINGS = ["### Findings and Applications", "#### Findings on Features", "#### Findings on circuits",
               "##### Interpreting LM Behaviors", "##### Interpreting Transformer Components",
               "#### Findings on Universality", "#### Findings on Model Capabilities",
               "#### Findings on Learning Dynamics", "#### Applications of MI"]


def test_mi_rows_keep_the_seed_lists_headings(seed_week: tuple[EmbeddedStore, str], taxonomy: Taxonomy,
                                              seed_list: str) -> None:
    """Pins the MI output: the seed list's headings at its levels, from the stored rows, from the list's
    markdown and from neither; pasted at the end of the seed list, each row reads back in one of the
    seed list's own sections."""
    store, since = seed_week
    stored = list_rows_markdown(store, since, taxonomy)
    from_list = list_rows_markdown(store, since, taxonomy, list_markdown=seed_list)
    rows = suggested_rows(store, since, taxonomy)
    assert _heading_lines(stored) == _heading_lines(from_list) == MI_HEADINGS
    bare = render_rows([replace(r, headings=ListHeadings(taxonomy).of(r.section)) for r in rows], taxonomy)
    assert bare == stored
    # The same headings and reasons in the same order; only the tables follow the seed list's columns.
    assert [line for line in stored.splitlines() if not line.startswith("|")] == [
        line for line in from_list.splitlines() if not line.startswith("|")]
    seed_paths = {tuple(r.section_path) for r in parse_list(seed_list, taxonomy).rows}
    parsed = parse_list(seed_list + "\n" + stored, taxonomy)
    by_url = {r.url_in_list: r for r in parsed.rows}
    for row in rows:
        path = by_url[f"https://arxiv.org/pdf/{row.paper_id}"].section_path
        assert tuple(path) in seed_paths and path == row.section_path
        assert taxonomy.section_topic_ids(path) == [taxonomy.section_topics[row.section]]
