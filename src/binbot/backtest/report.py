"""The self-contained interactive HTML report of one backtest (opens offline).

One page: a metrics table and a plotly chart with three linked panes: the interval candles with
the strategy's indicators (Bollinger bands for strategies with ``period``/``k`` parameters, as
BOLL) and a marker per trade action; the equity curve; the drawdown. plotly.js is inlined in
the page (``include_plotlyjs=True``), never loaded from a CDN.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from binbot.backtest.export import iso_time
from binbot.backtest.result import BacktestResult, metrics_dict
from binbot.indicators.bollinger import bollinger_bands

FloatArray = npt.NDArray[np.float64]

_MARKERS: Final = {
    "open_long": ("triangle-up", "#16a34a", "open long"),
    "close_long": ("x", "#15803d", "close long"),
    "open_short": ("triangle-down", "#dc2626", "open short"),
    "close_short": ("x", "#b91c1c", "close short"),
}
_PERCENT: Final = {"total_return", "cagr", "max_drawdown_fraction", "win_rate", "exposure",
                   "buy_and_hold_return"}
_TIMES: Final = {"start_ms", "end_ms"}


def indicator_lines(params: Mapping[str, Any], closes: FloatArray) -> dict[str, FloatArray]:
    """The strategy's price-pane indicators over the closed candles."""
    period, k = params.get("period"), params.get("k")
    if isinstance(period, int) and isinstance(k, int | float) and 2 <= period <= len(closes):
        ddof = params.get("ddof", 0)
        bands = bollinger_bands(closes, period, float(k), int(ddof) if isinstance(ddof, int)
                                else 0)
        return {f"BB mid ({period})": bands.mid, f"BB up ({k:g})": bands.up,
                f"BB dn ({k:g})": bands.dn}
    return {}


def metric_label(name: str) -> str:
    """``max_drawdown_fraction`` -> ``max drawdown fraction``; ``start_ms`` -> ``start``."""
    return name.removesuffix("_ms").replace("_", " ")


def format_metric(name: str, value: Any, decimals: int = 4) -> str:
    if value is None:
        return "–"
    if name in _TIMES:
        return iso_time(int(value))[:16].replace("T", " ")
    if name in _PERCENT:
        return f"{value * 100:.{min(decimals, 2)}f} %"
    if isinstance(value, float):
        return f"{value:,.{decimals}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _figure(result: BacktestResult) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    candles = result.candles
    when = pd.to_datetime(candles.open_time, unit="ms", utc=True)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.6, 0.22, 0.18],
                        subplot_titles=("price", "equity", "drawdown"))
    fig.add_trace(go.Candlestick(x=when, open=candles.open, high=candles.high, low=candles.low,
                                 close=candles.close, name=result.config.interval,
                                 increasing_line_color="#16a34a",
                                 decreasing_line_color="#dc2626"), row=1, col=1)
    styles = ("#2563eb", "#9333ea", "#9333ea")
    for (name, values), color in zip(indicator_lines(result.params, candles.close).items(),
                                     styles, strict=False):
        fig.add_trace(go.Scatter(x=when, y=values, name=name, mode="lines",
                                 line={"width": 1, "color": color}), row=1, col=1)
    for action, (symbol, color, label) in _MARKERS.items():
        chosen = [t for t in result.trades if t.action == action]
        if not chosen:
            continue
        fig.add_trace(go.Scatter(
            x=pd.to_datetime([t.time_ms for t in chosen], unit="ms", utc=True),
            y=[t.price for t in chosen], mode="markers", name=label,
            marker={"symbol": symbol, "size": 7, "color": color,
                    "line": {"width": 0.5, "color": "#111827"}},
            customdata=[[t.qty, t.pnl, t.fee] for t in chosen],
            hovertemplate="%{x}<br>price %{y}<br>qty %{customdata[0]}<br>"
                          "pnl %{customdata[1]:.4f}<br>fee %{customdata[2]:.4f}"),
            row=1, col=1)
    eq_when = pd.to_datetime(result.equity_time, unit="ms", utc=True)
    fig.add_trace(go.Scatter(x=eq_when, y=result.equity, name="equity", mode="lines",
                             line={"width": 1.5, "color": "#0f766e"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=eq_when, y=-100 * result.drawdown(), name="drawdown %",
                             mode="lines", fill="tozeroy", line={"width": 1, "color": "#b91c1c"}),
                  row=3, col=1)
    fig.update_layout(height=900, template="plotly_white", hovermode="x unified",
                      margin={"l": 60, "r": 20, "t": 70, "b": 30},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    fig.update_xaxes(rangeslider_visible=False)
    return fig


def render_html(result: BacktestResult) -> str:
    """The whole page as text."""
    fig = _figure(result)
    chart = fig.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False,
                        config={"displaylogo": False, "scrollZoom": True})
    rows = "\n".join(
        f"<tr><th>{html.escape(metric_label(name))}</th>"
        f"<td>{html.escape(format_metric(name, value))}</td></tr>"
        for name, value in metrics_dict(result.metrics).items()
    )
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    config = result.config
    title = (f"{result.strategy} · {config.market.value} {result.symbol} {config.interval} · "
             f"{config.mode.replace('_', '-')}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>binbot backtest: {html.escape(title)}</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:16px;
color:#111827;background:#f9fafb}}
h1{{font-size:1.2rem;margin:0 0 4px}} p{{margin:0 0 12px;color:#4b5563}}
.wrap{{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}}
table{{border-collapse:collapse;background:#fff;font-size:.85rem;min-width:240px}}
th,td{{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:left}}
td{{text-align:right;font-variant-numeric:tabular-nums}}
.chart{{flex:1 1 700px;min-width:0;background:#fff}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(params)} · {len(result.trades)} trade actions · {result.bars:,} bars</p>
<div class="wrap"><table>{rows}</table><div class="chart">{chart}</div></div>
</body></html>
"""


def write_html(result: BacktestResult, path: Path) -> None:
    path.write_text(render_html(result), encoding="utf-8")
