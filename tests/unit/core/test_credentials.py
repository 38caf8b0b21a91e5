from __future__ import annotations

from pathlib import Path

from binbot.core.credentials import credential_env_file, credentials_directory


def test_without_systemd_credentials_the_default_is_used(tmp_path: Path) -> None:
    assert credentials_directory({}) is None
    assert credential_env_file({}, default=Path(".env")) == Path(".env")


def test_the_systemd_credential_file_wins_when_present(tmp_path: Path) -> None:
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert credential_env_file(environ, default=Path(".env")) == Path(".env")
    (tmp_path / "binbot.env").write_text("BINBOT_API__TOKEN=x\n", encoding="utf-8")
    assert credentials_directory(environ) == tmp_path
    assert credential_env_file(environ, default=Path(".env")) == tmp_path / "binbot.env"
