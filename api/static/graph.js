/* paperkg graph view: a paper's neighbourhood drawn with the vendored cytoscape (labels are canvas text). */
(function () {
  "use strict";

  var COLORS = { center: "#d9480f", paper: "#1f5fbf", technique: "#2b8a3e", topic: "#7048e8",
                 component: "#7048e8", model: "#8a5f00", author: "#868e96" };

  function shorten(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function build(container, data) {
    var elements = [];
    data.nodes.forEach(function (n) {
      elements.push({ group: "nodes", data: {
        id: n.id, kind: n.kind, href: n.href || "", full: n.label,
        label: shorten(n.label, n.kind === "paper" || n.kind === "center" ? 48 : 30) } });
    });
    data.edges.forEach(function (e, i) {
      elements.push({ group: "edges", data: { id: "e" + i, source: e.source, target: e.target, kind: e.kind } });
    });
    var cy = window.cytoscape({
      container: container,
      elements: elements,
      minZoom: 0.2,
      maxZoom: 3,
      style: [
        { selector: "node", style: {
          "label": "data(label)", "font-size": 12, "color": "#1d2228", "text-wrap": "wrap", "text-max-width": 140,
          "text-valign": "bottom", "text-margin-y": 3, "width": 18, "height": 18, "background-color": "#868e96",
          "text-background-color": "#ffffff", "text-background-opacity": 0.75, "text-background-padding": 1,
          "min-zoomed-font-size": 7 } },
        { selector: "node[kind = 'center']", style: { "background-color": COLORS.center, "width": 30, "height": 30,
          "font-size": 14, "font-weight": "bold", "text-max-width": 200 } },
        { selector: "node[kind = 'paper']", style: { "background-color": COLORS.paper, "width": 20, "height": 20 } },
        { selector: "node[kind = 'technique'], node[kind = 'evaluation']", style: { "background-color": COLORS.technique, "shape": "round-rectangle" } },
        { selector: "node[kind = 'topic'], node[kind = 'component']", style: { "background-color": COLORS.topic, "shape": "round-rectangle" } },
        { selector: "node[kind = 'model']", style: { "background-color": COLORS.model, "shape": "round-rectangle" } },
        { selector: "node[kind = 'author']", style: { "background-color": COLORS.author, "width": 11, "height": 11, "font-size": 10 } },
        /* Edges at 3:1 or more against the canvas (WCAG non-text contrast), drawn opaque so that holds. */
        { selector: "edge", style: { "width": 1, "line-color": "#7a8694", "curve-style": "straight", "opacity": 1 } },
        { selector: "node.hover", style: { "border-width": 2, "border-color": "#1d2228", "z-index": 9 } },
        { selector: "edge.hover", style: { "line-color": "#5d6875", "width": 2 } }
      ],
      layout: { name: "cose", animate: false, randomize: false, padding: 24, fit: true, numIter: 1500,
                nodeRepulsion: function () { return 400000; }, idealEdgeLength: function () { return 80; },
                nodeOverlap: 20, gravity: 0.3, componentSpacing: 80 }
    });
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
    window.paperkgCy = cy; /* exposed for the browser tests and the console */
    return cy;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("cy");
    if (!container) { return; }
    var guard = document.querySelector("[data-cy-guard]");
    /* A touch screen: swipes over the canvas scroll the page until the user taps to use the graph. */
    if (guard && window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
      guard.hidden = false;
      guard.addEventListener("click", function () {
        guard.hidden = true;
      });
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
      .then(function (data) { build(container, data); })
      .catch(function (err) {
        var p = document.createElement("p");
        p.className = "notice notice-error";
        p.textContent = "Could not load the graph: " + err.message;
        container.replaceWith(p);
      });
  });
})();
