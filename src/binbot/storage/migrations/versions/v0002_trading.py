"""trading: bots, bot_state, orders, fills, trades, positions, signals, equity, backtests

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TABLES = (
    "backtest_runs", "backtest_trades", "bot_state", "bots", "equity_snapshots", "fills",
    "orders", "positions", "signals", "trades",
)


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("interval", sa.String(4), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("equity", sa.JSON(), nullable=False),
    )
    op.create_table(
        "backtest_trades",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("fee", sa.Float(), nullable=False),
        sa.Column("pnl", sa.Float(), nullable=False),
    )
    op.create_index("ix_backtest_trades_run_id", "backtest_trades", ["run_id"])
    op.create_table(
        "bot_state",
        sa.Column("bot_id", sa.String(32), primary_key=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("last_event_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "bots",
        sa.Column("bot_id", sa.String(32), primary_key=True),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("interval", sa.String(4), nullable=False),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("capital", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("auto_start", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "equity_snapshots",
        sa.Column("bot_id", sa.String(32), primary_key=True),
        sa.Column("time_ms", sa.BigInteger(), primary_key=True),
        sa.Column("equity", sa.Text(), nullable=False),
        sa.Column("balance", sa.Text(), nullable=False),
        sa.Column("unrealized_pnl", sa.Text(), nullable=False),
        sa.Column("position_qty", sa.Text(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("trade_id", sa.String(40), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("fee", sa.Text(), nullable=False),
        sa.Column("fee_asset", sa.String(12), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("bot_id", "trade_id", name="uq_fills_trade"),
    )
    op.create_index("ix_fills_bot_time", "fills", ["bot_id", "time_ms"])
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(36), primary_key=True),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("price", sa.Text()),
        sa.Column("stop_price", sa.Text()),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("exchange_order_id", sa.String(40)),
        sa.Column("filled_qty", sa.Text(), nullable=False),
        sa.Column("avg_price", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_orders_bot_time", "orders", ["bot_id", "created_ms"])
    op.create_table(
        "positions",
        sa.Column("bot_id", sa.String(32), primary_key=True),
        sa.Column("symbol", sa.String(20), primary_key=True),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("entry_price", sa.Text(), nullable=False),
        sa.Column("realized_pnl", sa.Text(), nullable=False),
        sa.Column("unrealized_pnl", sa.Text(), nullable=False),
        sa.Column("mark_price", sa.Text()),
        sa.Column("liquidation_price", sa.Text()),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("exchange", sa.String(16), nullable=False),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("interval", sa.String(4), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("last_price", sa.Float(), nullable=False),
        sa.Column("return_since", sa.Float(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_signals_bot_time", "signals", ["bot_id", "time_ms"])
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("fee", sa.Text(), nullable=False),
        sa.Column("pnl", sa.Text(), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.UniqueConstraint("bot_id", "client_order_id", "action", name="uq_trades_order_action"),
    )
    op.create_index("ix_trades_bot_time", "trades", ["bot_id", "time_ms"])


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
