// The dashboard: a REST snapshot, then live updates from the one SSE stream.
import {
  $, api, el, initChrome, initSession, isReadOnly, LiveStream, setMode, toast, confirmDialog,
  fmtNum, fmtPrice, fmtQty, fmtSigned, fmtPct, signClass, fmtBytes, fmtDuration, utc, utcShort, ago,
  chartLayout, chartConfig, candleTraces, indicatorTraces, paneLayout, tradeMarkerTrace, priceLine,
  isoUtc, fillTable, cssVar,
} from "./common.js";

const INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"];
const state = {
  bots: [], positions: [], openOrders: new Map(), trades: [], signals: [], status: null,
  chartBot: null, chartInterval: null, chartCandles: null, chartDrawn: false,
  logLevel: "", equityAt: 0,
};

function setText(id, text, cls) {
  const node = document.getElementById(id);
  if (!node) return;
  if (node.textContent !== text) node.textContent = text;
  if (cls !== undefined) node.className = node.className.replace(/\b(up|down)\b/g, "").trim() + (cls ? " " + cls : "");
}

// ---- summary -----------------------------------------------------------------------------------
function paintStatus(s) {
  state.status = s;
  setMode(s.mode, s.read_only);
  setText("equity", fmtNum(s.equity));
  setText("equity-sub", `capital ${fmtNum(s.capital)}`);
  setText("pnl-today", fmtSigned(s.pnl_today), signClass(s.pnl_today));
  setText("pnl-total", fmtSigned(s.pnl_total), signClass(s.pnl_total));
  const cap = Number(s.capital);
  setText("pnl-total-sub", cap ? `${fmtPct((Number(s.pnl_total) / cap) * 100)} of capital` : "–");
  setText("open-positions", String(s.open_positions));
  setText("open-orders-sub", `${s.open_orders} open order${s.open_orders === 1 ? "" : "s"}`);
  setText("bots-running", `${s.bots_running} / ${s.bots_total}`);
  setText("bots-sub", s.bots_total ? `${s.bots_total - s.bots_running} not running` : "no bots");
  setText("mode", s.mode.toUpperCase());
  setText("mode-sub", s.read_only ? "read-only view" : `venue ${s.venue || "–"}`);
  setText("h-equity", fmtNum(s.equity));
  setText("h-today", fmtSigned(s.pnl_today), "value " + signClass(s.pnl_today));
  setText("h-open", fmtSigned(s.unrealized_pnl), "value " + signClass(s.unrealized_pnl));
  const overall = botState(state.bots);
  const pill = $("#state-pill");
  pill.className = `pill status-${overall}`;
  setText("bot-state", overall);
}

function botState(bots) {
  if (!bots.length) return "idle";
  const statuses = new Set(bots.map((b) => b.status));
  for (const s of ["halted", "running", "paused"]) if (statuses.has(s)) return s;
  return "stopped";
}

// ---- bots ----------------------------------------------------------------------------------------
function paintBots() {
  const root = $("#bots");
  setText("bots-count", String(state.bots.length));
  if (!state.bots.length) { root.replaceChildren(el("div", { class: "empty", text: "No bots yet." })); return; }
  root.replaceChildren(...state.bots.map(botCard));
  const select = $("#chart-bot");
  const current = select.value;
  select.replaceChildren(...state.bots.map((b) => el("option", { value: b.bot_id, text: `${b.symbol} · ${b.bot_id}` })));
  select.value = current || state.chartBot || state.bots[0].bot_id;
}

