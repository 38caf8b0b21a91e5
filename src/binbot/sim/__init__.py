"""The simulated exchange shared by paper trading and backtests (see ``exchange.py``)."""

from binbot.sim.account import SimAccount
from binbot.sim.config import SimConfig
from binbot.sim.exchange import SimulatedExchange

__all__ = ["SimAccount", "SimConfig", "SimulatedExchange"]
