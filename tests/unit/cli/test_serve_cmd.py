"""``binbot serve``: bind checks and the missing-database refusal (the browser tests run it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from binbot.cli.common import CommandError
from binbot.cli.main import main
from binbot.cli.serve_cmd import _with_bind
from binbot.config.settings import Settings


def test_public_bind_needs_the_explicit_flag(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(CommandError, match="allow_public_bind"):
        _with_bind(settings, "0.0.0.0", None)
    moved = _with_bind(settings, None, 9999)
    assert (moved.api.host, moved.api.port) == ("127.0.0.1", 9999)


def test_serve_refuses_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    code = main(["serve", "--datadir", str(tmp_path / "nothing"), "--port", "1"])
    assert code == 1
    assert "no database" in capsys.readouterr().err
