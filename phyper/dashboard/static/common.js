// phyper dashboard: helpers every page uses. Everything read from the store is put into the
// page as text (textContent, text nodes): never as HTML.
"use strict";

const P = {};

// el("td", {className: "num"}, "1.5", otherNode): strings become text nodes
P.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else if (key === "onclick" || key === "oninput" || key === "onchange") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

P.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); return node; };

P.fmt = function (value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6 ? String(+value.toPrecision(5)) : value.toExponential(3);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};

P.chip = function (status, count) {
  return P.el("span", {className: "chip s-" + String(status).replace(/[^a-z_]/g, "")},
              count === undefined ? status : status + " " + count);
};

P.runLink = function (resource, hash, text) {
  // hash and resource are checked by the server; encodeURIComponent keeps the URL a URL anyway
  return P.el("a", {href: "/run/" + encodeURIComponent(resource) + "/" + encodeURIComponent(hash),
                    className: "hash"}, text || hash.slice(0, 12));
};

P.studyLink = function (name) {
  return P.el("a", {href: "/study/" + encodeURIComponent(name)}, name);
};

P.api = async function (path, options) {
  const response = await fetch(path, Object.assign({credentials: "same-origin"}, options || {}));
  let body = null;
  try { body = await response.json(); } catch (e) { body = {error: await response.text()}; }
  if (!response.ok) {
    const error = new Error((body && body.error) || ("HTTP " + response.status));
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
};

P.setLiveState = function (text) {
  const node = document.getElementById("live-state");
  if (node) node.textContent = text;
};

// Live updates for one topic: server-sent events, falling back to polling once a second.
// onUpdate(update) gets each change; the cursor travels with it. ?live=poll forces polling.
P.live = function (params, cursor, onUpdate) {
  const state = {cursor: cursor, mode: "", updates: 0, stopped: false};
  window.phyperLive = state;
  const query = () => {
    const q = new URLSearchParams(params);
    q.set("cursor", state.cursor);
    return q.toString();
  };
  const handle = (update) => {
    if (!update || update.cursor === undefined) return;
    const changed = update.cursor !== state.cursor;
    state.cursor = update.cursor;
    if (changed || update.data || update.metrics || update.trials) {
      state.updates += 1;
      onUpdate(update);
    }
  };
  const poll = async () => {
    state.mode = "poll";
    P.setLiveState("live (polling)");
    while (!state.stopped) {
      try {
        const update = await P.api("/api/poll?" + query());
        if (update.cursor !== state.cursor) handle(update);
      } catch (e) { P.setLiveState("offline: " + e.message); }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  const forcePoll = new URLSearchParams(location.search).get("live") === "poll";
  if (forcePoll || typeof EventSource === "undefined") { poll(); return state; }
  let failures = 0;
  const connect = () => {
    const source = new EventSource("/api/events?" + query());
    state.source = source;
    source.addEventListener("open", () => {
      state.mode = "sse"; failures = 0; P.setLiveState("live");
    });
    source.addEventListener("update", (event) => handle(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      source.close();
      failures += 1;
      if (failures >= 3) poll();  // proxies that buffer streams: poll instead
      else setTimeout(connect, 1000);  // reconnect with the cursor reached so far
    });
  };
  connect();
  return state;
};

P.queueBadge = function (count) {
  const node = document.getElementById("queue-count");
  if (node) node.textContent = count ? String(count) : "";
};

// A small SVG line of a series (nulls skipped): the best-so-far sparkline
P.sparkline = function (values, width, height) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  const points = values.map((v, i) => [i, v]).filter((p) => p[1] !== null && p[1] !== undefined);
  if (points.length < 2) return svg;
  const ys = points.map((p) => p[1]);
  const lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
  const n = values.length - 1 || 1;
  const d = points.map((p, k) => (k ? "L" : "M") + (2 + (width - 4) * p[0] / n).toFixed(1) + " " +
                       (2 + (height - 4) * (1 - (p[1] - lo) / span)).toFixed(1)).join(" ");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d); path.setAttribute("fill", "none");
  path.setAttribute("stroke", "#2459c4"); path.setAttribute("stroke-width", "1.5");
  svg.appendChild(path);
  return svg;
};

P.kv = function (pairs) {
  const dl = P.el("dl", {className: "kv"});
  for (const [key, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.appendChild(P.el("dt", {}, key));
    dl.appendChild(P.el("dd", {}, value instanceof Node ? value : P.fmt(value)));
  }
  return dl;
};

P.decisionText = function (decision) {
  if (!decision) return "";
  const note = decision.note ? " (note: " + decision.note + ")" : "";
  return decision.decision + " by " + decision.by + " at " + P.when(decision.decided_at) + note;
};

// Go / No-go with a note, for a run (item.kind "run") or a study; the answer, or the conflict
// message naming who decided what and when, is shown below the buttons.
P.decisionForm = function (item, onDecided) {
  const note = P.el("textarea", {placeholder: "a note (why), kept with the decision", "aria-label": "note"});
  const message = P.el("div", {className: "message", role: "status"});
  const send = async (verdict, button) => {
    for (const b of buttons) b.disabled = true;
    message.className = "message"; message.textContent = "";
    const body = {kind: item.kind, gate: item.gate, decision: verdict, note: note.value || null};
    if (item.kind === "run") { body.hash = item.hash; body.resource = item.resource || "all"; }
    else body.study = item.study;
    try {
      const answer = await P.api("/api/decide", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
      });
      message.className = "message ok";
      message.textContent = "Recorded: " + P.decisionText(answer.decision) + ".";
      if (onDecided) onDecided(answer);
    } catch (error) {
      message.className = "message error";
      message.textContent = error.status === 403
        ? "Refused: " + error.message
        : error.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const go = P.el("button", {className: "go", type: "button"}, "Go");
  const nogo = P.el("button", {className: "nogo", type: "button"}, "No-go");
  const buttons = [go, nogo];
  go.onclick = () => send("go", go);
  nogo.onclick = () => send("no-go", nogo);
  return P.el("div", {className: "decision-form"}, note, P.el("div", {className: "actions"}, go, nogo), message);
};

P.plotLayout = function (xTitle, yTitle, extra) {
  return Object.assign({
    margin: {l: 64, r: 16, t: 28, b: 48},
    xaxis: {title: {text: xTitle}, zeroline: false},
    yaxis: {title: {text: yTitle}, zeroline: false},
    legend: {orientation: "h", y: 1.12, x: 0},
    font: {size: 12},
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  }, extra || {});
};

P.plotConfig = {displaylogo: false, responsive: true};

// Keep the queue badge of every page current
P.watchQueueCount = async function () {
  try {
    const overview = await P.api("/api/overview");
    P.queueBadge(overview.decisions_waiting);
  } catch (e) { /* the page says what failed */ }
};

// Text handed to plotly (trace names, axis titles, tick labels): plotly reads a few tags in
// its strings, so store text is escaped to be shown as it is
P.esc = function (text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
};

// An epoch axis with whole-number ticks
P.epochAxis = function (maxEpoch) {
  const axis = {title: {text: "epoch"}, zeroline: false, tick0: 0};
  axis.dtick = Math.max(1, Math.ceil((maxEpoch || 1) / 10));
  return axis;
};

// plotly.js (4.6 MB) is loaded after the page's text is drawn: tables and figures in text come
// first, the plots when the browser has parsed the bundle
P.plotlyReady = null;
P.withPlotly = function () {
  if (!P.plotlyReady) {
    P.plotlyReady = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/plotly.min.js";
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js did not load"));
      document.head.appendChild(script);
    });
  }
  return P.plotlyReady;
};

// "2026-12-02T23:21:00.083916+00:00" -> "2026-12-02 23:21:00 UTC"
P.when = function (stamp) {
  if (!stamp) return stamp;
  return String(stamp).replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$/, " UTC");
};
