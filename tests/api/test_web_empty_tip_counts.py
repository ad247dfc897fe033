"""An empty page's tip count with a query says what it counts: the papers the other filters pass, which
the query's words may not be in (review: "Remove the year filter (12 papers pass the others)" read as
a promise of 12 results, while the linked search, words and all, can come back empty)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask.testing import FlaskClient

from tests.api.test_web import page
from tests.api.test_web_empty_tips import empty_tips, total

MODEL_TAIL = ": a paper counts for a model only where its abstract names it."


def test_with_a_query_the_count_is_the_other_filters_and_words_may_match_none(client: FlaskClient) -> None:
    tips = empty_tips(page(client, "/search?q=zqxjv&mode=keyword&technique=sae&topic=features&model=pythia"))
    assert tips == [("/search?q=zqxjv&mode=keyword&technique=sae&topic=features",
                     "Remove the model filter (2 papers pass the other filters; your words may match none of "
                     "them)" + MODEL_TAIL)]
    href = tips[0][0]
    assert href is not None
    # What the wording warns of: the other filters pass 2 papers, the words none of them.
    assert total(client, "/search?" + "&".join(p for p in urlsplit(href).query.split("&")
                                               if not p.startswith(("q=", "mode=")))) == 2
    assert total(client, href) == 0


def test_one_paper_passes_and_the_words_may_not_match_it(client: FlaskClient) -> None:
    tips = empty_tips(page(client, "/search?q=zqxjv&section=tools&technique=sae"))
    assert ("/search?q=zqxjv&section=tools",
            "Remove the technique filter (1 paper passes the other filters; your words may not match it)."
            ) in tips


def test_without_a_query_the_count_is_the_papers_the_link_finds(client: FlaskClient) -> None:
    tips = empty_tips(page(client, "/search?section=tools&technique=sae"))
    assert tips == [("/search?section=tools", "Remove the technique filter (1 paper)."),
                    ("/search?technique=sae", "Remove the list section filter “Tools” (2 papers).")]
    assert [total(client, h) for h, _ in tips if h] == [1, 2]
