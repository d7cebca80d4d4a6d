// The decision queue: every run and study awaiting a go/no-go decision. A card stays on the
// page until it is reloaded, so a decision made elsewhere shows who made it instead of
// silently removing what a person is looking at.
"use strict";

const cards = new Map();  // key -> {node, item, decisionNode}

function keyOf(item) {
  return item.kind === "run" ? "run:" + item.resource + "/" + item.hash + "@" + item.gate
                             : "study:" + item.study + "@" + item.gate;
}

async function drawCurves(item, node) {
  try {
    const q = item.monitor ? "?metric=" + encodeURIComponent(item.monitor) : "";
    const data = await P.api("/api/run/" + encodeURIComponent(item.resource) + "/" +
                             encodeURIComponent(item.hash) + "/peers" + q);
    await P.withPlotly();
    const traces = data.peers.map((peer) => ({
      x: peer.epochs, y: peer.values, mode: "lines", type: "scatter", name: P.esc(peer.label),
      line: {width: 1, color: "rgba(120,130,145,0.45)"}, hovertemplate: P.esc(peer.label) + "<br>epoch %{x}: %{y:.4g}<extra></extra>",
      showlegend: false,
    }));
    if (data.peers.length) {
      traces.push({x: [null], y: [null], mode: "lines", name: "compared runs", line: {color: "rgba(120,130,145,0.7)"}});
    }
    traces.push({x: data.own.epochs, y: data.own.values, mode: "lines+markers", type: "scatter",
                 name: "this run", line: {width: 3, color: "#d9822b"}, marker: {size: 7}});
    const last = Math.max(0, ...data.own.epochs, ...data.peers.map((p) => p.epochs[p.epochs.length - 1] || 0));
    const label = item.studies.length ? "beside its study's trials" :
      (data.peers.length ? "beside runs differing in one hyperparameter" : "");
    Plotly.newPlot(node, traces, P.plotLayout("epoch", P.esc(data.own.metric || "metric"),
      {title: {text: label, font: {size: 12}}, margin: {l: 64, r: 16, t: 40, b: 48},
       xaxis: P.epochAxis(last)}), P.plotConfig);
  } catch (error) {
    node.textContent = "curves: " + error.message;
  }
}

function renderDecision(entry) {
  const decision = entry.item.decision;
  P.clear(entry.decisionNode);
  if (decision) {
    entry.decisionNode.appendChild(P.el("div", {className: "decided"}, "Decided: " + P.decisionText(decision)));
  }
}

function makeCard(item) {
  const card = P.el("section", {className: "card", "data-key": keyOf(item)});
  const entry = {node: card, item: item, decisionNode: P.el("div")};
  if (item.kind === "run") {
    card.appendChild(P.el("h2", {}, "Run ", P.runLink(item.resource, item.hash),
                          " waits at gate ", P.el("q", {}, item.gate), " after epoch " + item.epoch));
    const plot = P.el("div", {className: "plot"});
    const facts = P.kv([
      ["why", item.reason], ["gate note", item.gate_note], ["since", P.when(item.since)],
      ["study", item.studies.length ? P.el("span", {}, ...item.studies.map((s) => P.studyLink(s))) : null],
    ]);
    const params = P.el("table", {className: "params"},
      P.el("tbody", {}, Object.entries(item.hyperparameters).map(([k, v]) =>
        P.el("tr", {}, P.el("th", {}, k), P.el("td", {}, P.fmt(v))))));
    card.appendChild(P.el("div", {className: "row"},
      P.el("div", {className: "grow"}, plot),
      P.el("div", {style: "flex: 0 1 340px"}, facts, P.el("h3", {className: "muted"}, "key hyperparameters"), params)));
    drawCurves(item, plot);
  } else {
    card.appendChild(P.el("h2", {}, "Study ", P.studyLink(item.study), " waits at gate ",
                          P.el("q", {}, item.gate)));
    card.appendChild(P.kv([["why", item.reason], ["since", P.when(item.since)], ["trials", item.trials],
                           ["best " + item.metric, item.best_value]]));
  }
  card.appendChild(entry.decisionNode);
  card.appendChild(P.decisionForm(item));
  renderDecision(entry);
  return entry;
}

function renderQueue(data) {
  const main = document.getElementById("main");
  P.queueBadge(data.items.length);
  let list = document.getElementById("queue");
  if (!list) {
    P.clear(main);
    main.appendChild(P.el("h1", {}, "Decision queue"));
    main.appendChild(P.el("p", {className: "muted", id: "queue-summary"}));
    list = P.el("div", {id: "queue"});
    main.appendChild(list);
  }
  document.getElementById("queue-summary").textContent = data.items.length
    ? data.items.length + " waiting for a go / no-go decision. A decision is final: the first one recorded wins."
    : "Nothing waits for a decision.";
  const present = new Set();
  for (const item of data.items) {
    const key = keyOf(item);
    present.add(key);
    let entry = cards.get(key);
    if (!entry) {
      entry = makeCard(item);
      cards.set(key, entry);
      list.appendChild(entry.node);
    } else {
      entry.item = Object.assign(entry.item, {decision: item.decision});
      entry.node.classList.remove("gone");
      renderDecision(entry);
    }
  }
  for (const [key, entry] of cards) {
    if (present.has(key) || entry.node.classList.contains("gone")) continue;
    entry.node.classList.add("gone");
    entry.decisionNode.appendChild(P.el("div", {className: "decided resumed"},
      "No longer waiting: its decision was applied (the run resumed or stopped)."));
  }
}

(async function () {
  try {
    const data = await P.api("/api/queue");
    renderQueue(data);
    P.live({topic: "queue"}, String(data.version), (update) => renderQueue(update.data));
  } catch (error) {
    P.clear(document.getElementById("main")).appendChild(P.el("p", {className: "message error"}, error.message));
  }
})();
