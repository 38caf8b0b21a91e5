from __future__ import annotations

import io
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from binbot.config.settings import LoggingSettings
from binbot.core.logging import LoggingSetup, log_file_path, recent_errors, setup_logging
from binbot.core.redaction import MASK

CANARY = "CANARY-7f3a9c1e-do-not-log"
LISTEN_KEY = "pqrSTUvwx0123456789listenkey"


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[tuple[LoggingSetup, io.StringIO]]:
    console = io.StringIO()
    root = logging.getLogger()
    level = root.level
    setup = setup_logging(
        LoggingSettings(level="DEBUG"), tmp_path, secrets=[CANARY], stream=console
    )
    yield setup, console
    setup.close()
    root.setLevel(level)


def outputs(setup: LoggingSetup, console: io.StringIO) -> tuple[str, str]:
    for handler in setup.handlers:
        handler.flush()
    return setup.log_file.read_text(encoding="utf-8"), console.getvalue()


def test_canary_secret_never_reaches_file_or_console(
    installed: tuple[LoggingSetup, io.StringIO],
) -> None:
    setup, console = installed
    log = logging.getLogger("binbot.test.deep.child")
    log.info("plain %s", CANARY)
    log.warning(f"formatted into the message: {CANARY}")
    log.error("in a dict arg %s", {"api_secret": CANARY})
    try:
        raise ValueError(f"exchange rejected key {CANARY}")
    except ValueError:
        log.exception("order failed")
    log.info("stack", stack_info=True, extra={"x": CANARY})

    file_text, console_text = outputs(setup, console)
    for text in (file_text, console_text):
        assert CANARY not in text
        assert text.count(MASK) >= 4
        assert "ValueError: exchange rejected key " + MASK in text
        assert "Traceback (most recent call last)" in text


def test_secret_shapes_are_masked_without_being_known(
    installed: tuple[LoggingSetup, io.StringIO],
) -> None:
    setup, console = installed
    log = logging.getLogger("binbot.adapters")
    log.info("POST /fapi/v1/order?symbol=BTCUSDT&timestamp=1700000000000&signature=%s",
             "a" * 64)
    log.info("user stream opened: %s", {"listenKey": LISTEN_KEY})
    log.info("wss://fstream.binance.com/ws?listenKey=%s&foo=1", LISTEN_KEY)
    log.info("request headers Authorization: Bearer %s", "eyJhbGciOiJIUzI1NiJ9.payload.sig")
    log.info("X-MBX-APIKEY: %s", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy")

    file_text, console_text = outputs(setup, console)
    for text in (file_text, console_text):
        assert "a" * 64 not in text
        assert LISTEN_KEY not in text
        assert "payload.sig" not in text
        assert "vmPUZE6mv9SD5" not in text
        assert "symbol=BTCUSDT" in text  # the rest of the message stays readable
        assert text.count(MASK) == 5


def test_secret_learned_at_runtime_is_masked_from_then_on(
    installed: tuple[LoggingSetup, io.StringIO],
) -> None:
    setup, console = installed
    setup.add_secrets(LISTEN_KEY)
    logging.getLogger("binbot.stream").info("connecting to /ws/%s", LISTEN_KEY)
    file_text, console_text = outputs(setup, console)
    assert LISTEN_KEY not in file_text
    assert LISTEN_KEY not in console_text
    assert f"/ws/{MASK}" in file_text


def test_file_rotates_at_max_bytes_and_keeps_the_configured_backups(tmp_path: Path) -> None:
    settings = LoggingSettings(max_bytes=10_000, backups=2)
    setup = setup_logging(settings, tmp_path, secrets=[], console=False)
    try:
        log = logging.getLogger("binbot.rotation")
        for i in range(600):
            log.warning("line %04d %s", i, "x" * 80)
    finally:
        setup.close()
    log_dir = tmp_path / "logs"
    names = sorted(path.name for path in log_dir.iterdir())
    assert names == ["binbot.log", "binbot.log.1", "binbot.log.2"]
    for path in log_dir.iterdir():
        assert path.stat().st_size <= 10_000
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    # The newest lines are in the current file, the oldest rotated ones are gone.
    assert "line 0599" in (log_dir / "binbot.log").read_text(encoding="utf-8")
    everything = "".join(path.read_text(encoding="utf-8") for path in log_dir.iterdir())
    assert "line 0000" not in everything


def test_setting_up_twice_replaces_the_handlers(tmp_path: Path) -> None:
    first = setup_logging(LoggingSettings(), tmp_path, secrets=[], console=False)
    second = setup_logging(LoggingSettings(), tmp_path, secrets=[], console=False)
    try:
        logging.getLogger("binbot.twice").warning("only once")
        for handler in second.handlers:
            handler.flush()
        assert second.log_file.read_text(encoding="utf-8").count("only once") == 1
        assert not any(handler in logging.getLogger().handlers for handler in first.handlers)
    finally:
        second.close()


def test_log_file_path_is_under_the_data_dir_unless_absolute(tmp_path: Path) -> None:
    assert log_file_path(LoggingSettings(), tmp_path) == tmp_path / "logs" / "binbot.log"
    absolute = tmp_path / "elsewhere.log"
    assert log_file_path(LoggingSettings(file=str(absolute)), tmp_path) == absolute


def test_recent_errors_returns_the_last_error_lines_oldest_first(tmp_path: Path) -> None:
    setup = setup_logging(LoggingSettings(), tmp_path, secrets=[CANARY], console=False)
    try:
        log = logging.getLogger("binbot.errors")
        for i in range(5):
            log.info("fine %d", i)
            log.error("failure %d with %s", i, CANARY)
        log.critical("the end")
    finally:
        setup.close()
    errors = recent_errors(setup.log_file, limit=3)
    assert len(errors) == 3
    assert "failure 3" in errors[0]
    assert "failure 4" in errors[1]
    assert "CRITICAL" in errors[2]
    assert all(CANARY not in line for line in errors)
    assert recent_errors(tmp_path / "missing.log") == []
