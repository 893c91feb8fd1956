// Live regions: an element with data-refresh="URL" and data-every="SECONDS" has its
// contents replaced by the HTML at URL, in place, without reloading the page.
(function () {
  "use strict";
  function refresh(el) {
    fetch(el.dataset.refresh, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null) { el.innerHTML = html; } })
      .catch(function () { el.setAttribute("data-stale", "true"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(function (el) {
      var every = Math.max(2, parseInt(el.dataset.every || "10", 10)) * 1000;
      setInterval(function () { if (!document.hidden) { refresh(el); } }, every);
    });
  });
})();

// Fridge form: fill the standard range when the kind changes (the server does the same when the limits are
// left empty). Here rather than inline, so the Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var kind = document.getElementById("kind"), low = document.getElementById("low_c"), high = document.getElementById("high_c");
    if (!kind || !low || !high || !kind.hasAttribute("data-presets")) { return; }
    var presets = JSON.parse(kind.getAttribute("data-presets") || "{}");
    kind.addEventListener("change", function () {
      var range = presets[kind.value];
      if (range) { low.value = range[0]; high.value = range[1]; }
    });
  });
})();
