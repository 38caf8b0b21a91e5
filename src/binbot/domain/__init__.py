"""The domain model: plain typed values that depend on nothing but the standard library.

Market data (candles, trades, book tickers, mark prices) carries float64 prices because it feeds
indicator maths and backtests; anything that becomes an order, a fill, a balance or a ledger entry
is ``decimal.Decimal``, rounded to the instrument's filters (see ``instrument.py``).
"""
