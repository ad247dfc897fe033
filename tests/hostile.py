"""One paper whose every displayed field carries HTML/JS payloads, for the escaping tests."""

from __future__ import annotations

from typing import Any

from kg.entities import Finding, FindingAbout, ListRow, Paper, PaperBundle, TechniqueUse

HOSTILE_ID = "xss-hostile-paper"


def hostile_bundle(embedder: Any, script: str, img: str, url: str) -> PaperBundle:
    """The hostile paper (it uses activation patching) embedded by `embedder`; `url` is a javascript: link."""
    title = f"Activation patching of attention heads {script} and {img}"
    abstract = (f"We apply activation patching to attention heads in GPT-2 {script}. "
                f"The circuit is found by path patching {img}. Heads matter.")
    paper = Paper(
        id=HOSTILE_ID, title=title, abstract=abstract, authors=[f"Mallory {script}", f"Eve {img}"],
        year=2024, published="2024-05-01", venue=f"Venue {img}", url=url, pdf_url=url,
        sources=["records"], embedding=embedder.encode_query(f"{title} {abstract}"),
        embedding_model=embedder.model_name,
    )
    return PaperBundle(
        paper=paper,
        techniques=[TechniqueUse("activation_patching", "extracted", evidence=f"patching {script}"),
                    TechniqueUse("cma", "list", evidence=img)],
        findings=[Finding(id=f"{HOSTILE_ID}-f1", text=f"Heads compose {script}",
                          about=[FindingAbout("Topic", "lm_components")])],
        list_rows=[ListRow(section_id="techniques", section_title="Techniques", section_path=["Techniques"],
                           tldr=f"TLDR {img}", techniques_text=script, title_in_list=title)],
    )
