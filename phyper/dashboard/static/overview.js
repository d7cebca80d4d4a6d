// The overview: run counts by status, decisions waiting, every study in one table.
"use strict";

const STATUS_ORDER = ["running", "awaiting_decision", "paused", "interrupted", "completed",
                      "stopped", "failed"];

function renderOverview(data) {
  const main = P.clear(document.getElementById("main"));
  P.queueBadge(data.decisions_waiting);
  main.appendChild(P.el("h1", {}, "Overview"));
  main.appendChild(P.el("p", {className: "muted"}, "Results root: ", P.el("span", {className: "hash"}, data.root)));

  const tiles = P.el("div", {className: "tiles", id: "run-counts"});
  tiles.appendChild(P.el("a", {className: "tile", href: "/queue", id: "decisions-waiting"},
    P.el("div", {className: "n"}, String(data.decisions_waiting)),
    P.el("div", {className: "k"}, "decisions waiting")));
  tiles.appendChild(P.el("div", {className: "tile"},
    P.el("div", {className: "n"}, String(data.runs.total)), P.el("div", {className: "k"}, "runs")));
  const counts = data.runs.by_status;
  const statuses = Object.keys(counts).sort((a, b) => {
    const ia = STATUS_ORDER.indexOf(a), ib = STATUS_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  for (const status of statuses) {
    tiles.appendChild(P.el("div", {className: "tile", "data-status": status},
      P.el("div", {className: "n"}, String(counts[status])),
      P.el("div", {className: "k"}, P.chip(status))));
  }
  main.appendChild(tiles);

  main.appendChild(P.el("h2", {}, "Studies"));
  if (!data.studies.length) {
    main.appendChild(P.el("p", {className: "muted"}, "No study under this root (tune.Study writes them to studies/)."));
    return;
  }
  const table = P.el("table", {id: "studies"});
  table.appendChild(P.el("thead", {}, P.el("tr", {},
    ["study", "metric", "direction", "trials", "by state", "best value", "best so far", "awaits"]
      .map((h) => P.el("th", {}, h)))));
  const body = P.el("tbody");
  for (const s of data.studies) {
    const states = P.el("td");
    for (const [state, n] of Object.entries(s.states)) states.appendChild(P.chip(state, n));
    const awaits = [];
    if (s.awaiting) awaits.push("gate " + s.awaiting);
    if (s.awaiting_trials) awaits.push(s.awaiting_trials + " trial run(s) at a gate");
    if (s.stopped) awaits.push("stopped: " + s.stopped);
    body.appendChild(P.el("tr", {"data-study": s.name},
      P.el("td", {}, P.studyLink(s.name)),
      P.el("td", {}, s.metric),
      P.el("td", {}, s.direction),
      P.el("td", {className: "num"}, String(s.trials)),
      states,
      P.el("td", {className: "num"}, P.fmt(s.best_value)),
      P.el("td", {}, P.sparkline(s.sparkline, 140, 30)),
      P.el("td", {}, awaits.length ? P.el("a", {href: "/queue"}, awaits.join("; ")) : "")));
  }
  table.appendChild(body);
  main.appendChild(table);
}

(async function () {
  try {
    const data = await P.api("/api/overview");
    renderOverview(data);
    window.phyperDrawn = performance.now();  // the benchmark reads it
    // the other pages draw with plotly.js: fetch it into the cache now, parse it there
    document.head.appendChild(P.el("link", {rel: "prefetch", href: "/static/plotly.min.js"}));
    P.live({topic: "overview"}, String(data.version), (update) => renderOverview(update.data));
  } catch (error) {
    P.clear(document.getElementById("main")).appendChild(P.el("p", {className: "message error"}, error.message));
  }
})();
