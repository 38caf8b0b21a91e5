"""Credentials (``binbot.config.credentials``) -> the signer used on the wire."""

from __future__ import annotations

from binbot.adapters.binance.signed_rest import ApiKey
from binbot.adapters.binance.signing import Ed25519Signer, HmacSigner, Signer
from binbot.config.credentials import BinanceCredentials, CredentialsError


def api_key_from(credentials: BinanceCredentials) -> ApiKey:
    """HMAC when a secret is configured, else Ed25519 from the PEM private key."""
    signer: Signer
    if credentials.secret is not None:
        signer = HmacSigner(credentials.secret.get_secret_value())
    elif credentials.private_key_pem is not None:
        password = credentials.private_key_password
        try:
            signer = Ed25519Signer.from_pem(
                credentials.private_key_pem.get_secret_value().encode(),
                password.get_secret_value().encode() if password is not None else None,
            )
        except (ValueError, TypeError) as e:
            raise CredentialsError(f"unusable Ed25519 private key: {e}") from e
    else:
        raise CredentialsError("credentials carry neither a secret nor a private key")
    return ApiKey(credentials.api_key.get_secret_value(), signer)
