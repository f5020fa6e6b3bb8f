/* Charts of the collective self-consumption pages: the flows as a Sankey (production → consumers → surplus,
 * suppliers → consumers for the complement), the allocation per consumer (stacked bars) with the production,
 * and a participant's own months (local energy and complement).
 *
 * Everything comes from the page (<script type="application/json" id="acc-config">): figures already
 * computed by the server in kWh, translated strings and the locale. Nothing is fetched. window.regie.acc
 * exposes the charts for tests; each chart's element gets data-state="ready" once drawn.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("acc-config");
  if (!configEl || typeof echarts === "undefined" || !window.regieCharts) {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var S = cfg.strings || {};
  var fmt = new Intl.NumberFormat(cfg.locale, { maximumFractionDigits: 1 });
  var lang = cfg.locale === "fr" ? "FR" : "EN";
  window.regie = window.regie || {};
  window.regie.acc = {};

  function kwh(v) {
    return fmt.format(v) + "\u00a0" + (S.kwh || "kWh");
  }

  function init(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var chart = regieCharts.init(el, { renderer: "canvas", locale: lang });
    window.addEventListener("resize", function () { chart.resize(); });
    return { el: el, chart: chart };
  }

  function ready(c) {
    c.el.dataset.state = "ready";
  }

  // ---------------------------------------------------------------- Sankey
  function sankey(data) {
    var c = init("acc-sankey");
    if (!c) return;
    var labels = {};
    var colours = { producer: "#f2a900", consumer: "#2b6cb0", surplus: "#8a8f98", grid: "#b0568f" };
    var nodes = data.nodes.map(function (n) {
      labels[n.id] = n.label;
      return { name: n.id, itemStyle: { color: colours[n.role] || "#5b6673" } };
    });
    var links = data.links.map(function (l) {
      return { source: l.source, target: l.target, value: l.kwh };
    });
    c.chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.dataType === "edge") {
            return labels[p.data.source] + " → " + labels[p.data.target] + "<br>" + kwh(p.data.value);
          }
          return labels[p.name] + "<br>" + kwh(p.value);
        },
      },
      series: [{
        type: "sankey",
        data: nodes,
        links: links,
        nodeAlign: "justify",
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 },
        label: { formatter: function (p) { return labels[p.name]; } },
      }],
    });
    window.regie.acc.sankey = { chart: c.chart, nodes: data.nodes, links: data.links };
    ready(c);
  }

  // ---------------------------------------------------------------- allocation per consumer
  function allocation(data) {
    var c = init("acc-allocation-chart");
    if (!c) return;
    var series = data.consumers.map(function (cons) {
      return { name: cons.name, type: "bar", stack: "autocons", data: cons.autocons, emphasis: { focus: "series" } };
    });
    series.push({ name: S.production, type: "line", data: data.production, symbol: "none",
                  lineStyle: { color: "#f2a900", width: 2 }, itemStyle: { color: "#f2a900" } });
    c.chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: kwh },
      legend: { type: "scroll", top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", name: S.kwh || "kWh" },
      dataZoom: data.labels.length > 40 ? [{ type: "inside" }, { type: "slider" }] : [],
      series: series,
    });
    window.regie.acc.allocation = { chart: c.chart, data: data };
    ready(c);
  }

  // ---------------------------------------------------------------- a participant's months
  function mine(data) {
    var c = init("acc-mine-chart");
    if (!c) return;
    c.chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: kwh },
      legend: { top: 0, type: "scroll" },  // one line, even on a phone: it stays clear of the axis name
      grid: { left: 70, right: 20, top: 48, bottom: 40 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", name: S.kwh || "kWh" },
      series: [
        { name: S.autocons, type: "bar", stack: "cons", data: data.autocons, itemStyle: { color: "#3a9d5d" } },
        { name: S.complement, type: "bar", stack: "cons", data: data.complement, itemStyle: { color: "#b0568f" } },
      ],
    });
    window.regie.acc.mine = { chart: c.chart, data: data };
    ready(c);
  }

  if (cfg.sankey) sankey(cfg.sankey);
  if (cfg.allocation) allocation(cfg.allocation);
  if (cfg.mine) mine(cfg.mine);
})();
