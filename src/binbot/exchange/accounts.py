"""Accounts of the local exchange: API keys, their permissions and starting balances.

    AccountSpec(api_key="k1", hmac_secret="s1", balances={"USDT": "10000"})
    AccountSpec(api_key="k2", ed25519_public_key_pem=pem_bytes, futures_balances={"USDT": "500"})

A key is HMAC (``hmac_secret``) or Ed25519 (``ed25519_public_key_pem``, the PEM of the public
key; Binance keeps only that half too), or both. ``balances`` seeds the spot wallet and, unless
``futures_balances`` is given, the USD-M wallet as well (two separate wallets, as on Binance).
``permissions`` overrides the fields ``GET /sapi/v1/account/apiRestrictions`` reports; a key
without ``enableSpotAndMarginTrading`` / ``enableFutures`` is refused (-2015) on that venue's
trading endpoints, one without ``enableReading`` on every signed endpoint.

Command line forms (``binbot exchange serve``): ``--account KEY:SECRET``,
``--ed25519-key KEY:PUBKEY.pem`` and ``--accounts-file accounts.json`` holding a list of
objects with the fields of ``AccountSpec`` (``ed25519_public_key_file`` may replace the PEM).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from binbot.exchange.decimals import NumberError, parse_decimal

DEFAULT_BALANCES: Final = MappingProxyType({"USDT": "10000"})

# apiRestrictions fields and the values a freshly made trading key has (no withdrawals).
DEFAULT_PERMISSIONS: Final = MappingProxyType({
    "ipRestrict": True,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": True,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
    "enableSpotAndMarginTrading": True,
    "enablePortfolioMarginTrading": False,
})


class AccountSpecError(ValueError):
    """An account definition that cannot be used."""


@dataclass(frozen=True)
class AccountSpec:
    api_key: str
    hmac_secret: str | None = None
    ed25519_public_key_pem: bytes | str | None = None
    balances: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    futures_balances: Mapping[str, str] | None = None
    permissions: Mapping[str, bool] = field(default_factory=dict)
    usdm_maker_fee: str = "0.0002"
    usdm_taker_fee: str = "0.0005"
    spot_maker_fee: str = "0.001"
    spot_taker_fee: str = "0.001"
    create_time_ms: int = 1_700_000_000_000

    def __post_init__(self) -> None:
        if not self.api_key or any(c.isspace() for c in self.api_key):
            raise AccountSpecError("an api_key must be non-empty without spaces")
        if self.hmac_secret is None and self.ed25519_public_key_pem is None:
            raise AccountSpecError(f"account {self.api_key[:6]}…: give an hmac_secret or an "
                                   "ed25519_public_key_pem")
        unknown = set(self.permissions) - set(DEFAULT_PERMISSIONS)
        if unknown:
            raise AccountSpecError(f"unknown permissions {sorted(unknown)}; known: "
                                   f"{', '.join(DEFAULT_PERMISSIONS)}")
        for wallet in (self.balances, self.futures_balances or {}):
            for asset, amount in wallet.items():
                try:
                    parse_decimal(str(amount))
                except NumberError:
                    raise AccountSpecError(f"balance of {asset} must be a plain decimal, was "
                                           f"{amount!r}") from None
        if self.ed25519_public_key_pem is not None:
            self.ed25519_key()  # fail early on a bad PEM

    def ed25519_key(self) -> Ed25519PublicKey | None:
        pem = self.ed25519_public_key_pem
        if pem is None:
            return None
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = load_pem_public_key(data)
        except ValueError as e:
            raise AccountSpecError(f"account {self.api_key[:6]}…: bad public key PEM: {e}") \
                from None
        if not isinstance(key, Ed25519PublicKey):
            raise AccountSpecError(f"account {self.api_key[:6]}…: the public key is not Ed25519")
        return key

    def permission(self, name: str) -> bool:
        return bool(self.permissions.get(name, DEFAULT_PERMISSIONS[name]))

    def restrictions(self) -> dict[str, Any]:
        """The body of ``GET /sapi/v1/account/apiRestrictions``."""
        body: dict[str, Any] = {"ipRestrict": self.permission("ipRestrict"),
                                "createTime": self.create_time_ms}
        for name in DEFAULT_PERMISSIONS:
            if name != "ipRestrict":
                body[name] = self.permission(name)
        return body

    def spot_wallet(self) -> dict[str, Decimal]:
        return {asset: Decimal(str(v)) for asset, v in self.balances.items()}

    def futures_wallet(self) -> dict[str, Decimal]:
        source = self.futures_balances if self.futures_balances is not None else self.balances
        return {asset: Decimal(str(v)) for asset, v in source.items()}


# -- command line and files --------------------------------------------------------------------


def _split_key(text: str, what: str) -> tuple[str, str]:
    key, sep, rest = text.partition(":")
    if not sep or not key or not rest:
        raise AccountSpecError(f"expected KEY:{what}, was {text!r}")
    return key, rest


def parse_hmac_account(text: str, balances: Mapping[str, str] | None = None) -> AccountSpec:
    """``KEY:SECRET`` -> an HMAC account."""
    key, secret = _split_key(text, "SECRET")
    return AccountSpec(api_key=key, hmac_secret=secret, balances=dict(balances or DEFAULT_BALANCES))


def parse_ed25519_account(text: str, balances: Mapping[str, str] | None = None) -> AccountSpec:
    """``KEY:PUBKEYFILE`` -> an Ed25519 account (blocking file read: call it at startup)."""
    key, path = _split_key(text, "PUBKEYFILE")
    try:
        pem = Path(path).read_bytes()
    except OSError as e:
        raise AccountSpecError(f"cannot read the public key file {path}: {e}") from None
    return AccountSpec(api_key=key, ed25519_public_key_pem=pem,
                       balances=dict(balances or DEFAULT_BALANCES))


def parse_balances(items: list[str]) -> dict[str, str]:
    """``["USDT=5000", "BTC=0.5"]`` -> ``{"USDT": "5000", "BTC": "0.5"}``."""
    out: dict[str, str] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        if not sep or not asset.isalnum():
            raise AccountSpecError(f"expected ASSET=AMOUNT, was {item!r}")
        try:
            parse_decimal(amount)
        except NumberError:
            raise AccountSpecError(f"{asset}: amount must be a plain decimal, was {amount!r}") \
                from None
        out[asset.upper()] = amount
    return out


_FILE_FIELDS: Final = frozenset({
    "api_key", "hmac_secret", "ed25519_public_key_pem", "ed25519_public_key_file", "balances",
    "futures_balances", "permissions", "usdm_maker_fee", "usdm_taker_fee", "spot_maker_fee",
    "spot_taker_fee"})


def load_accounts_file(path: Path) -> list[AccountSpec]:
    """A JSON list of account objects (blocking: call it at startup)."""
    try:
        items = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise AccountSpecError(f"cannot read accounts file {path}: {e}") from None
    if not isinstance(items, list):
        raise AccountSpecError(f"{path}: expected a JSON list of accounts")
    specs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AccountSpecError(f"{path}[{i}]: expected an object")
        unknown = set(item) - _FILE_FIELDS
        if unknown:
            raise AccountSpecError(f"{path}[{i}]: unknown fields {sorted(unknown)}")
        fields = dict(item)
        key_file = fields.pop("ed25519_public_key_file", None)
        if key_file is not None:
            key_path = Path(key_file)
            if not key_path.is_absolute():
                key_path = path.parent / key_path
            try:
                fields["ed25519_public_key_pem"] = key_path.read_bytes()
            except OSError as e:
                raise AccountSpecError(f"{path}[{i}]: cannot read {key_path}: {e}") from None
        try:
            specs.append(AccountSpec(**fields))
        except TypeError as e:
            raise AccountSpecError(f"{path}[{i}]: {e}") from None
    return specs


def check_unique(specs: list[AccountSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.api_key in seen:
            raise AccountSpecError(f"api key {spec.api_key[:6]}… is configured twice")
        seen.add(spec.api_key)
