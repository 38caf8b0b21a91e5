"""Testnet and live trading on Binance: the intent journal, reconciliation, protective stops
and the session that assembles them for one bot (see ``session``)."""
