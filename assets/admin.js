// Comptoir admin: the only script. Pages work without it; it adds
// - live updates: an element with data-poll="<url>" is refreshed from that
//   JSON URL every data-every ms (2000 by default); each key of the answer
//   fills the descendants marked data-field="<key>" (text, or value for a
//   <progress>); polling stops once the answer says "done": true;
// - confirmations: a form with data-confirm="<question>" asks before posting.
(function () {
  "use strict";

  function fill(root, data) {
    Object.keys(data).forEach(function (key) {
      root.querySelectorAll('[data-field="' + key + '"]').forEach(function (el) {
        var v = data[key];
        if (el.tagName === "PROGRESS") {
          if (v === null || v === undefined) { el.removeAttribute("value"); } else { el.value = v; }
        } else {
          el.textContent = v === null || v === undefined ? "" : String(v);
        }
      });
    });
  }

  function poll(el) {
    var url = el.getAttribute("data-poll");
    var every = parseInt(el.getAttribute("data-every") || "2000", 10);
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          fill(el, data);
          if (data.done) {
            el.setAttribute("data-done", "true");
            if (el.hasAttribute("data-reload-when-done")) { window.location.reload(); }
          } else {
            setTimeout(tick, every);
          }
        })
        .catch(function () { setTimeout(tick, every * 3); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  });
})();
