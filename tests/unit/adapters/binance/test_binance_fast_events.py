from __future__ import annotations

import dataclasses

import pytest

from binbot.adapters.binance import fast_events
from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.market_events import BookTickerEvent, TradeEvent


def test_builders_only_cover_classes_without_post_init() -> None:
    for cls in fast_events.BUILT_CLASSES:
        assert not hasattr(cls, "__post_init__")
        assert dataclasses.fields(cls)


def test_built_values_equal_normally_constructed_ones_and_stay_frozen() -> None:
    trade_args = (Market.USDM, "BTCUSDT", 1, 2, 3, 4.5, 6.5, True)
    trade = fast_events.trade_event(*trade_args)
    assert trade == TradeEvent(*trade_args)
    assert hash(trade) == hash(TradeEvent(*trade_args))
    book_args = (Market.SPOT, "ETHUSDT", 9, 8, 1.0, 2.0, 1.1, 3.0)
    assert fast_events.book_ticker_event(*book_args) == BookTickerEvent(*book_args)
    candle_args = (Market.USDM, "BTCUSDT", "1m", 0, 59_999, 1.0, 2.0, 0.5, 1.5, 10.0, 15.0, 7,
                   4.0, 6.0, False)
    built = fast_events.candle(*candle_args)
    assert built == Candle(*candle_args)
    assert repr(built) == repr(Candle(*candle_args))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.close = 3.0  # type: ignore[misc]
