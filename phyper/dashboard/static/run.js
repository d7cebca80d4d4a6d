// A run: every metric of metrics.csv against the epoch (growing live), where and why it
// stopped, its best epoch, checkpoints, hyperparameters and decisions.
"use strict";

const PARTS = location.pathname.split("/");
const RESOURCE = decodeURIComponent(PARTS[2] || "all");
const HASH = decodeURIComponent(PARTS[3] || "");
const R = {columns: null, rows: [], offset: 0, run: null, plots: new Map(), form: null};

function metricPlots() {
  P.withPlotly().then(drawMetricPlots);
}

function drawMetricPlots() {
  const holder = document.getElementById("metric-plots");
  if (!R.columns) { holder.textContent = "No metric recorded yet."; return; }
  if (!R.plots.size) P.clear(holder);
  // every card first, then the plots: each is drawn at its card's final width
  for (const metric of R.columns.slice(1)) {
    if (R.plots.has(metric)) continue;
    const node = P.el("div", {className: "plot small", "data-metric": metric});
    holder.appendChild(P.el("div", {className: "card"}, node));
    R.plots.set(metric, node);
  }
  R.columns.slice(1).forEach((metric, k) => {
    const at = k + 1;
    const x = R.rows.map((r) => r[0]), y = R.rows.map((r) => r[at]);
    const node = R.plots.get(metric);
    const shapes = [];
    const run = R.run;
    if (run && run.best_epoch && run.monitor) {
      shapes.push({type: "line", x0: run.best_epoch, x1: run.best_epoch, yref: "paper", y0: 0, y1: 1,
                   line: {color: "#17813b", dash: "dot", width: 1.5}});
    }
    const annotations = run && run.best_epoch && run.monitor ? [{x: run.best_epoch, yref: "paper", y: 1,
      text: "best epoch " + run.best_epoch, showarrow: false, yanchor: "bottom", font: {size: 11, color: "#17813b"}}] : [];
    Plotly.react(node, [{x: x, y: y, mode: "lines+markers", type: "scatter", name: P.esc(metric),
                         marker: {size: 6}, line: {width: 2, color: "#2459c4"}}],
      P.plotLayout("epoch", P.esc(metric), {shapes: shapes, annotations: annotations,
        xaxis: P.epochAxis(x.length ? x[x.length - 1] : 1),
        title: {text: P.esc(metric), font: {size: 13}, x: 0.02}, margin: {l: 64, r: 16, t: 40, b: 48}}), P.plotConfig);
  });
}

function renderDetail() {
  const run = R.run;
  const head = P.clear(document.getElementById("run-head"));
  const stopped = run.stopped_by ? run.stopped_by + (run.reason ? ": " + run.reason : "") : run.reason;
  head.appendChild(P.kv([
    ["status", P.el("span", {id: "run-status"}, P.chip(run.status))],
    ["epochs", P.el("span", {id: "run-epoch"}, String(run.epoch === null ? "" : run.epoch))],
    ["stopped", stopped],
    ["error", run.error],
    ["best epoch", run.best_epoch ? run.best_epoch + " (" + run.monitor + " " + P.fmt(run.best_value) + ", " + run.mode + ")" : null],
    ["waits at gate", run.status === "awaiting_decision" ? run.gate + (run.gate_note ? " (" + run.gate_note + ")" : "") : null],
    ["studies", run.studies.length ? P.el("span", {}, ...run.studies.map(P.studyLink)) : null],
    ["updated", P.when(run.updated)], ["folder", P.el("span", {className: "hash"}, run.folder)],
  ]));
  const form = document.getElementById("run-decide");
  if (run.status === "awaiting_decision" && !R.form) {
    R.form = P.decisionForm({kind: "run", hash: run.hash, resource: run.resource, gate: run.gate});
    form.appendChild(P.el("h2", {}, "Decide at gate " + run.gate));
    form.appendChild(R.form);
  }
  const params = P.clear(document.getElementById("run-params"));
  params.appendChild(P.el("tbody", {}, Object.entries(run.hyperparameters).map(([k, v]) =>
    P.el("tr", {}, P.el("th", {}, k), P.el("td", {}, P.fmt(v))))));
  const checkpoints = P.clear(document.getElementById("run-checkpoints"));
  checkpoints.appendChild(P.el("thead", {}, P.el("tr", {}, ["file", "bytes", ""].map((h) => P.el("th", {}, h)))));
  checkpoints.appendChild(P.el("tbody", {}, run.checkpoints.length ? run.checkpoints.map((c) => P.el("tr", {},
    P.el("td", {className: "hash"}, c.name), P.el("td", {className: "num"}, String(c.bytes)),
    P.el("td", {}, [c.last ? "last" : "", c.best ? "best" : ""].filter(Boolean).join(", ")))) :
    [P.el("tr", {}, P.el("td", {colspan: "3", className: "muted"}, "none"))]));
  const decisions = P.clear(document.getElementById("run-decisions"));
  if (!run.decisions.length) decisions.appendChild(P.el("p", {className: "muted"}, "No gate was reached."));
  for (const d of run.decisions) {
    decisions.appendChild(P.el("div", {className: "decided", "data-gate": d.gate}, "gate " + d.gate + ": " +
      (d.decision ? P.decisionText(d.decision) : "no decision yet")));
    if (d.action) {
      decisions.appendChild(P.el("div", {className: "muted"}, "--on-decision log (" + d.action.log + "), the run resumed by it:"));
      decisions.appendChild(P.el("pre", {className: "action-log"}, d.action.tail));
    }
  }
}

function build() {
  const main = P.clear(document.getElementById("main"));
  document.title = "run " + HASH.slice(0, 12) + " · phyper";
  main.appendChild(P.el("h1", {}, "Run ", P.el("span", {className: "hash"}, HASH)));
  main.appendChild(P.el("div", {className: "row"},
    P.el("div", {className: "card grow", id: "run-head"}),
    P.el("div", {className: "card grow"}, P.el("h2", {}, "Hyperparameters"), P.el("table", {id: "run-params"}))));
  main.appendChild(P.el("div", {id: "run-decide", className: "card"}));
  main.appendChild(P.el("h2", {}, "Metrics"));
  main.appendChild(P.el("div", {className: "plots", id: "metric-plots"}));
  main.appendChild(P.el("div", {className: "row"},
    P.el("div", {className: "card grow"}, P.el("h2", {}, "Checkpoints"), P.el("table", {id: "run-checkpoints"})),
    P.el("div", {className: "card grow"}, P.el("h2", {}, "Decisions"), P.el("div", {id: "run-decisions"}))));
}

function addRows(tail) {
  if (tail.reset) { R.rows = []; R.columns = null; R.plots.clear(); }
  if (tail.columns) R.columns = tail.columns;
  R.rows.push(...tail.rows);
  R.offset = tail.offset;
}

(async function () {
  try {
    const base = "/api/run/" + encodeURIComponent(RESOURCE) + "/" + encodeURIComponent(HASH);
    const [run, tail] = await Promise.all([P.api(base), P.api(base + "/metrics?offset=0")]);
    R.run = run;
    build();
    addRows(tail);
    renderDetail();
    metricPlots();
    P.watchQueueCount();
    P.live({topic: "run", resource: RESOURCE, hash: HASH}, R.offset + ":" + run.cursor_version, (update) => {
      if (update.metrics) addRows(update.metrics);
      if (update.run) { R.run = update.run; renderDetail(); }
      metricPlots();
    });
  } catch (error) {
    P.clear(document.getElementById("main")).appendChild(P.el("p", {className: "message error"}, error.message));
  }
})();
