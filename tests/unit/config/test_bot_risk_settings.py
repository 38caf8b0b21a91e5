"""A bot's ``risk`` table in the config: validated as RiskLimits, bad fields named by
``binbot config check``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from binbot.cli.main import main
from binbot.config.settings import BotSettings


def test_risk_limits_are_validated_and_normalised() -> None:
    bot = BotSettings(id="b", risk={"max_drawdown_pct": 10, "stop_loss_atr": 2})
    assert bot.risk == {"max_drawdown_pct": 10.0, "stop_loss_atr": 2.0}
    assert BotSettings(id="b").risk == {}


def test_bad_risk_fields_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        BotSettings(id="b", risk={"stop_loss_pct": -1, "max_dd": 5,
                                  "take_profit_pct": 2, "take_profit_atr": 1})
    text = str(caught.value)
    assert "risk setting 'stop_loss_pct'" in text
    assert "was -1" in text
    assert "unknown risk setting 'max_dd'" in text


def test_config_check_explains_bad_risk(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    config = tmp_path / "binbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[[bots]]\nid = "a"\n'
                      '[bots.risk]\ntake_profit_pct = 2\ntake_profit_atr = 1\n'
                      '[[bots]]\nid = "b"\nrisk = { daily_loss_pct = 150 }\n', encoding="utf-8")
    assert main(["config", "check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "bots[0].risk:" in err
    assert "bots[1].risk:" in err
    assert "give take_profit_pct or take_profit_atr, not both" in err
    assert "risk setting 'daily_loss_pct'" in err
    assert "was 150" in err
