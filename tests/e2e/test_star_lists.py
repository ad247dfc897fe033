"""Stars that follow a paper's id change, For you's BibTeX and share link, the paper page's longer related
list: real headless Chromium against a real server (the real model's embeddings)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from werkzeug.serving import WSGIRequestHandler

from kg.entities import Paper, PaperBundle, TechniqueUse
from tests.e2e.conftest import IMG, SCRIPT, open_page, serving, wait
from tests.seed_store import taxonomy_store

pytestmark = [pytest.mark.browser, pytest.mark.model]

SLUG, MOVED = "math-framework", "2112.99999"
FRAMEWORK = "A Mathematical Framework for Transformer Circuits"
OTHER, OTHER_TITLE = "2211.00593", "Interpretability in the Wild: a Circuit for IOI"
HOSTILE = "xss-star-paper"
HOSTILE_TITLE = f"Probing heads {SCRIPT} {IMG}"
IOI_ID = "2211.00593"  # of the seed corpus (live_server)

def stored_ids(driver: WebDriver) -> list[str]:
    """The ids of the stars in this origin's localStorage, in order."""
    return list(driver.execute_script(
        "return JSON.parse(localStorage.getItem('paperkg.stars') || '[]').map(s => s.id)"))


def put_stars(driver: WebDriver, base: str, stars: list[dict[str, str]]) -> None:
    """Exactly these stars in the origin of `base` (set from its About page)."""
    open_page(driver, base + "/about")
    driver.execute_script("localStorage.setItem('paperkg.stars', JSON.stringify(arguments[0]))", stars)


@pytest.fixture(scope="module")
def moved_server(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[str]:
    """A real server over a store where `math-framework` came back as 2112.99999 (a records import
    replaced the slug by its arXiv id: the old URL is a 301 to the new one), with a hostile title."""
    from api.app import create_app

    store = taxonomy_store(tmp_path_factory.mktemp("e2e-moved") / "paperkg.sqlite3")

    def bundle(pid: str, title: str, **kw: Any) -> PaperBundle:
        text = f"{title}. We study attention heads of small transformers with linear probes."
        return PaperBundle(Paper(id=pid, title=title, abstract=text, authors=["Nelson Elhage"], year=2021,
                                 embedding=real_embedder.encode([text])[0], **kw),
                           techniques=[TechniqueUse("probing", "extracted")])

    store.upsert_papers([bundle(SLUG, FRAMEWORK), bundle(OTHER, OTHER_TITLE, arxiv_id=OTHER),
                         bundle(HOSTILE, HOSTILE_TITLE), bundle("third-paper", "Induction heads in context")])
    store.upsert_papers([PaperBundle(bundle(MOVED, FRAMEWORK, arxiv_id=MOVED).paper,
                                     techniques=[TechniqueUse("probing", "extracted")], replaces=[SLUG])])
    try:
        with serving(create_app({"STORE": store, "EMBEDDER": real_embedder}), "e2e-moved-server") as base:
            yield base
    finally:
        store.close()


def star_button(driver: WebDriver) -> Any:
    """The paper page's own star (beside its title)."""
    return driver.find_element(By.CSS_SELECTOR, ".title-row [data-star]")


def test_a_star_saved_under_the_former_id_is_the_papers_star(browser: WebDriver, moved_server: str) -> None:
    """QA: the star saved as math-framework showed ☆ on 2112.99999's page, and a click added a second."""
    put_stars(browser, moved_server, [{"id": SLUG, "title": FRAMEWORK, "at": "2026-11-01T00:00:00Z"},
                                      {"id": OTHER, "title": "IOI", "at": "2026-11-01T00:00:01Z"}])
    open_page(browser, f"{moved_server}/papers/{MOVED}")
    button = star_button(browser)
    assert button.get_attribute("data-star") == MOVED
    wait(browser).until(lambda d: star_button(d).get_attribute("aria-pressed") == "true")
    assert button.text == "★"
    # The entry now names the current id, where it was (one entry, the date kept).
    assert stored_ids(browser) == [MOVED, OTHER]
    assert browser.execute_script("return JSON.parse(localStorage.getItem('paperkg.stars'))[0].at") == \
        "2026-11-01T00:00:00Z"
    button.click()  # unstar: the paper's entry goes, whatever id it was saved under
    wait(browser).until(lambda d: star_button(d).get_attribute("aria-pressed") == "false")
    assert stored_ids(browser) == [OTHER]
    button.click()
    wait(browser).until(lambda d: star_button(d).get_attribute("aria-pressed") == "true")
    assert stored_ids(browser) == [OTHER, MOVED]
    browser.execute_script("localStorage.clear()")


def test_unstarring_before_the_rewrite_still_leaves_one_entry_at_most(browser: WebDriver,
                                                                     moved_server: str) -> None:
    """Both ids stored (the old star, and the second one the QA tester added): one entry stays."""
    put_stars(browser, moved_server, [{"id": SLUG, "title": FRAMEWORK}, {"id": MOVED, "title": FRAMEWORK}])
    open_page(browser, f"{moved_server}/papers/{MOVED}")
    wait(browser).until(lambda d: stored_ids(d) == [MOVED])
    assert star_button(browser).get_attribute("aria-pressed") == "true"
    star_button(browser).click()
    wait(browser).until(lambda d: stored_ids(d) == [])
    browser.execute_script("localStorage.clear()")


def test_for_you_rewrites_former_ids_and_drops_duplicates(browser: WebDriver, moved_server: str) -> None:
    """QA: For you showed "Starred 3" with the paper twice."""
    put_stars(browser, moved_server, [{"id": SLUG, "title": FRAMEWORK}, {"id": OTHER, "title": "IOI"},
                                      {"id": MOVED, "title": FRAMEWORK}])
    open_page(browser, f"{moved_server}/for-you")
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "2")
    assert stored_ids(browser) == [MOVED, OTHER]
    titles = browser.find_elements(By.CSS_SELECTOR, "[data-starred-list] li > a")
    links = [a.get_attribute("href") for a in titles]
    assert links == [f"{moved_server}/papers/{MOVED}", f"{moved_server}/papers/{OTHER}"]
    status = browser.find_element(By.CSS_SELECTOR, "[data-rec-status]")
    wait(browser).until(lambda d: "recommendation" in status.text)
    recommended = [b.get_attribute("data-star")
                   for b in browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] [data-star]")]
    assert MOVED not in recommended and SLUG not in recommended and OTHER not in recommended
    browser.execute_script("localStorage.clear()")


