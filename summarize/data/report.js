// summarize HTML report. Inlined by render_html.py; no network, no dependencies.
// A citation jumps to its span in the source pane and marks it active. Done in script rather than by
// :target alone so a span split around an overlapping one lights up in every piece, the span is centred
// instead of pinned to the top edge, and keyboard focus moves with the reader.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function activate(id, scroll) {
    var target = id ? document.getElementById(id) : null;
    if (!target || !target.classList.contains("ev")) {
      return false;
    }
    document.querySelectorAll("mark.is-active").forEach(function (m) {
      m.classList.remove("is-active");
    });
    document.querySelectorAll("mark.ev").forEach(function (m) {
      if (m.getAttribute("data-ev") === id) {
        m.classList.add("is-active");
      }
    });
    if (scroll) {
      target.scrollIntoView({ block: "center", inline: "nearest" });
    }
    target.focus({ preventScroll: true });
    return true;
  }

  function fromHash() {
    var hash = window.location.hash;
    try {
      return hash.length > 1 ? decodeURIComponent(hash.slice(1)) : "";
    } catch (error) {
      return ""; // a hand-typed malformed fragment is no reason for a console error
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a.cite") : null;
    if (!link) {
      return;
    }
    var id = (link.getAttribute("href") || "").slice(1);
    if (activate(id, true)) {
      event.preventDefault();
      // keep the jump in history so Back returns to the briefing
      history.pushState({ ev: id }, "", "#" + id);
    }
  });

  window.addEventListener("popstate", function () {
    activate(fromHash(), true);
  });
  window.addEventListener("hashchange", function () {
    activate(fromHash(), true);
  });
  activate(fromHash(), true);
})();
