// Bots: create a bot, start / stop / remove bots (with confirmation), per-bot cards and totals.
import {
  $, api, el, initChrome, initSession, isReadOnly, fmtNum, fmtSigned, fmtPrice, fmtQty, fmtPct,
  signClass, toast, confirmDialog, ApiError,
} from "./common.js";

const BOTS = "/api/v1/bots";
const INTERVALS = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"];
const ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const view = { bots: [], stats: {}, open: new Set() };

const setText = (id, text) => { const node = document.getElementById(id); if (node) node.textContent = text; };

// ---- portfolio -------------------------------------------------------------------------------
async function refreshSummary() {
  const s = await api(`${BOTS}/portfolio/summary`);
  setText("p-capital", fmtNum(s.total_capital));
  setText("p-bots", `${s.bots_total} bots`);
  setText("p-equity", fmtNum(s.total_equity));
  setText("p-running", `${s.bots_running} running`);
  const pnl = $("#p-pnl");
  pnl.textContent = fmtSigned(s.combined_pnl);
  pnl.className = "value " + signClass(s.combined_pnl);
  setText("p-unrealized", `open ${fmtSigned(s.unrealized_pnl)}`);
  setText("p-trades", String(s.total_trades));
  setText("p-winrate", s.win_rate === null ? "win rate –" : `win rate ${(s.win_rate * 100).toFixed(1)}%`);
}

// ---- bot cards -------------------------------------------------------------------------------
function fig(label, value, cls = "") {
  return el("div", {}, el("span", { class: "label", text: label }), el("span", { class: "value " + cls, text: value }));
}

function details(b) {
  const s = view.stats[b.bot_id];
  if (!view.open.has(b.bot_id) || !s) return null;
  const risk = s.risk_events.slice(-3).map((e) => el("div", { class: "risk", text: `${e.rule}: ${e.reason}` }));
  return el("div", { class: "bot-extra", "data-role": "stats" },
    fig("Today", fmtPct(s.daily_return === null ? null : s.daily_return * 100), signClass(s.daily_return)),
    fig("This month", fmtPct(s.monthly_return === null ? null : s.monthly_return * 100), signClass(s.monthly_return)),
    fig("Realised", fmtSigned(s.realized_pnl), signClass(s.realized_pnl)),
    fig("Unrealised", fmtSigned(s.unrealized_pnl), signClass(s.unrealized_pnl)),
    ...risk);
}

function botCard(b) {
  const pnl = b.equity !== null ? Number(b.equity) - Number(b.capital) : null;
  const running = b.status === "running";
  const qty = Number(b.position_qty);
  const controls = isReadOnly() ? [] : [
    el("button", { "data-action": "start", disabled: running || b.status === "halted", onclick: () => control(b, "start") }, "Start"),
    el("button", { class: "danger", "data-action": "stop", disabled: b.status === "stopped", onclick: () => control(b, "stop") }, "Stop"),
    el("button", { class: "danger", "data-action": "remove", onclick: () => remove(b) }, "Remove"),
  ];
  const toggle = el("button", { "data-action": "details", "aria-expanded": String(view.open.has(b.bot_id)), onclick: () => toggleDetails(b) }, "Details");
  return el("div", { class: "bot", "data-bot": b.bot_id },
    el("div", { class: "bot-top" },
      el("span", { class: "bot-name", text: b.bot_id }),
      el("span", { class: `pill status-${b.status}` }, el("span", { class: "dot" }), b.status),
      el("span", { class: "bot-meta", text: `${b.strategy} · ${b.symbol} · ${b.interval} · ${b.market} · ${b.mode}` })),
    el("div", { class: "bot-figs" },
      fig("Capital", fmtNum(b.capital)),
      fig("PnL", fmtSigned(pnl), signClass(pnl)),
      fig("Price", fmtPrice(b.last_price)),
      fig("Position", qty ? `${qty > 0 ? "long" : "short"} ${fmtQty(Math.abs(qty))}` : "flat"),
      fig("Trades", String(b.trades)),
      fig("Win rate", b.win_rate === null ? "–" : `${(b.win_rate * 100).toFixed(0)}%`)),
    details(b),
    b.last_error ? el("div", { class: "down", text: b.last_error }) : null,
    el("div", { class: "bot-actions" }, ...controls, toggle));
}

function paintBots() {
  setText("bots-count", String(view.bots.length));
  const root = $("#bots");
  if (!view.bots.length) {
    root.replaceChildren(el("div", { class: "empty", text: "No bots yet. Create one below." }));
    return;
  }
  root.replaceChildren(...view.bots.map(botCard));
}

async function refreshStats(botId) {
  view.stats[botId] = await api(`${BOTS}/${encodeURIComponent(botId)}/stats`);
}

async function refresh() {
  view.bots = await api(`${BOTS}/`);
  const known = new Set(view.bots.map((b) => b.bot_id));
  for (const id of [...view.open]) if (!known.has(id)) view.open.delete(id);
  await Promise.allSettled([...view.open].map(refreshStats));
  paintBots();
  await refreshSummary();
}

async function toggleDetails(b) {
  if (view.open.has(b.bot_id)) view.open.delete(b.bot_id);
  else {
    view.open.add(b.bot_id);
    try { await refreshStats(b.bot_id); } catch (err) { toast(err.message, true); }
  }
  paintBots();
}