def fetch_text(url: str) -> tuple[int, str]:
    """GET `url` (the local server): status and body."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.read().decode("utf-8")


def bib_keys(text: str) -> list[str]:
    """The citation keys of a BibTeX text."""
    return re.findall(r"^@\w+\{([^,]+),", text, flags=re.MULTILINE)


# What the download link saves: the Blob it makes (headless Chromium's downloads are not read back here),
# and what the copy button copies.
CAPTURE = """
window.__saved = null; window.__savedName = null; window.__copied = null;
var made = URL.createObjectURL;
URL.createObjectURL = function (blob) {
  blob.text().then(function (t) { window.__saved = t; });
  return made.call(URL, blob);
};
document.addEventListener("click", function (ev) {
  if (ev.target.href && ev.target.href.indexOf("blob:") === 0) {
    window.__savedName = ev.target.download; ev.preventDefault();
  }
}, true);
window.paperkgStars.copy = function (t) { window.__copied = t; };
"""


def saved_bibtex(driver: WebDriver) -> tuple[str, str]:
    """Click For you's download link and its copy button: (the file saved, the text copied)."""
    driver.execute_script(CAPTURE)
    driver.find_element(By.CSS_SELECTOR, "[data-stars-bibtex]").click()
    wait(driver).until(lambda d: d.execute_script("return window.__saved") is not None)
    assert driver.execute_script("return window.__savedName") == "starred.bib"
    driver.find_element(By.CSS_SELECTOR, "[data-stars-bibtex-copy]").click()
    wait(driver).until(lambda d: d.execute_script("return window.__copied") is not None)
    return driver.execute_script("return window.__saved"), driver.execute_script("return window.__copied")


