"""W4/W6 (user-stream faults: every reconnect is followed by a reconciliation, duplicates and
reordering apply once), W5 reduced to "the stream's socket reading survives a blocked loop",
E1 (bad configuration refused, nothing sent) and S3 (a key that can withdraw is refused).
S1/S2 (auth on every route, no secret in any output) are the API's tests:
tests/unit/api/test_auth.py, tests/unit/api/test_no_secrets.py and
tests/unit/core/test_redaction.py."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from binbot.config.credentials import BinanceCredentials, CredentialsError
from binbot.domain.orders import OrderSide, OrderStatus, OrderType
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import ExchangeOptions, LocalExchange
from binbot.services.live.session import LiveSession, LiveSetupError
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.writer import Writer
from tests.integration.live.conftest import DATA, KEY, Rig, until


async def test_w4_listen_key_expiry_and_drop_reconcile_and_lose_nothing(rig: Rig) -> None:
    live = await rig.start()
    before = live.session.status.reconciliations
    rig.exchange.faults.user_silence()  # fills happen during an outage
    first = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert first is not None
    await live.settle()
    rig.exchange.faults.expire_listen_keys(e_as_string=True)
    rig.exchange.faults.user_unsilence()
    await until(lambda: live.session.status.reconciliations > before)
    rig.exchange.faults.user_drop()
    await until(lambda: live.session.status.reconciliations > before + 1)
    await live.settle()
    assert live.session.status.last_report is not None
    assert live.session.status.last_report.ok
    assert live.core.portfolio.position.quantity == rig.exchange_position() == Decimal(10)
    rig.assert_fills_once(live.engine)
    rig.assert_no_duplicates()
    await live.close()


async def test_w6_duplicated_and_reordered_events_apply_once(rig: Rig) -> None:
    live = await rig.start()
    rig.exchange.faults.user_duplicate(count=5)
    rig.exchange.faults.user_reorder(count=5)
    for side in (OrderSide.BUY, OrderSide.BUY, OrderSide.SELL):
        order = live.core.submit_order(side, OrderType.MARKET, quantity=Decimal(10))
        assert order is not None
        await until(lambda o=order: o.status is OrderStatus.FILLED)  # type: ignore[misc]
    await live.settle()
    await until(lambda: live.core.portfolio.position.quantity == rig.exchange_position())
    assert live.core.portfolio.position.quantity == Decimal(10)
    rig.assert_fills_once(live.engine)
    await live.close()


async def test_w5_blocked_loop_then_stream_recovers(rig: Rig) -> None:
    live = await rig.start()
    time.sleep(1.5)  # noqa: ASYNC251 - the strategy blocking the loop is the fault itself
    order = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    await until(lambda: order.status is OrderStatus.FILLED)
    await live.settle()
    assert live.core.portfolio.position.quantity == rig.exchange_position()
    await live.close()


async def test_e1_bad_configuration_is_refused_and_nothing_sent(rig: Rig) -> None:
    instrument = await rig.instrument()
    engine = make_engine(sqlite_url(rig.db_path))
    writer = Writer(engine)
    creds = BinanceCredentials("testnet", SecretStr(KEY), secret=SecretStr("live-secret"))
    live_creds = BinanceCredentials("live", SecretStr(KEY), secret=SecretStr("live-secret"))
    with pytest.raises(CredentialsError, match="live mode needs the real exchange"):
        await LiveSession.open(rig.config(instrument, mode="live"), http=rig.http,
                               writer=writer, engine=engine, credentials=live_creds)
    with pytest.raises(LiveSetupError, match="live keys given for testnet"):
        await LiveSession.open(rig.config(instrument), http=rig.http, writer=writer,
                               engine=engine, credentials=live_creds)
    with pytest.raises(ValueError, match="recv_window_ms"):
        await LiveSession.open(rig.config(instrument, recv_window_ms=70_000), http=rig.http,
                               writer=writer, engine=engine, credentials=creds)
    with pytest.raises(CredentialsError, match="no Binance testnet API key"):
        await LiveSession.open(rig.config(instrument), http=rig.http, writer=writer,
                               engine=engine, environ={}, env_file=None)
    bad = BinanceCredentials("testnet", SecretStr(KEY), secret=SecretStr("wrong"))
    with pytest.raises(LiveSetupError):
        await LiveSession.open(rig.config(instrument), http=rig.http, writer=writer,
                               engine=engine, credentials=bad)
    assert len(rig.exchange.ledger) == 0
    engine.dispose()


@pytest.mark.parametrize("right", ["enableWithdrawals", "enableInternalTransfer",
                                   "permitsUniversalTransfer"])
async def test_s3_key_with_transfer_rights_is_refused(tmp_path: Path, right: str) -> None:
    spec = AccountSpec(api_key=KEY, hmac_secret="live-secret", permissions={right: True})
    async with LocalExchange(ExchangeOptions(data_files=[DATA], speed=60.0,
                                             accounts=[spec])) as ex, \
            aiohttp.ClientSession() as http:
        rig = Rig(ex, http, tmp_path / "s3.sqlite")
        with pytest.raises(LiveSetupError, match="refusing live trading"):
            await rig.start()
        assert len(ex.ledger) == 0
