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