def test_for_you_downloads_the_bibtex_of_the_stars(browser: WebDriver, moved_server: str) -> None:
    put_stars(browser, moved_server, [{"id": SLUG, "title": FRAMEWORK},
                                      {"id": HOSTILE, "title": HOSTILE_TITLE},
                                      {"id": "gone-from-graph", "title": "Gone"}])
    open_page(browser, f"{moved_server}/for-you")
    link = browser.find_element(By.CSS_SELECTOR, "[data-stars-bibtex]")
    note = browser.find_element(By.CSS_SELECTOR, "[data-stars-bibtex-note]")
    wait(browser).until(lambda d: link.is_displayed() and note.is_displayed())
    assert link.get_attribute("download") == "starred.bib"
    assert browser.find_element(By.CSS_SELECTOR, "[data-stars-bibtex-copy]").is_displayed()
    assert "no longer in the graph" in note.text
    text, copied = saved_bibtex(browser)
    # The moved paper under its current id, the hostile one, not the gone one: two unique keys.
    assert copied == text and len(bib_keys(text)) == 2 and len(set(bib_keys(text))) == 2
    assert MOVED in text and "gone-from-graph" not in text
    assert browser.execute_script("return window.__xss") is None
    browser.execute_script("localStorage.clear()")


def other_origin(base: str) -> str:
    """The same server under another origin (localhost for 127.0.0.1): its localStorage is its own."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, f"localhost:{parts.port}", "", "", ""))


def test_share_link_offers_the_stars_in_another_origin_and_never_replaces(
    browser: WebDriver, moved_server: str
) -> None:
    """QA: stars are per origin (127.0.0.1 vs localhost, another port): the list could not be moved."""
    put_stars(browser, moved_server, [{"id": SLUG, "title": FRAMEWORK},
                                      {"id": HOSTILE, "title": HOSTILE_TITLE}])
    open_page(browser, f"{moved_server}/for-you")
    box = browser.find_element(By.CSS_SELECTOR, "[data-stars-link]")
    wait(browser).until(lambda d: f"#stars={MOVED}," in (box.get_attribute("value") or ""))
    link = box.get_attribute("value")
    # In the fragment: never sent to the server (no request line to outgrow, no access-log entry).
    assert link == f"{moved_server}/for-you#stars={MOVED},{HOSTILE}"
    browser.execute_script("localStorage.clear()")

    there = other_origin(moved_server)
    put_stars(browser, there, [{"id": "third-paper", "title": "Induction heads in context"},
                               {"id": MOVED, "title": FRAMEWORK}])
    # The link as the other browser gets it, plus an id the graph lacks and markup as an id.
    open_page(browser, link.replace(moved_server, there) + ",not-here," + "%3Cimg%20src%3Dx%20onerror%3D"
              "%22window.__xss%3D9%22%3E")
    offer = browser.find_element(By.CSS_SELECTOR, "[data-stars-import]")
    wait(browser).until(lambda d: offer.is_displayed())
    assert "4 papers" in offer.text and "1 of them is not in your stars yet" in offer.text
    items = [li.text for li in offer.find_elements(By.CSS_SELECTOR, "[data-import-list] li")]
    assert items[0].startswith("Probing heads <script>") and HOSTILE in items[0]
    assert any("not-here" in i and "not in this graph" in i for i in items)
    assert any('<img src=x onerror="window.__xss=9">' in i for i in items)
    # Nothing is added until asked.
    assert stored_ids(browser) == ["third-paper", MOVED]
    add = browser.find_element(By.CSS_SELECTOR, "[data-import-add]")
    assert add.text == "Add it to my stars"
    add.click()
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "3")
    assert stored_ids(browser) == ["third-paper", MOVED, HOSTILE]
    assert not offer.is_displayed() and "stars=" not in browser.current_url
    assert browser.execute_script("return window.__xss") is None
    # Dismissing adds nothing; a link of the older ?stars= form is still offered.
    open_page(browser, f"{there}/for-you?stars=other-paper-none,{OTHER}")
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-stars-import]").is_displayed())
    browser.find_element(By.CSS_SELECTOR, "[data-import-dismiss]").click()
    assert stored_ids(browser) == ["third-paper", MOVED, HOSTILE]
    assert "stars=" not in browser.current_url
    browser.execute_script("localStorage.clear()")


def test_an_id_the_api_refuses_neither_breaks_for_you_nor_is_offered(browser: WebDriver,
                                                                      moved_server: str) -> None:
    """QA: a share link holding a NUL id ("%00x"), once added, made every resolve and recommend request a 400
    ("ids must not contain NUL characters"): For you showed no recommendations until that star was found."""
    put_stars(browser, moved_server, [{"id": "\x00x", "title": "x"}, {"id": OTHER, "title": "IOI"}])
    open_page(browser, f"{moved_server}/for-you#stars={MOVED},%00y")
    status = browser.find_element(By.CSS_SELECTOR, "[data-rec-status]")
    wait(browser).until(lambda d: "recommendation" in status.text)
    assert "Could not" not in status.text and browser.find_elements(By.CSS_SELECTOR, "[data-rec-list] li")
    assert browser.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "1"
    offer = browser.find_element(By.CSS_SELECTOR, "[data-stars-import]")
    wait(browser).until(lambda d: offer.is_displayed())
    items = [li.text for li in offer.find_elements(By.CSS_SELECTOR, "[data-import-list] li")]
    # The paper is offered under its title; the refused id is named as not in this graph.
    assert items[0].startswith(FRAMEWORK) and "\x00y (not in this graph: left out)" in items, items
    browser.find_element(By.CSS_SELECTOR, "[data-import-add]").click()
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "2")
    wait(browser).until(lambda d: "recommendation" in status.text and "Could not" not in status.text)
    browser.execute_script("localStorage.clear()")


# gunicorn's limit_request_line (api/gunicorn_conf.py): a longer request line is a 414 and an HTML page.
REQUEST_LINE_LIMIT = 8190
OLD_STYLE = "hep-th/9901001"  # an arXiv id with a "/"


class GunicornLimitHandler(WSGIRequestHandler):
    """werkzeug's handler, refusing a request line past gunicorn's limit as gunicorn does (414)."""

    def parse_request(self) -> bool:
        """The 414 before anything else is read."""
        if len(self.raw_requestline.rstrip(b"\r\n")) > REQUEST_LINE_LIMIT:
            self.requestline, self.request_version, self.command = "", "HTTP/1.1", "GET"
            self.send_error(414)
            return False
        return bool(super().parse_request())


def long_id(i: int) -> str:
    """A slug id of 80 characters, the longest slugs are."""
    return f"a-long-reading-list-paper-{i:03d}-".ljust(80, "x")


@pytest.fixture(scope="module")
def long_list_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server, with gunicorn's request line limit, over 200 papers: 199 of 80-character ids and an
    old-style arXiv id (hash embeddings: the test is about URLs, not ranking)."""
    from api.app import create_app
    from tests.embedders import HashEmbedder

    store = taxonomy_store(tmp_path_factory.mktemp("e2e-long") / "paperkg.sqlite3")
    emb = HashEmbedder()
    ids = [OLD_STYLE] + [long_id(i) for i in range(199)]
    store.upsert_papers([PaperBundle(Paper(id=pid, title=f"Reading list paper {n}", authors=["Ada Lovelace"],
                                           year=2020, embedding=emb.encode([f"paper {n}"])[0],
                                           **({"arxiv_id": pid} if pid == OLD_STYLE else {})))
                         for n, pid in enumerate(ids)])
    try:
        with serving(create_app({"STORE": store, "EMBEDDER": emb}), "e2e-long-server",
                     GunicornLimitHandler) as base:
            yield base
    finally:
        store.close()


