"""binbot's local Binance-compatible exchange.

A server on 127.0.0.1 that replays historical 1m klines as a live market and speaks the subset
of Binance's REST and WebSocket protocols that binbot uses. It shares no protocol code with the
client adapter (``binbot.adapters.binance``): both are checked against Binance's real payloads, so a
misunderstanding cannot hide by being made twice.

Modules: ``klinedata`` (archive files -> exact integer columns), ``aggregate`` (1m -> any
interval), ``clock`` (virtual time), ``market`` (the replay engine), ``wire`` (Binance JSON
shapes), ``streams`` (stream names and URL categories), ``hub`` (WebSocket connections and
fan-out), ``rest`` (REST handlers), ``ratelimit``, ``faults``, ``admin`` (``/__sim/``) and
``server`` (``LocalExchange``).
"""
