"""The config tree: layering, validation messages, masking, the shipped example."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from binbot.cli.main import main
from binbot.config import load_settings
from binbot.config.errors import explain_validation_error

REPO = Path(__file__).resolve().parents[3]


def test_example_config_is_paper_btcusdt_perpetual_15m_without_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = load_settings(REPO / "binbot.example.toml")
    (bot,) = settings.bots
    assert (bot.market, bot.symbol, bot.interval, bot.strategy, bot.mode) == (
        "usdm", "BTCUSDT", "15m", "boll", "paper")
    assert settings.exchange.venue == "binance"
    assert settings.data_dir == Path("data")
    assert settings.database_url.endswith("/data/binbot.db")


def test_environment_beats_dotenv_beats_toml(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    toml = tmp_path / "binbot.toml"
    toml.write_text("[api]\nport = 9000\n[history]\ncandles = 70\n[logging]\nlevel = 'DEBUG'\n")
    env_file = tmp_path / ".env"
    env_file.write_text("BINBOT_API__PORT=9100\nBINBOT_HISTORY__CANDLES=80\n")
    monkeypatch.setenv("BINBOT_API__PORT", "9200")
    monkeypatch.setenv("BINBOT_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings(toml, env_file=env_file)
    assert settings.api.port == 9200  # environment
    assert settings.history.candles == 80  # .env
    assert settings.logging.level == "DEBUG"  # toml
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'binbot.db'}"


def test_binance_keys_in_dotenv_are_left_to_the_credentials_loader(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("BINBOT_BINANCE_TESTNET_API_KEY=k\nBINBOT_BINANCE_TESTNET_API_SECRET=s\n"
                        "BINBOT_API__PORT=9300\n")
    assert load_settings(None, env_file=env_file).api.port == 9300
    env_file.write_text("BINBOT_NOT_A_SECTION=1\n")
    with pytest.raises(ValidationError, match="not_a_section"):
        load_settings(None, env_file=env_file)


def test_errors_name_the_key_path_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text("[api]\nport = 'x'\ncolour = 1\n[[bots]]\nid = 'a b'\ninterval = '1x'\n")
    with pytest.raises(ValidationError) as caught:
        load_settings(toml, env_file=None)
    text = explain_validation_error(caught.value, toml)
    assert str(toml) in text
    assert "api.port" in text and "'x'" in text
    assert "api.colour: unknown key" in text
    assert "bots[0].id" in text and "'a b'" in text
    assert "bots[0].interval" in text and "allowed: 1m, 3m" in text


def test_public_bind_needs_auth_and_an_explicit_flag(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="authentication off"):
        load_settings(None, env_file=None, api={"host": "0.0.0.0", "auth": False})
    with pytest.raises(ValidationError, match="allow_public_bind"):
        load_settings(None, env_file=None, api={"host": "0.0.0.0"})
    assert load_settings(None, env_file=None, api={"host": "0.0.0.0",
                                                   "allow_public_bind": True}).api.port == 8080


def test_duplicate_bot_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate bot id 'x'"):
        load_settings(None, env_file=None, bots=[{"id": "x"}, {"id": "x", "symbol": "ETHUSDT"}])


def test_config_check_and_show_on_the_command_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "binbot.toml"
    good.write_text("[api]\ntoken = 'canary-token-3e9f1a7b5c2d8e46'\n"
                    "[database]\nurl = 'postgresql+psycopg://u:canary-pass@h/db'\n")
    assert main(["config", "check", "-c", str(good)]) == 0
    assert "config OK" in capsys.readouterr().out
    assert main(["config", "show", "-c", str(good)]) == 0
    shown = capsys.readouterr().out
    assert "canary" not in shown
    assert '"token": "********"' in shown
    bad = tmp_path / "bad.toml"
    bad.write_text("[history]\ncandles = 0\n")
    assert main(["config", "check", "-c", str(bad)]) == 1
    error = capsys.readouterr().err
    assert "history.candles" in error and "greater than or equal to 1" in error
    assert main(["config", "check", "-c", str(tmp_path / "missing.toml")]) == 1
    assert "config file not found" in capsys.readouterr().err


def test_an_unreadable_working_directory_is_not_an_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", refuse)
    assert load_settings(None).service.auto_restart is True