def test_the_server_refuses_a_request_line_past_the_limit(long_list_server: str) -> None:
    """The 414 the long-list test relies on: what gunicorn answers a GET /api/bibtex of 200 long ids."""
    query = "&".join(f"id={long_id(i)}" for i in range(199))
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch_text(f"{long_list_server}/api/bibtex?{query}")
    assert refused.value.code == 414


def test_for_you_bibtex_and_share_link_of_200_long_ids(browser: WebDriver, long_list_server: str) -> None:
    """QA: under gunicorn 200 stars of 80-character ids made the download a 414 (saved as starred.bib)
    and the share link one too: the BibTeX is posted, the share list is in the fragment."""
    ids = [OLD_STYLE] + [long_id(i) for i in range(199)]
    put_stars(browser, long_list_server, [{"id": i, "title": i} for i in ids])
    open_page(browser, f"{long_list_server}/for-you")
    link = browser.find_element(By.CSS_SELECTOR, "[data-stars-bibtex]")
    wait(browser).until(lambda d: link.is_displayed())
    assert len(link.get_attribute("href") or "") < REQUEST_LINE_LIMIT
    text, copied = saved_bibtex(browser)
    assert len(bib_keys(text)) == 200 and len(set(bib_keys(text))) == 200 and copied == text
    assert "eprint = {hep-th/9901001}" in text
    share = browser.find_element(By.CSS_SELECTOR, "[data-stars-link]").get_attribute("value") or ""
    sent, _, fragment = share.partition("#")
    assert sent == f"{long_list_server}/for-you" and fragment.startswith("stars=hep-th%2F9901001,")
    browser.execute_script("localStorage.clear()")

    # Opened in another origin: all 200 offered (the "/" id among them), and added.
    there = other_origin(long_list_server)
    put_stars(browser, there, [])
    open_page(browser, share.replace(long_list_server, there))
    offer = browser.find_element(By.CSS_SELECTOR, "[data-stars-import]")
    wait(browser).until(lambda d: offer.is_displayed())
    assert "A shared list of 200 papers: 200 of them are not in your stars yet." in offer.text
    browser.find_element(By.CSS_SELECTOR, "[data-import-add]").click()
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-count]").text == "200")
    assert stored_ids(browser) == ids
    assert "stars=" not in browser.current_url
    browser.execute_script("localStorage.clear()")


