"""Migrations: from empty, idempotent, never losing rows, refusing unknown revisions."""

from __future__ import annotations

import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from binbot.domain.market import Market
from binbot.storage.candle_table import candles
from binbot.storage.candles import SqlCandleStore
from binbot.storage.migrate import (
    SchemaTooNew,
    alembic_config,
    current_revisions,
    head_revisions,
    upgrade,
)
from binbot.storage.packed import PACKED_COLUMNS, pack_values


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.exec_driver_sql(
            f'SELECT count(*) FROM "{name}"').scalar_one()  # noqa: S608 - names from inspect
                for name in _tables(engine)}


def _seed_candle(engine: Engine, open_time: int) -> None:
    with engine.begin() as connection:
        connection.execute(candles.insert(), {
            "market": "usdm", "symbol": "BTCUSDT", "interval": "1m", "open_time": open_time,
            "close_time": open_time + 59_999, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5,
            "volume": 3.0, "quote_volume": 4.0, "trades": 5, "taker_buy_volume": 1.0,
            "taker_buy_quote_volume": 1.5, "closed": True,
        })


def test_upgrade_from_empty_reaches_head_and_creates_candles(empty_engine: Engine) -> None:
    result = upgrade(empty_engine)
    assert result.before == ()
    assert set(result.after) == set(head_revisions())
    assert "candles" in _tables(empty_engine)


def test_upgrade_is_idempotent(engine: Engine) -> None:
    _seed_candle(engine, 0)
    again = upgrade(engine)
    assert not again.changed
    assert _counts(engine)["candles"] == 1


def test_each_step_keeps_every_row(empty_engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    upgrade(empty_engine, revisions[0])
    _seed_candle(empty_engine, 60_000)
    counts = _counts(empty_engine)
    for revision in revisions[1:]:
        upgrade(empty_engine, revision)
        after = _counts(empty_engine)
        for table, count in counts.items():
            assert after.get(table, 0) >= count, f"migration {revision} lost rows of {table}"
        counts = after
    assert counts["candles"] == 1


def test_candles_table_matches_the_migration(engine: Engine) -> None:
    columns = {c["name"]: c for c in inspect(engine).get_columns("candles")}
    assert set(columns) == {c.name for c in candles.columns}
    for column in candles.columns:
        # packed is NULL in rows written without binbot (read through the columns then)
        assert columns[column.name]["nullable"] is (column.name == "packed"), column.name
    pk = inspect(engine).get_pk_constraint("candles")["constrained_columns"]
    assert pk == ["market", "symbol", "interval", "open_time"]
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("candles")}
    assert indexes == {i.name: [c.name for c in i.columns] for i in candles.indexes}


def test_unknown_newer_revision_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'zz9999'")
    with pytest.raises(SchemaTooNew, match=r"zz9999.*newer than this binbot"):
        upgrade(engine)
    assert current_revisions(engine) == ("zz9999",)
    assert "candles" in _tables(engine)


def test_upgrade_by_url_on_a_fresh_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"
    result = upgrade(url)
    assert set(result.after) == set(head_revisions())
    assert (tmp_path / "sub" / "fresh.db").is_file()


def test_0003_moves_leverage_out_of_the_risk_column(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0002")
    with empty_engine.begin() as connection:
        for bot_id, risk in (("a", '{"leverage": 5, "limits": {"stop_loss_pct": 2}}'),
                             ("b", "{}")):
            connection.execute(text(
                "INSERT INTO bots (bot_id, market, symbol, interval, strategy, params, capital,"
                " mode, risk, auto_start, status, created_ms, updated_ms) VALUES "
                "(:bot, 'usdm', 'FILUSDT', '15m', 'boll', '{}', '1000', 'paper',"
                " :risk, true, 'running', 1, 1)"), {"bot": bot_id, "risk": risk})
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = {r[0]: (r[1], r[2]) for r in connection.exec_driver_sql(
            "SELECT bot_id, leverage, risk FROM bots")}
    assert rows["a"][0] == 5
    assert rows["b"][0] == 1
    loads = __import__("json").loads
    assert [loads(r) if isinstance(r, str) else r for r in (rows["a"][1], rows["b"][1])] == [
        {"stop_loss_pct": 2}, {}]


def test_0004_packs_every_existing_candle(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0003")
    extremes = [1.7976931348623157e308, 5e-324, -0.0, float("inf"), float("-inf"), -2.5, 1e-300]
    with empty_engine.begin() as connection:
        for i in range(40):
            x = extremes[i % len(extremes)]
            connection.execute(candles.insert(), {
                "market": "usdm", "symbol": "BTCUSDT", "interval": "1m",
                "open_time": i * 60_000 - 2**40, "close_time": i * 60_000 + 59_999,
                "open": x, "high": 2.0 + i, "low": -x, "close": 1.5 * i, "volume": 3.0,
                "quote_volume": 1 / (i + 1), "trades": 2**62 + i, "taker_buy_volume": x,
                "taker_buy_quote_volume": 0.1, "closed": i % 3 != 0})
    upgrade(empty_engine, "0004")
    names = list(PACKED_COLUMNS)
    with empty_engine.connect() as connection:
        rows = connection.execute(select(*(candles.c[n] for n in names), candles.c.packed)
                                  .order_by(candles.c.open_time)).all()
    assert len(rows) == 40
    for row in rows:
        # The bytes binbot's writers produce, from the values the columns hold.
        assert row.packed == pack_values(*row[:-1])
    store = SqlCandleStore(empty_engine)
    arrays = store.read_arrays(Market.USDM, "BTCUSDT", "1m")
    for name in names:
        assert np.array_equal(arrays.as_dict()[name],
                              np.array([getattr(r, name) for r in rows])), name
