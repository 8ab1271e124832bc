// Comptoir admin: the only script. Pages work without it; it adds
// - live updates: an element with data-poll="<url>" is refreshed from that
//   JSON URL every data-every ms (2000 by default); each key of the answer
//   fills the descendants marked data-field="<key>" (text, or value for a
//   <progress>); polling stops once the answer says "done": true;
// - confirmations: a form with data-confirm="<question>" asks before posting;
// - the invoice form: picking a product fills its line, and each line's
//   amount and the total follow what is typed (the server computes both
//   again when the form is saved).
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

  // "12,50", "1 234,5" or "12.50" as a number; blank as `blank`.
  function number(text, blank) {
    var t = String(text || "").replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
    if (t === "") { return blank; }
    var n = Number(t);
    return isFinite(n) ? n : NaN;
  }

  function euros(n) {
    return new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" }).format(n);
  }

  function invoiceForm(form) {
    var rows = form.querySelectorAll("tr.line-row");
    var total = document.getElementById("running-total");
    function field(row, name) { return row.querySelector('[name^="' + name + '_"]'); }
    function update() {
      var sum = 0;
      var ok = true;
      rows.forEach(function (row) {
        var desc = field(row, "description").value.trim();
        var q = number(field(row, "quantity").value, 1);
        var p = number(field(row, "unit_price").value, null);
        var cell = row.querySelector(".line-total");
        if (desc === "" && p === null) { cell.textContent = ""; return; }
        if (p === null || isNaN(p) || isNaN(q)) { cell.textContent = "?"; ok = false; return; }
        var amount = Math.round(q * p * 100) / 100;
        cell.textContent = euros(amount);
        sum += amount;
      });
      // The words come from the page, in the operator's language.
      if (total) { total.textContent = ok ? euros(sum) : euros(sum) + " " + (total.getAttribute("data-unreadable") || "?"); }
    }
    rows.forEach(function (row) {
      var pick = row.querySelector("select.product-pick");
      if (pick) {
        pick.addEventListener("change", function () {
          var o = pick.options[pick.selectedIndex];
          if (!o || !o.value) { return; }
          field(row, "description").value = o.getAttribute("data-name");
          field(row, "nature").value = o.getAttribute("data-nature");
          field(row, "unit_price").value = o.getAttribute("data-price");
          field(row, "unit").value = o.getAttribute("data-unit") || "";
          if (field(row, "quantity").value.trim() === "") { field(row, "quantity").value = "1"; }
          update();
        });
      }
    });
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var invoice = document.getElementById("invoice-form");
    if (invoice && invoice.querySelector("tr.line-row .line-total")) { invoiceForm(invoice); }
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  });
})();
