// A study: best value, best so far against trial number, parallel coordinates, learning
// curves (stopped-early marked) and the trials table (sortable, filterable, CSV download).
"use strict";

const NAME = decodeURIComponent(location.pathname.split("/")[2] || "");
const FINISHED = new Set(["complete", "stopped_early", "from_store"]);
const PAGE_SIZE = 100;
const S = {detail: null, trials: [], byNumber: new Map(), sortKey: "number", sortUp: true,
           filter: "", stateFilter: "", page: 0, dirty: false};

function bestSoFar() {
  const lower = S.detail.direction === "minimize";
  let best = null;
  return S.trials.map((t) => {
    if (FINISHED.has(t.state) && t.value !== null && (best === null || (lower ? t.value < best : t.value > best))) best = t.value;
    return best;
  });
}

function renderHeader() {
  const d = S.detail;
  const head = P.clear(document.getElementById("study-head"));
  const counts = {};
  for (const t of S.trials) counts[t.state] = (counts[t.state] || 0) + 1;
  const finished = S.trials.filter((t) => FINISHED.has(t.state) && t.value !== null);
  const pick = d.direction === "minimize" ? (a, b) => (b.value < a.value ? b : a) : (a, b) => (b.value > a.value ? b : a);
  const best = finished.length ? finished.reduce(pick) : null;
  head.appendChild(P.kv([
    ["metric", d.metric + " (" + d.direction + ")"],
    ["best value", best ? P.el("span", {id: "best-value"}, P.fmt(best.value) + " (trial " + best.number + ", ",
                                    P.runLink("all", best.hash), ")") : "no finished trial yet"],
    ["trials", P.el("span", {id: "trial-count"}, String(S.trials.length) + " ",
                    ...Object.entries(counts).map(([k, n]) => P.chip(k, n)))],
    ["awaits", d.awaiting ? P.el("a", {href: "/queue"}, "a decision at gate " + d.awaiting) : null],
    ["stopped", d.stopped],
  ]));
}

function renderBestSoFar() {
  const node = document.getElementById("plot-best");
  const states = {};
  for (const t of S.trials) if (t.value !== null) (states[t.state] = states[t.state] || []).push(t);
  const colors = {complete: "#2459c4", stopped_early: "#d9822b", from_store: "#8a94a3", failed: "#b3261e"};
  const traces = Object.entries(states).map(([state, ts]) => ({
    x: ts.map((t) => t.number), y: ts.map((t) => t.value), mode: "markers", type: "scattergl",
    name: P.esc(state.replace("_", " ")), marker: {size: 5, color: colors[state] || "#555", opacity: 0.7},
  }));
  traces.push({x: S.trials.map((t) => t.number), y: bestSoFar(), mode: "lines", type: "scatter",
               name: "best so far", line: {shape: "hv", width: 2.5, color: "#17813b"}});
  Plotly.react(node, traces, P.plotLayout("trial number", P.esc(S.detail.metric),
    {title: {text: "Best so far", font: {size: 13}}, margin: {l: 64, r: 16, t: 56, b: 48}}), P.plotConfig);
}

function renderParallel() {
  const node = document.getElementById("plot-parallel");
  const done = S.trials.filter((t) => FINISHED.has(t.state) && t.value !== null);
  if (!done.length) { node.textContent = "No finished trial yet."; return; }
  const dims = S.detail.param_names.map((name) => {
    const values = done.map((t) => t.params[name]);
    if (values.every((v) => typeof v === "number")) {
      const positive = values.every((v) => v > 0);
      const spread = positive ? Math.max(...values) / Math.min(...values) : 0;
      if (spread > 50) {  // a log-uniform dimension: shown on a log scale
        const lo = Math.floor(Math.log10(Math.min(...values))), hi = Math.ceil(Math.log10(Math.max(...values)));
        const ticks = []; for (let e = lo; e <= hi; e++) ticks.push(e);
        return {label: P.esc(name + " (log10)"), values: values.map(Math.log10), tickvals: ticks,
                ticktext: ticks.map((e) => "1e" + e)};
      }
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      if (values.every(Number.isInteger) && distinct.length <= 12) {  // whole-number ticks
        return {label: P.esc(name), values: values, tickvals: distinct, ticktext: distinct.map(String)};
      }
      return {label: P.esc(name), values: values};
    }
    const levels = [...new Set(values.map((v) => P.fmt(v)))].sort();
    return {label: P.esc(name), values: values.map((v) => levels.indexOf(P.fmt(v))),
            tickvals: levels.map((_, i) => i), ticktext: levels.map(P.esc)};
  });
  dims.push({label: P.esc(S.detail.metric), values: done.map((t) => t.value)});
  const reverse = S.detail.direction === "maximize";
  Plotly.react(node, [{type: "parcoords", dimensions: dims,
    line: {color: done.map((t) => t.value), colorscale: "Viridis", reversescale: !reverse, showscale: true,
           colorbar: {title: {text: P.esc(S.detail.metric), side: "right"}, thickness: 12}}}],
    {margin: {l: 70, r: 90, t: 60, b: 30}, font: {size: 12},
     title: {text: "Hyperparameters → " + P.esc(S.detail.metric) + " (finished trials)", font: {size: 13}, y: 0.98}},
    P.plotConfig);
}

