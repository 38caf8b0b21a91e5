// Backtests: each stored run's metrics, equity, trades and the price chart with its trades.
import {
  $, api, el, initChrome, initSession, fmtNum, fmtPrice, fmtQty, fmtSigned, fmtPct, signClass, utc, utcShort,
  chartLayout, chartConfig, candleTraces, indicatorTraces, paneLayout, tradeMarkerTrace, isoUtc, fillTable, cssVar,
} from "./common.js";

const view = { runs: [], selected: null };
const pct = (v) => (v === null || v === undefined ? "–" : fmtPct(v * 100));

function paintRuns() {
  $("#runs-count").textContent = String(view.runs.length);
  fillTable($("#runs tbody"), view.runs, (r) => {
    const m = r.metrics || {};
    return el("tr", { class: "clickable" + (view.selected?.run_id === r.run_id ? " selected" : ""), "data-run": r.run_id, onclick: () => select(r.run_id) },
      el("td", { text: utcShort(r.created_ms) }), el("td", { text: r.strategy }), el("td", { text: `${r.symbol} ${r.interval}` }),
      el("td", { class: "hide-sm muted", text: `${utc(r.start_ms).slice(0, 10)} → ${utc(r.end_ms).slice(0, 10)}` }),
      el("td", { class: "num " + signClass(m.total_return), text: pct(m.total_return) }),
      el("td", { class: "num", text: String(m.trades ?? "–") }),
      el("td", { class: "num hide-sm", text: m.win_rate === null || m.win_rate === undefined ? "–" : `${(m.win_rate * 100).toFixed(0)}%` }),
      el("td", { class: "num hide-sm down", text: pct(m.max_drawdown_fraction === undefined ? null : -m.max_drawdown_fraction) }),
      el("td", { class: "num hide-sm", text: m.profit_factor === null || m.profit_factor === undefined ? "–" : fmtNum(m.profit_factor) }));
  }, "No backtest runs stored yet. Run `binbot backtest` to add one.", 9);
}

function card(label, value, sub = "", cls = "") {
  return el("div", { class: "card stat" }, el("div", { class: "label", text: label }), el("div", { class: "value " + cls, text: value }), el("div", { class: "sub", text: sub }));
}

function paintMetrics(run) {
  const m = run.metrics || {};
  $("#bt-metrics").replaceChildren(
    card("Net profit", fmtSigned(m.net_profit), `${fmtNum(m.initial_equity)} → ${fmtNum(m.final_equity)}`, signClass(m.net_profit)),
    card("Return", pct(m.total_return), `buy & hold ${pct(m.buy_and_hold_return)}`, signClass(m.total_return)),
    card("Max drawdown", pct(m.max_drawdown_fraction === undefined ? null : -m.max_drawdown_fraction), fmtNum(m.max_drawdown), "down"),
    card("Trades", String(m.trades ?? "–"), m.win_rate === null || m.win_rate === undefined ? "" : `${(m.win_rate * 100).toFixed(0)}% won`),
    card("Profit factor", m.profit_factor === null || m.profit_factor === undefined ? "–" : fmtNum(m.profit_factor), `avg trade ${fmtSigned(m.average_trade)}`),
    card("Sharpe", m.sharpe === null || m.sharpe === undefined ? "–" : fmtNum(m.sharpe), `fees ${fmtNum(m.fees_paid)}`),
  );
}

async function select(runId) {
  const run = await api(`/api/v1/backtests/${encodeURIComponent(runId)}`);
  view.selected = run;
  paintRuns();
  paintMetrics(run);
  $("#bt-title").textContent = `${run.strategy} · ${run.symbol} · ${run.interval}`;
  $("#bt-sub").textContent = `${utc(run.start_ms)} → ${utc(run.end_ms)} UTC · ${run.mode}`;
  const trades = await api(`/api/v1/backtests/${encodeURIComponent(runId)}/trades?limit=5000`);
  $("#bt-trades-count").textContent = String(trades.length);
  fillTable($("#bt-trades tbody"), trades.slice().reverse().slice(0, 500), (t) => el("tr", {},
    el("td", { text: utcShort(t.time_ms) }), el("td", { text: t.action.replace("_", " ") }),
    el("td", { class: "num", text: fmtQty(t.quantity) }), el("td", { class: "num", text: fmtPrice(t.price) }),
    el("td", { class: "num muted", text: fmtNum(t.fee, 4) }),
    el("td", { class: "num " + (t.action.startsWith("close") ? signClass(t.pnl) : "muted"), text: t.action.startsWith("close") ? fmtSigned(t.pnl) : "–" })),
  "No trades in this run", 6);
  drawEquity(run);
  drawPrice(run, trades);
}

function drawEquity(run) {
  const node = $("#bt-equity");
  if (!run.equity.length) { node.replaceChildren(el("div", { class: "empty", text: "No equity curve stored." })); return; }
  if (node.querySelector(".empty")) node.replaceChildren();
  const x = run.equity.map((p) => isoUtc(p[0])), y = run.equity.map((p) => p[1]);
  Plotly.react(node, [{ type: "scatter", mode: "lines", x, y, line: { color: cssVar("--accent"), width: 2 }, fill: "tozeroy", fillcolor: cssVar("--accent-soft"), hovertemplate: "%{y:,.2f}<extra></extra>" }],
    { ...chartLayout(), yaxis: { ...chartLayout().yaxis, range: [Math.min(...y) * 0.995, Math.max(...y) * 1.005] } }, chartConfig);
}

async function drawPrice(run, trades) {
  const node = $("#bt-price");
  const intervalMs = { "1m": 6e4, "3m": 18e4, "5m": 3e5, "15m": 9e5, "30m": 18e5, "1h": 36e5, "2h": 72e5, "4h": 144e5, "1d": 864e5 }[run.interval] || 36e5;
  const bars = Math.ceil((run.end_ms - run.start_ms) / intervalMs);
  // Long runs are drawn at a coarser interval so the chart stays readable on a phone.
  const interval = bars > 3000 ? (bars > 3000 * 24 ? "1d" : "1h") : run.interval;
  const q = new URLSearchParams({ symbol: run.symbol, market: run.market, interval, from_ms: String(run.start_ms), to_ms: String(run.end_ms), limit: "5000", indicators: run.strategy.toLowerCase().startsWith("boll") ? "bb" : "" });
  if (!q.get("indicators")) q.delete("indicators");
  try {
    const data = await api(`/api/v1/candles?${q}`);
    if (node.querySelector(".empty")) node.replaceChildren();
    const layout = paneLayout(0);
    layout.uirevision = run.run_id;
    await Plotly.react(node, [...candleTraces(data.candles, run.symbol), ...indicatorTraces(data.candles, data.indicators), tradeMarkerTrace(trades.map((t) => ({ ...t, quantity: String(t.quantity), price: String(t.price), pnl: String(t.pnl) })))], layout, chartConfig);
  } catch (err) {
    Plotly.purge(node);
    node.replaceChildren(el("div", { class: "empty", text: `No stored candles for this run's range (${err.message}).` }));
  }
}

async function main() {
  initChrome();
  await initSession();
  view.runs = await api("/api/v1/backtests");
  paintRuns();
  const wanted = new URLSearchParams(window.location.search).get("run");
  const first = view.runs.find((r) => r.run_id === wanted) || view.runs[0];
  if (first) await select(first.run_id);
  document.addEventListener("themechange", () => view.selected && select(view.selected.run_id));
}

main();
