/* The charts' colours follow the page's: light or dark as the system says (prefers-color-scheme).
 *
 * Why: ECharts draws text, axes, grid lines, legends and tooltips in its own light colours, which a dark page
 * made unreadable (dark grey on near black). Here one ECharts theme is built from regie.css's custom properties
 * (--ink, --muted, --line, --paper), so a chart has exactly the colours of the page around it, and every chart
 * made through window.regieCharts.init switches when the system's scheme changes (echarts 6's setTheme).
 * Series keep their own colours (sources, roles); a colour that must follow the ink (the consumption line) is
 * read with regieCharts.colour("--ink") and set again through regieCharts.onChange.
 *
 * Load after echarts.min.js and before the page's chart script.
 */
(function () {
  "use strict";

  if (typeof echarts === "undefined") return;
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var charts = [];
  var listeners = [];

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function scheme() {
    return dark && dark.matches ? "dark" : "light";
  }

  function axis(ink, muted, line) {
    return {
      nameTextStyle: { color: muted },
      axisLine: { lineStyle: { color: muted } },
      axisTick: { lineStyle: { color: muted } },
      axisLabel: { color: muted },
      splitLine: { lineStyle: { color: line } },
      splitArea: { areaStyle: { color: ["transparent"] } },
      axisPointer: { label: { color: ink, backgroundColor: line } },
    };
  }

  /* The theme of the current scheme, registered as "regie-light" or "regie-dark" (the CSS is read each time: a
     page stylesheet may change the properties). */
  function theme() {
    var ink = colour("--ink") || "#1f2933";
    var muted = colour("--muted") || "#5b6673";
    var line = colour("--line") || "#d9dee4";
    var paper = colour("--paper") || "#ffffff";
    var name = "regie-" + scheme();
    echarts.registerTheme(name, {
      darkMode: scheme() === "dark",
      backgroundColor: "transparent",
      textStyle: { color: ink },
      title: { textStyle: { color: ink }, subtextStyle: { color: muted } },
      legend: { textStyle: { color: ink }, inactiveColor: muted, pageTextStyle: { color: ink } },
      tooltip: {
        backgroundColor: paper, borderColor: line, textStyle: { color: ink },
        axisPointer: { lineStyle: { color: muted }, crossStyle: { color: muted } },
      },
      categoryAxis: axis(ink, muted, line),
      valueAxis: axis(ink, muted, line),
      timeAxis: axis(ink, muted, line),
      logAxis: axis(ink, muted, line),
      dataZoom: {
        textStyle: { color: muted }, borderColor: line, backgroundColor: "transparent",
        dataBackground: { lineStyle: { color: muted }, areaStyle: { color: line } },
        handleStyle: { color: paper, borderColor: muted }, moveHandleStyle: { color: line },
      },
      visualMap: { textStyle: { color: ink } },
      toolbox: { iconStyle: { borderColor: muted } },
    });
    return name;
  }

  function init(el, opts) {
    var chart = echarts.init(el, theme(), opts || { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  function onChange(fn) {
    listeners.push(fn);
  }

  function switchScheme() {
    var name = theme();
    charts.forEach(function (chart) {
      if (!chart.isDisposed()) chart.setTheme(name);
    });
    listeners.forEach(function (fn) { fn(scheme()); });
  }

  if (dark) {
    if (dark.addEventListener) dark.addEventListener("change", switchScheme);
    else if (dark.addListener) dark.addListener(switchScheme);
  }

  window.regieCharts = { init: init, colour: colour, scheme: scheme, onChange: onChange, charts: charts };
})();
