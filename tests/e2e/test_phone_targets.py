"""Form fields and star buttons on a phone-wide screen, in real headless Chromium (QA mobile pass: iOS
Safari zooms into a field whose text is under 16 px when it gets the focus, and the star glyph was a
17 px target), and the desktop sizes left as they were."""

from __future__ import annotations

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.test_browser import IOI_ID, open_page, result_ids, screen_width, wait

pytestmark = [pytest.mark.browser, pytest.mark.model]

# Text a user types or picks: the fields iOS zooms into (checkboxes and radios hold no text).
FIELDS = ('input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit]), '
          'select, textarea')

FIELD_SIZES = (
    "return [...document.querySelectorAll(arguments[0])]"
    ".filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')"
    ".map(e => [e.id || e.name, parseFloat(getComputedStyle(e).fontSize)]);")

# For each visible star: the width and height of the area where a tap lands on it (hit-tested pixel by pixel
# over 49 x 49 px around it), its drawn box, and the other targets whose box that area reaches into.
STAR_HITS = """
const targets = [...document.querySelectorAll('a[href], button, select, input, summary')];
return [...document.querySelectorAll('button.star')].filter(s => s.getClientRects().length > 0).map(star => {
  star.scrollIntoView({block: 'center'});
  const box = star.getBoundingClientRect();
  const cx = Math.round(box.left + box.width / 2), cy = Math.round(box.top + box.height / 2);
  let left = Infinity, right = -Infinity, top = Infinity, bottom = -Infinity;
  const taken = new Set();
  // Only the targets whose box reaches into the area, measured once (rows link every author: a few
  // hundred targets a page, measured at each of 2,401 pixels, ran past the script timeout).
  const near = targets.filter(t => t !== star).map(t => [t, t.getBoundingClientRect()])
    .filter(([, r]) => r.width && r.right > cx - 24 && r.left <= cx + 24
                       && r.bottom > cy - 24 && r.top <= cy + 24);
  for (let x = cx - 24; x <= cx + 24; x++) {
    for (let y = cy - 24; y <= cy + 24; y++) {
      if (document.elementFromPoint(x, y) !== star) continue;
      left = Math.min(left, x); right = Math.max(right, x);
      top = Math.min(top, y); bottom = Math.max(bottom, y);
      for (const [t, r] of near) {
        if (x >= r.left && x < r.right && y >= r.top && y < r.bottom) {
          taken.add(t.tagName + ' ' + (t.textContent || '').trim().slice(0, 30));
        }
      }
    }
  }
  return {star: star.getAttribute('data-star'), hit: [right - left + 1, bottom - top + 1],
          box: [box.width, box.height], taken: [...taken]};
});
"""

PAGES = ["/", "/search?q=induction+heads", f"/papers/{IOI_ID}", "/techniques/activation_patching", "/new",
         "/about"]


def test_fields_are_16_px_and_stars_32_px_on_a_phone(browser: WebDriver, live_server: str) -> None:
    fields = stars = 0
    with screen_width(browser, 360):
        for path in PAGES:
            open_page(browser, live_server + path)
            if path.startswith("/search"):
                wait(browser).until(lambda d: result_ids(d))
            sizes = browser.execute_script(FIELD_SIZES, FIELDS)
            assert all(size >= 16 for _, size in sizes), (path, sizes)
            hits = browser.execute_script(STAR_HITS)
            for star in hits:
                assert star["hit"][0] >= 32 and star["hit"][1] >= 32, (path, star)
                assert star["taken"] == [], (path, star)  # no tap meant for another target lands on it
            fields += len(sizes)
            stars += len(hits)
    assert fields >= 8 and stars >= 10  # the pages had fields and stars to measure


def test_desktop_fields_and_stars_keep_their_size(browser: WebDriver, live_server: str) -> None:
    open_page(browser, live_server + "/search?q=induction+heads")
    wait(browser).until(lambda d: result_ids(d))
    sizes = browser.execute_script(FIELD_SIZES, "#search-form select")
    form_size = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('#search-form .filters')).fontSize)")
    # The filters keep the form's smaller text, and a star is hit where its glyph is drawn.
    assert sizes and all(size == form_size < 16 for _, size in sizes), sizes
    hits = browser.execute_script(STAR_HITS)
    assert hits and all(s["hit"][0] < 24 and s["hit"][1] < 24 for s in hits), hits
