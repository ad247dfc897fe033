/* paperkg: keyboard shortcuts, stars (localStorage), in-place search, BibTeX copy.
   Data from the server is only ever inserted as text (textContent) or as server-escaped HTML fragments. */
(function () {
  "use strict";

  var STAR_KEY = "paperkg.stars";
  var SHORTCUTS_KEY = "paperkg.shortcuts";
  /* Lets the CSS show script-only parts (the graph canvas and its instructions) only when scripts run. */
  document.documentElement.classList.add("js");

  /* Whether the server's API takes `id` as a paper id (api.params.check_ids: 1 to 200 characters, no NUL, no
     lone surrogate). One id it refuses made every resolve and recommend request a 400, so For you broke until
     that star was found: stars and shared ids it refuses are dropped here, before any request. */
  var MAX_ID_CHARS = 200;
  var LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  /* Length in UTF-16 code units, not code points as the server counts: an id of astral characters may be
     dropped short of 200 characters (no paperkg id is one). */
  function validId(id) {
    return typeof id === "string" && id.length >= 1 && id.length <= MAX_ID_CHARS && id.indexOf("\u0000") < 0 &&
      !LONE_SURROGATE.test(id);
  }

  function readStars() {
    try {
      var raw = JSON.parse(window.localStorage.getItem(STAR_KEY) || "[]");
      return Array.isArray(raw) ? raw.filter(function (s) { return s && validId(s.id); }) : [];
    } catch (e) {
      return [];
    }
  }

  function writeStars(stars) {
    try {
      window.localStorage.setItem(STAR_KEY, JSON.stringify(stars));
    } catch (e) { /* storage full or disabled: stars just do not persist */ }
    document.dispatchEvent(new CustomEvent("paperkg:stars"));
  }

  /* A paper's id can change (a slug replaced by its arXiv id on a records import; the server redirects
     the old one). `moved` maps a starred id to the id its paper has now, as this server's resolve API
     last said: a star saved under the old id is the paper's star. */
  var moved = {};

  function currentId(id) {
    return Object.prototype.hasOwnProperty.call(moved, id) && moved[id] ? moved[id] : id;
  }

  function isStarred(id) {
    return readStars().some(function (s) { return currentId(s.id) === id; });
  }

  /* Starring or unstarring a paper drops every entry of it (under any id it had) and, when starring,
     keeps one, under the id the button names (the current one). */
  function toggleStar(id, title) {
    var stars = readStars();
    var without = stars.filter(function (s) { return currentId(s.id) !== id; });
    if (without.length === stars.length) {
      without.push({ id: id, title: title || id, at: new Date().toISOString() });
    }
    writeStars(without);
  }

  /* Rewrite the stored stars to current ids, one entry a paper (the first kept, with its date), and give
     the ones saved without a title theirs. An id naming no paper (null) keeps its entry: For you marks
     it. Writes only when something changed; true then. */
  function adoptCurrent(results) {
    var titles = {};
    results.forEach(function (r) {
      if (r && typeof r.id === "string") {
        moved[r.id] = typeof r.current === "string" ? r.current : null;
        if (typeof r.current === "string" && typeof r.title === "string") { titles[r.current] = r.title; }
      }
    });
    var seen = {};
    var changed = false;
    var out = [];
    readStars().forEach(function (s) {
      var id = currentId(s.id);
      if (Object.prototype.hasOwnProperty.call(seen, id)) { changed = true; return; }
      seen[id] = true;
      var title = (!s.title || s.title === s.id) && titles[id] ? titles[id] : s.title;
      if (id !== s.id || title !== s.title) {
        changed = true;
        s = { id: id, title: title || id, at: s.at || new Date().toISOString() };
      }
      out.push(s);
    });
    if (changed) { writeStars(out); }
    return changed;
  }

  /* Ask this server (its POST /api/resolve, at `url`) for the current ids of `ids`: the answer's results,
     or null when there is no answer (an old server, offline). */
  function resolveIds(url, ids) {
    /* An id the API refuses names no paper: answered so here, the others asked for. */
    var refused = ids.filter(function (id) { return !validId(id); })
      .map(function (id) { return { id: String(id), current: null, title: null }; });
    var asked = ids.filter(validId).slice(0, 200);
    if (!url || !window.fetch) { return Promise.resolve(null); }
    if (!asked.length) { return Promise.resolve(refused.length ? refused : null); }
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ ids: asked })
    })
      .then(function (resp) {
        var type = (resp.headers.get("Content-Type") || "").toLowerCase();
        return resp.ok && type.indexOf("application/json") === 0 ? resp.json() : null;
      })
      .then(function (body) { return body && Array.isArray(body.results) ? body.results.concat(refused) : null; })
      .catch(function () { return null; });
  }

  function paintStars(root) {
    (root || document).querySelectorAll("[data-star]").forEach(function (btn) {
      /* "For you" lists starred papers with a plain "Unstar" button of its own, not a toggle. */
      if (btn.hasAttribute("data-unstar")) { return; }
      var on = isStarred(btn.getAttribute("data-star"));
      btn.hidden = false;
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      /* A toggle keeps one name (the glyph alone reads as "white star"); aria-pressed gives the state. */
      btn.setAttribute("aria-label", "Star: " + (btn.getAttribute("data-title") || btn.getAttribute("data-star")));
      btn.textContent = on ? "★" : "☆";
      btn.title = on ? "Starred: click to unstar" : "Star this paper (kept in this browser) to get recommendations";
    });
    var n = readStars().length;
    document.querySelectorAll("[data-star-count]").forEach(function (el) {
      el.textContent = n ? "★" + n : "";
      el.hidden = !n;
    });
  }

  window.paperkgStars = {
    read: readStars, write: writeStars, toggle: toggleStar, paint: paintStars, current: currentId,
    lookup: resolveIds, adopt: adoptCurrent,
    copy: function (text, statusEl) { copyText(text, statusEl); }
  };

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-star]");
    if (btn) {
      toggleStar(btn.getAttribute("data-star"), btn.getAttribute("data-title"));
    }
  });
  document.addEventListener("paperkg:stars", function () { paintStars(); });
  window.addEventListener("storage", function (ev) {
    if (ev.key === STAR_KEY) { paintStars(); }
    /* A choice made in another tab is the latest one: it replaces this page's (a cleared storage, key null,
       means the default, on). */
    if (ev.key === SHORTCUTS_KEY || ev.key === null) {
      shortcutsChoice = ev.newValue !== "off";
      paintShortcuts(shortcutsOn());
    }
  });

  /* ---- keyboard: "/" focuses search, j/k move through paper rows, Enter opens, s stars the focused row ----
     Single-character shortcuts can be turned off (WCAG 2.1.4): the About page's checkbox stores "off" under
     SHORTCUTS_KEY. */
  /* The choice made on this page (null until one is made). It answers before storage does: with storage
     disabled (reads and writes throw) or full (the write fails), off still means off until the page is left. */
  var shortcutsChoice = null;

  function shortcutsOn() {
    if (shortcutsChoice !== null) { return shortcutsChoice; }
    try {
      return window.localStorage.getItem(SHORTCUTS_KEY) !== "off";
    } catch (e) {
      return true; /* storage disabled and no choice made here: the default (on) */
    }
  }

  function setShortcuts(on) {
    shortcutsChoice = on;
    try {
      if (on) {
        window.localStorage.removeItem(SHORTCUTS_KEY);
      } else {
        window.localStorage.setItem(SHORTCUTS_KEY, "off");
      }
    } catch (e) { /* storage disabled: the choice lasts until the page is left */ }
    paintShortcuts(on);
  }

  /* While they are off, the footer says "turned off" instead of listing them; the About checkbox shows it. */
  function paintShortcuts(on) {
    document.querySelectorAll("[data-keys-on]").forEach(function (el) { el.hidden = !on; });
    document.querySelectorAll("[data-keys-off]").forEach(function (el) { el.hidden = on; });
    document.querySelectorAll("[data-shortcuts-toggle]").forEach(function (box) {
      box.checked = on;
      var setting = box.closest("[data-shortcuts-setting]");
      if (setting) { setting.hidden = false; }
    });
  }

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-paper-row]")); }
  /* The row holding the focus (Tab, a click, or j/k put it there), or null. */
  function focusedRow() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("[data-paper-row]") : null;
  }
  function select(i) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, j) { r.classList.toggle("kb-current", j === current); });
    var link = all[current].querySelector("[data-row-link]");
    if (link) { link.focus({ preventScroll: true }); }
    all[current].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement) || !shortcutsOn()) { return; }
    /* j/k go on from the row the user tabbed or clicked into, not only from the last j/k. */
    var row = focusedRow();
    if (row) { current = rows().indexOf(row); }
    if (ev.key === "/") {
      var box = document.querySelector("[data-main-search]") || document.querySelector("[data-search-box]");
      if (box) {
        ev.preventDefault();
        box.focus();
        box.select();
      }
    } else if (ev.key === "j") {
      select(current + 1);
    } else if (ev.key === "k") {
      select(current - 1);
    } else if (ev.key === "s" && row) {
      /* Only the row that has the focus: a stray "s" elsewhere must not change the stars (For you). */
      var star = row.querySelector("[data-star]");
      if (star) { star.click(); }
    }
  });

  /* ---- in-place search: fetch the same page's results fragment ---- */
  var CHANGE_DELAY_MS = 400;

  /* What a run of changes is counted by: a radio group by its name, any other field by its id. */
  function fieldKey(el) {
    return el.type === "radio" || !el.id ? el.name : el.id;
  }

  /* The controls (labels) the technique selects showed since the last announcement, each with its name
     ("Add a technique", "Papers using"): the search status line names those still shown after the results'
     count (setupSearch's announce). */
  var revealed = [];

  /* The search form's technique selects (search.html technique_selects and technique_add): "Add a technique"
     is shown once one is picked and a new empty one follows each that gets a value; "Papers using" (any or
     each) once two are picked (or it says "each"), kept between the chosen ones and the empty one. Hidden
     fields are disabled too, so the form does not send them.
     Arrowing through a closed select fires "change" per option passed (keyboard and screen-reader users
     browse that way), so nothing is rebuilt per change: the form is tidied once a run of changes settles
     (as setupSearch waits to search), never more than one empty select is left, and the focused select is
     neither moved nor relabelled (nor hidden) while it has the focus: that waits until it is left. */
  function setupTechniqueSelects() {
    var form = document.getElementById("search-form");
    var match = form ? form.querySelector("[data-technique-match]") : null;
    if (!form || !match) { return; }
    var timer = null;
    /* A choice made with a pointer is made: its select may be relabelled at once. */
    var byPointer = false;

    function show(label, on) {
      label.hidden = !on;
      label.querySelector("select").disabled = !on;
    }

    function setLabel(label, text) {
      label.firstChild.textContent = text + " ";
    }

    function nextId() {
      var n = 1;
      form.querySelectorAll("select[name=technique]").forEach(function (s) {
        var m = /^f-technique-(\d+)$/.exec(s.id);
        if (m) { n = Math.max(n, parseInt(m[1], 10)); }
      });
      return "f-technique-" + (n + 1);
    }

    function tidy() {
      var focused = document.activeElement;
      var selects = Array.prototype.slice.call(form.querySelectorAll("select[name=technique]"));
      var first = selects[0];
      var extras = selects.slice(1);
      if (!first || !extras.length) { return; }
      var matchShown = !match.hidden;
      var addsShown = Array.prototype.filter.call(form.querySelectorAll("[data-technique-add]"), function (l) {
        return !l.hidden;
      });
      /* The one empty extra kept: the focused one, else the last; any other empty one goes. */
      var empties = extras.filter(function (s) { return s.value === ""; });
      var keep = empties.indexOf(focused) >= 0 ? focused : empties[empties.length - 1] || null;
      empties.forEach(function (s) {
        if (s !== keep) { s.closest("label").remove(); }
      });
      extras = extras.filter(function (s) { return s.value !== "" || s === keep; });
      var valued = extras.filter(function (s) { return s.value !== ""; });
      /* "Papers using" right after the last chosen technique; the focused select is never moved. */
      var lastChosen = (valued.length ? valued[valued.length - 1] : first).closest("label");
      if (lastChosen.nextElementSibling !== match && !match.contains(focused)) { lastChosen.after(match); }
      var created = false;
      if (!keep) {
        /* Every extra has a technique: a new empty one to add another, a copy of the last. */
        var template = extras[extras.length - 1].closest("label");
        var fresh = template.cloneNode(true);
        var select = fresh.querySelector("select");
        fresh.querySelectorAll("option[selected]").forEach(function (o) { o.removeAttribute("selected"); });
        select.value = "";
        select.id = nextId();
        select.removeAttribute("aria-invalid");
        select.removeAttribute("aria-describedby");
        match.after(fresh);
        keep = select;
        created = true;
      } else if (keep !== focused && match.nextElementSibling !== keep.closest("label")) {
        match.after(keep.closest("label"));
      }
      extras.concat(created ? [keep] : []).forEach(function (s) {
        var label = s.closest("label");
        var isAdd = s === keep && (s !== focused || label.hasAttribute("data-technique-add"));
        if (s === focused && !byPointer) { return; } /* relabelled when left */
        if (isAdd) { label.setAttribute("data-technique-add", ""); } else { label.removeAttribute("data-technique-add"); }
        setLabel(label, isAdd ? "Add a technique" : "and technique");
      });
      var picked = selects.filter(function (s) { return s.isConnected && !s.disabled && s.value !== ""; }).length;
      var add = keep.closest("label");
      if (keep !== focused || picked > 0) { show(add, picked > 0); }
      if (!match.contains(focused)) {
        show(match, picked > 1 || match.querySelector("select").value === "all");
      }
      /* Said once the search they came with is announced. */
      if (!add.hidden && add.hasAttribute("data-technique-add") && addsShown.indexOf(add) < 0) {
        revealed.push({ label: add, name: "Add a technique" });
      }
      if (!match.hidden && !matchShown) { revealed.push({ label: match, name: "Papers using" }); }
    }

    form.addEventListener("keydown", function (ev) {
      if (ev.target.name === "technique") { byPointer = false; }
    }, true);
    form.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest && ev.target.closest("label") && ev.target.closest("label").querySelector("select[name=technique]")) {
        byPointer = true;
      }
    }, true);
    form.addEventListener("change", function (ev) {
      if (ev.target.name !== "technique") { return; }
      /* Before setupSearch's timer of the same length: the form is tidied before it is read. */
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(function () { timer = null; tidy(); }, CHANGE_DELAY_MS);
    }, true);
    /* A technique select left: what waited for that (its label, its removal when empty) is done once the
       focus has moved, so the removal of the select left takes no focus with it. */
    form.addEventListener("focusout", function (ev) {
      if (ev.target.name !== "technique") { return; }
      window.setTimeout(function () {
        if (timer) { return; } /* a run still settling tidies when it does */
        var before = revealed.length;
        tidy();
        revealed.length = before; /* nothing searched: nothing new to say */
      }, 0);
    });
  }

  function setupSearch() {
    var form = document.getElementById("search-form");
    var results = document.getElementById("results");
    var status = document.querySelector("[data-search-status]");
    if (!form || !results || !window.fetch || !window.history) { return; }
    var pending = null;
    /* How the pending load moves history: a load that aborts a pending push keeps the push, or a filter
       changed while a submit loads would replace the entry of the search before it. */
    var pendingHistory = null;
    var changeTimer = null;
    /* The name of the field whose changes made the history entry on top: further changes of that field
       (arrowing on through a select or the mode radios) replace that entry, so that Back goes to the
       search before the field was touched in one step, not one option at a time. Null once the focus
       leaves the field or another kind of step (a submit, a pager link, Back) is taken. */
    var burst = null;
    /* The path and query whose results are on the page. */
    var shown = window.location.pathname + window.location.search;

    /* history: "push" (a submit, a pager click or a field's first change: a step the Back button should
       undo), "replace" (the same field changed again: arrowing through a select must not add an entry per
       option) or none.
       moveFocus: the link that was activated is gone after the swap, so focus goes to the new results. */
    function load(url, history, moveFocus) {
      if (pending) {
        pending.abort();
        if (pendingHistory === "push") { history = "push"; }
      }
      if (changeTimer) { window.clearTimeout(changeTimer); changeTimer = null; }
      var request = new AbortController();
      pending = request;
      pendingHistory = history;
      var fragmentUrl = url + (url.indexOf("?") < 0 ? "?" : "&") + "fragment=1";
      document.body.classList.add("loading");
      results.setAttribute("aria-busy", "true");
      fetch(fragmentUrl, { signal: request.signal, headers: { "Accept": "text/html" } })
        .then(function (resp) {
          return resp.text().then(function (html) { return { resp: resp, html: html }; }, unreachable);
        }, unreachable)
        .then(function (answer) {
          var resp = answer.resp;
          /* A query that is an arXiv id or URL is answered with the paper's page: go there. Any other
             redirect (a proxy's, to https or a login) still carries fragment=1: load the full page. */
          if (resp.redirected) {
            var landed = new URL(resp.url, window.location.href);
            window.location.href = landed.searchParams.get("fragment") ? url : resp.url;
            return;
          }
          var doc = new DOMParser().parseFromString(answer.html, "text/html");
          var fresh = doc.getElementById("results");
          if (fresh) {
            /* Errors the search page knows (400, store down) come as a results block with the notice. */
            results.replaceChildren.apply(results, Array.prototype.slice.call(fresh.childNodes));
          } else if (resp.ok) {
            window.location.href = url; /* not a results block: let the browser show whatever it is */
            return;
          } else {
            /* Any other error page (a 500, a proxy's 502): its words in place of the old results. */
            results.replaceChildren(errorNotice(resp.status, doc));
          }
          markInvalid();
          followFilters(url);
          announce();
          current = -1;
          paintStars(results);
          var target = new URL(url, window.location.href);
          /* A change undone (arrowing away and back) is no new step: an entry of its own would make Back
             seem to do nothing. */
          if (history === "push" && target.pathname + target.search === shown) { history = "replace"; }
          if (history === "push") {
            window.history.pushState({ paperkg: true }, "", url);
          } else if (history === "replace") {
            window.history.replaceState({ paperkg: true }, "", url);
          }
          if (history) { shown = window.location.pathname + window.location.search; }
          document.title = searchTitle(target.searchParams);
          nameFilters(target.searchParams);
          if (history) { followHead(target); }
          if (moveFocus) { focusResults(); }
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") { return; }
          if (err && err.unreachable) {
            /* A full page load would only swap this page for the browser's error page. Nothing was
               pushed: the next change of the field must push its own entry, not replace the search's. */
            burst = null;
            showUnreachable(moveFocus);
            return;
          }
          /* Anything else failed in this script (a browser lacking something it uses): the server's page
             for the same URL still shows the results. */
          window.location.href = url;
        })
        .finally(function () {
          /* An aborted load must not clear the state of the one that replaced it, still in flight. */
          if (pending !== request) { return; }
          pending = null;
          pendingHistory = null;
          document.body.classList.remove("loading");
          results.removeAttribute("aria-busy");
        });
    }

    /* fetch (or reading the body) rejects with a TypeError when the request gets no answer: offline, the
       connection dropped, the server not listening. Tagged here, so that a TypeError thrown by this
       script's own code is not taken for one. */
    function unreachable(err) {
      if (err && err.name === "AbortError") { throw err; }
      var failure = new Error("no answer from the server");
      failure.unreachable = true;
      throw failure;
    }

    /* No answer: the page, its URL and history stay on the search shown (nothing answered the new one),
       with a notice above its results saying so; the form keeps the new query to try again. moveFocus: a
       pager or example link was followed, maybe far below the notice, so it is brought into view. */
    function showUnreachable(moveFocus) {
      var old = document.getElementById("search-unreachable");
      if (old) { old.remove(); }
      var box = document.createElement("div");
      box.className = "notice notice-error";
      box.id = "search-unreachable";
      box.setAttribute("data-state", "unreachable");
      var strong = document.createElement("strong");
      strong.textContent = navigator.onLine === false ?
        "No connection: the search was not made." : "The server did not answer: the search was not made.";
      var first = document.createElement("p");
      first.append(strong);
      var hint = document.createElement("p");
      hint.textContent = "The results below are still those of the previous search. " +
        (navigator.onLine === false ? "Search again when you are back online." : "Try again in a minute.");
      box.append(first, hint);
      results.prepend(box);
      if (status) { status.textContent = box.textContent.replace(/\s+/g, " ").trim(); }
      if (moveFocus) {
        box.setAttribute("tabindex", "-1");
        box.scrollIntoView({ block: "start" });
        box.focus({ preventScroll: true });
      }
    }

    /* The notice for an error page that has no results block; its text is set as text only. */
    function errorNotice(code, doc) {
      var box = document.createElement("div");
      box.className = "notice notice-error";
      box.id = "search-error";
      box.setAttribute("data-state", "error");
      box.setAttribute("data-error-fields", "");
      var heading = doc.querySelector("h1");
      var said = heading ? heading.textContent.replace(/\s+/g, " ").trim() : "";
      var strong = document.createElement("strong");
      strong.textContent = "The search failed (HTTP " + code + (said ? ": " + said : "") + ").";
      var first = document.createElement("p");
      first.append(strong);
      var hint = document.createElement("p");
      hint.textContent = "Try again in a minute; if it keeps failing, the server log has the details.";
      box.append(first, hint);
      return box;
    }

    /* The head's link-preview tags follow the search shown, as a page load would write them (a reference
       manager saving the page reads them from here): its URL (the home page's for no search at all), its
       title, and what the status line says of the results. The canonical URL by the server's rule (the
       search view's args and with_page in api/web.py): only the search's own arguments, in the form's
       order, the query trimmed, no empty value, no default mode or "any" match, no page 1. */
    function followHead(target) {
      var brand = document.querySelector("a.brand");
      var kept = new URLSearchParams();
      ["q", "mode", "technique", "technique_match", "topic", "model", "component", "year_from", "year_to",
       "section", "source"].forEach(function (name) {
        target.searchParams.getAll(name).forEach(function (value) {
          value = name === "q" ? value.trim() : name === "mode" || name === "technique_match" ? value.toLowerCase() : value;
          if (value === "" || (name === "mode" && value === "hybrid") || (name === "technique_match" && value !== "all")) {
            return;
          }
          kept.append(name, value);
        });
      });
      var page = target.searchParams.get("page") || "";
      if (/^\d+$/.test(page) && parseInt(page, 10) > 1) { kept.append("page", String(parseInt(page, 10))); }
      var qs = kept.toString();
      var url = qs || !brand ? target.origin + target.pathname + (qs ? "?" + qs : "") : brand.href;
      document.querySelectorAll("link[rel=canonical]").forEach(function (el) { el.href = url; });
      /* Link previews are plain text for other sites, as the server writes them (api.web plain_description):
         no bidi controls or isolates, whitespace runs as one space. */
      var plain = function (text) {
        return text.replace(/[\u202a-\u202e\u2066-\u2069]/g, "").split(/\s+/).filter(Boolean).join(" ");
      };
      var said = plain(status ? status.textContent : "");
      var values = { "og:url": url, "og:title": plain(document.title.replace(/ · paperkg$/, "")),
        "description": said, "og:description": said };
      Object.keys(values).forEach(function (key) {
        document.querySelectorAll('meta[name="' + key + '"], meta[property="' + key + '"]').forEach(function (el) {
          if (values[key]) { el.setAttribute("content", values[key]); }
        });
      });
    }

    /* "clear filters" sits outside #results: show it, pointing at the query alone, while a filter is set. */
    function followFilters(url) {
      var link = form.querySelector("[data-clear-filters]");
      if (!link) { return; }
      var params = new URL(url, window.location.href).searchParams;
      var names = ["technique", "topic", "model", "component", "year_from", "year_to", "section", "source"];
      var filtered = names.some(function (name) {
        return params.getAll(name).some(function (v) { return v !== ""; });
      });
      var keep = new URLSearchParams();
      if (params.get("q")) { keep.set("q", params.get("q")); }
      if (params.get("mode") && params.get("mode") !== "hybrid") { keep.set("mode", params.get("mode")); }
      var qs = keep.toString();
      link.href = form.getAttribute("action") + (qs ? "?" + qs : "");
      link.hidden = !filtered;
    }

    /* #results is not a live region (it would read all ten results): one short status line says what changed.
       The in-place error is announced there, so its role=alert (for full page loads) is dropped. */
    function announce() {
      var error = results.querySelector("[data-state=error]");
      if (error) { error.removeAttribute("role"); }
      var source = results.querySelector(".result-count") || error ||
        results.querySelector("[data-state=empty] strong");
      var said = source ? source.textContent : "";
      /* "No results" on a store without papers: the reason, which the notice gives under it. */
      var storeEmpty = source && !error && results.querySelector("[data-state=empty] [data-state=store-empty]");
      if (storeEmpty) { said += " " + storeEmpty.textContent; }
      said = said.replace(/\s+/g, " ").trim();
      /* Controls the choice brought (setupTechniqueSelects), after what the search found. */
      var names = [];
      revealed.forEach(function (r) {
        if (r.label.isConnected && !r.label.hidden && names.indexOf(r.name) < 0) { names.push(r.name); }
      });
      revealed = [];
      if (names.length) {
        said += (said ? " · " : "") + names.join(" and ") + (names.length > 1 ? " are" : " is") + " now available";
      }
      if (status) { status.textContent = said; }
    }

    function focusResults() {
      results.scrollIntoView({ block: "start" });
      var target = results.querySelector(".result-count") || results.querySelector("[data-state]");
      if (target) {
        if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
        target.focus({ preventScroll: true });
      }
    }

    /* The fragment names the fields at fault (data-error-fields); the form is not re-rendered. */
    function markInvalid() {
      var notice = results.querySelector("[data-error-fields]");
      var bad = notice ? (notice.getAttribute("data-error-fields") || "").split(" ").filter(Boolean) : [];
      form.querySelectorAll("input[name], select[name]").forEach(function (el) {
        if (bad.indexOf(el.name) >= 0) {
          el.setAttribute("aria-invalid", "true");
          el.setAttribute("aria-describedby", "search-error");
        } else {
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
        }
      });
    }

    /* The page's title for a search, as search.html's title block writes it: the query (between FSI and PDI:
       a right-to-left override in it must not reverse the rest of the title), the filters by name (the
       names the form's options show, without their counts) and the page number past the first. */
    /* The filters of a search by name, as the server's page title says them (api/templates/_filter_words.html). */
    function filterWords(params) {
      var parts = [];
      function names(field, sep) {
        var select = form.querySelector("select[name=" + field + "]");
        var values = params.getAll(field);
        if (!select) { return; }
        var found = [];
        Array.prototype.forEach.call(select.options, function (o) {
          if (o.value === "" || values.indexOf(o.value) < 0) { return; }
          var name = o.textContent.replace(/^[\s\u00a0\u21b3]+/, "").trim();
          /* The count the server writes after every name but a source's. */
          if (field !== "source") { name = name.replace(/\s*\(\d+(?: incl\. refinements)?\)$/, ""); }
          if (found.indexOf(name) < 0) { found.push(name); }
        });
        if (found.length) {
          parts.push(found.slice(0, 2).join(sep) + (found.length > 2 ? sep + (found.length - 2) + " more" : ""));
        }
      }
      names("technique", params.get("technique_match") === "all" ? " and " : " or ");
      ["topic", "model", "component"].forEach(function (field) { names(field, " or "); });
      var from = /^\d{4}$/.test(params.get("year_from") || "") ? params.get("year_from") : "";
      var to = /^\d{4}$/.test(params.get("year_to") || "") ? params.get("year_to") : "";
      if (from && to) {
        parts.push(from === to ? from : from + "–" + to);
      } else if (from || to) {
        parts.push(from ? "from " + from : "until " + to);
      }
      names("section", " or ");
      names("source", " or ");
      return parts.join(", ");
    }

    function searchTitle(params) {
      var q = (params.get("q") || "").trim();
      var words = filterWords(params);
      var page = /^\d+$/.test(params.get("page") || "") ? parseInt(params.get("page"), 10) : 1;
      return (q ? "\u2068" + q + "\u2069 — search" : "Search") + (words ? " · " + words : "") +
        (page > 1 ? " · page " + page : "") + " · paperkg";
    }

    /* An in-place search's fragment says "filtered" alone (it has no form options to name them by): the
       names as the full page gives them, so that a printed page still says which filters made it. */
    function nameFilters(params) {
      var count = results.querySelector(".result-count .muted");
      var words = filterWords(params);
      if (!count || !words || count.querySelector("[data-filter-words]")) { return; }
      if (!/· filtered$/.test(count.textContent.trim())) { return; }
      var span = document.createElement("span");
      span.setAttribute("data-filter-words", "");
      span.textContent = words;
      count.append(": ", span);
    }

    function formUrl() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (value !== "") { params.append(key, value); }
      });
      if (params.get("mode") === "hybrid") { params.delete("mode"); }
      var qs = params.toString();
      return form.getAttribute("action") + (qs ? "?" + qs : "");
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      burst = null;
      load(formUrl(), "push", false);
    });
    /* Arrow keys on a select or a radio group fire "change" per option passed: wait until they settle.
       A year field fires "change" when it is left (Tab) or stepped, as a select does when picked. */
    /* Delegated, so a technique select added later (setupTechniqueSelects) searches in place too; in the
       capture phase, which also sees a change event that does not bubble. */
    form.addEventListener("change", function (ev) {
      var el = ev.target;
      if (!el.matches || !el.matches("select, input[type=radio], input[type=number]")) { return; }
      if (!(form.querySelector("[name=q]").value.trim() || el.tagName === "SELECT" || el.type === "number")) {
        return;
      }
      if (changeTimer) { window.clearTimeout(changeTimer); }
      changeTimer = window.setTimeout(function () {
        changeTimer = null;
        /* Decided when the load starts, not per change: only a load moves history. */
        var how = burst === fieldKey(el) ? "replace" : "push";
        /* A field already left (a year field's change comes as it is left) starts no run. */
        var active = document.activeElement;
        burst = active && active.form === form && fieldKey(active) === fieldKey(el) ? fieldKey(el) : null;
        load(formUrl(), how, false);
      }, CHANGE_DELAY_MS);
    }, true);
    /* Leaving the field ends its run of changes (the mode radios are one field: arrowing moves the focus
       from one to the next; the technique selects share a name but are fields of their own). */
    form.addEventListener("focusout", function (ev) {
      var next = ev.relatedTarget;
      if (!next || fieldKey(next) !== fieldKey(ev.target)) { burst = null; }
    });
    results.addEventListener("click", function (ev) {
      var a = ev.target.closest(".pager a, .examples a, [data-state=past-end] a, a[data-did-you-mean]");
      if (a && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
        ev.preventDefault();
        var u = new URL(a.href, window.location.href);
        var box = form.querySelector("[name=q]");
        if (box && u.searchParams.has("q")) { box.value = u.searchParams.get("q"); }
        burst = null;
        load(u.pathname + u.search, "push", true);
      }
    });
    /* Back/Forward to another search: the page shows the results of `shown`, so load what the entry says.
       An in-page anchor (the skip link's #main) fires popstate too, with the same path and query: the
       browser has already moved focus and scroll there, and a reload would undo it. */
    window.addEventListener("popstate", function () {
      if (window.location.pathname + window.location.search !== shown) {
        window.location.reload();
      }
    });
  }

  /* ---- copy helpers: BibTeX (fetched) and <pre> blocks ---- */
  function copyText(text, statusEl) {
    function done(msg) { if (statusEl) { statusEl.textContent = msg; window.setTimeout(function () { statusEl.textContent = ""; }, 2500); } }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("copied"); }, function () { done("copy failed: use the download link"); });
      return;
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); done("copied"); } catch (e) { done("copy failed: use the download link"); }
    ta.remove();
  }

  function setupCopy() {
    document.querySelectorAll("[data-bibtex-copy]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var status = btn.parentElement.querySelector("[data-copied]");
        fetch(btn.getAttribute("data-bibtex-copy"))
          .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
          .then(function (text) { copyText(text, status); })
          .catch(function () { if (status) { status.textContent = "could not load BibTeX"; } });
      });
    });
    document.querySelectorAll("[data-copy-target]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var target = document.getElementById(btn.getAttribute("data-copy-target"));
        if (target) { copyText(target.textContent, btn.parentElement.querySelector("[data-copied]")); }
      });
    });
    /* Sort on change only when the option was picked with a pointer: arrowing through a closed select
       fires "change" per option, and navigating on the first one would strand keyboard users (WCAG 3.2.2).
       Keyboard users press the Sort button, which is always shown. */
    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      var byPointer = false;
      sel.addEventListener("pointerdown", function () { byPointer = true; });
      sel.addEventListener("keydown", function () { byPointer = false; });
      sel.addEventListener("change", function () {
        if (byPointer) { sel.form.submit(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    paintStars();
    paintShortcuts(shortcutsOn());
    document.querySelectorAll("[data-shortcuts-toggle]").forEach(function (box) {
      box.addEventListener("change", function () { setShortcuts(box.checked); });
    });
    setupTechniqueSelects();
    setupSearch();
    setupCopy();
    /* A paper page: stars saved under an id the paper had before show (and toggle) as its star. The page
       names those ids, so the reading list never leaves the browser for it. */
    var page = document.querySelector("[data-former-ids]");
    var article = document.querySelector("[data-paper-id]");
    if (page && article) {
      var former = [];
      try { former = JSON.parse(page.getAttribute("data-former-ids") || "[]"); } catch (e) { former = []; }
      var current = article.getAttribute("data-paper-id");
      var moves = Array.isArray(former) ? former.filter(function (id) { return typeof id === "string"; })
        .map(function (id) { return { id: id, current: current }; }) : [];
      if (!moves.length || !adoptCurrent(moves)) { paintStars(); }
    }
  });
})();
