// The dashboard page: draws what the server pushes (GET /api/events, server-sent events) and sends
// actions (POST /api/actions/<verb>) with the token of the URL it was opened with. No build step.
// A look at the lab arrives every second with the whole status; the page changes only what differs
// from what it shows (a table cell's text, a graph label, a chart's new points), in one animation
// frame per look. The lag charts are uPlot's (served by repl-lab itself); the topology graph is an SVG
// built here, rebuilt only when nodes, edges or roles change.
"use strict";

const token = new URLSearchParams(location.search).get("token") ?? "";
const $ = (selector) => document.querySelector(selector);
const FAULTS = ["kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal"];
const NODE_ACTIONS = [...FAULTS, "delay", "promote", "rejoin", "switchover"];
const HISTORY_MS = 5 * 60_000;

const state = {
  intervalMs: 1000,
  busy: null,
  /** What the next frame draws: the newest look, the events since the last frame, the problem. */
  next: { status: null, time: null, events: [], problem: undefined, charts: false, arrived: null },
  frame: 0,
  drawMs: [],
  scriptMs: [],
};
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
/** A chart's time tick (seconds since the epoch) as local HH:MM, or HH:MM:SS between whole minutes. */
function tickTime(at) {
  const date = new Date(at * 1000);
  const pad = (value) => String(value).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}${at % 60 ? `:${pad(date.getSeconds())}` : ""}`;
}

// ---- writing only what differs ----------------------------------------------------------------
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
function setData(element, key, value) {
  if (element.dataset[key] !== value) element.dataset[key] = value;
}
function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  if (className) made.className = className;
  return made;
}

// ---- tables: one row per key, a cell written when its value changed ---------------------------
class KeyedTable {
  constructor(table, columns, { key, rowData = () => ({}), actions = null }) {
    this.columns = columns;
    this.key = key;
    this.rowData = rowData;
    this.actions = actions;
    this.body = table.tBodies[0];
    this.rows = new Map();
    const head = document.createElement("tr");
    for (const column of columns) head.append(element("th", column.title ?? column.key));
    if (actions) head.append(element("th", "actions"));
    table.tHead.replaceChildren(head);
  }

  update(rows) {
    const seen = new Set();
    let previous = null;
    for (const row of rows) {
      const id = this.key(row);
      seen.add(id);
      let entry = this.rows.get(id);
      if (!entry) {
        entry = this.create(row);
        this.rows.set(id, entry);
      }
      const wanted = previous ? previous.nextSibling : this.body.firstChild;
      if (entry.tr !== wanted) this.body.insertBefore(entry.tr, wanted);
      previous = entry.tr;
      this.fill(entry, row);
    }
    for (const [id, entry] of this.rows) {
      if (seen.has(id)) continue;
      entry.tr.remove();
      this.rows.delete(id);
    }
  }

  create(row) {
    const tr = document.createElement("tr");
    const cells = this.columns.map((column) => {
      const td = element("td", undefined, column.num ? "num" : "");
      td.dataset.col = column.key;
      tr.append(td);
      return td;
    });
    if (this.actions) tr.append(this.actions(row));
    return { tr, cells, values: [], texts: [] };
  }

  fill(entry, row) {
    for (const [key, value] of Object.entries(this.rowData(row))) setData(entry.tr, key, value);
    this.columns.forEach((column, index) => {
      const value = column.value ? column.value(row) : row[column.key];
      const raw = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
      const text = column.format ? column.format(value) : cell(value);
      if (entry.values[index] !== raw) entry.cells[index].dataset.value = entry.values[index] = raw;
      if (entry.texts[index] !== text) entry.cells[index].textContent = entry.texts[index] = text;
    });
  }
}

function nodeActions(node) {
  const td = element("td", undefined, "node-actions");
  for (const verb of NODE_ACTIONS) {
    const button = element("button", verb);
    button.dataset.verb = verb;
    button.dataset.node = node.name;
    button.disabled = state.busy !== null;
    td.append(button);
  }
  return td;
}

/** Off the network, or cut by packet filter from some members. */
const isCut = (member) => member.isolated || member.cannot_reach.length > 0;
const cutText = (member) => (member.isolated ? "isolated" : member.cannot_reach.length > 0 ? `cannot reach ${member.cannot_reach.join(", ")}` : "");

const tables = {
  nodes: new KeyedTable($("#nodes"), [
    { key: "name" }, { key: "role" }, { key: "container_state", title: "container" }, { key: "cut", title: "partition", value: cutText },
    { key: "timeline", num: true }, { key: "current_lsn" }, { key: "receive_lsn" }, { key: "replay_lsn" },
    { key: "replay_delay", format: seconds, num: true }, { key: "upstream" }, { key: "receiver_status" },
    { key: "network_delay_ms", title: "network delay", format: (value) => (value === null ? "–" : `${value} ms`), num: true },
    { key: "host_port", num: true }, { key: "error" },
  ], {
    key: (node) => node.name,
    rowData: (node) => ({ node: node.name, state: node.container_state, partitioned: String(isCut(node)), role: node.role }),
    actions: nodeActions,
  }),
  replication: new KeyedTable($("#replication"), [
    { key: "primary" }, { key: "application_name" }, { key: "state" }, { key: "sync_priority", num: true }, { key: "sync_state" },
    { key: "sent_lsn" }, { key: "write_lsn" }, { key: "flush_lsn" }, { key: "replay_lsn" },
    { key: "write_lag", format: seconds, num: true }, { key: "flush_lag", format: seconds, num: true }, { key: "replay_lag", format: seconds, num: true },
    { key: "replay_lag_bytes", format: bytes, num: true },
  ], { key: (row) => `${row.primary}/${row.application_name}`, rowData: (row) => ({ applicationName: row.application_name, primary: row.primary }) }),
  slots: new KeyedTable($("#slots"), [
    { key: "primary" }, { key: "slot_name" }, { key: "slot_type" }, { key: "active" }, { key: "restart_lsn" }, { key: "wal_status" },
    { key: "retained_bytes", format: bytes, num: true }, { key: "safe_wal_size", format: bytes, num: true },
  ], { key: (row) => `${row.primary}/${row.slot_name}`, rowData: (row) => ({ slot: row.slot_name }) }),
  patroni: new KeyedTable($("#patroni"), [
    { key: "name", title: "Member" }, { key: "role", title: "Role" }, { key: "state", title: "State" }, { key: "timeline", title: "TL", num: true },
    { key: "lag", title: "Lag", format: bytes, num: true },
  ], { key: (member) => member.name, rowData: (member) => ({ member: member.name }) }),
  etcd: new KeyedTable($("#etcd"), [
    { key: "name", title: "etcd member" }, { key: "container_state", title: "container" }, { key: "cut", title: "partition", value: cutText }, { key: "answering" },
    { key: "is_leader", title: "Raft leader" }, { key: "raft_term", title: "term", num: true }, { key: "raft_index", title: "index", num: true },
  ], { key: (member) => member.name, rowData: (member) => ({ member: member.name }) }),
  monitor: new KeyedTable($("#monitor"), [
    { key: "name", title: "Name" }, { key: "node_id", title: "Node", num: true }, { key: "reported_lsn", title: "LSN" }, { key: "reported_tli", title: "TLI", num: true },
    { key: "health", title: "Health" }, { key: "reported_state", title: "Reported State" }, { key: "assigned_state", title: "Assigned State" },
    { key: "candidate_priority", title: "Priority", num: true }, { key: "replication_quorum", title: "Quorum" },
  ], { key: (node) => node.name, rowData: (node) => ({ member: node.name }) }),
};

/** pg_auto_failover's monitor (status.monitor) and the HA proxy (status.proxy), each shown only when the lab has it. */
function renderManagerPanels(status) {
  const monitor = status.monitor;
  if ($("#monitor-panel").hidden === Boolean(monitor)) $("#monitor-panel").hidden = !monitor;
  if (monitor) {
    setText($("#monitor-summary"), monitor.answering
      ? `primary: ${monitor.primary ?? "none"} · number_sync_standbys ${monitor.number_sync_standbys ?? "–"}`
      : `the monitor does not answer (container ${monitor.container_state}): nobody fails over until it does`);
    tables.monitor.update(monitor.nodes);
  }
  const proxy = status.proxy;
  if ($("#proxy-panel").hidden === Boolean(proxy)) $("#proxy-panel").hidden = !proxy;
  if (proxy) {
    const servers = (list) => (list === null ? "(HAProxy did not answer)" : list.length === 0 ? "none" : list.join(", "));
    setText($("#proxy-summary"), `writer 127.0.0.1:${proxy.writer_port ?? "–"} → ${servers(proxy.writer)} · reader 127.0.0.1:${proxy.reader_port ?? "–"} → ${servers(proxy.reader)}`);
  }
}

function renderTables(status) {
  tables.nodes.update(status.nodes);
  tables.replication.update(status.replication);
  tables.slots.update(status.slots);
  renderManagerPanels(status);
  const ha = status.etcd !== undefined;
  if ($("#ha").hidden === ha) $("#ha").hidden = !ha;
  if (!ha) return;
  const patroni = status.patroni;
  setText($("#ha-summary"), `leader lock: ${patroni?.leader ?? "nobody"} · etcd Raft leader: ${status.etcd.leader ?? "none"}, term ${status.etcd.raft_term ?? "–"}${patroni ? ` · Patroni answered from ${patroni.source}` : " · no Patroni answers"}`);
  tables.patroni.update(patroni?.members ?? []);
  tables.etcd.update(status.etcd.members);
}

// ---- topology: an SVG rebuilt when its shape changes, its labels and data attributes otherwise --
const SVG = "http://www.w3.org/2000/svg";
const BOX = { width: 150, height: 44 };
const COLUMN_GAP = 420;
const ROW_PITCH = 58;
const ARROWS = ["sync", "potential", "quorum", "async", "split-brain"];
const topology = { shape: null, nodes: new Map(), edges: new Map() };

function svgElement(tag, attributes = {}, parent) {
  const made = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, String(value));
  parent?.append(made);
  return made;
}

/** Where each node goes (a primary in column 0, a standby one column right of what it streams from) and the edges. */
function layOut(status) {
  const roles = new Map(status.nodes.map((node) => [node.name, node.role]));
  const parent = new Map();
  for (const row of status.replication) parent.set(row.application_name, row.primary);
  for (const node of status.nodes) if (!parent.has(node.name) && node.upstream && node.role !== "primary") parent.set(node.name, node.upstream);
  const depth = (name, seen = new Set()) => {
    const up = parent.get(name);
    if (!up || seen.has(name)) return roles.get(name) === "primary" ? 0 : 1;
    seen.add(name);
    return depth(up, seen) + 1;
  };
  const columns = new Map();
  for (const node of status.nodes) {
    const column = depth(node.name);
    columns.set(column, [...(columns.get(column) ?? []), node]);
  }
  const places = new Map();
  for (const [column, nodes] of columns) {
    nodes.forEach((node, index) => places.set(node.name, { x: column * COLUMN_GAP, y: (index - (nodes.length - 1) / 2) * ROW_PITCH }));
  }
  const edges = status.replication
    .filter((row) => places.has(row.primary) && places.has(row.application_name))
    .map((row) => ({ id: `${row.primary}>${row.application_name}`, source: row.primary, target: row.application_name, row }));
  const primaries = status.nodes.filter((node) => node.role === "primary");
  const splitBrain = primaries.filter((node) => node.container_state === "running" && !node.error).length > 1;
  if (splitBrain) {
    for (const other of primaries.slice(1)) edges.push({ id: `${primaries[0].name}!${other.name}`, source: primaries[0].name, target: other.name, row: null });
  }
  return { places, edges, splitBrain };
}

/** The point where the line from a box's centre towards (dx, dy) leaves the box. */
function boxExit(place, dx, dy) {
  const scale = Math.min(BOX.width / 2 / Math.abs(dx || 1e-9), BOX.height / 2 / Math.abs(dy || 1e-9));
  return { x: place.x + dx * scale, y: place.y + dy * scale };
}

function edgeGeometry(from, to, curved) {
  if (!curved) {
    const start = boxExit(from, to.x - from.x, to.y - from.y);
    const end = boxExit(to, from.x - to.x, from.y - to.y);
    // Labels nearer the follower than the middle: a fan of edges is wider apart there.
    const along = 0.62;
    return { d: `M${start.x},${start.y} L${end.x},${end.y}`, label: { x: start.x + along * (end.x - start.x), y: start.y + along * (end.y - start.y) } };
  }
  // Two primaries (often in one column): a bow to the right of the line between them.
  const control = { x: (from.x + to.x) / 2 + 0.3 * Math.hypot(to.x - from.x, to.y - from.y) + BOX.width / 2, y: (from.y + to.y) / 2 };
  const start = boxExit(from, control.x - from.x, control.y - from.y);
  const end = boxExit(to, control.x - to.x, control.y - to.y);
  return { d: `M${start.x},${start.y} Q${control.x},${control.y} ${end.x},${end.y}`, label: { x: 0.25 * start.x + 0.5 * control.x + 0.25 * end.x, y: 0.25 * start.y + 0.5 * control.y + 0.25 * end.y } };
}

function buildTopology(status, { places, edges }) {
  const root = $("#topology");
  topology.nodes.clear();
  topology.edges.clear();
  if (places.size === 0) return root.replaceChildren();
  const xs = [...places.values()].map((place) => place.x);
  const ys = [...places.values()].map((place) => place.y);
  const margin = 24;
  const left = Math.min(...xs) - BOX.width / 2 - margin;
  const top = Math.min(...ys) - BOX.height / 2 - margin;
  const width = Math.max(...xs) - Math.min(...xs) + BOX.width + 2 * margin + (edges.some((edge) => !edge.row) ? BOX.width : 0);
  const height = Math.max(...ys) - Math.min(...ys) + BOX.height + 2 * margin;
  const svg = svgElement("svg", { viewBox: `${left} ${top} ${width} ${height}`, preserveAspectRatio: "xMidYMid meet", role: "img" });
  // A lab of many followers gets a taller graph rather than unreadably small labels.
  svg.style.height = `${Math.max(360, Math.round(height * 0.62))}px`;
  const defs = svgElement("defs", {}, svg);
  for (const kind of ARROWS) {
    const marker = svgElement("marker", { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 4, markerHeight: 4, orient: "auto-start-reverse" }, defs);
    svgElement("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  }
  const edgeLayer = svgElement("g", { class: "edges" }, svg);
  for (const edge of edges) {
    const geometry = edgeGeometry(places.get(edge.source), places.get(edge.target), !edge.row);
    const group = svgElement("g", { class: "edge", "data-source": edge.source, "data-target": edge.target }, edgeLayer);
    svgElement("path", { d: geometry.d }, group);
    // Above its edge, which would otherwise run through the text.
    const label = svgElement("text", { x: geometry.label.x, y: geometry.label.y, dy: "-0.45em" }, group);
    topology.edges.set(edge.id, { group, label });
  }
  const nodeLayer = svgElement("g", { class: "nodes" }, svg);
  for (const node of status.nodes) {
    const place = places.get(node.name);
    const group = svgElement("g", { class: "node", transform: `translate(${place.x},${place.y})` }, nodeLayer);
    group.dataset.node = node.name;
    svgElement("rect", { x: -BOX.width / 2, y: -BOX.height / 2, width: BOX.width, height: BOX.height, rx: 6 }, group);
    const text = svgElement("text", {}, group);
    svgElement("tspan", { class: "name", x: 0, y: -4 }, text).textContent = node.name;
    const detail = svgElement("tspan", { class: "detail", x: 0, y: 13 }, text);
    topology.nodes.set(node.name, { group, detail });
  }
  root.replaceChildren(svg);
}

function renderTopology(status) {
  const shape = layOut(status);
  const key = JSON.stringify([
    status.nodes.map((node) => [node.name, node.role, shape.places.get(node.name)]),
    shape.edges.map((edge) => edge.id),
  ]);
  if (key !== topology.shape) {
    topology.shape = key;
    buildTopology(status, shape);
  }
  for (const node of status.nodes) {
    const drawn = topology.nodes.get(node.name);
    const condition = isCut(node) ? cutText(node) : node.container_state === "running" ? (node.error ? "no answer" : "") : node.container_state;
    setText(drawn.detail, `${node.role}${node.timeline ? ` · TL ${node.timeline}` : ""}${condition ? ` · ${condition}` : ""}`);
    setData(drawn.group, "role", node.role);
    setData(drawn.group, "state", node.container_state);
    setData(drawn.group, "partitioned", String(isCut(node)));
    setData(drawn.group, "splitBrain", String(shape.splitBrain && node.role === "primary"));
  }
  for (const edge of shape.edges) {
    const drawn = topology.edges.get(edge.id);
    const row = edge.row;
    setData(drawn.group, "kind", row ? row.sync_state : "split-brain");
    setData(drawn.group, "streaming", String(!row || row.state === "streaming"));
    setText(drawn.label, row ? `${row.sync_state} · ${bytes(row.replay_lag_bytes)} · ${seconds(row.replay_lag)}` : "SPLIT BRAIN");
  }
}

// ---- lag charts: each follower's points kept as columns, new ones appended each look -------------
const SERIES = [
  { label: "replay_lag_bytes", scale: "bytes", stroke: "#5470c6", fill: "rgba(84, 112, 198, 0.15)", value: (_, value) => bytes(value) },
  { label: "write_lag", scale: "seconds", stroke: "#91cc75", value: (_, value) => seconds(value) },
  { label: "flush_lag", scale: "seconds", stroke: "#fac858", value: (_, value) => seconds(value) },
  { label: "replay_lag", scale: "seconds", stroke: "#ee6666", value: (_, value) => seconds(value) },
];
const lag = {
  /** follower → { data: [times (s), replay_lag_bytes, write_lag, flush_lag, replay_lag], plot, element } */
  followers: new Map(),
  /** The window every chart shows, in seconds: the same for all, so that they line up. */
  window: [0, 0],
};
/** Charts out of view are not drawn; each is drawn when it comes into view. */
const chartsInView = new IntersectionObserver((entries) => {
  let appeared = false;
  for (const entry of entries) {
    const follower = lag.followers.get(entry.target.dataset.follower);
    if (!follower) continue;
    follower.inView = entry.isIntersecting;
    appeared ||= entry.isIntersecting && follower.stale;
  }
  if (appeared) schedule({ charts: true });
});
const chartSizes = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const follower = lag.followers.get(entry.target.dataset.follower);
    const width = Math.floor(entry.contentRect.width);
    if (follower?.plot && width > 0 && width !== follower.plot.width) follower.plot.setSize({ width, height: follower.plot.height });
  }
});

function followerLag(name) {
  let follower = lag.followers.get(name);
  if (!follower) {
    follower = { data: [[], [], [], [], []], plot: null, element: null, inView: false, stale: true };
    lag.followers.set(name, follower);
  }
  return follower;
}

function recordLag(time, rows) {
  const at = Date.parse(time) / 1000;
  for (const row of rows) {
    const data = followerLag(row.application_name).data;
    [at, row.replay_lag_bytes, row.write_lag, row.flush_lag, row.replay_lag].forEach((value, index) => data[index].push(value));
  }
  lag.window = [at - HISTORY_MS / 1000, at];
}

function loadLag(history) {
  for (const [name, points] of Object.entries(history)) {
    const data = followerLag(name).data;
    for (const point of points) point.forEach((value, index) => data[index].push(index === 0 ? value / 1000 : value));
    const last = data[0][data[0].length - 1];
    if (last !== undefined && last > lag.window[1]) lag.window = [last - HISTORY_MS / 1000, last];
  }
}

function makePlot(name, follower, width) {
  return new uPlot({
    width,
    height: 150,
    title: name,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: () => [...lag.window] },
      bytes: { range: (_, min, max) => [Math.min(0, min ?? 0), max > 0 ? max : 1024] },
      seconds: { range: (_, min, max) => [Math.min(0, min ?? 0), max > 0 ? max : 1] },
    },
    axes: [
      { size: 30, values: (_, splits) => splits.map(tickTime) },
      { scale: "bytes", size: 64, values: (_, splits) => splits.map(bytes) },
      { scale: "seconds", side: 1, size: 62, values: (_, splits) => splits.map(seconds), grid: { show: false } },
    ],
    // Lines 1 px wide (uPlot's default): Chromium draws them as hairlines, several times faster
    // on a software canvas than wider strokes when a follower's lag zigzags.
    series: [{}, ...SERIES],
  }, follower.data, follower.element);
}

function renderLag() {
  const cutoff = lag.window[0];
  const created = [];
  for (const [name, follower] of lag.followers) {
    const [times] = follower.data;
    let old = 0;
    while (old < times.length && times[old] < cutoff) old += 1;
    if (old > 0) for (const column of follower.data) column.splice(0, old);
    if (!follower.element) {
      follower.element = element("div", undefined, "lag-chart");
      follower.element.dataset.follower = name;
      $("#lag-charts").append(follower.element);
      created.push(follower);
    }
  }
  // Widths read once all new cells are in the grid: one layout, not one per chart.
  for (const follower of created) {
    follower.plot = makePlot(follower.element.dataset.follower, follower, Math.floor(follower.element.clientWidth) || 360);
    follower.stale = false;
    chartSizes.observe(follower.element);
    chartsInView.observe(follower.element);
  }
  for (const follower of lag.followers.values()) {
    if (created.includes(follower)) continue;
    follower.stale = !follower.inView;
    if (follower.inView) follower.plot.setData(follower.data);
  }
}

/** The charts that came into view since they were last drawn. */
function renderStaleCharts() {
  for (const follower of lag.followers.values()) {
    if (!follower.inView || !follower.stale) continue;
    follower.stale = false;
    follower.plot.setData(follower.data);
  }
}

// ---- events: new ones put on top; the list is never redrawn -----------------------------------
function describe(event) {
  const change = `${event.from ?? "–"} → ${event.to ?? "–"}`;
  return `${event.node}  ${event.field.replace("_", " ")} ${change}${event.primary ? ` (on ${event.primary})` : ""}`;
}
function renderEvents(events) {
  if (events.length === 0) return;
  const list = $("#events");
  const items = document.createDocumentFragment();
  for (const event of events.slice(-500).reverse()) {
    const item = document.createElement("li");
    item.dataset.node = event.node;
    item.dataset.field = event.field;
    item.append(element("time", clock(event.time)), describe(event));
    items.append(item);
  }
  list.prepend(items);
  while (list.childElementCount > 500) list.lastElementChild.remove();
}

// ---- the frame --------------------------------------------------------------------------------
let shownWarnings = "";
function renderWarnings(warnings) {
  const key = JSON.stringify(warnings);
  if (key === shownWarnings) return;
  shownWarnings = key;
  $("#warnings").replaceChildren(...warnings.map((warning) => element("div", `WARNING: ${warning}`, /split brain/i.test(warning) ? "banner" : "banner warning")));
}

function renderProblem(message) {
  if ($("#problem").hidden !== !message) $("#problem").hidden = !message;
  setText($("#problem"), message ?? "");
  setData($("#connection"), "state", message ? "no lab" : "live");
  setText($("#connection"), message ? "no lab" : "live");
}

function draw() {
  state.frame = 0;
  const started = performance.now();
  const { status, time, events, problem, charts, arrived } = state.next;
  state.next = { status: null, time: null, events: [], problem: undefined, charts: false, arrived: null };
  renderEvents(events);
  if (problem !== undefined) renderProblem(problem);
  if (status) {
    setText($("#last-look"), time ? `last look ${new Date(time).toLocaleTimeString()}` : "");
    renderWarnings(status.warnings);
    renderTopology(status);
    renderTables(status);
    renderLag();
  } else if (charts) {
    renderStaleCharts();
  }
  if (arrived === null) return;
  // uPlot draws in a microtask of its own, queued by setData before this one.
  queueMicrotask(() => keep(state.scriptMs, arrived.script + performance.now() - started));
  measurePaint(arrived.at);
}

function schedule(change) {
  Object.assign(state.next, change);
  if (!state.frame) state.frame = requestAnimationFrame(draw);
}

function connect() {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener("hello", (message) => {
    const hello = JSON.parse(message.data);
    $("#lab-name").textContent = hello.lab;
    document.title = `repl-lab ${hello.lab}`;
    state.intervalMs = hello.interval_ms;
    for (const follower of lag.followers.values()) for (const column of follower.data) column.length = 0;
    loadLag(hello.lag);
    $("#events").replaceChildren();
    schedule({ status: hello.status, time: hello.time, events: hello.events, problem: hello.problem });
  });
  source.addEventListener("tick", (message) => {
    const at = performance.now();
    const tick = JSON.parse(message.data);
    recordLag(tick.time, tick.status.replication);
    schedule({ status: tick.status, time: tick.time, problem: null, arrived: { at, script: performance.now() - at } });
  });
  source.addEventListener("message", (message) => schedule({ events: [...state.next.events, JSON.parse(message.data)] }));
  source.addEventListener("problem", (message) => schedule({ problem: JSON.parse(message.data).message }));
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
  box.replaceChildren();
  for (const field of fields) {
    const label = element("label", `${field.label} `);
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
  pause: "freeze its processes (docker pause)", unpause: "let its processes run again", partition: "cut it off from every other member (packet filter; clients still reach it)", heal: "remove the cut it is part of (or put it back on the network)",
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
    article.append(element("h3", `${experiment.experiment} · ${experiment.dir}`), element("p", experiment.conclusion));
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
