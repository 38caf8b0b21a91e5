"""Order parameters read as Binance reads them, with its error codes."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from binbot.exchange.decimals import NumberError, parse_decimal
from binbot.exchange.rest import BinanceError

USDM_CLIENT_ID_RE: Final = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
SPOT_CLIENT_ID_RE: Final = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
_ALPHABET: Final = string.ascii_letters + string.digits

Params = Mapping[str, str]


def mandatory(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                                  "or malformed.")
    return value


def optional(params: Params, name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else value


def decimal_param(params: Params, name: str) -> Decimal:
    """A mandatory decimal parameter."""
    return _decimal(name, mandatory(params, name))


def optional_decimal(params: Params, name: str) -> Decimal | None:
    text = optional(params, name)
    return None if text is None else _decimal(name, text)


def _decimal(name: str, text: str) -> Decimal:
    try:
        return parse_decimal(text)
    except NumberError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                  "is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None


def int_param(params: Params, name: str) -> int | None:
    text = optional(params, name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 20:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                  "is '^[0-9]{1,20}$'.")
    return int(text)


def bool_param(params: Params, name: str) -> bool:
    text = optional(params, name)
    if text is None:
        return False
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                  "is 'true, false'.")
    return lowered == "true"


def side_param(params: Params) -> str:
    side = mandatory(params, "side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    return side


def client_id(params: Params, name: str, pattern: re.Pattern[str], generated_prefix: str) -> str:
    value = optional(params, name)
    if value is None:
        return generated_prefix + "".join(secrets.choice(_ALPHABET) for _ in range(22))
    if not pattern.match(value):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                  f"is '{pattern.pattern}'.")
    return value


def limit_param(params: Params, default: int, maximum: int) -> int:
    value = int_param(params, "limit")
    if value is None:
        return default
    if value <= 0:
        raise BinanceError(-1100, f"Illegal characters found in parameter 'limit'; legal range "
                                  f"is '1-{maximum}'.")
    return min(value, maximum)
