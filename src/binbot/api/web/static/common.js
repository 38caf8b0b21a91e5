// Shared helpers: API calls (CSRF on POST), formatting, theme, the live stream, chart styling.

let csrfToken = "";
let readOnly = true;

export async function initSession() {
  const info = await api("/api/v1/session");
  csrfToken = info.csrf_token;
  readOnly = info.read_only;
  return info;
}

export function isReadOnly() { return readOnly; }

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (init.method && init.method !== "GET") {
    init.headers = { ...init.headers, "X-CSRF-Token": csrfToken };
    if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.assign("/");
    throw new ApiError(401, "signed out");
  }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, body?.detail || response.statusText);
  return body;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- formatting -------------------------------------------------------------------------------
const numberCache = new Map();
function nf(digits) {
  if (!numberCache.has(digits)) {
    numberCache.set(digits, new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return numberCache.get(digits);
}
export function fmtNum(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  return Number.isFinite(n) ? nf(digits).format(n) : "–";
}
export function fmtPrice(value) {
  const n = Number(value);
  if (!Number.isFinite(n) || value === null) return "–";
  const abs = Math.abs(n);
  return fmtNum(n, abs >= 1000 ? 2 : abs >= 1 ? 4 : 6);
}
export function fmtQty(value) {
  const n = Number(value);
  if (!Number.isFinite(n) || value === null) return "–";
  return String(Number(n.toPrecision(8)));
}
export function fmtSigned(value, digits = 2) {
  const n = Number(value);
  if (!Number.isFinite(n) || value === null || value === undefined) return "–";
  return (n > 0 ? "+" : "") + fmtNum(n, digits);
}
export function fmtPct(value, digits = 2) {
  const n = Number(value);
  if (!Number.isFinite(n) || value === null || value === undefined) return "–";
  return (n > 0 ? "+" : "") + n.toFixed(digits) + "%";
}
export function signClass(value) {
  const n = Number(value);
  return !Number.isFinite(n) || n === 0 ? "" : n > 0 ? "up" : "down";
}
export function fmtCompact(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "–";
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 }).format(n);
}
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
const pad = (n) => String(n).padStart(2, "0");
// Times are shown in UTC, spelled out, so nothing depends on the browser's zone.
export function utc(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
export function utcShort(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
export function ago(ms) {
  const s = (Date.now() - ms) / 1000;
  return s < 60 ? `${Math.max(0, Math.round(s))}s ago` : `${fmtDuration(s)} ago`;
}

// ---- page chrome ------------------------------------------------------------------------------
export function initChrome() {
  const toggle = $("#theme-toggle");
  const paintIcon = () => { toggle.textContent = document.documentElement.dataset.theme === "light" ? "☾" : "☀"; };
  paintIcon();
  toggle.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "light" ? "dark" : "light";
    document.documentElement.dataset.theme = next;
    try { localStorage.setItem("binbot.theme", next); } catch (e) { /* private mode */ }
    paintIcon();
    document.dispatchEvent(new CustomEvent("themechange"));
  });
  $("#logout")?.addEventListener("click", async () => {
    try { await api("/api/v1/logout", { method: "POST" }); } finally { window.location.assign("/"); }
  });
}

export function toast(message, isError = false) {
  const node = el("div", { class: "toast" + (isError ? " err" : ""), role: "status", text: message });
  document.body.append(node);
  setTimeout(() => node.remove(), 3500);
}

export function confirmDialog(title, message, actionLabel) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = message;
  $("#confirm-ok").textContent = actionLabel;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function setMode(mode, isReadOnly) {
  const badge = $("#mode-badge");
  if (!badge) return;
  const live = mode === "live";
  badge.textContent = (mode || "paper").toUpperCase();
  badge.className = "badge " + (live ? "live-mode" : mode === "paper" ? "paper" : "neutral");
  $("#ro-badge")?.classList.toggle("hidden", !isReadOnly);
}

