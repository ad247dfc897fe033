"""A shortened evidence quote ends with the ellipsis character the search snippets use ("…"), not three
full stops (QA: technique pages cut evidence off with "...", search rows with "…")."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from kg.embedded import EmbeddedStore

_QUOTE = re.compile(r'<q class="evidence(?:-inline)?" title="[^"]*"><bdi>(.*?)</bdi></q>', re.S)


def test_shortened_evidence_ends_with_one_ellipsis_character(client: FlaskClient, seed_store: EmbeddedStore
                                                             ) -> None:
    quotes: list[str] = []
    for node in ("activation_patching", "probing", "sae", "logit_lens", "circuits", "lm_components"):
        quotes += _QUOTE.findall(client.get(f"/techniques/{node}?limit=100").get_data(as_text=True))
    for paper in seed_store.paper_ids():
        quotes += _QUOTE.findall(client.get(f"/papers/{paper}").get_data(as_text=True))
    assert quotes
    assert not [q for q in quotes if q.endswith("...")]
    assert [q for q in quotes if q.endswith("…")], "no quote was long enough to be shortened"
