/* paperkg "For you": post the starred ids to the recommend API (the section's data-recommend-url, built by the
   server so that it keeps a sub-path prefix) and render the answer with textContent only. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function paperHref(base, id) {
    return base.replace("__ID__", encodeURIComponent(id).replace(/%2F/gi, "/"));
  }

  /* An author's page, as the server links names (api/web_authors.py author_href): the name's key as near as
     JavaScript folds it (the page redirects a name to its exact key); null for a name with no letter or digit
     (browsers resolve /authors/.. to the home page). */
  function authorHref(base, name) {
    var key = name.normalize("NFC").replace(/\p{Cf}/gu, "").trim().split(/\s+/).join(" ").toLowerCase();
    if (!/[\p{L}\p{N}]/u.test(key)) { return null; }
    return base.replace("__KEY__", encodeURIComponent(key));
  }

  /* The paper's page elsewhere, as the server's rows link it (_macros.html paper_row): arXiv, else its URL
     when http(s) (never a javascript: link from the data), shown by its host; printed, the address follows
     it (paperkg.css). Null for neither. */
  function outLink(r) {
    var a = el("a", "out");
    a.rel = "noopener noreferrer";
    if (typeof r.arxiv_id === "string" && r.arxiv_id) {
      a.href = "https://arxiv.org/abs/" + r.arxiv_id;
      a.textContent = "arXiv:" + r.arxiv_id;
      return a;
    }
    if (typeof r.url !== "string" || !/^https?:\/\//i.test(r.url)) { return null; }
    var url;
    try { url = new URL(r.url); } catch (e) { return null; }
    a.href = url.href;
    a.textContent = url.host || "link";
    return a;
  }

  /* A paper's byline as the server's rows show it: authors (linked), year, venue, its page elsewhere; null
     when the answer names none of them. Stored text goes in <bdi>: a right-to-left override in a name must
     not reverse the year after it. */
  function metaLine(section, r) {
    var bits = [];
    if (Array.isArray(r.authors) && r.authors.length) {
      var authors = el("span", "authors");
      var shown = r.authors.length > 5 ? r.authors.slice(0, 4) : r.authors;
      shown.forEach(function (name, i) {
        if (i) { authors.append(", "); }
        var href = authorHref(section.getAttribute("data-author-base"), String(name));
        var text = el("bdi", null, name);
        if (href) {
          var link = el("a", "author");
          link.href = href;
          link.append(text);
          text = link;
        }
        authors.append(text);
      });
      /* As the server's rows: "et al. (10)", the number of authors in all. */
      if (shown.length < r.authors.length) { authors.append(" et al. (" + r.authors.length + ")"); }
      bits.push(authors);
    }
    if (r.year) { bits.push(el("span", "year", String(r.year))); }
    if (r.venue) { bits.push(el("bdi", "venue", r.venue)); }
    var out = outLink(r);
    if (out) { bits.push(out); }
    if (!bits.length) { return null; }
    var meta = el("div", "paper-meta");
    bits.forEach(function (bit, i) {
      if (i) { meta.append(" · "); }
      meta.append(bit);
    });
    return meta;
  }

  /* What POST /api/resolve said of each starred paper, by its current id: the title, and (when the server
     gives them) authors, year, venue and links, shown under the paper's title in the starred list (a
     printed list is a reading list: titles alone do not find the papers). */
  var starInfo = {};

  function keepInfo(results) {
    (results || []).forEach(function (r) {
      if (r && typeof r.current === "string") { starInfo[r.current] = r; }
    });
  }

  /* Where focus was inside `list` before it is rebuilt: the paper of the item holding it (its star button's id,
     whether the focus was on that button or elsewhere in the row, e.g. the title link `j` moves to), the item's
     index, and whether it was the item's link. */
  function focusInside(list) {
    var active = document.activeElement;
    if (!active || active === list || !list.contains(active)) { return null; }
    var item = active;
    while (item.parentNode !== list) { item = item.parentNode; }
    var star = active.hasAttribute("data-star") ? active : item.querySelector("[data-star]");
    var buttons = Array.prototype.slice.call(list.querySelectorAll("[data-star]"));
    return {
      id: star ? star.getAttribute("data-star") : null,
      index: star ? buttons.indexOf(star) : -1,
      link: active.tagName === "A"
    };
  }

  /* The link of the item whose star button is `button`, when the focus was on a link before the rebuild. */
  function linkOf(had, button) {
    return had.link && button ? button.parentNode.querySelector("a") : null;
  }

  function focusTarget(el) {
    if (el) { el.focus(); }
    return !!el;
  }

  function starButton(container, id) {
    var found = null;
    container.querySelectorAll("[data-star]").forEach(function (b) {
      if (!found && b.getAttribute("data-star") === id) { found = b; }
    });
    return found;
  }

  function renderStarred(section, stars) {
    var list = section.querySelector("[data-starred-list]");
    var base = section.getAttribute("data-paper-base");
    var clear = section.querySelector("[data-clear-stars]");
    var had = focusInside(list) || (document.activeElement === clear ? { id: null, index: 0 } : null);
    list.replaceChildren();
    stars.forEach(function (s) {
      var li = el("li");
      var btn = el("button", "star", "★");
      btn.type = "button";
      btn.setAttribute("data-star", s.id);
      btn.setAttribute("data-title", s.title || s.id);
      /* An action, not a toggle: the button removes the paper from this list (paperkg.js leaves it alone). */
      btn.setAttribute("data-unstar", "");
      btn.setAttribute("aria-label", "Unstar: " + (s.title || s.id));
      btn.title = "Unstar this paper";
      var a = el("a");
      /* The title the server gives now (arXiv may have retitled the paper), else the one saved with the star. */
      var info = starInfo[s.id];
      a.append(el("bdi", null, (info && typeof info.title === "string" && info.title) || s.title || s.id));
      a.href = paperHref(base, s.id);
      li.append(btn, a);
      var meta = info ? metaLine(section, info) : null;
      if (meta) { li.append(meta); }
      list.append(li);
    });
    section.querySelector("[data-starred-count]").textContent = String(stars.length);
    section.querySelector("[data-starred-empty]").hidden = stars.length > 0;
    clear.hidden = stars.length === 0;
    /* The focused button was just replaced: focus the same paper, else its neighbour, else the heading. */
    if (had) {
      var buttons = list.querySelectorAll("[data-star]");
      (had.id && focusTarget(linkOf(had, starButton(list, had.id)))) ||
        (had.id && focusTarget(starButton(list, had.id))) ||
        focusTarget(buttons[Math.min(had.index, buttons.length - 1)]) ||
        focusTarget(section.querySelector("#starred-heading"));
    }
  }

  function renderResults(section, status, list, results) {
    var base = section.getAttribute("data-paper-base");
    var had = focusInside(list);
    list.replaceChildren();
    results.forEach(function (r) {
      var li = el("li", "paper");
      li.setAttribute("data-paper-row", "");
      var head = el("div", "paper-head");
      var star = el("button", "star", "☆");
      star.type = "button";
      star.setAttribute("data-star", r.id);
      star.setAttribute("data-title", r.title || r.id);
      var a = el("a", "paper-title");
      a.append(el("bdi", null, r.title || r.id));
      a.href = paperHref(base, r.id);
      a.setAttribute("data-row-link", "");
      head.append(star, a);
      if (r.withdrawn) {  // the badge the server-rendered rows carry (_macros.html withdrawn_badge)
        var badge = el("span", "badge badge-withdrawn", "Withdrawn");
        badge.setAttribute("data-withdrawn", "");
        badge.title = "arXiv lists this paper as withdrawn: its abstract is the withdrawal notice";
        head.append(" ", badge);
      }
      var meta = metaLine(section, r) || el("div", "paper-meta");
      var reasons = el("ul", "reasons");
      (r.reasons || []).forEach(function (text) { reasons.append(el("li", null, text)); });
      li.append(head, meta, reasons);
      list.append(li);
    });
    status.textContent = results.length
      ? results.length + " recommendation" + (results.length === 1 ? "" : "s") + " from your stars."
      : "No recommendations yet: star papers with embeddings (most papers have one).";
    if (window.paperkgStars) { window.paperkgStars.paint(list); }
    /* Starring a recommendation (its star button, or `s` on its title link) removes it from this list: follow
       it to its "Unstar" button above. A paper still listed keeps the focus where it was in its row. */
    if (had && had.id) {
      focusTarget(linkOf(had, starButton(list, had.id))) || focusTarget(starButton(list, had.id)) ||
        focusTarget(starButton(section, had.id)) || focusTarget(section.querySelector("#starred-heading"));
    }
  }

  /* Marks the starred papers the graph no longer has (their ids came back in a 422). */
  function markGone(section, gone) {
    section.querySelectorAll("[data-starred-list] li").forEach(function (li) {
      var btn = li.querySelector("[data-star]");
      var old = li.querySelector("[data-gone-note]");
      if (old) { old.remove(); }
      li.removeAttribute("data-gone");
      if (btn && gone.indexOf(btn.getAttribute("data-star")) >= 0) {
        li.setAttribute("data-gone", "");
        var note = el("span", "muted small", "(no longer in the graph)");
        note.setAttribute("data-gone-note", "");
        li.append(note);
      }
    });
  }

  function goneText(n) {
    return n === 1 ? "1 starred paper is no longer in the graph" : n + " starred papers are no longer in the graph";
  }

  /* The recommend API's answer as {ok, code, body, said}. Only a JSON answer is read as JSON: anything else (a
     proxy's HTML 502, a login page) is no answer, said as its status in words, the way the in-place search
     turns an error page into its status, instead of a JSON parse error. */
  function answer(resp) {
    var res = { ok: false, code: resp.status, body: null, said: "" };
    var type = (resp.headers.get("Content-Type") || "").toLowerCase();
    if (/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/.test(type)) {
      return resp.json().then(function (body) {
        res.ok = resp.ok;
        res.body = body;
        res.said = statusWords(resp, "");
        return res;
      }, function () {
        res.said = statusWords(resp, "") + ", not valid JSON";
        return res;
      });
    }
    return resp.text().catch(function () { return ""; }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "text/html");  /* parsed only: nothing in it runs */
      var heading = doc.querySelector("h1");
      res.said = statusWords(resp, heading ? heading.textContent : "") + (resp.ok ? ", not JSON" : "");
      return res;
    });
  }

  /* "HTTP 502 (Bad Gateway)": the status and the words of the page's heading (as the in-place search shows
     them; a code it repeats left out), else the status line's reason (HTTP/2 has none). */
  function statusWords(resp, heading) {
    var words = heading.replace(/\s+/g, " ").trim().replace(new RegExp("^" + resp.status + "\\b[\\s:.-]*"), "");
    words = (words || resp.statusText || "").slice(0, 120);
    return "HTTP " + resp.status + (words ? " (" + words + ")" : "");
  }

  function recommend(section, ids, retried, gone) {
    var status = document.querySelector("[data-rec-status]");
    var list = document.querySelector("[data-rec-list]");
    gone = gone || [];
    markGone(section, gone);
    if (!ids.length && gone.length) {
      list.replaceChildren();
      status.textContent = (gone.length === 1 ? "Your starred paper is no longer in the graph"
        : "None of your " + gone.length + " starred papers is in the graph any more") +
        " (marked above): unstar " + (gone.length === 1 ? "it" : "them") + " and star papers that are there.";
      return;
    }
    if (!ids.length) {
      list.replaceChildren();
      status.textContent = "Star a paper to get recommendations.";
      return;
    }
    status.textContent = "Finding papers like your " + ids.length + " starred…";
    fetch(section.getAttribute("data-recommend-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ liked: ids.slice(0, 200), limit: 20 })
    })
      .then(answer)
      .then(function (res) {
        if (res.ok) {
          renderResults(section, status, list, res.body.results || []);
          if (gone.length) { status.textContent += " " + goneText(gone.length) + " (marked above): left out."; }
          return;
        }
        var message = (res.body && res.body.error && res.body.error.message) || res.said;
        if (res.code === 422 && !retried) {
          /* Some starred papers are no longer in the graph: leave them out of this request. */
          /* The 422 lists every one (its message shows ten, cut to 80 characters). */
          var missing = (res.body && res.body.error && res.body.error.unknown_ids) || [];
          var kept = ids.filter(function (id) { return missing.indexOf(id) < 0; });
          if (kept.length < ids.length) {
            recommend(section, kept, true, missing);
            return;
          }
        }
        list.replaceChildren();
        status.textContent = "Could not get recommendations: " + message;
      })
      .catch(function (err) {
        status.textContent = "Could not reach the recommend API: " + err.message;
      });
  }

  /* Ids the server said name no paper (POST /api/resolve): left out of the BibTeX link. */
  var goneIds = {};

  /* The BibTeX link and the share link of the stars (at most MAX_LIST_IDS ids, as POST /api/bibtex and
     /api/resolve take). Neither puts the ids in a URL sent to the server: 200 ids of 80 characters are
     ~17,000 bytes, past gunicorn's request line limit (8190: a 414, whose HTML page the download link
     saved as starred.bib). */
  var MAX_LIST_IDS = 200;
  var bibtexIds = [];

  function renderTools(section, stars) {
    var tools = section.querySelector("[data-starred-tools]");
    var ids = stars.map(function (s) { return s.id; });
    var listed = ids.filter(function (id) { return !goneIds[id]; });
    tools.hidden = ids.length === 0;
    var link = section.querySelector("[data-stars-bibtex]");
    var copy = section.querySelector("[data-stars-bibtex-copy]");
    var shown = listed.slice(0, MAX_LIST_IDS);
    bibtexIds = shown;
    /* The click posts the ids (fetchBibtex); the href is the bare endpoint, never a long URL. */
    link.href = section.getAttribute("data-bibtex-url");
    link.hidden = copy.hidden = shown.length === 0;
    var note = section.querySelector("[data-stars-bibtex-note]");
    var left = ids.length - shown.length;
    note.hidden = left === 0;
    note.textContent = left ? (listed.length > MAX_LIST_IDS ? "The BibTeX holds the first " + MAX_LIST_IDS +
      " starred papers. " : "") + (ids.length - listed.length ? "Papers no longer in the graph are left out." : "")
      : "";
    /* In the fragment, which a browser never sends (no request line to outgrow, no access-log entry);
       each id percent-encoded (a comma in one becomes %2C), so the commas between them stay separators. */
    var share = new URL(section.getAttribute("data-for-you-url"), window.location.href);
    section.querySelector("[data-stars-link]").value = share.origin + share.pathname + "#stars=" +
      ids.slice(0, MAX_LIST_IDS).map(encodeURIComponent).join(",");
  }

  function refresh() {
    var section = document.getElementById("starred");
    if (!section || !window.paperkgStars) { return; }
    var stars = window.paperkgStars.read();
    renderStarred(section, stars);
    renderTools(section, stars);
    recommend(section, stars.map(function (s) { return s.id; }), false);
  }

  /* The ids of a share link's #stars= (or ?stars=, the form links had before), read from the raw text
     (URLSearchParams would decode a %2C inside an id into a separator), each once, at most MAX_LIST_IDS. */
  function sharedIds() {
    var m = /(?:^#|[#&])stars=([^&]*)/.exec(window.location.hash) ||
      /(?:^|[?&])stars=([^&#]*)/.exec(window.location.search);
    var out = [];
    if (!m) { return out; }
    m[1].split(",").forEach(function (part) {
      var id;
      try { id = decodeURIComponent(part.replace(/\+/g, " ")).trim(); } catch (e) { return; }
      if (id && id.length <= 200 && out.indexOf(id) < 0) { out.push(id); }
    });
    return out.slice(0, MAX_LIST_IDS);
  }

  /* The share link leaves the address bar once answered, so a reload does not offer the list again. */
  function dropSharedIds() {
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname);
    }
  }

  /* Offer a share link's papers: the ones not starred here already are listed (titles as text) with a
     button that adds them to the stars; the stars there are never replaced or removed. */
  function offerImport(section) {
    var box = document.querySelector("[data-stars-import]");
    var ids = sharedIds();
    if (!box || !ids.length) { return; }
    var stars = window.paperkgStars;
    stars.lookup(section.getAttribute("data-resolve-url"), ids).then(function (results) {
      /* No answer from the server: the ids as given (their titles come with the next resolve). */
      keepInfo(results);
      results = results || ids.map(function (id) { return { id: id, current: id, title: null }; });
      var have = {};
      stars.read().forEach(function (s) { have[stars.current(s.id)] = true; });
      var fresh = [];
      var unknown = [];
      var seen = {};
      results.forEach(function (r) {
        if (!r || typeof r.id !== "string") { return; }
        if (typeof r.current !== "string") { unknown.push(r.id); return; }
        if (have[r.current] || seen[r.current]) { return; }
        seen[r.current] = true;
        fresh.push({ id: r.current, title: typeof r.title === "string" && r.title ? r.title : r.current });
      });
      var list = box.querySelector("[data-import-list]");
      list.replaceChildren();
      fresh.forEach(function (f) {
        var li = el("li");
        li.append(el("bdi", null, f.title), " ", el("code", "muted small", f.id));
        list.append(li);
      });
      unknown.forEach(function (id) {
        var li = el("li", "muted");
        li.append(el("code", null, id), " (not in this graph: left out)");
        list.append(li);
      });
      var n = ids.length;
      box.querySelector("[data-import-summary]").textContent = "A shared list of " + n + " paper" +
        (n === 1 ? "" : "s") + ": " + (fresh.length
          ? fresh.length + " of them " + (fresh.length === 1 ? "is" : "are") + " not in your stars yet."
          : "none to add (" + (unknown.length === n ? "none of them is in this graph" : "you have starred them all") + ").");
      var add = box.querySelector("[data-import-add]");
      add.hidden = fresh.length === 0;
      add.textContent = "Add " + (fresh.length === 1 ? "it" : "these " + fresh.length) + " to my stars";
      box.hidden = false;
      box.focus();
      add.onclick = function () {
        var now = stars.read();
        var kept = {};
        now.forEach(function (s) { kept[stars.current(s.id)] = true; });
        var at = new Date().toISOString();
        fresh.forEach(function (f) {
          if (!kept[f.id]) { now.push({ id: f.id, title: f.title, at: at }); }
        });
        box.hidden = true;
        dropSharedIds();
        stars.write(now);
        focusTarget(section.querySelector("#starred-heading"));
      };
      box.querySelector("[data-import-dismiss]").onclick = function () {
        box.hidden = true;
        dropSharedIds();
        focusTarget(section.querySelector("#starred-heading"));
      };
    });
  }

  /* The BibTeX of the listed stars: POST /api/bibtex, the ids in the body; an answer that is not BibTeX
     (an error page) is an error, never text to save. */
  function fetchBibtex(section) {
    return fetch(section.getAttribute("data-bibtex-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/x-bibtex" },
      body: JSON.stringify({ ids: bibtexIds })
    }).then(function (r) {
      var type = (r.headers.get("Content-Type") || "").toLowerCase();
      if (!r.ok || type.indexOf("text/x-bibtex") !== 0) { throw new Error(String(r.status)); }
      return r.text();
    });
  }

  function setupTools(section) {
    var stars = window.paperkgStars;
    var link = section.querySelector("[data-stars-bibtex]");
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      var status = link.parentElement.querySelector("[data-copied]");
      status.textContent = "";
      fetchBibtex(section).then(function (text) {
        /* Saved from a Blob: the file is the answer's text, whatever the list's length. */
        var url = URL.createObjectURL(new Blob([text], { type: "text/x-bibtex" }));
        var save = document.createElement("a");
        save.href = url;
        save.download = link.getAttribute("download") || "starred.bib";
        save.hidden = true;
        document.body.append(save);
        save.click();
        save.remove();
        window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      }).catch(function () { status.textContent = "could not load BibTeX"; });
    });
    section.querySelector("[data-stars-bibtex-copy]").addEventListener("click", function (ev) {
      var status = ev.target.parentElement.querySelector("[data-copied]");
      fetchBibtex(section)
        .then(function (text) { stars.copy(text, status); })
        .catch(function () { status.textContent = "could not load BibTeX"; });
    });
    section.querySelector("[data-copy-stars-link]").addEventListener("click", function (ev) {
      stars.copy(section.querySelector("[data-stars-link]").value, ev.target.parentElement.querySelector("[data-copied]"));
    });
    section.querySelector("[data-copy-stars-ids]").addEventListener("click", function (ev) {
      var ids = stars.read().map(function (s) { return s.id; });
      stars.copy(ids.join("\n") + "\n", ev.target.parentElement.querySelector("[data-copied]"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("starred");
    if (!section) { return; }
    section.querySelector("[data-clear-stars]").addEventListener("click", function () {
      var n = window.paperkgStars.read().length;
      /* One click would otherwise lose every star, with no way back. */
      if (window.confirm("Remove all " + n + " starred paper" + (n === 1 ? "" : "s") + "? This cannot be undone.")) {
        window.paperkgStars.write([]);
      }
    });
    setupTools(section);
    var stars = window.paperkgStars.read();
    renderStarred(section, stars);
    renderTools(section, stars);
    /* Stars saved under an id a paper had before (a slug, now its arXiv id) are rewritten to the current id,
       one entry a paper, before the recommendations are asked for. */
    var ids = stars.map(function (s) { return s.id; });
    window.paperkgStars.lookup(section.getAttribute("data-resolve-url"), ids).then(function (results) {
      (results || []).forEach(function (r) {
        if (r && typeof r.id === "string" && r.current === null) { goneIds[r.id] = true; }
      });
      keepInfo(results);
      if (results) { window.paperkgStars.adopt(results); }
      refresh();
      document.addEventListener("paperkg:stars", refresh);
      offerImport(section);
      /* A share link opened in a tab already on For you changes the fragment alone: no page load. */
      window.addEventListener("hashchange", function () { offerImport(section); });
    });
  });
})();