// ---- controls --------------------------------------------------------------------------------
const CONFIRM = {
  start: ["Start bot", "The bot subscribes to its market and trades from now on.", "Start"],
  stop: ["Stop bot", "The bot stops trading and stops following its market; an open position stays open.", "Stop"],
};

async function mutate(path, method, what) {
  try {
    await api(path, { method, headers: { "Idempotency-Key": crypto.randomUUID() } });
    toast(what);
  } catch (err) {
    toast(err.message, true);
  }
  await refresh().catch(() => {});
}

async function control(b, action) {
  const [title, text, label] = CONFIRM[action];
  if (!(await confirmDialog(`${title}: ${b.bot_id}`, text, label))) return;
  await mutate(`${BOTS}/${encodeURIComponent(b.bot_id)}/${action}`, "POST", `${b.bot_id}: ${action === "start" ? "started" : "stopped"}`);
}

async function remove(b) {
  const position = Number(b.position_qty) ? ` It holds a position of ${fmtQty(b.position_qty)} ${b.symbol}, which stays open on the account.` : "";
  if (!(await confirmDialog(`Remove bot: ${b.bot_id}`, `The bot is stopped and deleted with its orders, trades and history.${position}`, "Remove"))) return;
  const force = Number(b.position_qty) ? "?force=true" : "";
  await mutate(`${BOTS}/${encodeURIComponent(b.bot_id)}${force}`, "DELETE", `${b.bot_id}: removed`);
}

async function everyBot(action) {
  const text = action === "start-all" ? ["Start all bots", "Every stopped bot starts trading (halted bots stay halted).", "Start all"]
    : ["Stop all bots", "Every bot stops trading; open positions stay open.", "Stop all"];
  if (!(await confirmDialog(...text))) return;
  await mutate(`${BOTS}/${action}`, "POST", action === "start-all" ? "all bots started" : "all bots stopped");
}

// ---- the create form -------------------------------------------------------------------------
function parseJson(field, label) {
  const raw = field.value.trim();
  if (!raw) return {};
  try {
    const value = JSON.parse(raw);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch (err) { /* reported below */ }
  field.setAttribute("aria-invalid", "true");
  throw new Error(`${label} must be a JSON object, e.g. {"period": 14}`);
}

function formBody() {
  const form = $("#create-form");
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const id = $("#f-bot-id"), symbol = $("#f-symbol"), capital = $("#f-capital");
  const problems = [];
  if (!ID_PATTERN.test(id.value.trim())) { id.setAttribute("aria-invalid", "true"); problems.push("Bot id: 1-32 letters, digits, _ or -"); }
  if (!/^[A-Za-z0-9]{2,20}$/.test(symbol.value.trim())) { symbol.setAttribute("aria-invalid", "true"); problems.push("Symbol: e.g. BTCUSDT"); }
  if (!(Number(capital.value) > 0)) { capital.setAttribute("aria-invalid", "true"); problems.push("Capital: a positive amount"); }
  let params = {}, risk = {};
  try { params = parseJson($("#f-params"), "Strategy parameters"); } catch (err) { problems.push(err.message); }
  try { risk = parseJson($("#f-risk"), "Risk limits"); } catch (err) { problems.push(err.message); }
  if (problems.length) throw new Error(problems.join("\n"));
  const body = {
    bot_id: id.value.trim(), symbol: symbol.value.trim().toUpperCase(), market: $("#f-market").value,
    interval: $("#f-interval").value, strategy_name: $("#f-strategy").value, strategy_params: params,
    capital: capital.value.trim(), leverage: Number($("#f-leverage").value || 1), mode: $("#f-mode").value,
    risk, auto_start: $("#f-auto").checked,
  };
  const rpt = $("#f-rpt").value.trim();
  if (rpt) body.risk_per_trade = Number(rpt);
  return body;
}

async function submit(event) {
  event.preventDefault();
  const error = $("#create-error");
  error.textContent = "";
  let body;
  try { body = formBody(); } catch (err) { error.textContent = err.message; return; }
  const button = $("#create-submit");
  button.disabled = true;
  try {
    const made = await api(`${BOTS}/create`, {
      method: "POST", body: JSON.stringify(body), headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    toast(`${made.bot_id}: created (${made.status})`);
    $("#create-form").reset();
    await refresh();
  } catch (err) {
    error.textContent = err instanceof ApiError ? `Not created: ${err.message}` : String(err.message || err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  initChrome();
  await initSession();
  const readOnly = isReadOnly();
  $("#ro-badge").classList.toggle("hidden", !readOnly);
  $("#create-card").classList.toggle("hidden", readOnly);
  $("#start-all").classList.toggle("hidden", readOnly);
  $("#stop-all").classList.toggle("hidden", readOnly);
  $("#f-interval").replaceChildren(...INTERVALS.map((i) => el("option", { value: i, text: i, selected: i === "15m" })));
  $("#create-form").addEventListener("submit", submit);
  $("#start-all").addEventListener("click", () => everyBot("start-all"));
  $("#stop-all").addEventListener("click", () => everyBot("stop-all"));
  await refresh();
  setInterval(() => refresh().catch(() => {}), 3000);
}

main().catch((err) => { if (err?.status !== 401) toast(err.message || String(err), true); });
