"""binbot: Binance automated trading system."""

__version__ = "0.1.0"
