// Tracktion pages: the only script. "/" focuses the search box; the Progress page follows
// its event stream and redraws with textContent only (no HTML is ever built from data).
"use strict";

document.addEventListener("keydown", (ev) => {
  const search = document.querySelector('input[name="search"]');
  if (ev.key === "/" && search && document.activeElement !== search &&
      !(document.activeElement instanceof HTMLInputElement)) {
    ev.preventDefault();
    search.focus();
  }
});

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function linkCell(row, href, text) {
  const td = cell(row, "");
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  td.appendChild(a);
}

function num(v) { return v === null || v === undefined ? "" : v.toFixed(1); }

function fill(selector, items, draw) {
  const body = document.querySelector(selector + " tbody");
  if (!body) return;
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    draw(row, item);
    body.appendChild(row);
  }
}

function drawBatch(row, b) {
  linkCell(row, "/progress?batch=" + encodeURIComponent(b.correlation_id), b.correlation_id);
  const done = cell(row, "");
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = b.percent;
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = " " + b.percent.toFixed(1) + " %";
  done.append(bar, pct);
  for (const k of ["finished", "total", "succeeded", "failed", "in_progress", "queued"]) {
    cell(row, String(b[k]));
  }
  cell(row, num(b.throughput_per_s));
  cell(row, num(b.eta_s));
}

function follow(live) {
  const batch = live.dataset.batch;
  const state = document.getElementById("state");
  const url = "/progress/events" + (batch ? "?batch=" + encodeURIComponent(batch) : "");
  const source = new EventSource(url);
  source.addEventListener("open", () => { state.textContent = "live"; });
  source.addEventListener("error", () => { state.textContent = "reconnecting…"; });
  source.addEventListener("progress", (ev) => {
    const snap = JSON.parse(ev.data);
    fill("table.batches", snap.batches, drawBatch);
    fill("table.files", snap.files, (row, f) => {
      linkCell(row, "/track?id=" + encodeURIComponent(f.file_id), f.file_id);
      cell(row, f.status);
    });
    fill("table.lag", snap.lag, (row, x) => {
      for (const k of ["group", "topic", "partition", "lag"]) cell(row, String(x[k]));
    });
    state.textContent = "live, updated " + new Date().toLocaleTimeString();
    live.dataset.updates = String(Number(live.dataset.updates || "0") + 1);
  });
}

const live = document.getElementById("live");
if (live) follow(live);
