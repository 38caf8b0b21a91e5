"""What every subcommand shares: global options, config loading, one-line errors."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pydantic import ValidationError

from binbot.config import Settings, load_settings


class CommandError(Exception):
    """A failure to report on stderr in one line (exit code 1)."""


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, default=None,
                        help="config file (default: ./binbot.toml when it exists)")
    parser.add_argument("--datadir", type=Path, default=None,
                        help="where binbot writes its database, logs and secrets")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs and tracebacks")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the config named by ``--config`` (or ./binbot.toml), applying ``--datadir``."""
    config: Path | None = args.config
    if config is None and Path("binbot.toml").is_file():
        config = Path("binbot.toml")
    overrides = {"data_dir": args.datadir} if args.datadir is not None else {}
    try:
        return load_settings(config, **overrides)
    except FileNotFoundError as e:
        raise CommandError(str(e)) from e
    except ValidationError as e:
        from binbot.config.errors import explain_validation_error

        raise CommandError(explain_validation_error(e, config)) from e


def configure_console_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
