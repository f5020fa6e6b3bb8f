// The perimeter and power checks of an ACC operation, as the PMO types (regie/web/acc_setup_pages.py).
// Each form with data-check-url asks GET /acc/check with its fields, 300 ms after the last keystroke (a
// newer answer replaces an older one), and shows the largest distance and the producers' total peak power
// with the rule each limit comes from. The server refuses the save with the same check.
(function () {
  "use strict";
  var DELAY_MS = 300;

  function number(value, digits) {
    return Number(value).toLocaleString(document.documentElement.lang || undefined,
      { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function wire(form) {
    var box = form.querySelector(".acc-check");
    if (!box) { return; }
    var slot = function (name) { return box.querySelector('[data-check="' + name + '"]'); };
    var timer = null;
    var asked = 0;

    function show(data) {
      var problems = slot("problems");
      problems.textContent = "";
      if (data.error) {
        box.dataset.state = "error";
        slot("status").textContent = box.dataset.textError + " " + data.error;
        return;
      }
      box.dataset.state = data.ok ? "ok" : "refused";
      slot("status").textContent = data.ok ? box.dataset.textOk : box.dataset.textRefused;
      slot("distance").textContent = number(data.distance_km, 2) + "\u00a0km";
      slot("distance-limit").textContent = number(data.distance_limit_km, 0) + "\u00a0km";
      slot("distance-source").textContent = "(" + data.distance_source + ")";
      slot("power").textContent = number(data.power_mw, 3) + "\u00a0MW";
      slot("power-source").textContent = "(" + data.power_source + ")";
      data.refusals.concat(data.warnings).forEach(function (text, i) {
        var li = document.createElement("li");
        li.textContent = text;
        if (i < data.refusals.length) { li.className = "acc-warn"; }
        problems.appendChild(li);
      });
    }

    function check() {
      var query = new URLSearchParams();
      if (form.dataset.operation) { query.set("operation", form.dataset.operation); }
      new FormData(form).forEach(function (value, name) {
        if (name !== "csrf_token" && typeof value === "string") { query.set(name, value); }
      });
      var mine = ++asked;
      box.dataset.state = "checking";
      fetch(form.dataset.checkUrl + "?" + query.toString(), { credentials: "same-origin",
        headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === asked) { show(data); } })
        .catch(function (err) { if (mine === asked) { show({ error: String(err) }); } });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY_MS);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    check();
  }

  document.querySelectorAll("form[data-check-url]").forEach(wire);
}());
