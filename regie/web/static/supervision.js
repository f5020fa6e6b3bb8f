/* Supervision pages: the live view (server-sent events) and the charts of the transformer and savings pages.
 *
 * Live: the page opens an EventSource on /live/stream; each "snapshot" event carries the published figures
 * (see regie/web/live.py) and the numbers are replaced in place, without reloading. window.regie.live
 * exposes the last snapshot and the number of events received, for tests.
 *
 * Charts: a <script type="application/json" data-chart="ID"> holds an ECharts option for the element ID,
 * built by the server (series, axis names already translated).
 */
(function () {
  "use strict";
  window.regie = window.regie || {};

  function kw(locale, w) {
    if (w === null || w === undefined) return "—";
    var mw = Math.abs(w) >= 1e6;
    var f = new Intl.NumberFormat(locale, {
      minimumFractionDigits: mw ? 2 : (Math.abs(w) >= 1e4 ? 0 : 1),
      maximumFractionDigits: mw ? 2 : (Math.abs(w) >= 1e4 ? 0 : 1),
    });
    return f.format(mw ? w / 1e6 : w / 1e3) + "\u00a0" + (mw ? "MW" : "kW");
  }

  function startLive() {
    var cfgEl = document.getElementById("live-config");
    if (!cfgEl || typeof EventSource === "undefined") return;
    var cfg = JSON.parse(cfgEl.textContent);
    var S = cfg.strings;
    var status = document.getElementById("live-status");
    var state = { events: 0, last: null };
    window.regie.live = state;

    // Tables are redrawn from each snapshot (textContent only: names are data, never markup).
    function table(tbodyId, items, empty, withSource) {
      var body = document.getElementById(tbodyId);
      if (!body) return;
      var section = body.closest("section");
      if (section && section.hasAttribute("data-hide-empty")) section.hidden = items.length === 0;
      body.textContent = "";
      if (!items.length && empty) {
        var tr0 = body.insertRow();
        tr0.setAttribute("data-testid", empty.testid);
        var td0 = tr0.insertCell();
        td0.colSpan = withSource ? 3 : 2;
        td0.textContent = empty.text;
        return;
      }
      items.forEach(function (item) {
        var tr = body.insertRow();
        tr.setAttribute("data-testid", withSource ? "live-producer" : "live-building");
        tr.setAttribute("data-id", item.id);
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = item.name;
        tr.appendChild(th);
        if (withSource) tr.insertCell().textContent = S.sources[item.source] || item.source;
        var cell = tr.insertCell();
        cell.className = "num";
        cell.setAttribute("data-power", "");
        cell.setAttribute("data-value", item.power_w === null ? "" : String(item.power_w));
        cell.textContent = item.fresh ? kw(cfg.locale, item.power_w) : S.stale;
      });
    }

    function apply(data) {
      ["production_w", "consumption_w", "balance_w"].forEach(function (k) {
        var el = document.querySelector('[data-live="' + k + '"]');
        if (!el) return;
        el.textContent = kw(cfg.locale, data[k]);
        el.setAttribute("data-value", data[k] === null ? "None" : String(data[k]));
      });
      ["production", "consumption"].forEach(function (k) {
        var el = document.querySelector('[data-live-masked="' + k + '"]');
        if (el) el.textContent = data.masked[k] === "regrouping" ? S.regrouping : data.masked[k] ? S.masked : "";
      });
      table("live-producer-rows", data.producers, { testid: "live-no-producer", text: S.no_producer }, true);
      table("live-building-rows", data.buildings, null, false);
    }

    var source = new EventSource(cfg.stream);
    source.addEventListener("snapshot", function (ev) {
      var data = JSON.parse(ev.data);
      state.events += 1;
      state.last = data;
      apply(data);
      if (status) status.textContent = S.connected;
    });
    source.addEventListener("error", function () {
      if (status) status.textContent = S.reconnecting;
    });
  }

  function startCharts() {
    if (typeof echarts === "undefined" || !window.regieCharts) return;
    var charts = {};
    document.querySelectorAll("script[data-chart]").forEach(function (el) {
      var target = document.getElementById(el.getAttribute("data-chart"));
      if (!target) return;
      var option = JSON.parse(el.textContent);
      var chart = regieCharts.init(target, { renderer: "canvas" });
      chart.setOption(option);
      target.setAttribute("data-state", "ready");
      charts[target.id] = chart;
      window.addEventListener("resize", function () { chart.resize(); });
    });
    window.regie.charts = charts;
  }

  startLive();
  startCharts();
})();
