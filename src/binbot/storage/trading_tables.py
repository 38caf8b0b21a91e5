"""Trading tables: bots, orders, fills, trades, positions, signals, equity, backtests.

Money columns are TEXT holding Decimal strings (exact on every backend); times are epoch
milliseconds (BIGINT). Rows are mapped to domain objects by explicit functions, never used as
domain objects. The schema is created by Alembic migrations (see ``storage/migrations``); this
module is the single description those migrations and the repositories share.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

trading_metadata = MetaData()

bots = Table(
    "bots",
    trading_metadata,
    Column("bot_id", String(32), primary_key=True),
    Column("market", String(8), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("strategy", String(200), nullable=False),
    Column("params", JSON, nullable=False),
    Column("capital", Text, nullable=False),
    Column("mode", String(8), nullable=False),
    Column("risk", JSON, nullable=False),  # the bot's RiskLimits, as given
    Column("leverage", Integer, nullable=False, server_default="1"),
    Column("auto_start", Boolean, nullable=False),
    Column("status", String(16), nullable=False),  # running, paused, stopped, halted
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# The whole restorable state of a bot (strategy phase and state dict, portfolio, open orders,
# simulated account), written after every change so a restart (even after SIGKILL) resumes it.
bot_state = Table(
    "bot_state",
    trading_metadata,
    Column("bot_id", String(32), primary_key=True),
    Column("snapshot", JSON, nullable=False),
    Column("last_event_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    trading_metadata,
    Column("client_order_id", String(36), primary_key=True),
    Column("bot_id", String(32), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("market", String(8), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(24), nullable=False),
    Column("quantity", Text, nullable=False),
    Column("price", Text),
    Column("stop_price", Text),
    Column("reduce_only", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("exchange_order_id", String(40)),
    Column("filled_qty", Text, nullable=False),
    Column("avg_price", Text),
    Column("reason", Text),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_orders_bot_time", "bot_id", "created_ms"),
)

fills = Table(
    "fills",
    trading_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trade_id", String(40), nullable=False),
    Column("client_order_id", String(36), nullable=False),
    Column("bot_id", String(32), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", Text, nullable=False),
    Column("quantity", Text, nullable=False),
    Column("fee", Text, nullable=False),
    Column("fee_asset", String(12), nullable=False),
    Column("is_maker", Boolean, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    UniqueConstraint("bot_id", "trade_id", name="uq_fills_trade"),
    Index("ix_fills_bot_time", "bot_id", "time_ms"),
)

# One row per position action (open_long, close_long, open_short, close_short), the unit traders
# and the backtest report count; a reversal is a close then an open at the same time.
trades = Table(
    "trades",
    trading_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bot_id", String(32), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("action", String(12), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("price", Text, nullable=False),
    Column("quantity", Text, nullable=False),
    Column("fee", Text, nullable=False),
    Column("pnl", Text, nullable=False),
    Column("client_order_id", String(36), nullable=False),
    UniqueConstraint("bot_id", "client_order_id", "action", name="uq_trades_order_action"),
    Index("ix_trades_bot_time", "bot_id", "time_ms"),
)

positions = Table(
    "positions",
    trading_metadata,
    Column("bot_id", String(32), primary_key=True),
    Column("symbol", String(20), primary_key=True),
    Column("quantity", Text, nullable=False),  # signed: short < 0
    Column("entry_price", Text, nullable=False),
    Column("realized_pnl", Text, nullable=False),
    Column("unrealized_pnl", Text, nullable=False),
    Column("mark_price", Text),
    Column("liquidation_price", Text),
    Column("leverage", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

signals = Table(
    "signals",
    trading_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bot_id", String(32), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("exchange", String(16), nullable=False),
    Column("market", String(8), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("price", Float, nullable=False),
    Column("last_price", Float, nullable=False),
    Column("return_since", Float, nullable=False),  # (last - price) / price, signed by direction
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_signals_bot_time", "bot_id", "time_ms"),
)

equity_snapshots = Table(
    "equity_snapshots",
    trading_metadata,
    Column("bot_id", String(32), primary_key=True),
    Column("time_ms", BigInteger, primary_key=True),  # minute-aligned
    Column("equity", Text, nullable=False),
    Column("balance", Text, nullable=False),
    Column("unrealized_pnl", Text, nullable=False),
    Column("position_qty", Text, nullable=False),
    Column("price", Float, nullable=False),
)

backtest_runs = Table(
    "backtest_runs",
    trading_metadata,
    Column("run_id", String(32), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("strategy", String(200), nullable=False),
    Column("market", String(8), nullable=False),
    Column("symbol", String(20), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("params", JSON, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("mode", String(16), nullable=False),  # intrabar | bar_close
    Column("metrics", JSON, nullable=False),
    Column("equity", JSON, nullable=False),  # [[time_ms, equity], ...] downsampled
)

backtest_trades = Table(
    "backtest_trades",
    trading_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("time_ms", BigInteger, nullable=False),
    Column("action", String(12), nullable=False),
    Column("price", Float, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("fee", Float, nullable=False),
    Column("pnl", Float, nullable=False),
)
