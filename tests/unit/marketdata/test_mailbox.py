from __future__ import annotations

from binbot.domain.market import Market
from binbot.domain.market_events import KlineEvent, Reconnected, TradeEvent
from binbot.marketdata.mailbox import Mailbox
from tests.unit.marketdata.test_hub import candle


def trade(i: int) -> TradeEvent:
    return TradeEvent(Market.USDM, "FILUSDT", i, i, i, 1.0 + i, 1.0, False)


async def test_overflow_sheds_oldest_trades_but_keeps_closed_candles() -> None:
    box = Mailbox(limit=3)
    box.put(KlineEvent(0, candle(1)))
    box.put(trade(1))
    box.put(Reconnected((), 1))
    box.put(trade(2))
    box.put(trade(3))
    batch = await box.get_batch()
    assert box.dropped == 2
    assert batch == [KlineEvent(0, candle(1)), Reconnected((), 1), trade(3)]