function botCard(b) {
  const pnl = b.equity !== null ? Number(b.equity) - Number(b.capital) : null;
  const controls = isReadOnly() ? [] : [
    b.status === "running"
      ? el("button", { onclick: () => control(b, "pause"), "data-action": "pause" }, "Pause")
      : el("button", { onclick: () => control(b, "resume"), "data-action": "resume", disabled: b.status === "halted" }, "Resume"),
    el("button", { class: "danger", onclick: () => control(b, "stop"), "data-action": "stop", disabled: b.status === "stopped" }, "Stop"),
    el("button", { class: "danger", onclick: () => control(b, "close-position"), "data-action": "close-position", disabled: !Number(b.position_qty) }, "Close position"),
  ];
  return el("div", { class: "bot", "data-bot": b.bot_id },
    el("div", { class: "bot-top" },
      el("span", { class: "bot-name", text: b.bot_id }),
      el("span", { class: `pill status-${b.status}` }, el("span", { class: "dot" }), b.status),
      el("span", { class: "bot-meta", text: `${b.strategy.toUpperCase()} · ${b.symbol} · ${b.interval} · ${b.market}` })),
    el("div", { class: "bot-figs" },
      fig("Equity", fmtNum(b.equity ?? b.capital)),
      fig("PnL", fmtSigned(pnl), signClass(pnl)),
      fig("Price", fmtPrice(b.last_price)),
      fig("Position", Number(b.position_qty) ? fmtQty(b.position_qty) : "flat"),
      fig("Trades", String(b.trades)),
      fig("Win rate", b.win_rate === null ? "–" : `${(b.win_rate * 100).toFixed(0)}%`)),
    b.last_error ? el("div", { class: "down", text: b.last_error }) : null,
    controls.length ? el("div", { class: "bot-actions" }, controls) : null);
}

function fig(label, value, cls = "") {
  return el("div", {}, el("span", { class: "label", text: label }), el("span", { class: "value " + cls, text: value }));
}

const CONTROL_TEXT = {
  pause: ["Pause bot", "No new entries; the open position stays managed.", "Pause"],
  resume: ["Resume bot", "The bot starts trading again.", "Resume"],
  stop: ["Stop bot", "The bot stops trading and managing its position.", "Stop"],
  "close-position": ["Close position", "The bot's position is closed at market now.", "Close position"],
};

