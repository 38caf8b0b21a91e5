"""Resolve a strategy by built-in name (``"boll"``) or ``"package.module:ClassName"``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from binbot.strategy.base import INTERFACE_VERSION, Strategy
from binbot.strategy.builtin import BUILTIN


class StrategyLoadError(ValueError):
    """The strategy reference cannot be resolved to a compatible Strategy subclass."""


def resolve_strategy(reference: str) -> type[Strategy]:
    """Return the Strategy class named by ``reference``."""
    target = BUILTIN.get(reference, reference)
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name:
        known = ", ".join(sorted(BUILTIN))
        raise StrategyLoadError(
            f"unknown strategy {reference!r}: use a built-in name ({known}) or 'module:Class'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise StrategyLoadError(f"cannot import strategy module {module_name!r}: {e}") from e
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise StrategyLoadError(f"{target!r} is not a binbot Strategy subclass, was {cls!r}")
    if cls.interface_version != INTERFACE_VERSION:
        raise StrategyLoadError(
            f"strategy {target!r} targets interface version {cls.interface_version}, "
            f"binbot provides {INTERFACE_VERSION}"
        )
    return cls


def load_strategy(reference: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Instantiate a strategy with validated parameters (``StrategyParamsError`` if bad)."""
    return resolve_strategy(reference)(params)
