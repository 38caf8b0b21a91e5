"""Adapters: concrete implementations of the ports (Binance, paper)."""
