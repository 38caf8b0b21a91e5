"""Process logging: console (journald under systemd) plus a size-rotated file in the data dir,
both behind a filter that masks secrets in messages, arguments and tracebacks."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from binbot.config.settings import LoggingSettings
from binbot.core.redaction import Redactor

LOG_FORMAT: Final = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
LOG_DIR_NAME: Final = "logs"
ERROR_LEVELS: Final = ("ERROR", "CRITICAL")
# How much of the end of a log file `recent_errors` reads; enough for hundreds of lines.
_TAIL_BYTES: Final = 1 << 20


class RedactingFilter(logging.Filter):
    """Formats each record once, masks secrets in the result and in its traceback.

    Attached to handlers (not loggers), so records propagated from any library pass through it.
    After it ran, ``record.msg`` is the final masked text and ``record.args`` is empty, so no
    later formatter can re-insert a secret from the arguments.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must still be logged
            message = f"{record.msg!r} (unformattable args)"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info:
            text = record.exc_text or self._formatter.formatException(record.exc_info)
            record.exc_text = self.redactor.redact(text)
            # Formatter.format appends exc_text; without exc_info it cannot re-render the raw one.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotating file whose files (including each new one after rollover) are created 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


@dataclass
class LoggingSetup:
    """What ``setup_logging`` installed; ``close`` removes it again."""

    redactor: Redactor
    log_file: Path
    handlers: list[logging.Handler] = field(default_factory=list)

    def add_secrets(self, *values: str) -> None:
        """Mask values learned while running (listenKeys, generated tokens)."""
        self.redactor.add(*values)

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers.clear()


def log_file_path(settings: LoggingSettings, data_dir: Path) -> Path:
    """Where the file log lives: ``<data_dir>/logs/<file>`` unless ``file`` is absolute."""
    path = Path(settings.file)
    return path if path.is_absolute() else data_dir / LOG_DIR_NAME / path


def setup_logging(
    settings: LoggingSettings,
    data_dir: Path,
    secrets: Iterable[str],
    console: bool = True,
    *,
    stream: TextIO | None = None,
) -> LoggingSetup:
    """Install console and rotating-file handlers on the root logger.

    Replaces handlers from an earlier call (so a CLI command may call it once more after loading
    the config). ``stream`` defaults to stderr, which systemd sends to the journal.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_binbot", False):
            root.removeHandler(handler)
            handler.close()

    redactor = Redactor(secrets)
    redacting = RedactingFilter(redactor)
    formatter = logging.Formatter(LOG_FORMAT)
    log_file = log_file_path(settings, data_dir)
    log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    handlers: list[logging.Handler] = [
        PrivateRotatingFileHandler(
            log_file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
        )
    ]
    if console:
        handlers.append(logging.StreamHandler(stream if stream is not None else sys.stderr))
    for handler in handlers:
        handler.addFilter(redacting)
        handler.setFormatter(formatter)
        handler._binbot = True  # type: ignore[attr-defined]  # marks handlers we own
        root.addHandler(handler)
    root.setLevel(settings.level)
    logging.captureWarnings(True)
    return LoggingSetup(redactor=redactor, log_file=log_file, handlers=handlers)


def recent_errors(log_file: Path, limit: int = 10) -> list[str]:
    """The last ``limit`` ERROR/CRITICAL lines of the file log (rotated file included when the
    current one has fewer), oldest first; empty when there is no log yet."""
    found: deque[str] = deque(maxlen=limit)
    candidates = [log_file.with_name(log_file.name + ".1"), log_file]
    for path in candidates:
        for line in _tail_lines(path):
            fields = line.split(maxsplit=3)
            if len(fields) >= 3 and fields[2] in ERROR_LEVELS:
                found.append(line)
    return list(found)


def _tail_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL_BYTES)
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    # A read that starts mid-file probably starts mid-line.
    return lines[1:] if start > 0 else lines
