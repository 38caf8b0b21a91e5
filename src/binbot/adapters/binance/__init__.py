"""binbot's own Binance client (aiohttp + msgspec): the anti-corruption layer for Binance.

Everything Binance-shaped (hosts, wire structs, stream names, error codes, signing) stays inside
this package; callers see domain types and domain errors only.
"""
