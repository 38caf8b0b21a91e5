"""deploy/auto_deploy.sh as a server runs it: as root, with a real system user, pip-installing the
checkout into a versioned virtualenv. ``--no-systemd`` skips only the service manager.

The script runs on a snapshot of the checkout (other work in the tree must not change the
release under the test), into a temporary prefix, with a throwaway user removed afterwards.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path("deploy") / "auto_deploy.sh"
SNAPSHOT_PARTS = ("src", "deploy", "docs", "pyproject.toml", "binbot.example.toml", "README.md")
NEW_OPTION = "[market_data]\nstale_after_s = 15.0\n\n"
USER_PREFIX = "binbot-test-"
ROOT_PREFIX = "binbot-deploy-test-"
STALE_AFTER_S = 2 * 3600


def run(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def test_help_lists_the_options() -> None:
    done = run("bash", str(REPO / SCRIPT), "--help")
    assert done.returncode == 0
    for option in ("--prefix", "--user", "--config-dir", "--data-dir", "--no-systemd",
                   "--python", "--pip-args"):
        assert option in done.stdout


def test_unknown_option_is_refused() -> None:
    done = run("bash", str(REPO / SCRIPT), "--frobnicate")
    assert done.returncode != 0
    assert "unknown option: --frobnicate" in done.stderr


def test_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    done = run(shellcheck, str(REPO / SCRIPT))
    assert done.returncode == 0, done.stdout


# --- the real thing (root only) -----------------------------------------------------------------


def service_python(user: str) -> str | None:
    """A Python >= 3.11 with venv support that the service user can execute."""
    for candidate in ("/usr/bin/python3", "/usr/bin/python3.13", "/usr/bin/python3.12",
                      "/usr/bin/python3.11"):
        if not os.access(candidate, os.X_OK):
            continue
        check = "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"
        if run("runuser", "-u", user, "--", candidate, "-c", check).returncode == 0:
            return candidate
    return None


@dataclass
class Deployment:
    root: Path
    user: str
    python: str

    @property
    def prefix(self) -> Path:
        return self.root / "opt"

    @property
    def config(self) -> Path:
        return self.prefix / "etc" / "binbot.toml"

    @property
    def data(self) -> Path:
        return self.prefix / "data"

    def snapshot_source(self, name: str) -> Path:
        """Copy the parts of the checkout the deploy reads."""
        target = self.root / name
        target.mkdir()
        for part in SNAPSHOT_PARTS:
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, target / part,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif source.is_file():
                shutil.copy2(source, target / part)
        return target

    def deploy(self, source: Path, succeed: bool = True) -> subprocess.CompletedProcess[str]:
        # --no-compile only skips byte-compiling the dependencies (half of pip's time here);
        # they are still resolved and installed from the package index as on a server.
        done = run("bash", str(source / SCRIPT), "--no-systemd", "--prefix", str(self.prefix),
                   "--user", self.user, "--python", self.python, "--pip-args", "--no-compile")
        report = f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
        assert (done.returncode == 0) == succeed, report
        return done


def remove_user(name: str) -> None:
    run("userdel", name)
    run("groupdel", name)  # already gone when userdel removed the user's own group


def remove_stale_deployments() -> None:
    """Users and folders left by a run that was killed before its cleanup (each test user's home
    is its temporary folder, so a missing or old folder marks it)."""
    for entry in pwd.getpwall():
        home = Path(entry.pw_dir)
        if not (entry.pw_name.startswith(USER_PREFIX) and home.name.startswith(ROOT_PREFIX)):
            continue
        if not home.exists() or time.time() - home.stat().st_mtime > STALE_AFTER_S:
            remove_user(entry.pw_name)
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    if os.geteuid() != 0:
        pytest.skip("the deploy script needs root (it creates a system user); CI runs as root")
    for tool in ("runuser", "useradd", "userdel", "flock"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    remove_stale_deployments()
    # Not under tmp_path: pytest's base dir is 0700 root, which the service user cannot enter.
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir="/tmp"))
    root.chmod(0o755)
    user = f"{USER_PREFIX}{secrets.token_hex(3)}"
    try:
        # The probe needs the user; the script would create it the same way.
        run("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(root),
            "--shell", "/usr/sbin/nologin", user).check_returncode()
        python = service_python(user)
        if python is None:
            pytest.skip("no system Python >= 3.11 with venv support usable by a service user")
        yield Deployment(root, user, python)
    finally:
        remove_user(user)
        shutil.rmtree(root, ignore_errors=True)


def tree_state(*roots: Path) -> dict[str, tuple[object, ...]]:
    """Type, mode, owner, mtime and content hash (or link target) of everything under roots."""
    state: dict[str, tuple[object, ...]] = {}
    for root in roots:
        for path in [root, *sorted(root.rglob("*"))]:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                detail: object = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                detail = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                detail = "dir"
            state[str(path)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode),
                                info.st_uid, info.st_gid, info.st_mtime_ns, detail)
    return state


def owner(path: Path) -> str:
    return pwd.getpwuid(path.stat().st_uid).pw_name


def store_user_data(deployment: Deployment) -> None:
    """What a user has after running binbot a while: an edited config and rows in the DB."""
    with deployment.config.open("a", encoding="utf-8") as config:
        config.write("\n# my own note: keep this file as it is\n")
    text = deployment.config.read_text(encoding="utf-8")
    deployment.config.write_text(text.replace("port = 8080", "port = 8181"), encoding="utf-8")
    database = deployment.data / "binbot.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS deploy_probe (note TEXT)")
        connection.execute("INSERT INTO deploy_probe VALUES ('keep me')")
    connection.close()
    uid = pwd.getpwnam(deployment.user).pw_uid
    for path in deployment.data.rglob("*"):
        os.chown(path, uid, pwd.getpwnam(deployment.user).pw_gid)


def make_update(source: Path) -> None:
    """The next version: a version bump and a newly documented option in the example."""
    pyproject = source / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert version is not None
    pyproject.write_text(text.replace(version[0], f'version = "{version[1]}.post1"', 1),
                         encoding="utf-8")
    example = source / "binbot.example.toml"
    text = example.read_text(encoding="utf-8")
    assert "[market_data]" not in text
    example.write_text(text.replace("[api]\n", NEW_OPTION + "[api]\n", 1), encoding="utf-8")


@pytest.mark.slow
def test_install_rerun_and_update_keep_the_users_config_and_data(
    deployment: Deployment,
) -> None:
    # First install.
    v1 = deployment.snapshot_source("src-v1")
    first = deployment.deploy(v1)
    assert "built release" in first.stdout
    prefix = deployment.prefix
    current = prefix / "current"
    assert current.is_symlink()
    release_v1 = Path(os.readlink(current))
    assert release_v1.parent == prefix / "releases"
    assert (current / "bin" / "binbot").is_file()
    assert deployment.config.is_file()
    assert f'data_dir = "{deployment.data}"' in deployment.config.read_text(encoding="utf-8")
    assert stat.S_IMODE(deployment.config.stat().st_mode) == 0o640
    credentials = prefix / "etc" / "credentials" / "binbot.env"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert owner(credentials) == "root"
    assert stat.S_IMODE(deployment.data.stat().st_mode) == 0o700
    assert owner(deployment.data) == deployment.user
    unit = prefix / "systemd" / "binbot.service"
    assert f"User={deployment.user}" in unit.read_text(encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        verified = run(analyze, "verify", str(unit))
        assert verified.returncode == 0, verified.stderr

    # The user configures binbot and it stores data.
    store_user_data(deployment)
    config_before = deployment.config.read_bytes()
    before = tree_state(prefix)

    # Second run with the same checkout: nothing changes.
    second = deployment.deploy(v1)
    assert "no changes" in second.stdout
    assert "  * " not in second.stdout
    assert tree_state(prefix) == before

    # An update whose migration fails (the database carries a schema revision this binbot does
    # not know) is rolled back: the previous release is current again, the data is intact.
    v2 = deployment.snapshot_source("src-v2")
    make_update(v2)
    database = deployment.data / "binbot.db"
    real_revision = set_schema_revision(database, "9999_from_the_future")
    failed = deployment.deploy(v2, succeed=False)
    assert "built release" in failed.stdout
    assert "rolled back" in failed.stderr
    assert Path(os.readlink(current)) == release_v1
    assert probe_rows(database) == [("keep me",)]
    assert deployment.config.read_bytes() == config_before

    # The operator repairs the cause; the update now goes through (reusing the built release).
    set_schema_revision(database, real_revision)
    third = deployment.deploy(v2)
    assert "built release" not in third.stdout
    assert "market_data.stale_after_s" in third.stdout  # the new option is pointed out
    assert "[market_data]" in third.stdout
    release_v2 = Path(os.readlink(current))
    assert release_v2 != release_v1
    assert Path(os.readlink(prefix / "previous")) == release_v1
    assert release_v1.is_dir()  # kept for the next rollback
    installed = run(str(current / "bin" / "python"), "-c",
                    "import importlib.metadata as m; print(m.version('binbot'))")
    assert installed.stdout.strip().endswith(".post1")
    assert release_v2.name.startswith(installed.stdout.strip() + "-")
    # The user's config is untouched (byte for byte) and the data is still there.
    assert deployment.config.read_bytes() == config_before
    assert probe_rows(database) == [("keep me",)]
    # Each update attempt backed the database up before migrating.
    backups = sorted((deployment.data / "backups").glob("*/binbot.db"))
    assert len(backups) == 2
    assert probe_rows(backups[-1]) == [("keep me",)]

    # And the update, run again, is a no-op too.
    before = tree_state(prefix)
    fourth = deployment.deploy(v2)
    assert "no changes" in fourth.stdout
    assert tree_state(prefix) == before


def probe_rows(database: Path) -> list[tuple[str]]:
    connection = sqlite3.connect(database)
    try:
        rows: list[tuple[str]] = connection.execute("SELECT note FROM deploy_probe").fetchall()
        return rows
    finally:
        connection.close()


def set_schema_revision(database: Path, revision: str) -> str:
    """Stamp the database with ``revision`` (as a newer binbot would); return the old one."""
    connection = sqlite3.connect(database)
    try:
        (old,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        with connection:
            connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        return str(old)
    finally:
        connection.close()