async function renderCurves() {
  const node = document.getElementById("plot-curves");
  const note = document.getElementById("curves-note");
  try {
    const data = await P.api("/api/study/" + encodeURIComponent(NAME) + "/curves");
    await P.withPlotly();
    const groups = {finished: [], stopped_early: []};
    for (const c of data.curves) (c.state === "stopped_early" ? groups.stopped_early : groups.finished).push(c);
    const joined = (curves, key) => curves.flatMap((c) => [...c[key], null]);
    const traces = [
      {x: joined(groups.finished, "epochs"), y: joined(groups.finished, "values"), mode: "lines", type: "scattergl",
       name: "ran to its end", line: {width: 1, color: "rgba(36,89,196,0.45)"}, connectgaps: false},
      {x: joined(groups.stopped_early, "epochs"), y: joined(groups.stopped_early, "values"), mode: "lines", type: "scattergl",
       name: "stopped early", line: {width: 1, color: "rgba(217,130,43,0.8)", dash: "dot"}, connectgaps: false},
      {x: groups.stopped_early.map((c) => c.epochs[c.epochs.length - 1]),
       y: groups.stopped_early.map((c) => c.values[c.values.length - 1]), mode: "markers", type: "scattergl",
       name: "where stopped early", marker: {symbol: "x", size: 8, color: "#b3261e"}},
    ];
    const last = Math.max(1, ...data.curves.map((c) => c.epochs[c.epochs.length - 1] || 0));
    Plotly.react(node, traces, P.plotLayout("epoch", P.esc(data.metric),
      {title: {text: "Learning curves", font: {size: 13}}, margin: {l: 64, r: 16, t: 56, b: 48},
       xaxis: P.epochAxis(last)}), P.plotConfig);
    note.textContent = data.shown < data.trials
      ? "Curves of " + data.shown + " of " + data.trials + " trials: the best half and the latest."
      : groups.stopped_early.length + " of " + data.shown + " trials stopped early (dotted, marked ×).";
  } catch (error) { node.textContent = "curves: " + error.message; }
}

function cellValue(t, key) {
  if (key in t) return t[key];
  return t.params[key];
}

function filtered() {
  const needle = S.filter.toLowerCase();
  let rows = S.trials;
  if (S.stateFilter) rows = rows.filter((t) => t.state === S.stateFilter);
  if (needle) {
    rows = rows.filter((t) => [t.number, t.state, t.value, t.hash, t.error, ...Object.values(t.params)]
      .some((v) => v !== null && v !== undefined && P.fmt(v).toLowerCase().includes(needle)));
  }
  const key = S.sortKey, sign = S.sortUp ? 1 : -1;
  return rows.slice().sort((a, b) => {
    const x = cellValue(a, key), y = cellValue(b, key);
    if (x === y) return a.number - b.number;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === "number" && typeof y === "number" ? x - y : P.fmt(x).localeCompare(P.fmt(y))) * sign;
  });
}

