// The dashboard page: draws what the server pushes (GET /api/events, server-sent events) and sends
// actions (POST /api/actions/<verb>) with the token of the URL it was opened with. No build step;
// ECharts (served by repl-lab itself) draws the topology and the lag charts as SVG.
"use strict";

const token = new URLSearchParams(location.search).get("token") ?? "";
const $ = (selector) => document.querySelector(selector);
const EDGE_COLOURS = { sync: "#15803d", potential: "#d97706", quorum: "#2563eb", async: "#6b7280" };
const FAULTS = ["kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal"];
const NODE_ACTIONS = [...FAULTS, "delay", "promote", "rejoin", "switchover"];

const state = { status: null, lag: {}, intervalMs: 1000, charts: new Map(), busy: null, drawMs: [], scriptMs: [] };
// For npm run bench: per look, from its arrival to the end of the frame that shows it (this script,
// then the browser's style, layout and paint), and this script's share of that; the last 600 of each.
window.replLabDashboard = state;
const afterPaint = new MessageChannel();
const painting = [];
afterPaint.port1.onmessage = () => keep(state.drawMs, performance.now() - painting.shift());
function keep(list, value) {
  list.push(value);
  if (list.length > 600) list.shift();
}
/** Called in a frame's animation callbacks: a message posted there is read once that frame is painted. */
function measurePaint(arrived) {
  painting.push(arrived);
  afterPaint.port2.postMessage(null);
}
const topology = echarts.init($("#topology"), null, { renderer: "svg" });
window.addEventListener("resize", () => {
  topology.resize();
  for (const chart of state.charts.values()) chart.resize();
});