// ---- the live stream -------------------------------------------------------------------------
// One EventSource per page; "stale" after 3 s without any event (ticks arrive every second).
export class LiveStream {
  constructor(handlers, onSnapshot) {
    this.handlers = handlers;
    this.onSnapshot = onSnapshot;
    this.lastSeq = 0;
    this.lastEventAt = 0;
    this.source = null;
    this.timer = setInterval(() => this.paintFreshness(), 1000);
    window.addEventListener("pagehide", () => this.close());
  }

  async start() {
    await this.resync();
    this.open();
  }

  async resync() {
    const state = await api("/api/v1/state");
    this.lastSeq = state.last_seq;
    this.onSnapshot(state);
  }

  open() {
    const source = new EventSource("/api/v1/stream");
    this.source = source;
    source.addEventListener("hello", () => { this.touch(); });
    for (const kind of Object.keys(this.handlers)) {
      source.addEventListener(kind, (event) => {
        const seq = Number(event.lastEventId);
        if (Number.isFinite(seq) && seq <= this.lastSeq) return;
        if (Number.isFinite(seq)) this.lastSeq = seq;
        this.touch();
        try { this.handlers[kind](JSON.parse(event.data)); } catch (err) { console.warn("event", kind, err); }
      });
    }
    source.addEventListener("error", () => {
      // The browser reconnects by itself; refetch the snapshot once it is back.
      source.addEventListener("open", () => this.resync().catch(() => {}), { once: true });
      this.paintFreshness();
    });
  }

  touch() {
    this.lastEventAt = Date.now();
    this.paintFreshness();
  }

  paintFreshness() {
    const node = $("#status");
    if (!node) return;
    const pill = node.closest(".pill");
    const age = this.lastEventAt ? (Date.now() - this.lastEventAt) / 1000 : Infinity;
    const live = age <= 3;
    node.textContent = live ? "live" : this.lastEventAt ? `stale, updated ${fmtDuration(age)} ago` : "connecting…";
    pill.classList.toggle("fresh-live", live);
    pill.classList.toggle("fresh-stale", !live);
  }

  close() {
    this.source?.close();
    clearInterval(this.timer);
  }
}

// ---- charts ------------------------------------------------------------------------------------
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function chartLayout(extra = {}) {
  const text = cssVar("--muted"), grid = cssVar("--border");
  const axis = { gridcolor: grid, linecolor: grid, zerolinecolor: grid, tickfont: { color: text, size: 11 }, automargin: true };
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, sans-serif", color: text, size: 11 },
    margin: { l: 10, r: 10, t: 10, b: 10 },
    showlegend: false,
    hovermode: "x unified",
    hoverlabel: { bgcolor: cssVar("--surface-3"), bordercolor: grid, font: { color: cssVar("--text") } },
    dragmode: "pan",
    xaxis: { ...axis, type: "date", rangeslider: { visible: false }, title: { text: "" } },
    yaxis: { ...axis, side: "right" },
    ...extra,
  };
}

export const chartConfig = { responsive: true, displaylogo: false, scrollZoom: true, modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };

export function isoUtc(ms) {
  // plotly reads "YYYY-MM-DD HH:MM:SS" as-is; sending UTC keeps the axis in UTC.
  return utc(ms).replace(" ", "T");
}

export function candleTraces(candles, name = "price") {
  const x = candles.time_ms.map(isoUtc);
  return [
    {
      type: "candlestick", name, x, open: candles.open, high: candles.high, low: candles.low, close: candles.close,
      increasing: { line: { color: cssVar("--up"), width: 1 }, fillcolor: cssVar("--up") },
      decreasing: { line: { color: cssVar("--down"), width: 1 }, fillcolor: cssVar("--down") },
      whiskerwidth: 0, hoverlabel: { namelength: 0 },
    },
    {
      type: "bar", name: "volume", x, y: candles.volume, yaxis: "y2", hoverinfo: "skip",
      marker: { color: candles.close.map((c, i) => (c >= candles.open[i] ? cssVar("--up-soft") : cssVar("--down-soft"))) },
    },
  ];
}

