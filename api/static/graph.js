/* paperkg graph view: a paper's neighbourhood drawn with the vendored cytoscape (labels are canvas text). */
(function () {
  "use strict";

  /* Okabe-Ito hues darkened to 3:1 or more against the canvas (WCAG non-text contrast); each kind also has a
     shape of its own, so technique / evaluation and topic / component differ without colour too. */
  var COLORS = { center: "#c2410c", paper: "#0f5a9c", technique: "#00785a", evaluation: "#a85a00",
                 topic: "#9a3f85", component: "#4d4d4d", model: "#5b4636", author: "#6e7781" };
  var SHAPES = { center: "ellipse", paper: "ellipse", technique: "round-rectangle", evaluation: "diamond",
                 topic: "hexagon", component: "triangle", model: "barrel", author: "ellipse" };
  var SIZES = { center: 30, paper: 18, technique: 18, evaluation: 22, topic: 20, component: 20, model: 18,
                author: 10 };
  var HUB_KINDS = ["technique", "evaluation", "model", "topic", "component"];
  var ZOOM_STEP = 1.25;

  function shorten(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1).replace(/\s+\S*$/, "") + "…" : text;
  }

  /* "Nelson Elhage" -> "N. Elhage": authors are many, their full names are on hover and in the list. */
  function shortName(name) {
    var parts = String(name || "").trim().split(/\s+/);
    if (parts.length < 2) { return parts[0] || ""; }
    return parts.slice(0, -1).map(function (p) { return p.charAt(0) + "."; }).join(" ") + " " + parts[parts.length - 1];
  }

  /* Spread angles (radians, sorted) so that neighbours are at least `gap` apart, keeping their order. */
  function spread(angles, gap) {
    var n = angles.length;
    if (n < 2) { return angles; }
    gap = Math.min(gap, 2 * Math.PI / n);
    for (var round = 0; round < 60; round++) {
      for (var i = 0; i < n; i++) {
        var j = (i + 1) % n;
        var d = angles[j] - angles[i] + (j === 0 ? 2 * Math.PI : 0);
        if (d < gap) {
          var push = (gap - d) / 2;
          angles[i] -= push;
          angles[j] += push;
        }
      }
    }
    return angles;
  }

  function meanAngle(list) {
    var x = 0, y = 0;
    list.forEach(function (a) { x += Math.cos(a); y += Math.sin(a); });
    return Math.atan2(y, x);
  }

  /* A deterministic layout in the frame's own pixels, so the first fit is a zoom near 1 and 12px labels stay
     12px. Ellipses of the frame's shape: the paper in the middle, its techniques, evaluations, models, topics
     and components around it, its authors further out and the neighbouring papers on the rim (two staggered
     rows when many), each paper next to the node it shares, the "similar" ones together. The same data
     gives the same picture, so Back shows what the reader left. */
  function positions(data, width, height, labelWidth) {
    var kindOf = {}, links = {};
    data.nodes.forEach(function (n) { kindOf[n.id] = n.kind; links[n.id] = []; });
    var similar = {};
    data.edges.forEach(function (e) {
      links[e.source].push(e.target);
      links[e.target].push(e.source);
      if (e.kind === "similar") { similar[e.target] = true; }
    });
    var hubs = data.nodes.filter(function (n) { return HUB_KINDS.indexOf(n.kind) >= 0; }).map(function (n) { return n.id; });
    var authors = data.nodes.filter(function (n) { return n.kind === "author"; }).map(function (n) { return n.id; });
    var hubIndex = {};
    hubs.forEach(function (id, i) { hubIndex[id] = i; });
    /* Papers grouped by the first of the paper's nodes they share (then authors only, then similar),
       in graph.json's order within a group: most related first. */
    var papers = data.nodes.filter(function (n) { return n.kind === "paper"; }).map(function (n, order) {
      var group = similar[n.id] ? hubs.length + 1 : hubs.length;
      links[n.id].forEach(function (m) { if (m in hubIndex) { group = Math.min(group, hubIndex[m]); } });
      return { id: n.id, group: group, order: order };
    });
    papers.sort(function (a, b) { return a.group - b.group || a.order - b.order; });
    /* Margins keep the labels (under the nodes, up to 130px wide) inside the frame. */
    var rx = Math.max(40, width / 2 - labelWidth / 2 - 5), ry = Math.max(40, height / 2 - 34);
    var start = -Math.PI / 2 - Math.PI / 6;
    var pos = {};
    var angleOf = {};
    var place = function (id, angle, scale, dy) {
      angleOf[id] = angle;
      pos[id] = { x: Math.cos(angle) * rx * scale, y: Math.sin(angle) * ry * scale + (dy || 0) };
    };
    pos[data.center] = { x: 0, y: 0 };
    var many = papers.length > 12;
    papers.forEach(function (p, i) {
      place(p.id, start + 2 * Math.PI * (i + 0.5) / papers.length, many && i % 2 ? 0.84 : 1, -10);
    });
    /* Each hub where its papers are; one without papers between its neighbours. */
    var hubAngles = hubs.map(function (id, i) {
      var mine = papers.filter(function (p) { return p.group === i; }).map(function (p) { return angleOf[p.id]; });
      return mine.length ? meanAngle(mine) : start + 2 * Math.PI * (i + 0.5) / Math.max(1, hubs.length);
    });
    var hubOrder = hubs.map(function (id, i) { return i; }).sort(function (a, b) {
      return ((hubAngles[a] - start) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) -
             ((hubAngles[b] - start) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) || a - b;
    });
    var sortedHub = hubOrder.map(function (i) { return hubAngles[i]; });
    for (var k = 1; k < sortedHub.length; k++) {
      while (sortedHub[k] < sortedHub[k - 1]) { sortedHub[k] += 2 * Math.PI; }
    }
    spread(sortedHub, 2 * Math.PI / 7).forEach(function (a, k) { place(hubs[hubOrder[k]], a, 0.36); });
    /* Authors near the papers they share, the others in the gaps, two staggered rows when many. */
    var wanted = authors.map(function (id, i) {
      var mine = links[id].filter(function (m) { return kindOf[m] === "paper"; }).map(function (m) { return angleOf[m]; });
      var a = mine.length ? meanAngle(mine) : start + Math.PI + 2 * Math.PI * (i + 0.5) / authors.length;
      return { id: id, angle: ((a - start) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) + start, i: i };
    });
    wanted.sort(function (a, b) { return a.angle - b.angle || a.i - b.i; });
    spread(wanted.map(function (w) { return w.angle; }), 2 * Math.PI / Math.max(8, authors.length))
      .forEach(function (a, k) { place(wanted[k].id, a, authors.length > 10 && k % 2 ? 0.58 : 0.68); });
    return pos;
  }

  /* Label sizes and lengths for a frame width: a phone's frame is a third as wide, and smaller, shorter labels
     overlap less there (10px still reads). */
  function textFor(width) {
    return width < 600 ? { key: "narrow", size: 10, width: 90, chars: 30, hub: 11, center: 12, author: 9 }
                       : { key: "wide", size: 12, width: 130, chars: 44, hub: 13, center: 14, author: 10 };
  }

  function labelFor(n, text) {
    return n.kind === "author" ? shortName(n.label)
      : shorten(n.label, n.kind === "paper" || n.kind === "center" ? text.chars : 30);
  }

  function styleFor(text) {
    var style = [
      { selector: "node", style: {
        "label": "data(label)", "font-size": text.size, "color": "#1d2228", "text-wrap": "wrap",
        "text-max-width": text.width,
        "text-valign": "bottom", "text-margin-y": 3, "width": 18, "height": 18, "background-color": "#6e7781",
        "text-background-color": "#ffffff", "text-background-opacity": 0.8, "text-background-padding": 1,
        "min-zoomed-font-size": 7 } },
      { selector: "node[kind = 'center']", style: { "font-size": text.center, "font-weight": "bold",
                                                    "text-max-width": text.width * 1.7 } },
      { selector: "node[kind = 'author']", style: { "font-size": text.author, "text-max-width": 90 } },
      { selector: "node[kind = 'technique'], node[kind = 'evaluation'], node[kind = 'topic'], " +
                  "node[kind = 'component'], node[kind = 'model']", style: { "font-size": text.hub } },
      /* Edges at 3:1 or more against the canvas, drawn opaque so that holds: the paper's own edges in its
         node's colour, sharing thin, authorship dotted, similarity dashed. */
      { selector: "edge", style: { "width": 1, "line-color": "#7a8694", "curve-style": "straight", "opacity": 1 } },
      { selector: "edge[kind = 'uses']", style: { "width": 2, "line-color": COLORS.technique } },
      { selector: "edge[kind = 'evaluates']", style: { "width": 2, "line-color": COLORS.evaluation } },
      { selector: "edge[kind = 'studies']", style: { "width": 2, "line-color": COLORS.model } },
      { selector: "edge[kind = 'about']", style: { "width": 2, "line-color": COLORS.topic } },
      { selector: "edge[kind = 'authored']", style: { "line-style": "dotted", "line-color": "#7a8694" } },
      { selector: "edge[kind = 'similar']", style: { "width": 2, "line-style": "dashed", "line-color": COLORS.paper,
                                                     "line-dash-pattern": [6, 4] } },
      /* A label that would overlap another or cover a node is not drawn (declutter); hover shows it. */
      { selector: "node.nolabel", style: { "label": "" } },
      { selector: "node.hover", style: { "label": "data(label)", "border-width": 2, "border-color": "#1d2228",
                                         "z-index": 9 } },
      { selector: "edge.hover", style: { "width": 3, "z-index": 9 } }
    ];
    Object.keys(COLORS).forEach(function (kind) {
      style.splice(1, 0, { selector: "node[kind = '" + kind + "']", style: {
        "background-color": COLORS[kind], "shape": SHAPES[kind], "width": SIZES[kind], "height": SIZES[kind] } });
    });
    return style;
  }

  var LABEL_ORDER = { center: 0, technique: 1, evaluation: 1, model: 1, topic: 1, component: 1, paper: 2, author: 3 };

  /* Which labels to draw (QA: on a phone 38 label boxes overlapped, 29 authors in a clump, and a label's white
     background paled the nodes it covered): the paper's, then its nodes', the papers' (most related first)
     and the authors', each only if its box clears the labels already kept and every other node. The
     list below the canvas names them all, and hovering a node shows its label. Overlaps are the same at
     every zoom (labels scale with it), so this runs once per layout. */
  function declutter(cy) {
    cy.nodes().removeClass("nolabel");
    var nodes = cy.nodes().toArray().map(function (n, i) { return { n: n, i: i }; });
    nodes.sort(function (a, b) {
      return LABEL_ORDER[a.n.data("kind")] - LABEL_ORDER[b.n.data("kind")] || a.i - b.i;
    });
    var box = function (n, labels) {
      return n.boundingBox({ includeNodes: !labels, includeLabels: labels, includeEdges: false });
    };
    var bodies = nodes.map(function (x) {
      return { id: x.n.id(), author: x.n.data("kind") === "author", b: box(x.n, false) };
    });
    var clash = function (a, b, pad) {
      return Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1) > pad && Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1) > pad;
    };
    var kept = [], hidden = [], pad = 1 / Math.max(cy.zoom(), 0.01);
    nodes.forEach(function (x) {
      var id = x.n.id(), b = box(x.n, true);
      if (!x.n.data("label") || b.w <= 0) { return; }
      var rank = LABEL_ORDER[x.n.data("kind")];
      /* The paper's own nodes' labels give way only to each other's; a paper's or author's to any node too. */
      var blocked = rank > 0 && (kept.some(function (k) { return clash(k, b, pad); }) ||
        (rank > 1 && bodies.some(function (o) { return o.id !== id && !o.author && clash(o.b, b, pad); })));
      if (blocked) { hidden.push(x.n); } else { kept.push(b); }
    });
    cy.collection(hidden).addClass("nolabel");
  }

  /* Lay the graph out for the frame's size now, fit it and choose the labels drawn: at load, after a resize
     and before printing (QA: positions computed once left 20 labels outside a window shrunk to 700px and
     cut a print's right third). The same frame size gives the same picture. */
  function layOut(cy, data, container) {
    cy.resize();
    var width = container.clientWidth, height = container.clientHeight, text = textFor(width);
    if (cy.scratch("paperkgText") !== text.key) {
      cy.scratch("paperkgText", text.key);
      cy.style(styleFor(text));
    }
    var pos = positions(data, width, height, text.width);
    var byId = {};
    data.nodes.forEach(function (n) { byId[n.id] = n; });
    cy.nodes().forEach(function (n) { n.data("label", labelFor(byId[n.id()], text)); });
    cy.nodes().positions(function (n) { return pos[n.id()] || { x: 0, y: 0 }; });
    fitView(cy);
    declutter(cy);
    cy.scratch("paperkgSize", width + "x" + height);
  }

  function build(container, data) {
    var touch = coarsePointer();
    /* A big neighbourhood gets a taller frame rather than smaller labels: with a mouse only as far as the
       window shows it whole (the frame stays in one screen); on a touch screen, where the width is the
       limit and the guard keeps the page scrolling, up to 85% of the window's height. */
    var want = 260 + 9 * data.nodes.length;
    var cap = touch ? window.innerHeight * 0.85 : window.innerHeight - container.getBoundingClientRect().top - 8;
    if (Math.min(want, cap) > container.clientHeight) { container.style.height = Math.round(Math.min(want, cap)) + "px"; }
    var elements = [];
    data.nodes.forEach(function (n) {
      elements.push({ group: "nodes", position: { x: 0, y: 0 }, data: {
        id: n.id, kind: n.kind, href: n.href || "", full: n.label, label: n.label } });
    });
    data.edges.forEach(function (e, i) {
      elements.push({ group: "edges", data: { id: "e" + i, source: e.source, target: e.target, kind: e.kind,
                                              reason: e.reason || "" } });
    });
    var cy = window.cytoscape({
      container: container,
      elements: elements,
      minZoom: 0.2,
      maxZoom: 3,
      /* With a mouse the wheel scrolls the page (QA: a reader scrolling to the list got stuck zooming);
         Ctrl/⌘+wheel and the buttons zoom. A touch screen keeps pinch zoom behind the guard. */
      userZoomingEnabled: touch,
      style: styleFor(textFor(container.clientWidth)),
      layout: { name: "preset", fit: false }
    });
    layOut(cy, data, container);
    keepFitted(cy, data, container);
    cy.on("tap", "node", function (ev) {
      var href = ev.target.data("href");
      if (href) { window.location.href = href; }
    });
    cy.on("mouseover", "node", function (ev) {
      ev.target.addClass("hover");
      ev.target.connectedEdges().addClass("hover");
      container.title = ev.target.data("full");
      container.style.cursor = ev.target.data("href") ? "pointer" : "default";
    });
    cy.on("mouseout", "node", function (ev) {
      ev.target.removeClass("hover");
      ev.target.connectedEdges().removeClass("hover");
      container.title = "";
      container.style.cursor = "default";
    });
    cy.on("mouseover", "edge[kind = 'similar']", function (ev) { container.title = ev.target.data("reason"); });
    cy.on("mouseout", "edge", function () { container.title = ""; });
    container.addEventListener("wheel", function (ev) {
      if (!(ev.ctrlKey || ev.metaKey)) { return; } /* a plain wheel scrolls the page */
      ev.preventDefault();
      var box = container.getBoundingClientRect();
      zoomBy(cy, ev.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, { x: ev.clientX - box.left, y: ev.clientY - box.top });
    }, { passive: false });
    window.paperkgCy = cy; /* exposed for the browser tests and the console */
    return cy;
  }

  /* A new frame size (a resized window, a rotated phone) lays the graph out again once the size settles;
     printing does it at once, before the page is laid out for paper, and again after. */
  function keepFitted(cy, data, container) {
    var timer = null;
    var now = function () {
      if (timer) { clearTimeout(timer); timer = null; }
      if (cy.scratch("paperkgSize") !== container.clientWidth + "x" + container.clientHeight) {
        layOut(cy, data, container);
      }
    };
    var later = function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(now, 150);
    };
    if (window.ResizeObserver) { new ResizeObserver(later).observe(container); }
    window.addEventListener("resize", later);
    window.addEventListener("beforeprint", now);
    window.addEventListener("afterprint", now);
    if (window.matchMedia) {
      var print = window.matchMedia("print");
      if (print.addEventListener) { print.addEventListener("change", now); }
    }
  }

  /* The whole graph in the frame, but not blown up: a paper with one or two nodes would fit at zoom 3. */
  function fitView(cy) {
    /* Fitted with every label drawn, as at load (a label hidden now may be drawn after the next layout). */
    var hidden = cy.nodes(".nolabel").removeClass("nolabel");
    cy.fit(undefined, 8);
    if (cy.zoom() > 1.25) { cy.zoom(1.25); cy.center(); }
    hidden.addClass("nolabel");
  }

  function zoomBy(cy, factor, at) {
    var level = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), cy.zoom() * factor));
    cy.zoom({ level: level, renderedPosition: at || { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  function coarsePointer() {
    return !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("cy");
    if (!container) { return; }
    var guard = document.querySelector("[data-cy-guard]");
    /* A touch screen: swipes over the canvas scroll the page until the user taps to use the graph. */
    if (coarsePointer()) {
      var mouseHint = document.querySelector("[data-hint-mouse]");
      var touchHint = document.querySelector("[data-hint-touch]");
      if (mouseHint && touchHint) { mouseHint.hidden = true; touchHint.hidden = false; }
      if (guard) {
        guard.hidden = false;
        guard.addEventListener("click", function () {
          guard.hidden = true;
        });
      }
    }
    if (!window.cytoscape) {
      var p = document.createElement("p");
      p.className = "notice notice-error";
      // Text only (textContent): a checkout vendors cytoscape with `make node`, a package with `make dist`.
      p.textContent = "The graph library (cytoscape) is missing from this installation: in a checkout run " +
        "`make node`; a package must be built with `make dist`.";
      container.replaceWith(p);
      return;
    }
    fetch(container.getAttribute("data-graph-src"), { headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var cy = build(container, data);
        Array.prototype.forEach.call(document.querySelectorAll("[data-zoom]"), function (button) {
          button.addEventListener("click", function () {
            var how = button.getAttribute("data-zoom");
            if (how === "fit") { fitView(cy); } else { zoomBy(cy, how === "in" ? ZOOM_STEP : 1 / ZOOM_STEP); }
          });
        });
      })
      .catch(function (err) {
        var p = document.createElement("p");
        p.className = "notice notice-error";
        p.textContent = "Could not load the graph: " + err.message;
        container.replaceWith(p);
      });
  });
})();
