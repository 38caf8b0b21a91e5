"""Bot definitions: what makes a new bot acceptable, and the ``bots`` table as their store.

A bot's definition is a ``BotSettings`` (the same type the config file uses); the ``bots`` row
holds it column for column (``risk`` is the bot's RiskLimits as given; migration 0003 moved
leverage out of it into its own column).

Bots from the config file are upserted at every start (the file wins over the stored
definition, the stored status is kept); bots created over the API exist only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, delete, select

from binbot.config.settings import BotSettings, ExchangeSettings
from binbot.services.runtime import BotDefinitionError, DuplicateBot
from binbot.storage import trading_tables as t
from binbot.storage.writer import upsert_rows
from binbot.strategy.builtin import BUILTIN

# Every table holding rows of one bot, removed with it.
_BOT_TABLES = (t.bots, t.bot_state, t.positions, t.orders, t.fills, t.trades, t.signals,
               t.equity_snapshots)
def check_definition(bot: BotSettings, *, builtin_only: bool) -> None:
    """Refuse a definition the service could not run: unknown strategy or bad parameters.
    ``builtin_only``: only built-in strategy names (the API must not import arbitrary modules
    by name; the config file may)."""
    from binbot.strategy import load_strategy
    from binbot.strategy.loader import StrategyLoadError
    from binbot.strategy.params import StrategyParamsError

    if builtin_only and bot.strategy not in BUILTIN:
        raise BotDefinitionError(
            f"unknown strategy {bot.strategy!r}; available: {', '.join(sorted(BUILTIN))}")
    try:
        load_strategy(bot.strategy, bot.params)
    except (StrategyLoadError, StrategyParamsError) as e:
        raise BotDefinitionError(str(e)) from None


def check_mode(bot: BotSettings, exchange: ExchangeSettings) -> None:
    """Refuse combinations that would trade on the wrong venue or by accident.

    A testnet bot needs the market data of a test venue (testnet, demo or the local exchange):
    its decisions must come from the prices it trades at. A live bot needs Binance's own market
    data and the explicit ``exchange.confirm_live`` (real money)."""
    venue = exchange.venue
    if bot.mode == "testnet" and venue == "binance":
        raise BotDefinitionError(
            f"bot {bot.id}: testnet mode trades on a test venue, but exchange.venue is "
            "'binance'; set exchange.venue to 'testnet', 'demo' or 'local'")
    if bot.mode == "live" and venue != "binance":
        raise BotDefinitionError(
            f"bot {bot.id}: live mode needs exchange.venue = 'binance', was {venue!r}")
    if bot.mode == "live" and not exchange.confirm_live:
        raise BotDefinitionError(
            f"bot {bot.id}: live mode trades real money; set exchange.confirm_live = true "
            "(or BINBOT_EXCHANGE__CONFIRM_LIVE=true) to confirm")


def with_risk_per_trade(bot: BotSettings, risk_per_trade: float | None) -> BotSettings:
    """``bot`` with ``risk_per_trade`` passed to its strategy, which must size by it."""
    if risk_per_trade is None:
        return bot
    from binbot.strategy.loader import StrategyLoadError, resolve_strategy

    try:
        fields = resolve_strategy(bot.strategy).Params.model_fields
    except StrategyLoadError as e:
        raise BotDefinitionError(str(e)) from None
    if "risk_per_trade" not in fields:
        raise BotDefinitionError(
            f"strategy {bot.strategy} does not size its entries by risk_per_trade; size it "
            "with its own parameters (e.g. capital_share or quote_amount)")
    given = bot.params.get("risk_per_trade")
    if given is not None and given != risk_per_trade:
        raise BotDefinitionError(
            f"risk_per_trade {risk_per_trade} differs from strategy_params.risk_per_trade "
            f"{given}; give it once")
    return bot.model_copy(update={"params": {**bot.params, "risk_per_trade": risk_per_trade}})


def settings_from_request(fields: Mapping[str, Any]) -> BotSettings:
    """Validate plain fields as ``BotSettings`` (``BotDefinitionError`` names each problem)."""
    try:
        return BotSettings.model_validate(dict(fields))
    except ValidationError as e:
        problems = []
        for error in e.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"]) or "(bot)"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise BotDefinitionError("; ".join(problems)) from None


# -- rows ----------------------------------------------------------------------------------


def definition_row(bot: BotSettings, status: str, now_ms: int) -> dict[str, Any]:
    """The ``bots`` row of ``bot`` (``created_ms`` is kept by ``save_definition``)."""
    return {
        "bot_id": bot.id, "market": bot.market.value, "symbol": bot.symbol,
        "interval": bot.interval, "strategy": bot.strategy, "params": dict(bot.params),
        "capital": format(bot.capital, "f"), "mode": bot.mode,
        "risk": dict(bot.risk), "leverage": bot.leverage,
        "auto_start": bot.auto_start, "status": status,
        "created_ms": now_ms, "updated_ms": now_ms,
    }


def definition_from_row(row: Mapping[str, Any]) -> BotSettings:
    return BotSettings(
        id=row["bot_id"], market=row["market"], symbol=row["symbol"],
        interval=row["interval"], strategy=row["strategy"], params=dict(row["params"] or {}),
        capital=Decimal(str(row["capital"])), leverage=int(row["leverage"]),
        mode=row["mode"], risk=dict(row["risk"] or {}),
        auto_start=bool(row["auto_start"]),
    )


def save_definition(connection: Connection, row: dict[str, Any]) -> None:
    """Upsert a ``bots`` row, keeping its ``created_ms`` (and ``status`` when ``row`` has
    none)."""
    existing = connection.execute(
        select(t.bots.c.created_ms, t.bots.c.status).where(t.bots.c.bot_id == row["bot_id"])
    ).first()
    row = dict(row)
    if existing is not None:
        row["created_ms"] = existing[0]
        row.setdefault("status", existing[1])
    row.setdefault("status", "created")
    upsert_rows(connection, t.bots, [row])


def insert_definition(connection: Connection, row: dict[str, Any]) -> None:
    """Insert a new bot; ``DuplicateBot`` (and nothing written) when the id is taken."""
    taken = connection.execute(
        select(t.bots.c.bot_id).where(t.bots.c.bot_id == row["bot_id"])).first()
    if taken is not None:
        raise DuplicateBot(f"a bot with id {row['bot_id']!r} exists already")
    connection.execute(t.bots.insert().values(**row))


def delete_bot_rows(connection: Connection, bot_id: str) -> None:
    """Remove the bot's definition, state and records (one transaction)."""
    for table in _BOT_TABLES:
        connection.execute(delete(table).where(table.c.bot_id == bot_id))


def stored_definitions(engine: Engine) -> list[tuple[BotSettings, str]]:
    """Every stored bot with its last status, by id (blocking)."""
    with engine.connect() as connection:
        rows = connection.execute(select(t.bots).order_by(t.bots.c.bot_id)).mappings().all()
    return [(definition_from_row(dict(row)), str(row["status"])) for row in rows]