def test_copy_ids_is_one_id_a_line(browser: WebDriver, moved_server: str) -> None:
    put_stars(browser, moved_server, [{"id": MOVED, "title": FRAMEWORK}, {"id": OTHER, "title": "IOI"}])
    open_page(browser, f"{moved_server}/for-you")
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-starred-tools]").is_displayed())
    # What the copy puts on the clipboard (the clipboard of headless Chromium is not read back here).
    browser.execute_script("window.__copied = null; "
                           "window.paperkgStars.copy = function (t) { window.__copied = t; };")
    browser.find_element(By.CSS_SELECTOR, "[data-share] summary").click()
    browser.find_element(By.CSS_SELECTOR, "[data-copy-stars-ids]").click()
    assert browser.execute_script("return window.__copied") == f"{MOVED}\n{OTHER}\n"
    browser.execute_script("localStorage.clear()")


def related_ids(driver: WebDriver) -> list[str]:
    """The ids of the related papers listed."""
    rows = driver.find_elements(By.CSS_SELECTOR, "ol.related > li")
    return [li.get_attribute("data-paper-id") for li in rows]


@pytest.mark.parametrize("javascript", [True, False])
def test_more_related_papers_and_their_bibtex(browser: WebDriver, no_js_browser: WebDriver, live_server: str,
                                              javascript: bool) -> None:
    """QA: a fixed 8 related papers, no "more", no way to export them (and without JavaScript too)."""
    driver = browser if javascript else no_js_browser
    open_page(driver, f"{live_server}/papers/{IOI_ID}")
    first = related_ids(driver)
    assert len(first) == 8
    more = driver.find_element(By.CSS_SELECTOR, "[data-related-more]")
    assert more.text == "more related papers (top 20)"
    more.click()
    wait(driver).until(lambda d: "related=20" in d.current_url)
    top = related_ids(driver)
    assert len(top) == 20 and top[:8] == first
    assert "top 20" in driver.find_element(By.CSS_SELECTOR, "#related h2").text
    assert driver.find_element(By.CSS_SELECTOR, "[data-related-fewer]").is_displayed()
    bib = driver.find_element(By.CSS_SELECTOR, "[data-related-bibtex]")
    assert bib.text == "BibTeX of these 20"
    status, text = fetch_text(bib.get_attribute("href"))
    assert status == 200 and len(bib_keys(text)) == 20 and len(set(bib_keys(text))) == 20