async function control(bot, action) {
  const [title, text, label] = CONTROL_TEXT[action];
  if (!(await confirmDialog(`${title}: ${bot.bot_id}`, text, label))) return;
  try {
    const updated = await api(`/api/v1/bots/${encodeURIComponent(bot.bot_id)}/${action}`, {
      method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    state.bots = state.bots.map((b) => (b.bot_id === updated.bot_id ? updated : b));
    paintBots();
    toast(`${bot.bot_id}: ${updated.status}`);
  } catch (err) {
    toast(err.message, true);
  }
}

// ---- tables ------------------------------------------------------------------------------------
function sideTag(side) { return el("span", { class: `side ${side.toLowerCase()}`, text: side.toUpperCase() }); }

function paintPositions() {
  setText("positions-count", String(state.positions.length));
  fillTable($("#positions tbody"), state.positions, (p) => el("tr", {},
    el("td", { text: p.bot_id }), el("td", {}, sideTag(p.side)),
    el("td", { class: "num", text: fmtQty(p.quantity) }), el("td", { class: "num", text: fmtPrice(p.entry_price) }),
    el("td", { class: "num", text: fmtPrice(p.mark_price) }),
    el("td", { class: "num " + signClass(p.unrealized_pnl), text: `${fmtSigned(p.unrealized_pnl)} (${fmtPct(p.unrealized_pct)})` }),
    el("td", {}, isReadOnly() ? null : el("button", { class: "danger", onclick: () => control({ bot_id: p.bot_id }, "close-position") }, "Close"))),
  "No open positions", 7);
}

function orderRow(o, priceField) {
  return el("tr", {}, el("td", { text: utcShort(o.created_ms) }), el("td", { text: o.symbol }), el("td", {}, sideTag(o.side)),
    el("td", { text: o.type.replaceAll("_", " ").toLowerCase() }), el("td", { class: "num", text: fmtQty(o.quantity) }),
    el("td", { class: "num", text: fmtPrice(o[priceField] ?? o.price ?? o.stop_price) }), el("td", { class: "muted", text: o.status.toLowerCase() }));
}

function paintOrders() {
  const open = [...state.openOrders.values()].sort((a, b) => b.created_ms - a.created_ms);
  setText("orders-count", String(open.length));
  fillTable($("#orders tbody"), open, (o) => orderRow(o, "price"), "No open orders", 7);
}

function paintTrades(totals) {
  setText("trades-count", String(totals?.count ?? state.trades.length));
  fillTable($("#trades tbody"), state.trades.slice(0, 100), (t) => el("tr", {},
    el("td", { text: utcShort(t.time_ms) }), el("td", { text: t.bot_id }),
    el("td", {}, el("span", { class: `side ${t.action.endsWith("long") === t.action.startsWith("open") ? "buy" : "sell"}`, text: t.action.replace("_", " ") })),
    el("td", { class: "num", text: fmtQty(t.quantity) }), el("td", { class: "num", text: fmtPrice(t.price) }),
    el("td", { class: "num " + (t.action.startsWith("close") ? signClass(t.pnl) : "muted"), text: t.action.startsWith("close") ? fmtSigned(t.pnl) : "–" })),
  "No trades yet", 6);
  if (totals) {
    setText("trades-total-count", String(totals.count));
    setText("trades-fees", fmtNum(totals.total_fees));
    setText("trades-total", fmtSigned(totals.total_pnl), "num " + signClass(totals.total_pnl));
  }
}

function paintSignals() {
  setText("signals-count", String(state.signals.length));
  fillTable($("#signals tbody"), state.signals.slice(0, 100), (s) => el("tr", {},
    el("td", { text: utcShort(s.time_ms) }), el("td", { text: s.bot_id }), el("td", { text: s.kind.replaceAll("_", " ") }),
    el("td", { class: "num", text: fmtPrice(s.price) }), el("td", { class: "num " + signClass(s.return_since), text: fmtPct(s.return_since * 100) })),
  "No signals yet", 5);
}

async function refreshPaperOrders() {
  const rows = await api("/api/v1/paper/orders?limit=100");
  setText("paper-count", String(rows.length));
  fillTable($("#paper-orders tbody"), rows, (o) => orderRow(o, "avg_price"), "No paper orders", 7);
}

async function refreshTradeTotals() {
  const page = await api("/api/v1/trades?limit=100");
  state.trades = page.items;
  paintTrades(page);
}

// ---- charts ------------------------------------------------------------------------------------
function chartBot() { return state.bots.find((b) => b.bot_id === $("#chart-bot").value) || state.bots[0]; }

function bollSpec(bot) {
  const p = bot.params || {};
  const period = p.period ?? p.length ?? p.window;
  const k = p.k ?? p.std ?? p.mult ?? p.width ?? p.dev;
  if (Number.isInteger(period) && Number.isFinite(Number(k))) return `bb:${period}:${k}`;
  return "bb";
}

function indicatorsFor(bot) {
  return bot.strategy.toLowerCase().startsWith("boll") ? bollSpec(bot) : "bb";
}

async function refreshChart() {
  const bot = chartBot();
  if (!bot) { Plotly.purge($("#chart")); return; }
  const interval = state.chartInterval || bot.interval;
  const q = new URLSearchParams({ symbol: bot.symbol, market: bot.market, interval, limit: "240", indicators: indicatorsFor(bot) });
  let data;
  try {
    data = await api(`/api/v1/candles?${q}`);
  } catch (err) {
    $("#chart").replaceChildren(el("div", { class: "empty", text: `No candles for ${bot.symbol} yet.` }));
    state.chartDrawn = false;
    return;
  }
  state.chartCandles = data.candles;
  const c = data.candles;
  const from = c.time_ms[0] ?? 0;
  const trades = state.trades.filter((t) => t.bot_id === bot.bot_id && t.time_ms >= from);
  const traces = [...candleTraces(c, bot.symbol), ...indicatorTraces(c, data.indicators), tradeMarkerTrace(trades)];
  const layout = paneLayout(0);
  layout.uirevision = `${bot.bot_id}:${interval}`;
  const lines = [];
  const pos = state.positions.find((p) => p.bot_id === bot.bot_id);
  if (pos) lines.push(priceLine(Number(pos.entry_price), `entry ${fmtPrice(pos.entry_price)}`, cssVar("--accent")));
  for (const o of state.openOrders.values()) {
    if (o.bot_id === bot.bot_id && (o.price || o.stop_price)) lines.push(priceLine(Number(o.price || o.stop_price), `${o.side.toLowerCase()} ${o.type.toLowerCase()}`, cssVar("--warn")));
  }
  layout.shapes = lines.map((l) => l.shape);
  layout.annotations = lines.map((l) => l.annotation);
  setText("chart-title", `${bot.symbol} · ${interval}`);
  const last = c.close[c.close.length - 1];
  setText("chart-last", last === undefined ? "–" : `${fmtPrice(last)}  ·  ${utc(c.time_ms[c.time_ms.length - 1])} UTC`);
  if (!state.chartDrawn) $("#chart").replaceChildren();
  await Plotly.react($("#chart"), traces, layout, chartConfig);
  state.chartDrawn = true;
}

// A price tick moves the forming candle without refetching.
function tickChart(bots) {
  const bot = chartBot();
  const c = state.chartCandles;
  if (!bot || !c || !state.chartDrawn || !c.close.length) return;
  const live = bots.find((b) => b.bot_id === bot.bot_id);
  const price = live?.last_price;
  if (!Number.isFinite(price)) return;
  const i = c.close.length - 1;
  if (c.close[i] === price) return;
  c.close[i] = price;
  c.high[i] = Math.max(c.high[i], price);
  c.low[i] = Math.min(c.low[i], price);
  Plotly.restyle($("#chart"), { close: [c.close], high: [c.high], low: [c.low] }, [0]);
  setText("chart-last", `${fmtPrice(price)}  ·  ${utc(Date.now())} UTC`);
}

async function refreshEquity() {
  const series = await api("/api/v1/equity?max_points=1500");
  const pts = series.points;
  const node = $("#equity-chart");
  if (!pts.length) { node.replaceChildren(el("div", { class: "empty", text: "No equity history yet." })); return; }
  const x = pts.map((p) => isoUtc(p.time_ms));
  const y = pts.map((p) => Number(p.equity));
  let peak = -Infinity;
  const dd = y.map((v) => { peak = Math.max(peak, v); return peak ? ((v - peak) / peak) * 100 : 0; });
  const layout = chartLayout({ uirevision: "equity" });
  layout.xaxis = { ...layout.xaxis, anchor: "y2" };
  layout.yaxis = { ...layout.yaxis, domain: [0.3, 1] };
  layout.yaxis2 = { ...chartLayout().yaxis, domain: [0, 0.24], ticksuffix: "%" };
  const accent = cssVar("--accent");
  const traces = [
    { type: "scatter", mode: "lines", x, y, name: "equity", line: { color: accent, width: 2 }, fill: "tozeroy", fillcolor: cssVar("--accent-soft"), hovertemplate: "%{y:,.2f}<extra>equity</extra>" },
    { type: "scatter", mode: "lines", x, y: dd, yaxis: "y2", name: "drawdown", line: { color: cssVar("--down"), width: 1 }, fill: "tozeroy", fillcolor: cssVar("--down-soft"), hovertemplate: "%{y:.2f}%<extra>drawdown</extra>" },
  ];
  const lo = Math.min(...y), hi = Math.max(...y), pad = (hi - lo) * 0.1 || hi * 0.01 || 1;
  layout.yaxis.range = [lo - pad, hi + pad];
  if (node.querySelector(".empty")) node.replaceChildren();
  await Plotly.react(node, traces, layout, chartConfig);
  setText("equity-range", `${utcShort(pts[0].time_ms)} → ${utcShort(pts[pts.length - 1].time_ms)} UTC`);
  state.equityAt = Date.now();
}

// ---- health, logs, config ----------------------------------------------------------------------
async function refreshHealth() {
  const s = await api("/api/v1/system");
  const meter = (pct) => el("div", { class: "meter" + (pct > 85 ? " hot" : "") }, el("span", { style: `width:${Math.min(100, pct)}%` }));
  const kv = (label, value, pct) => el("div", {}, el("span", { class: "label", text: label }), el("span", { class: "value", text: value }), pct === undefined ? null : meter(pct));
  const st = state.status;
  const streams = st?.streams?.length ? st.streams.map((x) => `${x.stream}${x.stale ? " (stale)" : ""}`).join(", ") : (st?.read_only ? "n/a (read-only)" : "–");
  $("#health").replaceChildren(
    kv("CPU", `${s.cpu_percent.toFixed(0)}% of ${s.cpu_count}`, s.cpu_percent),
    kv("Memory", `${fmtBytes(s.memory_used)} / ${fmtBytes(s.memory_total)}`, s.memory_percent),
    kv("Disk", `${fmtBytes(s.disk_used)} / ${fmtBytes(s.disk_total)}`, s.disk_percent),
    kv("Load", s.load_avg.map((v) => v.toFixed(2)).join("  ")),
    kv("binbot memory", fmtBytes(s.process_rss)),
    kv("binbot uptime", fmtDuration(s.process_uptime_s)),
    kv("Server uptime", fmtDuration(s.system_uptime_s)),
    kv("Database", s.db_size_bytes === null ? "–" : fmtBytes(s.db_size_bytes)),
    kv("Last data", st?.last_data_ms ? ago(st.last_data_ms) : "–"),
    kv("Streams", streams),
  );
  setText("health-sub", `v${st?.version ?? ""} · Python ${s.python}`);
}

async function refreshLogs() {
  const q = new URLSearchParams({ lines: "200" });
  if (state.logLevel) q.set("level", state.logLevel);
  const data = await api(`/api/v1/logs?${q}`);
  const root = $("#logs");
  const errors = data.lines.filter((l) => l.level === "ERROR" || l.level === "CRITICAL").length;
  setText("log-errors", `${errors} error${errors === 1 ? "" : "s"}`);
  $("#log-errors").classList.toggle("down", errors > 0);
  const stick = root.scrollTop + root.clientHeight >= root.scrollHeight - 8;
  if (!data.lines.length) root.replaceChildren(el("div", { class: "empty", text: data.file ? "No log lines." : "No log file." }));
  else root.replaceChildren(...data.lines.map((l) => el("div", { class: `l-${l.level || "none"}`, text: l.line })));
  if (stick) root.scrollTop = root.scrollHeight;
}

function appendLog(payload) {
  const line = payload.line ?? payload.message;
  if (!line) return;
  const level = payload.level ?? null;
  const order = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
  if (state.logLevel && order.indexOf(level) < order.indexOf(state.logLevel)) return;
  const root = $("#logs");
  root.querySelector(".empty")?.remove();
  root.append(el("div", { class: `l-${level || "none"}`, text: line }));
  while (root.childElementCount > 300) root.firstElementChild.remove();
  root.scrollTop = root.scrollHeight;
}

async function loadConfig() {
  const data = await api("/api/v1/config");
  $("#config").textContent = JSON.stringify(data.config, null, 2);
}

// ---- wiring ------------------------------------------------------------------------------------
function applySnapshot(s) {
  state.bots = s.bots;
  state.positions = s.positions;
  state.openOrders = new Map(s.open_orders.map((o) => [o.client_order_id, o]));
  state.trades = s.trades;
  state.signals = s.signals;
  paintBots();
  paintStatus(s.status);
  paintPositions();
  paintOrders();
  paintTrades(null);
  paintSignals();
}

const OPEN = new Set(["INTENT", "SUBMITTED", "NEW", "PARTIALLY_FILLED", "UNKNOWN", "PENDING_CANCEL"]);
let chartRefreshPending = null;
function chartSoon() {
  clearTimeout(chartRefreshPending);
  chartRefreshPending = setTimeout(() => refreshChart().catch(() => {}), 400);
}

const handlers = {
  tick(p) {
    paintStatus(p.status);
    let changed = false;
    for (const live of p.bots) {
      const bot = state.bots.find((b) => b.bot_id === live.bot_id);
      if (bot && (bot.status !== live.status || bot.equity !== live.equity || bot.last_price !== live.last_price)) {
        Object.assign(bot, live);
        changed = true;
      }
    }
    if (changed) { paintBots(); paintStatus(p.status); }
    tickChart(p.bots);
  },
  bot(p) {
    const i = state.bots.findIndex((b) => b.bot_id === p.bot_id);
    if (i >= 0) state.bots[i] = { ...state.bots[i], ...p }; else state.bots.push(p);
    paintBots();
  },
  order(o) {
    if (OPEN.has(o.status)) state.openOrders.set(o.client_order_id, o); else state.openOrders.delete(o.client_order_id);
    paintOrders();
    if (o.mode === "paper") refreshPaperOrders().catch(() => {});
  },
  trade(t) {
    if (!state.trades.some((x) => x.id === t.id)) state.trades.unshift(t);
    refreshTradeTotals().catch(() => paintTrades(null));
    chartSoon();
    const row = $("#trades tbody tr");
    row?.classList.add("flash");
  },
  position(p) {
    if (Array.isArray(p.positions)) state.positions = p.positions;
    paintPositions();
  },
  signal(s) {
    if (!state.signals.some((x) => x.id === s.id)) state.signals.unshift(s);
    paintSignals();
  },
  equity() {
    if (Date.now() - state.equityAt > 5000) refreshEquity().catch(() => {});
  },
  candle() { chartSoon(); },
  log(p) { appendLog(p); },
  health() {},
  fill() {},
  price() {},
  risk() {},
};

function buildIntervalButtons() {
  const seg = $("#chart-interval");
  seg.replaceChildren(...INTERVALS.map((i) => el("button", { "data-interval": i, "aria-pressed": "false", onclick: () => { state.chartInterval = i; paintIntervals(); refreshChart(); } }, i)));
}
function paintIntervals() {
  const bot = chartBot();
  const active = state.chartInterval || bot?.interval;
  for (const b of $("#chart-interval").children) b.setAttribute("aria-pressed", String(b.dataset.interval === active));
}

async function main() {
  initChrome();
  await initSession();
  buildIntervalButtons();
  $("#chart-bot").addEventListener("change", () => { state.chartInterval = null; state.chartDrawn = false; paintIntervals(); refreshChart(); });
  $("#log-level").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    state.logLevel = b.dataset.level;
    for (const x of $("#log-level").children) x.setAttribute("aria-pressed", String(x === b));
    refreshLogs();
  });
  $("#config-toggle").addEventListener("click", async () => {
    const pre = $("#config");
    if (pre.classList.toggle("hidden")) { $("#config-toggle").textContent = "Show"; return; }
    $("#config-toggle").textContent = "Hide";
    await loadConfig();
  });
  document.addEventListener("themechange", () => { refreshChart(); refreshEquity(); });
  const stream = new LiveStream(handlers, applySnapshot);
  await stream.start();
  paintIntervals();
  await Promise.allSettled([refreshChart(), refreshEquity(), refreshPaperOrders(), refreshTradeTotals(), refreshHealth(), refreshLogs()]);
  setInterval(() => refreshHealth().catch(() => {}), 5000);
  setInterval(() => refreshLogs().catch(() => {}), 10000);
  setInterval(() => refreshChart().catch(() => {}), 30000);
  setInterval(() => refreshEquity().catch(() => {}), 60000);
}

main().catch((err) => { if (err?.status !== 401) toast(err.message || String(err), true); });
