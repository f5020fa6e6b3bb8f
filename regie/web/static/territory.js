/* The territory chart: production by source (stacked areas) against consumption (line), as average power [kW].
 *
 * The whole period is drawn from daily balances (P1D). When the zoom window gets narrower than three weeks,
 * the window (padded by half its width on each side) is fetched again from /api/balance at a finer step:
 * hourly up to three weeks, the metering step (30 min for Linky load curves) up to four days. Outside the
 * fetched window the daily overview stays, so the slider always shows the whole period.
 *
 * Statistical secrecy: /api/balance gives null for a hidden figure and says why in periods.masked. A series hidden
 * over the whole period is not drawn; one hidden in some periods is drawn with gaps; a note under the chart
 * (#chart-masked) says which and why.
 *
 * Translated strings, the API's path, the locale and the territory's time zone come from the page
 * (<script type="application/json" id="chart-config">). window.regie.balanceChart exposes the chart and its
 * state for tests.
 */
(function () {
  "use strict";

  var el = document.getElementById("balance-chart");
  var configEl = document.getElementById("chart-config");
  if (!el || !configEl || typeof echarts === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var S = cfg.strings;
  var status = document.getElementById("chart-status");
  var maskedNote = document.getElementById("chart-masked");

  var HOUR = 3600;
  var DAY_MS = 86400e3;
  // Zoom windows at most this wide [ms] are fetched at this step [s] (null: the metering step).
  var LEVELS = [
    { maxSpan: 4 * DAY_MS, step: null },
    { maxSpan: 21 * DAY_MS, step: HOUR },
  ];

  var t0 = Date.parse(cfg.start);
  var t1 = Date.parse(cfg.end);
  var kw = new Intl.NumberFormat(cfg.locale, { maximumFractionDigits: 1 });
  var timeFmt = new Intl.DateTimeFormat(cfg.locale, {
    timeZone: cfg.timezone, weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit",
  });

  var state = { overview: null, detail: null, step: null, seq: 0, requests: [], error: null };
  var chart = echarts.init(el, null, { renderer: "canvas", locale: cfg.locale === "fr" ? "FR" : "EN" });
  window.regie = window.regie || {};
  window.regie.balanceChart = { chart: chart, state: state };

  function isoDuration(seconds) {
    if (seconds % HOUR === 0) return "PT" + seconds / HOUR + "H";
    if (seconds % 60 === 0) return "PT" + seconds / 60 + "M";
    return "PT" + seconds + "S";
  }

  function isoInstant(ms) {
    return new Date(ms).toISOString().replace(".000Z", "Z");
  }

  function stepLabel(step) {
    if (step === "P1D") return S.day;
    if (step === "PT1H") return S.hour;
    var m = /^PT(\d+)M$/.exec(step);
    return m ? S.minutes.replace("{n}", m[1]) : step;
  }

  function setStatus(text, state_) {
    if (status) status.textContent = text;
    el.dataset.state = state_;
  }

  function showStep(step) {
    state.step = step;
    el.dataset.step = step;
    setStatus(S.resolution + " " + stepLabel(step), "ready");
  }

  function showError(err) {
    state.error = String(err && err.message ? err.message : err);
    setStatus(S.error + " " + state.error, "error");
  }

  // One balance response → per-series points [t ms, average kW], plus a closing point at the end.
  function toPoints(r, step) {
    var starts = r.periods.start.map(Date.parse);
    var a = Date.parse(r.start);
    var b = Date.parse(r.end);
    var keys = ["consumption"].concat(cfg.sources.map(function (s) { return s.key; }));
    var out = { a: a, b: b, step: step, series: {}, masked: {} };
    var masked = r.periods.masked || {};
    keys.forEach(function (k) {
      out.series[k] = [];
      var reasons = masked[k === "consumption" ? "consumption" : "production:" + k] || [];
      var hidden = reasons.filter(function (x) { return x; });
      if (hidden.length) out.masked[k] = { all: hidden.length === starts.length, reason: hidden[0] };
    });
    for (var i = 0; i < starts.length; i++) {
      var lo = Math.max(starts[i], a);
      var hi = Math.min(i + 1 < starts.length ? starts[i + 1] : b, b);
      var hours = (hi - lo) / 3600e3;
      keys.forEach(function (k) {
        var wh = k === "consumption" ? r.periods.consumption_wh[i] : (r.periods.production_wh[k] || [])[i];
        out.series[k].push([lo, hours > 0 && wh !== null && wh !== undefined ? wh / hours / 1000 : null]);
      });
    }
    keys.forEach(function (k) {
      var pts = out.series[k];
      if (pts.length) pts.push([b, pts[pts.length - 1][1]]);
    });
    return out;
  }

  function valueAt(points, t) {
    var v = null;
    for (var i = 0; i < points.length && points[i][0] <= t; i++) v = points[i][1];
    return v;
  }

  // The overview outside the detail window, the detail inside it.
  function merged(key) {
    var ov = state.overview.series[key];
    var d = state.detail;
    if (!d) return ov;
    var before = ov.filter(function (p) { return p[0] < d.a; });
    var inside = d.series[key].slice(0, -1);
    var after = ov.filter(function (p) { return p[0] > d.b; });
    return before.concat(inside, [[d.b, valueAt(ov, d.b)]], after);
  }

  function label(key) {
    if (key === "consumption") return S.consumption;
    var s = cfg.sources.filter(function (x) { return x.key === key; })[0];
    return s ? s.label : key;
  }

  // Series hidden by statistical secrecy: over the whole period (not drawn), or in some periods (gaps).
  function hiddenSeries() {
    var out = {};
    [state.overview, state.detail].forEach(function (part) {
      if (!part) return;
      Object.keys(part.masked).forEach(function (k) {
        var m = part.masked[k];
        var all = part === state.overview && m.all;
        if (!out[k] || all) out[k] = { all: all || (out[k] && out[k].all), reason: m.reason };
      });
    });
    return out;
  }

  function showMasked(hidden) {
    if (!maskedNote) return;
    var keys = Object.keys(hidden);
    maskedNote.hidden = keys.length === 0;
    maskedNote.textContent = keys.length === 0 ? "" : S.secrecy + " " + keys.map(function (k) {
      var name = hidden[k].all ? label(k) : S.somePeriods.replace("{series}", label(k));
      return S.hiddenSeries.replace("{series}", name).replace("{reason}", S.masked[hidden[k].reason] || hidden[k].reason);
    }).join("; ");
  }

  function draw() {
    var hidden = hiddenSeries();
    showMasked(hidden);
    var shown = function (key) { return !(hidden[key] && hidden[key].all); };
    var series = cfg.sources.filter(function (s) { return shown(s.key); }).map(function (s) {
      return {
        id: s.key, name: s.label, type: "line", stack: "production", step: "start", symbol: "none",
        color: s.colour, lineStyle: { width: 0 }, areaStyle: { opacity: 0.85 }, emphasis: { focus: "series" },
        data: merged(s.key),
      };
    });
    if (shown("consumption")) {
      series.push({
        id: "consumption", name: S.consumption, type: "line", step: "start", symbol: "none", z: 3,
        color: "#1f2933", lineStyle: { width: 1.6 }, data: merged("consumption"),
      });
    }
    chart.setOption({ series: series }, { replaceMerge: ["series"] });
  }

  function wantedStep(span) {
    var metering = cfg.meteringStep || HOUR;
    for (var i = 0; i < LEVELS.length; i++) {
      if (span <= LEVELS[i].maxSpan) {
        var target = LEVELS[i].step || metering;
        return Math.ceil(target / metering) * metering;  // the API wants a multiple of the metering step
      }
    }
    return null;
  }

  function zoomWindow() {
    var dz = chart.getOption().dataZoom[0];
    if (typeof dz.startValue === "number" && typeof dz.endValue === "number") return [dz.startValue, dz.endValue];
    return [t0 + (t1 - t0) * dz.start / 100, t0 + (t1 - t0) * dz.end / 100];
  }

  function fetchBalance(a, b, step) {
    var query = new URLSearchParams({ start: isoInstant(a), end: isoInstant(b), step: step });
    state.requests.push({ start: isoInstant(a), end: isoInstant(b), step: step });
    return fetch(cfg.balanceUrl + (cfg.balanceUrl.indexOf("?") < 0 ? "?" : "&") + query.toString(), { headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) throw new Error(body.detail || resp.statusText);
          return body;
        });
      });
  }

  function refine() {
    var w = zoomWindow();
    var span = w[1] - w[0];
    var seconds = wantedStep(span);
    if (seconds === null) {
      state.seq++;  // forget any finer fetch still on its way
      if (state.detail) { state.detail = null; draw(); }
      showStep("P1D");
      return;
    }
    var step = isoDuration(seconds);
    var d = state.detail;
    if (d && d.step === step && d.a <= w[0] && d.b >= w[1]) {
      showStep(step);
      return;
    }
    var unit = seconds * 1000;
    var a = Math.max(t0, Math.floor((w[0] - span / 2) / unit) * unit);
    var b = Math.min(t1, Math.ceil((w[1] + span / 2) / unit) * unit);
    var seq = ++state.seq;
    setStatus(S.loading, "loading");
    fetchBalance(a, b, step).then(function (r) {
      if (seq !== state.seq) return;  // a newer zoom has been asked for since
      state.detail = toPoints(r, step);
      draw();
      showStep(step);
    }).catch(showError);
  }

  chart.setOption({
    animation: false,
    grid: { left: 64, right: 24, top: 48, bottom: 84 },
    legend: { top: 4, type: "scroll" },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "line" },
      formatter: function (items) {
        if (!items.length) return "";
        var lines = [timeFmt.format(new Date(items[0].value[0]))];
        items.forEach(function (it) {
          var v = it.value[1];
          lines.push(it.marker + it.seriesName + "  <b>" + (v === null ? "—" : kw.format(v) + " kW") + "</b>");
        });
        return lines.join("<br>");
      },
    },
    xAxis: { type: "time", min: t0, max: t1 },
    yAxis: { type: "value", name: S.power, min: 0, axisLabel: { formatter: function (v) { return kw.format(v); } } },
    dataZoom: [
      { type: "inside", filterMode: "none", minValueSpan: 6 * 3600e3 },
      { type: "slider", filterMode: "none", minValueSpan: 6 * 3600e3, bottom: 16, height: 32 },
    ],
    series: [],
  });

  var timer = null;
  chart.on("datazoom", function () {
    clearTimeout(timer);
    timer = setTimeout(refine, 200);
  });
  window.addEventListener("resize", function () { chart.resize(); });

  setStatus(S.loading, "loading");
  fetchBalance(t0, t1, "P1D").then(function (r) {
    state.overview = toPoints(r, "P1D");
    draw();
    refine();
  }).catch(showError);
})();