const LINE_COLORS = { mid: "#8b96aa", up: "#6d8dff", dn: "#6d8dff", sma: "#f2b84b", ema: "#c07dff", rsi: "#6d8dff", macd: "#6d8dff", signal: "#f2b84b", hist: "#8b96aa" };

export function indicatorTraces(candles, indicators) {
  const x = candles.time_ms.map(isoUtc);
  const traces = [];
  let pane = 3;
  for (const ind of indicators) {
    const axis = ind.pane === "price" ? "y" : `y${pane}`;
    for (const [key, values] of Object.entries(ind.lines)) {
      const label = `${ind.name.toUpperCase()}${ind.params.length ? "(" + ind.params.join(",") + ")" : ""} ${key}`;
      const base = { x, y: values, name: label, yaxis: axis, hoverinfo: "skip" };
      if (key === "hist") {
        traces.push({ ...base, type: "bar", marker: { color: values.map((v) => (v >= 0 ? cssVar("--up") : cssVar("--down"))) }, opacity: 0.5 });
      } else {
        traces.push({
          ...base, type: "scatter", mode: "lines",
          line: { color: LINE_COLORS[key] || "#8b96aa", width: key === "mid" ? 1 : 1.3, dash: key === "mid" ? "dot" : "solid" },
          ...(key === "dn" ? { fill: "tonexty", fillcolor: "rgba(109,141,255,0.06)" } : {}),
        });
      }
    }
    if (ind.pane !== "price") pane += 1;
  }
  return traces;
}

// Stacked panes: price (with volume inside its bottom fifth), then one per oscillator.
export function paneLayout(oscillators) {
  const layout = chartLayout();
  const gap = 0.03, oscH = 0.2;
  const priceBottom = oscillators ? oscillators * (oscH + gap) : 0;
  layout.yaxis = { ...layout.yaxis, domain: [priceBottom, 1] };
  layout.yaxis2 = { domain: [priceBottom, priceBottom + (1 - priceBottom) * 0.18], showgrid: false, showticklabels: false, zeroline: false, fixedrange: true };
  for (let i = 0; i < oscillators; i += 1) {
    const top = priceBottom - gap - i * (oscH + gap);
    layout[`yaxis${i + 3}`] = { ...chartLayout().yaxis, domain: [Math.max(0, top - oscH), top] };
  }
  return layout;
}

export function tradeMarkerTrace(trades) {
  const opens = (a) => a.startsWith("open");
  const upward = (a) => a === "open_long" || a === "close_short";
  return {
    type: "scatter", mode: "markers", name: "trades",
    x: trades.map((t) => isoUtc(t.time_ms)), y: trades.map((t) => Number(t.price)),
    text: trades.map((t) => `${t.action.replace("_", " ")} ${fmtQty(t.quantity)} @ ${fmtPrice(t.price)}` + (opens(t.action) ? "" : ` · PnL ${fmtSigned(t.pnl)}`)),
    hovertemplate: "%{text}<extra></extra>",
    marker: {
      symbol: trades.map((t) => (upward(t.action) ? "triangle-up" : "triangle-down")),
      size: 11, line: { width: 1, color: cssVar("--surface") },
      color: trades.map((t) => (upward(t.action) ? cssVar("--up") : cssVar("--down"))),
    },
  };
}

export function priceLine(y, label, color) {
  return {
    shape: { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: y, y1: y, line: { color, width: 1, dash: "dash" } },
    annotation: { xref: "paper", x: 0, yref: "y", y, text: label, showarrow: false, xanchor: "left", yanchor: "bottom", font: { size: 10, color } },
  };
}

export function fillTable(tbody, rows, render, emptyText, columns) {
  tbody.replaceChildren(...(rows.length ? rows.map(render) : [el("tr", {}, el("td", { class: "empty", colspan: columns, text: emptyText }))]));
}
