"""Declared, typed, validated strategy parameters.

A strategy declares ``class Params(StrategyParams)`` with pydantic fields and defaults; the
loader validates the bot's ``params`` table against it and raises ``StrategyParamsError`` naming
the offending parameter and the value it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

P = TypeVar("P", bound="StrategyParams")


class StrategyParamsError(ValueError):
    """Bad strategy parameters; the message names each parameter and what it was."""


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: frozen, unknown names rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validate_params(strategy: str, params_type: type[P], raw: Mapping[str, Any] | P | None) -> P:
    """Return ``raw`` validated as ``params_type`` or raise ``StrategyParamsError``."""
    if isinstance(raw, params_type):
        return raw
    try:
        return params_type.model_validate(dict(raw or {}))
    except ValidationError as e:
        problems = []
        for error in e.errors():
            name = ".".join(str(part) for part in error["loc"]) or "(params)"
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown parameter {name!r}")
            else:
                problems.append(f"parameter {name!r}: {error['msg']}, was {error['input']!r}")
        raise StrategyParamsError(f"strategy {strategy}: " + "; ".join(problems)) from None