// ---- formatting -------------------------------------------------------------------------------
function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "kB", "MB", "GB"];
  let size = Math.abs(value);
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return `${value < 0 ? "-" : ""}${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}
function seconds(value) {
  if (value === null || value === undefined) return "–";
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}
function cell(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
function clock(iso) {
  return iso ? iso.slice(11, 23) : "";
}

// ---- tables ------------------------------------------------------------------------------------
function fillTable(table, columns, rows, options = {}) {
  const head = `<tr>${columns.map((column) => `<th>${column.title ?? column.key}</th>`).join("")}${options.actions ? "<th>actions</th>" : ""}</tr>`;
  if (table.tHead.innerHTML !== head) table.tHead.innerHTML = head;
  const body = document.createElement("tbody");
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const [key, value] of Object.entries(options.rowData?.(row) ?? {})) tr.dataset[key] = value;
    for (const column of columns) {
      const td = document.createElement("td");
      const value = column.value ? column.value(row) : row[column.key];
      td.dataset.col = column.key;
      td.dataset.value = value === null || value === undefined ? "" : String(value);
      td.textContent = column.format ? column.format(value) : cell(value);
      if (column.num) td.className = "num";
      tr.append(td);
    }
    if (options.actions) tr.append(options.actions(row));
    body.append(tr);
  }
  // Redrawn only when something in it changed, so a row under the pointer stays put between looks.
  if (table.tBodies[0].innerHTML !== body.innerHTML) table.tBodies[0].replaceWith(body);
}

function nodeActions(node) {
  const td = document.createElement("td");
  td.className = "node-actions";
  for (const verb of NODE_ACTIONS) {
    const button = document.createElement("button");
    button.textContent = verb;
    button.dataset.verb = verb;
    button.dataset.node = node.name;
    button.disabled = state.busy !== null;
    td.append(button);
  }
  return td;
}

function renderTables(status) {
  fillTable($("#nodes"), [
    { key: "name" }, { key: "role" }, { key: "container_state", title: "container" }, { key: "partitioned" },
    { key: "timeline", num: true }, { key: "current_lsn" }, { key: "receive_lsn" }, { key: "replay_lsn" },
    { key: "replay_delay", format: seconds, num: true }, { key: "upstream" }, { key: "receiver_status" },
    { key: "network_delay_ms", title: "network delay", format: (value) => (value === null ? "–" : `${value} ms`), num: true },
    { key: "host_port", num: true }, { key: "error" },
  ], status.nodes, {
    rowData: (node) => ({ node: node.name, state: node.container_state, partitioned: String(node.partitioned), role: node.role }),
    actions: nodeActions,
  });
  fillTable($("#replication"), [
    { key: "primary" }, { key: "application_name" }, { key: "state" }, { key: "sync_priority", num: true }, { key: "sync_state" },
    { key: "sent_lsn" }, { key: "write_lsn" }, { key: "flush_lsn" }, { key: "replay_lsn" },
    { key: "write_lag", format: seconds, num: true }, { key: "flush_lag", format: seconds, num: true }, { key: "replay_lag", format: seconds, num: true },
    { key: "replay_lag_bytes", format: bytes, num: true },
  ], status.replication, { rowData: (row) => ({ applicationName: row.application_name, primary: row.primary }) });
  fillTable($("#slots"), [
    { key: "primary" }, { key: "slot_name" }, { key: "slot_type" }, { key: "active" }, { key: "restart_lsn" }, { key: "wal_status" },
    { key: "retained_bytes", format: bytes, num: true }, { key: "safe_wal_size", format: bytes, num: true },
  ], status.slots, { rowData: (row) => ({ slot: row.slot_name }) });

  const ha = status.etcd !== undefined;
  $("#ha").hidden = !ha;
  if (ha) {
    const patroni = status.patroni;
    $("#ha-summary").textContent = `leader lock: ${patroni?.leader ?? "nobody"} · etcd Raft leader: ${status.etcd.leader ?? "none"}, term ${status.etcd.raft_term ?? "–"}${patroni ? ` · Patroni answered from ${patroni.source}` : " · no Patroni answers"}`;
    fillTable($("#patroni"), [
      { key: "name", title: "Member" }, { key: "role", title: "Role" }, { key: "state", title: "State" }, { key: "timeline", title: "TL", num: true },
      { key: "lag", title: "Lag", format: bytes, num: true },
    ], patroni?.members ?? [], { rowData: (member) => ({ member: member.name }) });
    fillTable($("#etcd"), [
      { key: "name", title: "etcd member" }, { key: "container_state", title: "container" }, { key: "partitioned" }, { key: "answering" },
      { key: "is_leader", title: "Raft leader" }, { key: "raft_term", title: "term", num: true }, { key: "raft_index", title: "index", num: true },
    ], status.etcd.members, { rowData: (member) => ({ member: member.name }) });
  }
}

// ---- topology ----------------------------------------------------------------------------------
function renderTopology(status) {
  const rows = status.replication;
  const primaries = status.nodes.filter((node) => node.role === "primary");
  const splitBrain = primaries.filter((node) => node.container_state === "running" && !node.error).length > 1;
  // Depth: a primary is 0, a standby one more than what it streams from (cascading ones too).
  const parent = new Map();
  for (const row of rows) parent.set(row.application_name, row.primary);
  for (const node of status.nodes) if (!parent.has(node.name) && node.upstream && node.role !== "primary") parent.set(node.name, node.upstream);
  const depth = (name, seen = new Set()) => {
    const up = parent.get(name);
    if (!up || seen.has(name)) return status.nodes.find((node) => node.name === name)?.role === "primary" ? 0 : 1;
    seen.add(name);
    return depth(up, seen) + 1;
  };
  const columns = new Map();
  for (const node of status.nodes) {
    const column = depth(node.name);
    columns.set(column, [...(columns.get(column) ?? []), node]);
  }
  const data = [];
  for (const [column, nodes] of columns) {
    nodes.forEach((node, index) => {
      const down = node.container_state !== "running";
      const colour = node.partitioned ? "#fee2e2" : down ? "#e5e7eb" : node.role === "primary" ? "#dbeafe" : "#dcfce7";
      const border = node.role === "primary" && splitBrain ? "#b91c1c" : node.partitioned ? "#b91c1c" : node.container_state === "paused" ? "#d97706" : "#475569";
      const condition = node.partitioned ? "partitioned" : node.container_state === "running" ? (node.error ? "no answer" : "") : node.container_state;
      data.push({
        name: node.name,
        x: column * 300,
        y: (index - (nodes.length - 1) / 2) * 70,
        symbol: "roundRect",
        symbolSize: [150, 50],
        itemStyle: { color: colour, borderColor: border, borderWidth: node.role === "primary" && splitBrain ? 3 : 1.5, borderType: node.partitioned || down ? "dashed" : "solid" },
        label: {
          show: true,
          formatter: `{name|${node.name}}\n${node.role}${node.timeline ? ` · TL ${node.timeline}` : ""}${condition ? ` · ${condition}` : ""}`,
          rich: { name: { fontWeight: "bold", fontSize: 13, lineHeight: 18 } },
          color: "#1d2330",
          fontSize: 11,
          lineHeight: 15,
        },
      });
    });
  }
  const links = rows.map((row) => ({
    source: row.primary,
    target: row.application_name,
    value: row.sync_state,
    lineStyle: { color: EDGE_COLOURS[row.sync_state] ?? "#6b7280", width: row.sync_state === "sync" ? 4 : 2, type: row.state === "streaming" ? "solid" : "dotted", curveness: 0 },
    label: {
      show: true,
      formatter: `${row.sync_state} · ${bytes(row.replay_lag_bytes)} · ${seconds(row.replay_lag)}`,
      fontSize: 12,
      fontWeight: "bold",
      color: EDGE_COLOURS[row.sync_state] ?? "#6b7280",
      backgroundColor: "#ffffff",
      padding: [2, 4],
    },
  }));
  if (splitBrain) {
    for (let index = 1; index < primaries.length; index += 1) {
      links.push({ source: primaries[0].name, target: primaries[index].name, lineStyle: { color: "#b91c1c", width: 3, type: "dashed", curveness: 0.3 }, label: { show: true, formatter: "SPLIT BRAIN", color: "#b91c1c", fontWeight: "bold" } });
    }
  }
  // The graph is redrawn only when something it shows changed.
  const drawn = JSON.stringify([data, links]);
  if (drawn === state.topologyDrawn) return;
  state.topologyDrawn = drawn;
  topology.setOption({
    animation: false,
    series: [{ type: "graph", layout: "none", roam: true, data, links, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, edgeLabel: { show: true } }],
  }, { replaceMerge: ["series"] });
}

// ---- lag charts --------------------------------------------------------------------------------
function chartFor(name) {
  let chart = state.charts.get(name);
  if (!chart) {
    const element = document.createElement("div");
    element.className = "lag-chart";
    element.dataset.follower = name;
    $("#lag-charts").append(element);
    // Canvas: sixteen charts of four series redrawn each second cost several times more as SVG nodes.
    chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      title: { text: name, textStyle: { fontSize: 12 }, left: 4, top: 2 },
      legend: { top: 2, right: 4, textStyle: { fontSize: 10 }, itemWidth: 12 },
      grid: { left: 60, right: 44, top: 30, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", axisLabel: { fontSize: 10 } },
      yAxis: [
        { type: "value", axisLabel: { fontSize: 10, formatter: (value) => bytes(value) } },
        { type: "value", axisLabel: { fontSize: 10, formatter: (value) => seconds(value) }, splitLine: { show: false } },
      ],
      series: [
        { name: "replay_lag_bytes", type: "line", showSymbol: false, yAxisIndex: 0, areaStyle: { opacity: 0.15 }, data: [] },
        { name: "write_lag", type: "line", showSymbol: false, yAxisIndex: 1, data: [] },
        { name: "flush_lag", type: "line", showSymbol: false, yAxisIndex: 1, data: [] },
        { name: "replay_lag", type: "line", showSymbol: false, yAxisIndex: 1, data: [] },
      ],
    });
    state.charts.set(name, chart);
  }
  return chart;
}

function renderLag() {
  const cutoff = Date.now() - 5 * 60_000;
  for (const [name, points] of Object.entries(state.lag)) {
    while (points.length > 0 && points[0][0] < cutoff) points.shift();
    if (points.length === 0) continue;
    chartFor(name).setOption({ series: [1, 2, 3, 4].map((index) => ({ data: points.map((point) => [point[0], point[index]]) })) });
  }
}

function recordLag(time, status) {
  const at = Date.parse(time);
  for (const row of status.replication) {
    (state.lag[row.application_name] ??= []).push([at, row.replay_lag_bytes, row.write_lag, row.flush_lag, row.replay_lag]);
  }
}

// ---- events ------------------------------------------------------------------------------------
function describe(event) {
  const change = `${event.from ?? "–"} → ${event.to ?? "–"}`;
  return `${event.node}  ${event.field.replace("_", " ")} ${change}${event.primary ? ` (on ${event.primary})` : ""}`;
}
function addEvents(events) {
  const list = $("#events");
  for (const event of events) {
    const item = document.createElement("li");
    item.dataset.node = event.node;
    item.dataset.field = event.field;
    item.innerHTML = `<time>${clock(event.time)}</time>`;
    item.append(document.createTextNode(describe(event)));
    list.prepend(item);
  }
  while (list.children.length > 500) list.lastElementChild.remove();
}

// ---- the whole page ----------------------------------------------------------------------------
function render(status, time) {
  state.status = status;
  $("#last-look").textContent = time ? `last look ${new Date(time).toLocaleTimeString()}` : "";
  const warnings = $("#warnings");
  warnings.innerHTML = "";
  for (const warning of status.warnings) {
    const banner = document.createElement("div");
    banner.className = /split brain/i.test(warning) ? "banner" : "banner warning";
    banner.textContent = `WARNING: ${warning}`;
    warnings.append(banner);
  }
  renderTopology(status);
  renderTables(status);
  renderLag();
}

function setProblem(message) {
  $("#problem").hidden = !message;
  $("#problem").textContent = message ?? "";
  $("#connection").dataset.state = message ? "no lab" : "live";
  $("#connection").textContent = message ? "no lab" : "live";
}

function connect() {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener("hello", (message) => {
    const hello = JSON.parse(message.data);
    $("#lab-name").textContent = hello.lab;
    document.title = `repl-lab ${hello.lab}`;
    state.intervalMs = hello.interval_ms;
    state.lag = hello.lag;
    $("#events").innerHTML = "";
    addEvents(hello.events);
    setProblem(hello.problem);
    if (hello.status) render(hello.status, hello.time);
  });
  source.addEventListener("tick", (message) => {
    const tick = JSON.parse(message.data);
    setProblem(null);
    const arrived = performance.now();
    recordLag(tick.time, tick.status);
    render(tick.status, tick.time);
    keep(state.scriptMs, performance.now() - arrived);
    requestAnimationFrame(() => measurePaint(arrived));
  });
  source.addEventListener("message", (message) => addEvents([JSON.parse(message.data)]));
  source.addEventListener("problem", (message) => setProblem(JSON.parse(message.data).message));
  source.addEventListener("action", (message) => {
    const action = JSON.parse(message.data);
    state.busy = action.state === "started" ? action.action : null;
    for (const button of document.querySelectorAll("button[data-verb]")) button.disabled = state.busy !== null;
  });
  source.onopen = () => { $("#connection").dataset.state = "live"; $("#connection").textContent = "live"; };
  source.onerror = () => { $("#connection").dataset.state = "lost"; $("#connection").textContent = "reconnecting"; };
}

// ---- actions -----------------------------------------------------------------------------------
function confirmAction(text, fields) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  const box = $("#confirm-fields");
  box.innerHTML = "";
  for (const field of fields) {
    const label = document.createElement("label");
    label.textContent = `${field.label} `;
    const input = document.createElement("input");
    input.name = field.name;
    input.type = field.type ?? "text";
    input.placeholder = field.placeholder ?? "";
    label.append(input);
    box.append(label);
  }
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") return resolve(null);
      const values = {};
      for (const input of box.querySelectorAll("input")) values[input.name] = input.type === "checkbox" ? input.checked : input.value.trim();
      resolve(values);
    }, { once: true });
  });
}

async function send(verb, body) {
  const result = $("#action-result");
  result.hidden = false;
  result.className = "result";
  result.textContent = `${verb} ${JSON.stringify(body)} …`;
  const response = await fetch(`/api/actions/${verb}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-repl-lab-token": token },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  result.dataset.verb = verb;
  result.dataset.outcome = answer.ok ? "done" : "failed";
  result.className = `result ${answer.ok ? "done" : "failed"}`;
  result.textContent = answer.ok
    ? `${verb} done in ${answer.elapsed_ms} ms\n${JSON.stringify(answer.result, null, 2)}`
    : `${verb} failed: ${answer.error.message}${answer.error.hint ? `\nhint: ${answer.error.hint}` : ""}${answer.error.details?.length ? `\n${answer.error.details.join("\n")}` : ""}`;
}

