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
 * A period picker (#period-picker: the whole period, a day, a week, a month, a year or custom dates, and the
 * one before or after) fetches that period at a step fit for its length and compares its totals with the previous
 * period of the same kind (#period-compare). "CSV" (#chart-csv) downloads the rows the chart shows, exactly as
 * /api/balance gave them (the publication's figures: nothing is recomputed in the browser).
 *
 * Translated strings, the API's path, the locale and the territory's time zone come from the page
 * (<script type="application/json" id="chart-config">). window.regie.balanceChart exposes the chart and its
 * state for tests.
 */
(function () {
  "use strict";

  var el = document.getElementById("balance-chart");
  var configEl = document.getElementById("chart-config");
  if (!el || !configEl || typeof echarts === "undefined" || !window.regieCharts) {
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

  var state = {
    overview: null, detail: null, step: null, seq: 0, requests: [], error: null,
    period: null, previous: null, compareRequests: [],
  };
  var chart = regieCharts.init(el, { renderer: "canvas", locale: cfg.locale === "fr" ? "FR" : "EN" });
  window.regie = window.regie || {};
  window.regie.balanceChart = { chart: chart, state: state };

  function isoDuration(seconds) {
    if (seconds % HOUR === 0) return "PT" + seconds / HOUR + "H";
    if (seconds % 60 === 0) return "PT" + seconds / 60 + "M";
    return "PT" + seconds + "S";
  }

  function stepSeconds(step) {
    if (step === "P1D") return 86400;
    var m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(step);
    return m ? (Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60) : Infinity;
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
    var out = { a: a, b: b, step: step, series: {}, masked: {}, raw: r };
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
        color: regieCharts.colour("--ink"), lineStyle: { width: 1.6 }, data: merged("consumption"),
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

  // a, b: instants [ms] or local dates "YYYY-MM-DD" (the API reads those in the territory's zone).
  function fetchBalance(a, b, step, log) {
    var start = typeof a === "number" ? isoInstant(a) : a;
    var end = typeof b === "number" ? isoInstant(b) : b;
    var query = new URLSearchParams({ start: start, end: end, step: step });
    (log || state.requests).push({ start: start, end: end, step: step });
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
      showStep(state.overview.step);
      return;
    }
    var step = isoDuration(seconds);
    if (stepSeconds(state.overview.step) <= seconds) {
      state.seq++;
      if (state.detail) { state.detail = null; draw(); }
      showStep(state.overview.step);
      return;
    }
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
  regieCharts.onChange(draw);  // the consumption line is drawn in the page's ink

  // ---------------------------------------------------------------- period picker, comparison, CSV
  //
  // Periods are local calendar dates (the API reads a bare date in the territory's zone): day, week (from
  // Monday), month, year, or custom [from, to]. "all" is the whole data period (the page's first view).
  var P = cfg.picker || {};
  var firstDay = (cfg.start || "").slice(0, 10);
  var endDay = (cfg.end || "").slice(0, 10);  // local date of the end instant (excluded)

  function parseDay(d) { var p = d.split("-").map(Number); return new Date(Date.UTC(p[0], p[1] - 1, p[2])); }
  function fmtDay(dt) { return dt.toISOString().slice(0, 10); }
  function addDays(d, n) { var dt = parseDay(d); dt.setUTCDate(dt.getUTCDate() + n); return fmtDay(dt); }
  function addMonths(d, n) { var dt = parseDay(d); dt.setUTCMonth(dt.getUTCMonth() + n); return fmtDay(dt); }
  function daysBetween(a, b) { return Math.round((parseDay(b) - parseDay(a)) / 86400e3); }
  var lastDay = endDay ? (cfg.end.slice(11, 19) === "00:00:00" ? addDays(endDay, -1) : endDay) : null;

  function bounds(kind, anchor) {
    var dt = parseDay(anchor);
    if (kind === "day") return [anchor, addDays(anchor, 1)];
    if (kind === "week") { var monday = addDays(anchor, -((dt.getUTCDay() + 6) % 7)); return [monday, addDays(monday, 7)]; }
    if (kind === "month") { var m = anchor.slice(0, 8) + "01"; return [m, addMonths(m, 1)]; }
    if (kind === "year") { var y = anchor.slice(0, 5) + "01-01"; return [y, addMonths(y, 12)]; }
    return null;
  }

  // The previous period of the same kind, as long as the part of this one that has data (so that a month
  // cut by the end of the data is compared with as many days before it).
  function previousOf(p) {
    var start = p.kind === "month" ? addMonths(p.from, -1) : p.kind === "year" ? addMonths(p.from, -12)
      : addDays(p.from, -daysBetween(p.from, p.to));
    var to = addDays(start, daysBetween(p.from, p.shownTo || p.to));
    return { kind: p.kind, from: start, to: to < p.from ? to : p.from };
  }

  // The period cut to the data: [max(from, first day), min(to, end)).
  function clamp(p) {
    if (p.kind === "all") return p;
    var out = { kind: p.kind, from: p.from, to: p.to, shownFrom: p.from < firstDay ? firstDay : p.from,
      shownTo: endDay && p.to > endDay ? endDay : p.to };
    if (out.shownTo <= out.shownFrom) out.shownTo = addDays(out.shownFrom, 1);
    return out;
  }

  function stepFor(p) {
    if (p.kind === "all") return "P1D";
    var days = daysBetween(p.from, p.to);
    var metering = cfg.meteringStep || HOUR;
    if (days <= 4) return isoDuration(metering);  // the zoom levels (LEVELS) of the same spans
    if (days <= 21) return isoDuration(Math.ceil(HOUR / metering) * metering);
    return "P1D";
  }

  var pickerEl = document.getElementById("period-picker");
  var labelEl = document.getElementById("period-label");
  var compareEl = document.getElementById("period-compare");
  var csvEl = document.getElementById("chart-csv");
  var customEl = document.getElementById("period-custom");
  var dayFmt = new Intl.DateTimeFormat(cfg.locale, { timeZone: "UTC", year: "numeric", month: "long", day: "numeric" });
  var monthFmt = new Intl.DateTimeFormat(cfg.locale, { timeZone: "UTC", year: "numeric", month: "long" });
  var pct = new Intl.NumberFormat(cfg.locale, { style: "percent", maximumFractionDigits: 1 });
  var kwh = new Intl.NumberFormat(cfg.locale, { maximumFractionDigits: 0 });

  function periodLabel(p) {
    if (p.kind === "all") return P.all || "";
    if (p.kind === "day") return dayFmt.format(parseDay(p.from));
    if (p.kind === "month") return monthFmt.format(parseDay(p.from));
    if (p.kind === "year") return p.from.slice(0, 4);
    return dayFmt.format(parseDay(p.from)) + " – " + dayFmt.format(parseDay(addDays(p.to, -1)));
  }

  function markPicker(kind) {
    if (!pickerEl) return;
    pickerEl.querySelectorAll("button[data-period]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.period === kind ? "true" : "false");
    });
    pickerEl.querySelectorAll("button[data-nav]").forEach(function (b) {
      b.disabled = kind === "all" || kind === "custom";
    });
    if (customEl) customEl.hidden = kind !== "custom";
  }

  // The comparison table: this period's totals against the previous period's (same length, just before).
  function energyCell(wh) { return wh === null || wh === undefined ? "—" : kwh.format(wh / 1000) + " kWh"; }
  function rateCell(x) { return x === null || x === undefined ? "—" : pct.format(x); }
  function change(a, b, rate) {
    if (a === null || b === null || a === undefined || b === undefined) return "—";
    if (rate) return (a - b >= 0 ? "+" : "−") + kw.format(Math.abs(a - b) * 100) + " pt";
    if (!b) return "—";
    var c = (a - b) / b;
    return (c >= 0 ? "+" : "−") + pct.format(Math.abs(c));
  }

  function showComparison(cur, prev) {
    if (!compareEl) return;
    var body = compareEl.querySelector("tbody");
    body.textContent = "";
    compareEl.hidden = !cur;
    if (!cur) return;
    var rows = [
      ["consumption", P.consumption, "consumption_wh", false],
      ["production", P.production, "production_wh", false],
      ["coverage", P.coverage, "coverage", true],
      ["self_sufficiency", P.selfSufficiency, "self_sufficiency", true],
    ];
    rows.forEach(function (row) {
      var a = cur.totals[row[2]];
      var b = prev ? prev.totals[row[2]] : null;
      var tr = document.createElement("tr");
      tr.dataset.figure = row[0];
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = row[1];
      tr.appendChild(th);
      [row[3] ? rateCell(a) : energyCell(a), row[3] ? rateCell(b) : energyCell(b), change(a, b, row[3])].forEach(function (text, i) {
        var td = document.createElement("td");
        td.className = "num";
        td.textContent = text;
        if (i === 0 && a !== null && a !== undefined) td.dataset.value = a;
        if (i === 1 && b !== null && b !== undefined) td.dataset.value = b;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var caption = compareEl.querySelector("caption");
    if (caption) {
      caption.textContent = prev ? P.compareCaption.replace("{current}", periodLabel(state.period))
        .replace("{previous}", periodLabel(state.previous)) : P.noPrevious;
    }
  }

  // The rows the chart shows: the overview's periods in the visible window, the finer ones where fetched.
  function shownRows() {
    var w = chart.getOption ? zoomWindow() : [t0, t1];
    var rows = [];
    function add(part, inside) {
      if (!part) return;
      var r = part.raw;
      r.periods.start.forEach(function (start, i) {
        var t = Date.parse(start);
        var next = i + 1 < r.periods.start.length ? Date.parse(r.periods.start[i + 1]) : Date.parse(r.end);
        if (next <= w[0] || t >= w[1] || !inside(t)) return;
        rows.push({ t: t, step: r.step, r: r, i: i });
      });
    }
    var d = state.detail;
    add(state.overview, function (t) { return !d || t < d.a || t >= d.b; });
    add(d, function () { return true; });
    rows.sort(function (x, y) { return x.t - y.t; });
    return rows;
  }

  function csvValue(v) { return v === null || v === undefined ? "" : String(v); }

  function toCsv() {
    var keys = cfg.sources.map(function (s) { return s.key; });
    var header = ["start", "step", "consumption_wh"].concat(keys.map(function (k) { return "production_" + k + "_wh"; }),
      ["production_total_wh", "self_consumed_wh", "coverage", "self_sufficiency", "self_consumption", "masked"]);
    var lines = [header.join(",")];
    shownRows().forEach(function (row) {
      var p = row.r.periods;
      var masked = Object.keys(p.masked || {}).filter(function (f) { return p.masked[f][row.i]; })
        .map(function (f) { return f + "=" + p.masked[f][row.i]; }).join(";");
      lines.push([p.start[row.i], row.step, csvValue(p.consumption_wh[row.i])]
        .concat(keys.map(function (k) { return csvValue((p.production_wh[k] || [])[row.i]); }),
          [csvValue(p.production_total_wh[row.i]), csvValue(p.self_consumed_wh[row.i]), csvValue(p.coverage[row.i]),
           csvValue(p.self_sufficiency[row.i]), csvValue(p.self_consumption[row.i]), masked ? '"' + masked + '"' : ""])
        .join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  if (csvEl) {
    csvEl.addEventListener("click", function () {
      if (!state.overview) return;
      var p = state.period || { kind: "all" };
      var a = document.createElement("a");
      a.download = "balance-" + (p.kind === "all" ? firstDay + "_" + endDay : p.shownFrom + "_" + p.shownTo) + ".csv";
      a.href = URL.createObjectURL(new Blob([toCsv()], { type: "text/csv;charset=utf-8" }));
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
    });
  }

  function loadPeriod(p) {
    p = clamp(p);
    state.period = p;
    state.previous = p.kind === "all" || p.shownFrom > p.from ? null : previousOf(p);
    markPicker(p.kind);
    if (labelEl) labelEl.textContent = periodLabel(p);
    var step = stepFor(p.kind === "all" ? p : { kind: p.kind, from: p.shownFrom, to: p.shownTo });
    var seq = ++state.seq;
    state.detail = null;
    setStatus(S.loading, "loading");
    var main = p.kind === "all" ? fetchBalance(t0All, t1All, step) : fetchBalance(p.shownFrom, p.shownTo, step);
    var prev = state.previous && state.previous.from >= firstDay  // no comparison with a period before the data
      ? fetchBalance(state.previous.from, state.previous.to, "P1D", state.compareRequests)
      : Promise.resolve(null);
    Promise.all([main, prev]).then(function (both) {
      if (seq !== state.seq) return;
      var r = both[0];
      t0 = Date.parse(r.start);
      t1 = Date.parse(r.end);
      state.overview = toPoints(r, step);
      chart.setOption({ xAxis: { min: t0, max: t1 }, dataZoom: [{ start: 0, end: 100 }, { start: 0, end: 100 }] });
      draw();
      showComparison(p.kind === "all" ? null : r, both[1]);
      if (pickerEl) {
        pickerEl.dataset.period = p.kind;
        pickerEl.dataset.from = p.from || "";
        pickerEl.dataset.to = p.to || "";
      }
      refine();
    }).catch(showError);
  }

  var t0All = t0, t1All = t1;
  if (pickerEl) {
    pickerEl.hidden = false;
    pickerEl.querySelectorAll("button[data-period]").forEach(function (b) {
      b.addEventListener("click", function () {
        var kind = b.dataset.period;
        if (kind === "all") return loadPeriod({ kind: "all" });
        if (kind === "custom") {
          markPicker("custom");
          var from = customEl.querySelector("[name=from]"), to = customEl.querySelector("[name=to]");
          if (!from.value) { from.value = state.period && state.period.from || addDays(lastDay, -6); }
          if (!to.value) { to.value = state.period && state.period.to ? addDays(state.period.to, -1) : lastDay; }
          from.focus();
          return;
        }
        var anchor = state.period && state.period.from ? state.period.from : lastDay;
        var bb = bounds(kind, anchor);
        loadPeriod({ kind: kind, from: bb[0], to: bb[1] });
      });
    });
    pickerEl.querySelectorAll("button[data-nav]").forEach(function (b) {
      b.addEventListener("click", function () {
        var p = state.period;
        if (!p || p.kind === "all" || p.kind === "custom") return;
        var n = Number(b.dataset.nav);
        var anchor = p.kind === "month" ? addMonths(p.from, n) : p.kind === "year" ? addMonths(p.from, 12 * n)
          : addDays(p.from, n * daysBetween(p.from, p.to));
        var bb = bounds(p.kind, anchor);
        loadPeriod({ kind: p.kind, from: bb[0], to: bb[1] });
      });
    });
    if (customEl) {
      customEl.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var from = customEl.querySelector("[name=from]").value, to = customEl.querySelector("[name=to]").value;
        if (!from || !to || to < from) { showError(P.badCustom); return; }
        loadPeriod({ kind: "custom", from: from, to: addDays(to, 1) });
      });
    }
  }

  window.regie.balanceChart.csv = toCsv;
  window.regie.balanceChart.load = loadPeriod;
  state.period = { kind: "all" };
  markPicker("all");
  if (labelEl) labelEl.textContent = periodLabel(state.period);
  setStatus(S.loading, "loading");
  fetchBalance(t0, t1, "P1D").then(function (r) {
    state.overview = toPoints(r, "P1D");
    draw();
    refine();
  }).catch(showError);
})();
