from __future__ import annotations

from pydantic import SecretStr

from binbot.config.settings import ApiSettings, DatabaseSettings, Settings
from binbot.core.redaction import MASK, Redactor, collect_secrets


def test_known_values_are_masked_in_every_form_they_take() -> None:
    secret = "s3cr3t/with+chars"
    redactor = Redactor([secret, "postgresql+psycopg://bot:pg-pass-123@db:5432/binbot"])
    text = f"key {secret}, encoded s3cr3t%2Fwith%2Bchars; db password pg-pass-123 rejected"
    masked = redactor.redact(text)
    assert secret not in masked
    assert "s3cr3t%2F" not in masked
    assert "pg-pass-123" not in masked
    assert masked.count(MASK) == 3


def test_short_or_empty_values_are_not_treated_as_secrets() -> None:
    redactor = Redactor(["", "  ", "abc"])
    assert redactor.redact("abc is a word") == "abc is a word"


def test_longest_secret_wins_when_one_contains_another() -> None:
    redactor = Redactor(["abcdef", "abcdef-ghijkl"])
    assert redactor.redact("x abcdef-ghijkl y") == f"x {MASK} y"


def test_redaction_is_idempotent_and_keeps_ordinary_text() -> None:
    redactor = Redactor(["known-secret-1"])
    text = (
        "GET /api/v3/order?symbol=ETHUSDT&signature=0badc0ffee&recvWindow=5000 known-secret-1 "
        "signature: not valid; Bearer tok.en.value; postgresql://u:pw999@h/db"
    )
    once = redactor.redact(text)
    assert redactor.redact(once) == once
    assert "symbol=ETHUSDT" in once
    assert "recvWindow=5000" in once
    assert "signature: not valid" in once  # a Binance error text, not a signature
    for leaked in ("0badc0ffee", "known-secret-1", "tok.en.value", "pw999"):
        assert leaked not in once


def test_collect_secrets_walks_the_settings_tree() -> None:
    settings = Settings(
        api=ApiSettings(token=SecretStr("api-token-123456")),
        database=DatabaseSettings(url=SecretStr("postgresql://u:p@h/db")),
    )
    assert sorted(collect_secrets(settings)) == ["api-token-123456", "postgresql://u:p@h/db"]
    assert collect_secrets(Settings()) == []
