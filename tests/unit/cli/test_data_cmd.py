"""``binbot data ...`` and ``binbot db ...`` end to end through ``main()`` on SQLite."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from binbot.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[3]
KLINES = REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
FILES = [KLINES / "DOTUSDT-1m-2024-11.csv.gz", KLINES / "LINKUSDT-1m-2023-02.csv.gz"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray binbot.toml or .env
    monkeypatch.delenv("BINBOT_DATABASE__URL", raising=False)


def rows_in(path: Path) -> int:
    with gzip.open(path, "rt") as f:
        return sum(1 for _ in f) - 1


def db_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "d" / "binbot.db") as connection:
        return int(connection.execute("SELECT count(*) FROM candles").fetchone()[0])


def test_import_prints_a_summary_and_is_idempotent(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "--datadir", "d", *map(str, FILES)]) == 0
    out = capsys.readouterr().out
    total = sum(rows_in(f) for f in FILES)
    assert f"{total:,}" in out
    assert "DOTUSDT" in out
    assert db_count(tmp_path) == total
    assert main(["data", "import", "--datadir", "d", *map(str, FILES)]) == 0
    assert db_count(tmp_path) == total


def test_import_a_folder_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for f in FILES:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "notes.txt").write_text("not an archive file")
    assert main(["data", "import", "--datadir", "d", str(folder)]) == 0
    capsys.readouterr()
    assert main(["data", "list", "--datadir", "d"]) == 0
    out = capsys.readouterr().out
    assert "LINKUSDT" in out
    assert f"{rows_in(FILES[1]):,}" in out


def test_a_bad_file_fails_the_command_but_not_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "BTCUSDT-1m-2024-01.csv"
    bad.write_text("1704067200000,1,2,0.5,1.5,10,1704067259999,15,3,5,7.5,0\n"
                   "1704067260000,1,2,0.5,oops,10,1704067319999,15,3,5,7.5,0\n")
    assert main(["data", "import", "--datadir", "d", str(bad), str(FILES[0])]) == 1
    captured = capsys.readouterr()
    assert f"{bad}: line 2: close is not a number" in captured.err
    assert "rejected" in captured.out
    assert db_count(tmp_path) == rows_in(FILES[0])


def test_import_with_overrides(tmp_path: Path) -> None:
    plain = tmp_path / "candles.csv"
    plain.write_text("1704067200000,1,2,0.5,1.5,10,1704067259999,15,3,5,7.5,0\n")
    assert main(["data", "import", "--datadir", "d", str(plain)]) == 1
    assert main(["data", "import", "--datadir", "d", "--market", "spot", "--symbol", "ethusdt",
                 "--interval", "1m", str(plain)]) == 0
    with sqlite3.connect(tmp_path / "d" / "binbot.db") as connection:
        assert connection.execute("SELECT market, symbol FROM candles").fetchall() == [
            ("spot", "ETHUSDT")]


def test_export_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "--datadir", "d", str(FILES[0])]) == 0
    base = ["data", "export", "--datadir", "d", "--symbol", "DOTUSDT", "--interval", "1m",
            "--from", "2024-11-02", "--to", "2024-11-03"]
    assert main([*base, "--format", "csv", "--output", "out/day.csv"]) == 0
    lines = (tmp_path / "out" / "day.csv").read_text().splitlines()
    assert lines[0].startswith("open_time,open,high,low,close,volume,close_time")
    assert len(lines) == 1 + 1440
    assert main([*base, "--format", "sql", "--output", "day.sql"]) == 0
    with sqlite3.connect(tmp_path / "loaded.db") as connection:
        connection.executescript((tmp_path / "day.sql").read_text())
        assert connection.execute("SELECT count(*) FROM candles").fetchone()[0] == 1440
        assert connection.execute("SELECT DISTINCT typeof(packed), length(packed) "
                                  "FROM candles").fetchall() == [("blob", 89)]
    assert main([*base, "--format", "sql-postgres", "--output", "day-pg.sql"]) == 0
    assert (tmp_path / "day-pg.sql").read_text().count("'::bytea") == 1440
    assert main([*base, "--format", "parquet", "--output", "day.parquet"]) == 0
    assert (tmp_path / "day.parquet").stat().st_size > 0
    capsys.readouterr()
    assert main(["data", "export", "--datadir", "d", "--symbol", "BTCUSDT", "--interval", "1m",
                 "--output", "none.csv"]) == 1
    assert "no usdm BTCUSDT 1m candles" in capsys.readouterr().err


def test_db_backup_restore_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "--datadir", "d", str(FILES[0])]) == 0
    assert main(["db", "backup", "--datadir", "d", "--output", "b.db"]) == 0
    assert main(["data", "import", "--datadir", "d", str(FILES[1])]) == 0
    assert main(["db", "restore", "--datadir", "d", "b.db"]) == 0
    out = capsys.readouterr().out
    assert "kept the previous database" in out
    assert db_count(tmp_path) == rows_in(FILES[0])
    assert main(["db", "status", "--datadir", "d"]) == 0
    assert "up to date" in capsys.readouterr().out
    (tmp_path / "junk.db").write_text("junk")
    assert main(["db", "restore", "--datadir", "d", "junk.db"]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    assert db_count(tmp_path) == rows_in(FILES[0])


def test_db_backup_on_postgres_prints_the_pg_dump_way(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BINBOT_DATABASE__URL",
                       "postgresql+psycopg://binbot:s3cret@127.0.0.1:5432/binbot")
    assert main(["db", "backup"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err
    assert "s3cret" not in err


def test_bad_times_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["data", "export", "--symbol", "BTCUSDT", "--interval", "1m", "--from", "yesterday",
              "--output", "x.csv"])
    assert "not a date" in capsys.readouterr().err