function renderTable() {
  const columns = ["number", "state", "value", "hash", ...S.detail.param_names, "duration"];
  const rows = filtered();
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  S.page = Math.min(S.page, pages - 1);
  const table = P.clear(document.getElementById("trials"));
  table.appendChild(P.el("thead", {}, P.el("tr", {}, columns.map((c) => {
    const arrow = S.sortKey === c ? (S.sortUp ? " ▲" : " ▼") : "";
    return P.el("th", {className: "sortable", "data-column": c, title: "sort", onclick: () => {
      S.sortUp = S.sortKey === c ? !S.sortUp : true; S.sortKey = c; renderTable();
    }}, (c === "duration" ? "duration (s)" : c) + arrow);
  }))));
  const body = P.el("tbody");
  for (const t of rows.slice(S.page * PAGE_SIZE, (S.page + 1) * PAGE_SIZE)) {
    body.appendChild(P.el("tr", {"data-trial": String(t.number)}, columns.map((c) => {
      const v = cellValue(t, c);
      if (c === "hash") return P.el("td", {}, P.runLink("all", t.hash));
      if (c === "state") return P.el("td", {}, P.chip(t.state));
      return P.el("td", {className: typeof v === "number" ? "num" : ""}, P.fmt(v));
    })));
  }
  table.appendChild(body);
  const pager = P.clear(document.getElementById("pager"));
  pager.appendChild(P.el("span", {className: "muted", id: "shown-count"},
    rows.length + " of " + S.trials.length + " trials" + (pages > 1 ? ", page " + (S.page + 1) + " of " + pages : "")));
  if (pages > 1) {
    pager.appendChild(P.el("button", {type: "button", onclick: () => { S.page = Math.max(0, S.page - 1); renderTable(); }}, "‹ previous"));
    pager.appendChild(P.el("button", {type: "button", onclick: () => { S.page = Math.min(pages - 1, S.page + 1); renderTable(); }}, "next ›"));
  }
}

function renderAll() {
  renderHeader();
  renderTable();
  P.withPlotly().then(() => { renderBestSoFar(); renderParallel(); });
}

function build(detail) {
  const main = P.clear(document.getElementById("main"));
  document.title = "study " + detail.name + " · phyper";
  main.appendChild(P.el("h1", {}, "Study ", P.el("span", {id: "study-name"}, detail.name)));
  main.appendChild(P.el("div", {className: "card", id: "study-head"}));
  main.appendChild(P.el("div", {className: "plots"},
    P.el("div", {className: "card"}, P.el("div", {className: "plot", id: "plot-best"})),
    P.el("div", {className: "card"}, P.el("div", {className: "plot", id: "plot-curves"}),
         P.el("div", {className: "muted", id: "curves-note"}))));
  main.appendChild(P.el("div", {className: "card"}, P.el("div", {className: "plot", id: "plot-parallel"})));
  const filter = P.el("input", {type: "search", placeholder: "filter: any value", id: "trial-filter",
    oninput: (event) => { S.filter = event.target.value; S.page = 0; renderTable(); }});
  const states = P.el("select", {id: "state-filter", onchange: (event) => { S.stateFilter = event.target.value; S.page = 0; renderTable(); }},
    P.el("option", {value: ""}, "every state"),
    ...["complete", "stopped_early", "from_store", "running", "failed"].map((s) => P.el("option", {value: s}, s)));
  main.appendChild(P.el("h2", {}, "Trials"));
  main.appendChild(P.el("div", {className: "toolbar"}, filter, states,
    P.el("a", {href: "/api/study/" + encodeURIComponent(detail.name) + "/trials.csv", id: "csv", download: ""}, "Download CSV (exact values)"),
    P.el("span", {id: "pager", className: "pager"})));
  main.appendChild(P.el("table", {id: "trials"}));
}

(async function () {
  try {
    const detail = await P.api("/api/study/" + encodeURIComponent(NAME));
    S.detail = detail;
    S.trials = detail.trials_list;
    for (const t of S.trials) S.byNumber.set(t.number, t);
    build(detail);
    renderAll();
    window.phyperDrawn = performance.now();  // table, filter and sort work from here (benchmark)
    P.withPlotly().then(() => { window.phyperPlotted = performance.now(); });
    renderCurves();
    P.watchQueueCount();
    let curvesDue = 0;
    P.live({topic: "study", study: NAME}, String(detail.version), (update) => {
      for (const t of update.trials) {
        if (S.byNumber.has(t.number)) Object.assign(S.byNumber.get(t.number), t);
        else { S.trials.push(t); S.byNumber.set(t.number, t); }
      }
      S.trials.sort((a, b) => a.number - b.number);
      Object.assign(S.detail, {awaiting: update.summary.awaiting, stopped: update.summary.stopped});
      renderAll();
      if (Date.now() > curvesDue) { curvesDue = Date.now() + 5000; renderCurves(); }
    });
  } catch (error) {
    P.clear(document.getElementById("main")).appendChild(P.el("p", {className: "message error"}, error.message));
  }
})();
