// Markets: the stored symbols and a chart of any of them at any interval with indicators.
import {
  $, api, el, initChrome, initSession, fmtPrice, fmtPct, fmtCompact, signClass, utc,
  chartConfig, candleTraces, indicatorTraces, paneLayout, fillTable,
} from "./common.js";

const INTERVALS = ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"];
const view = { markets: [], selected: null, interval: "1h" };

function paintMarkets() {
  const filter = $("#market-filter").value.trim().toUpperCase();
  const rows = view.markets.filter((m) => m.symbol.includes(filter));
  $("#market-count").textContent = String(rows.length);
  fillTable($("#markets tbody"), rows, (m) => el("tr", {
    class: "clickable" + (view.selected === m ? " selected" : ""), "data-symbol": m.symbol,
    onclick: () => { view.selected = m; paintMarkets(); draw(); },
  },
  el("td", {}, el("strong", { text: m.symbol }), " ", el("span", { class: "muted", text: m.market })),
  el("td", { class: "num", text: fmtPrice(m.last_price) }),
  el("td", { class: "num " + signClass(m.change_24h_pct), text: fmtPct(m.change_24h_pct) }),
  el("td", { class: "num hide-sm muted", text: fmtCompact(m.quote_volume_24h) })), "No candles stored yet", 4);
}

function indicators() {
  return [...$("#m-indicators").querySelectorAll("input:checked")].map((i) => i.value).join(",");
}

async function draw() {
  const m = view.selected;
  if (!m) return;
  $("#m-title").textContent = `${m.symbol} · ${view.interval}`;
  const q = new URLSearchParams({ symbol: m.symbol, market: m.market, interval: view.interval, limit: "300" });
  const ind = indicators();
  if (ind) q.set("indicators", ind);
  const node = $("#m-chart");
  let data;
  try {
    data = await api(`/api/v1/candles?${q}`);
  } catch (err) {
    Plotly.purge(node);
    node.replaceChildren(el("div", { class: "empty", text: err.message }));
    return;
  }
  if (node.querySelector(".empty")) node.replaceChildren();
  const c = data.candles;
  view.lastCandles = c;
  const oscillators = data.indicators.filter((i) => i.pane !== "price").length;
  const layout = paneLayout(oscillators);
  layout.uirevision = `${m.symbol}:${view.interval}`;
  await Plotly.react(node, [...candleTraces(c, m.symbol), ...indicatorTraces(c, data.indicators)], layout, chartConfig);
  const n = c.close.length;
  $("#m-last").textContent = n ? `${fmtPrice(c.close[n - 1])} · ${utc(c.time_ms[n - 1])} UTC${data.source_interval !== data.interval ? ` · from ${data.source_interval}` : ""}` : "";
}

async function runBacktest() {
  const m = view.selected;
  const shown = document.getElementById("m-chart").data?.[0]?.x;
  if (!m || !view.lastCandles?.time_ms.length) return;
  const times = view.lastCandles.time_ms;
  const body = {
    strategy: $("#bt-strategy").value, market: m.market, symbol: m.symbol, interval: view.interval,
    start_ms: times[0], end_ms: times[times.length - 1] + 1,
  };
  const button = $("#bt-run");
  button.disabled = true;
  $("#bt-status").textContent = `Backtesting ${body.strategy} on ${m.symbol} ${view.interval} (${shown?.length ?? times.length} candles)…`;
  try {
    const run = await api("/api/v1/backtests", { method: "POST", body: JSON.stringify(body) });
    window.location.assign(`/backtests?run=${encodeURIComponent(run.run_id)}`);
  } catch (err) {
    $("#bt-status").textContent = `Backtest failed: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

async function main() {
  initChrome();
  await initSession();
  $("#m-interval").replaceChildren(...INTERVALS.map((i) => el("button", {
    "data-interval": i, "aria-pressed": String(i === view.interval),
    onclick: (e) => {
      view.interval = i;
      for (const b of $("#m-interval").children) b.setAttribute("aria-pressed", String(b === e.currentTarget));
      draw();
    },
  }, i)));
  $("#m-indicators").addEventListener("change", (e) => { if (e.target.type === "checkbox") draw(); });
  const strategies = await api("/api/v1/strategies");
  $("#bt-strategy").replaceChildren(...strategies.map((name) => el("option", { value: name, text: name })));
  $("#bt-run").addEventListener("click", runBacktest);
  $("#market-filter").addEventListener("input", paintMarkets);
  document.addEventListener("themechange", draw);
  view.markets = await api("/api/v1/markets");
  const wanted = new URLSearchParams(window.location.search).get("symbol");
  view.selected = view.markets.find((m) => m.symbol === wanted) || view.markets[0] || null;
  paintMarkets();
  await draw();
  setInterval(async () => { view.markets = await api("/api/v1/markets"); paintMarkets(); }, 30000);
}

main();
