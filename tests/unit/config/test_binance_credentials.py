from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binbot.adapters.binance.keys import api_key_from
from binbot.adapters.binance.signing import Ed25519Signer, HmacSigner
from binbot.config.credentials import CredentialsError, key_kind_for, load_credentials


def pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_hmac_keys_from_the_environment(tmp_path: Path) -> None:
    env = {"BINBOT_BINANCE_API_KEY": "live-key", "BINBOT_BINANCE_API_SECRET": "live-secret",
           "BINBOT_BINANCE_TESTNET_API_KEY": "test-key",
           "BINBOT_BINANCE_TESTNET_API_SECRET": "test-secret"}
    live = load_credentials("live", environ=env, env_file=None)
    test = load_credentials("testnet", environ=env, env_file=None)
    assert (live.api_key.get_secret_value(), live.key_type) == ("live-key", "hmac")
    assert test.secret is not None
    assert test.secret.get_secret_value() == "test-secret"
    assert "live-secret" not in repr(live)
    signer = api_key_from(live)
    assert isinstance(signer.signer, HmacSigner)
    assert "secret" not in repr(signer)


def test_dotenv_and_precedence(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BINBOT_BINANCE_TESTNET_API_KEY=from-dotenv\n"
                      "BINBOT_BINANCE_TESTNET_API_SECRET='quoted secret'\n")
    creds = load_credentials("testnet", environ={}, env_file=dotenv)
    assert creds.api_key.get_secret_value() == "from-dotenv"
    assert creds.secret is not None
    assert creds.secret.get_secret_value() == "quoted secret"
    assert creds.source == str(dotenv)
    # The environment wins over files.
    env = {"BINBOT_BINANCE_TESTNET_API_KEY": "from-env"}
    assert load_credentials("testnet", environ=env, env_file=dotenv).api_key.get_secret_value(
    ) == "from-env"


def test_systemd_credentials_and_ed25519_pem(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "binance.pem").write_bytes(pem(key))
    (tmp_path / "binbot.env").write_text(
        "BINBOT_BINANCE_API_KEY=ed-key\nBINBOT_BINANCE_PRIVATE_KEY_FILE=binance.pem\n")
    creds = load_credentials("live", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)},
                             env_file=None)
    assert creds.key_type == "ed25519"
    api_key = api_key_from(creds)
    assert isinstance(api_key.signer, Ed25519Signer)
    signature = api_key.signer.sign("symbol=BTCUSDT&timestamp=1")
    key.public_key().verify(base64.b64decode(signature), b"symbol=BTCUSDT&timestamp=1")


def test_credentials_file(tmp_path: Path) -> None:
    file = tmp_path / "binance.env"
    file.write_text("BINBOT_BINANCE_TESTNET_API_KEY=k\nBINBOT_BINANCE_TESTNET_API_SECRET=s\n")
    creds = load_credentials("testnet", environ={}, env_file=None, credentials_file=file)
    assert creds.source == str(file)
    with pytest.raises(CredentialsError, match="not found"):
        load_credentials("testnet", environ={}, credentials_file=tmp_path / "missing.env")


def test_missing_pieces_are_named(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="BINBOT_BINANCE_TESTNET_API_KEY"):
        load_credentials("testnet", environ={}, env_file=None)
    with pytest.raises(CredentialsError, match=r"no secret.*BINBOT_BINANCE_API_SECRET"):
        load_credentials("live", environ={"BINBOT_BINANCE_API_KEY": "k"}, env_file=None)
    with pytest.raises(CredentialsError, match="keep one"):
        load_credentials("live", environ={"BINBOT_BINANCE_API_KEY": "k",
                                          "BINBOT_BINANCE_API_SECRET": "s",
                                          "BINBOT_BINANCE_PRIVATE_KEY_FILE": "x.pem"},
                         env_file=None)
    with pytest.raises(CredentialsError, match="missing file"):
        load_credentials("live", environ={"BINBOT_BINANCE_API_KEY": "k",
                                          "BINBOT_BINANCE_PRIVATE_KEY_FILE": str(
                                              tmp_path / "none.pem")}, env_file=None)
    # Live keys are never taken for testnet, nor the other way round.
    with pytest.raises(CredentialsError):
        load_credentials("testnet", environ={"BINBOT_BINANCE_API_KEY": "k",
                                             "BINBOT_BINANCE_API_SECRET": "s"}, env_file=None)


@pytest.mark.parametrize(("mode", "venue", "kind"), [
    ("live", "binance", "live"), ("testnet", "testnet", "testnet"),
    ("testnet", "demo", "testnet"), ("testnet", "local", "testnet"),
])
def test_mode_and_venue_agree(mode: str, venue: str, kind: str) -> None:
    assert key_kind_for(mode, venue) == kind


@pytest.mark.parametrize(("mode", "venue"), [("live", "testnet"), ("live", "demo"),
                                             ("live", "local"), ("testnet", "binance"),
                                             ("paper", "binance")])
def test_mode_and_venue_mismatch_is_refused(mode: str, venue: str) -> None:
    with pytest.raises(CredentialsError):
        key_kind_for(mode, venue)
