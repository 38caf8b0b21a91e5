"""Paper trading: the execution contract on live prices through the shared simulator."""

from binbot.adapters.paper.client import PaperExecutionClient, sim_config_from_settings
from binbot.adapters.paper.records import (
    PaperFunding,
    PaperOrderEvent,
    PaperOrderPlaced,
    PaperRecord,
    PaperRecordSink,
)

__all__ = [
    "PaperExecutionClient",
    "PaperFunding",
    "PaperOrderEvent",
    "PaperOrderPlaced",
    "PaperRecord",
    "PaperRecordSink",
    "sim_config_from_settings",
]
