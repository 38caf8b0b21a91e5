"""Built-in strategies, by name. Values are ``module:Class`` references, imported on demand."""

from __future__ import annotations

from typing import Final

BUILTIN: Final[dict[str, str]] = {
    "boll": "binbot.strategy.builtin.boll:Boll",
}