const DESCRIPTIONS = {
  kill: "SIGKILL its container (a crash)", stop: "stop its container cleanly", start: "start its container", restart: "restart its container",
  pause: "freeze its processes (docker pause)", unpause: "let its processes run again", partition: "cut it off the lab network", heal: "put it back on the lab network",
  promote: "promote it to primary (pg_promote) and re-point the other followers", rejoin: "bring it back as a follower (pg_rewind or a fresh base backup)",
  switchover: "make it the primary in a planned switchover", delay: "add latency to its replication",
};

document.addEventListener("click", async (click) => {
  const button = click.target.closest("button[data-verb]");
  if (!button) return;
  const verb = button.dataset.verb;
  let body;
  if (verb === "sync") {
    const field = button.dataset.field;
    if (field === "set") body = { set: $("#sync-spec").value.trim() };
    else if (field === "off") body = { off: true };
    else body = { commit: $("#sync-commit").value };
    const what = field === "set" ? `synchronous_standby_names = '${body.set}'` : field === "off" ? "synchronous_standby_names = '' (every follower async)" : `synchronous_commit = ${body.commit}`;
    if (!(await confirmAction(`Set ${what}?`, []))) return;
  } else {
    const node = button.dataset.node;
    const fields = verb === "delay"
      ? [{ name: "apply", label: "apply delay (recovery_min_apply_delay)", placeholder: "5s" }, { name: "network", label: "network delay (one way)", placeholder: "50ms" }, { name: "clear", label: "clear both", type: "checkbox" }]
      : verb === "rejoin" ? [{ name: "reclone", label: "fresh base backup instead of pg_rewind", type: "checkbox" }] : [];
    const values = await confirmAction(`${verb} ${node}: ${DESCRIPTIONS[verb]}?`, fields);
    if (!values) return;
    body = { node };
    if (verb === "rejoin" && values.reclone) body.reclone = true;
    if (verb === "delay") {
      if (values.apply) body.apply = values.apply;
      if (values.network) body.network = values.network;
      if (values.clear) body.clear = true;
    }
  }
  await send(verb, body).catch((error) => {
    $("#action-result").className = "result failed";
    $("#action-result").textContent = `${verb} failed: ${error.message}`;
  });
});

// ---- experiments -------------------------------------------------------------------------------
async function loadExperiments() {
  const response = await fetch("/api/experiments", { headers: { "x-repl-lab-token": token } });
  if (!response.ok) return;
  const experiments = await response.json();
  $("#experiments-panel").hidden = experiments.length === 0;
  for (const experiment of experiments) {
    const article = document.createElement("article");
    article.dataset.experiment = experiment.experiment;
    const title = document.createElement("h3");
    title.textContent = `${experiment.experiment} · ${experiment.dir}`;
    const conclusion = document.createElement("p");
    conclusion.textContent = experiment.conclusion;
    article.append(title, conclusion);
    for (const plot of experiment.plots) {
      const image = document.createElement("img");
      image.alt = `${experiment.experiment}: ${plot}`;
      image.src = `/api/experiments/${experiment.id}/${encodeURIComponent(plot)}?token=${encodeURIComponent(token)}`;
      article.append(image);
    }
    $("#experiments").append(article);
  }
}

connect();
loadExperiments();
