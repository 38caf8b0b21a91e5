#!/usr/bin/env bash
# Install or update binbot from the checkout this script lives in, as a systemd service.
#
# Every step first checks whether it is already done, so a second run with the same checkout
# changes nothing and says "no changes". An update builds the new release next to the old one,
# backs up the database, migrates it, restarts the service and waits for the health endpoint;
# if any of that fails it switches back to the previous release and its database backup.
#
# Layout (defaults):
#   /opt/binbot/releases/<version>-<hash>/   one virtualenv per release (kept for rollback)
#   /opt/binbot/current -> releases/...       what the service runs
#   /opt/binbot/previous -> releases/...      what a rollback returns to
#   /etc/binbot/binbot.toml                   the user's config (created once, never overwritten)
#   /etc/binbot/credentials/binbot.env        secrets, root-only; systemd hands them to binbot
#   /var/lib/binbot/                          data: database, file log, backups/ (0700, service user)
set -euo pipefail
shopt -s nullglob

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_DIR

PREFIX=/opt/binbot
PREFIX_GIVEN=0
SERVICE_USER=binbot
CONFIG_DIR=""
DATA_DIR=""
USE_SYSTEMD=1
PYTHON=""
PIP_ARGS=""
SYSTEM_SITE_PACKAGES=0
UNIT_DIR=/etc/systemd/system
SERVICE=binbot
HEALTH_TIMEOUT=90
KEEP_RELEASES=3

CHANGES=()
RUNTIME_CREDS=""
EFFECTIVE_CONFIG=""

usage() {
  cat <<EOF
Usage: sudo $0 [options]

Install or update binbot from $REPO_DIR as a systemd service.
Running it again with the same checkout changes nothing.

Options:
  --prefix DIR        install root (default /opt/binbot)
  --user NAME         system user the service runs as (default binbot; created if missing)
  --config-dir DIR    where binbot.toml and credentials/ live
                      (default /etc/binbot, or PREFIX/etc when --prefix is given)
  --data-dir DIR      database, file log and backups
                      (default /var/lib/binbot, or PREFIX/data when --prefix is given)
  --python PATH       Python 3.11+ used for the virtualenv (default: /usr/bin/python3, else a python3.1x)
  --pip-args ARGS     extra arguments for 'pip install' (e.g. "--no-index --find-links /wheels")
  --system-site-packages
                      let the virtualenv see the interpreter's packages (tests, offline installs)
  --service NAME      systemd unit name (default binbot)
  --unit-dir DIR      where the unit is installed (default /etc/systemd/system)
  --health-timeout S  seconds to wait for the health endpoint after a restart (default 90)
  --no-systemd        containers and tests: do not install the unit in systemd, do not
                      start/stop the service nor wait for its health endpoint; the rendered
                      unit is written to PREFIX/systemd/ for inspection
  -h, --help          show this help
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
changed() { CHANGES+=("$1"); say "  * $1"; }

need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "option $1 needs a value (see --help)"; fi
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --prefix) need_value "$@"; PREFIX="$2"; PREFIX_GIVEN=1; shift 2 ;;
      --user) need_value "$@"; SERVICE_USER="$2"; shift 2 ;;
      --config-dir) need_value "$@"; CONFIG_DIR="$2"; shift 2 ;;
      --data-dir) need_value "$@"; DATA_DIR="$2"; shift 2 ;;
      --python) need_value "$@"; PYTHON="$2"; shift 2 ;;
      --pip-args) need_value "$@"; PIP_ARGS="$2"; shift 2 ;;
      --system-site-packages) SYSTEM_SITE_PACKAGES=1; shift ;;
      --service) need_value "$@"; SERVICE="$2"; shift 2 ;;
      --unit-dir) need_value "$@"; UNIT_DIR="$2"; shift 2 ;;
      --health-timeout) need_value "$@"; HEALTH_TIMEOUT="$2"; shift 2 ;;
      --no-systemd) USE_SYSTEMD=0; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
  done
  if [ "$PREFIX_GIVEN" = 1 ]; then
    : "${CONFIG_DIR:=$PREFIX/etc}" "${DATA_DIR:=$PREFIX/data}"
  else
    : "${CONFIG_DIR:=/etc/binbot}" "${DATA_DIR:=/var/lib/binbot}"
  fi
}

# Paths end up unquoted in the unit file and in sed replacements: keep them plain.
check_path() {
  local name="$1" path="$2"
  [[ "$path" == /* ]] || die "$name must be an absolute path: $path"
  [[ "$path" =~ ^[A-Za-z0-9._/+@-]+$ ]] || die "$name may only contain letters, digits and ._/+@-: $path"
  [ "$path" != / ] || die "$name cannot be /"
}

check_inputs() {
  [ "$(id -u)" = 0 ] || die "run as root (sudo $0): it creates a system user and installs a service"
  check_path --prefix "$PREFIX"
  check_path --config-dir "$CONFIG_DIR"
  check_path --data-dir "$DATA_DIR"
  check_path --unit-dir "$UNIT_DIR"
  PREFIX="${PREFIX%/}" CONFIG_DIR="${CONFIG_DIR%/}" DATA_DIR="${DATA_DIR%/}"
  [[ "$SERVICE_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "invalid user name: $SERVICE_USER"
  [ "$SERVICE_USER" != root ] || die "binbot must not run as root"
  [[ "$SERVICE" =~ ^[A-Za-z0-9_.@-]+$ ]] || die "invalid service name: $SERVICE"
  [[ "$HEALTH_TIMEOUT" =~ ^[0-9]+$ ]] || die "--health-timeout takes whole seconds"
  if [ ! -f "$REPO_DIR/pyproject.toml" ] || [ ! -f "$REPO_DIR/binbot.example.toml" ]; then
    die "$REPO_DIR does not look like a binbot checkout"
  fi
  [ -f "$SCRIPT_DIR/binbot.service" ] || die "missing unit template $SCRIPT_DIR/binbot.service"
  command -v runuser >/dev/null || die "runuser (util-linux) is required"
  if [ "$USE_SYSTEMD" = 1 ]; then
    command -v systemctl >/dev/null || die "systemctl not found; use --no-systemd in containers"
    # The unit hides these trees from the service (ProtectHome=, PrivateTmp=).
    local path
    for path in "$PREFIX" "$DATA_DIR" "$CONFIG_DIR"; do
      case "$path/" in
        /home/*|/root/*|/run/user/*|/tmp/*|/var/tmp/*)
          die "$path is invisible to the sandboxed service (ProtectHome/PrivateTmp); pick another" ;;
      esac
    done
  fi
}

# --- Python ----------------------------------------------------------------------------------

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

# The service user must be able to run the interpreter the virtualenv links to (a pyenv build
# under /root is not).
python_usable() {
  local real
  real="$("$1" -c 'import sys; print(sys.executable)' 2>/dev/null)" || return 1
  runuser -u "$SERVICE_USER" -- "$real" -c '' 2>/dev/null
}

pick_python() {
  if [ -n "$PYTHON" ]; then
    command -v "$PYTHON" >/dev/null || die "--python $PYTHON not found"
    python_ok "$PYTHON" || die "$PYTHON is older than Python 3.11, which binbot needs"
    python_usable "$PYTHON" \
      || die "user $SERVICE_USER cannot run $PYTHON (inside /root?); pass e.g. --python /usr/bin/python3"
  else
    local candidate
    # The distribution's build first: profile-guided and link-time optimised (faster).
    for candidate in /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 \
        /usr/bin/python3.11 python3 python3.13 python3.12 python3.11; do
      if command -v "$candidate" >/dev/null && python_ok "$candidate" \
          && python_usable "$candidate"; then
        PYTHON="$candidate"
        break
      fi
    done
    [ -n "$PYTHON" ] || die "binbot needs Python 3.11 or newer; on Ubuntu 22.04:
  sudo apt-get install -y python3.11 python3.11-venv   (then re-run with --python python3.11)"
  fi
  PYTHON="$(command -v "$PYTHON")"
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    local pkg
    pkg="python$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    command -v apt-get >/dev/null || die "$PYTHON cannot create virtualenvs (install $pkg)"
    say "installing $pkg (virtualenv support)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null \
      || die "apt-get install $pkg failed"
    changed "installed $pkg"
  fi
}

# --- releases --------------------------------------------------------------------------------

# A release is named by the package version plus a hash of what gets installed, so the same
# checkout always maps to the same release directory (that is what makes re-runs no-ops).
release_id() {
  local version hash
  version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$REPO_DIR/pyproject.toml" | head -n 1)"
  [ -n "$version" ] || die "no version in $REPO_DIR/pyproject.toml"
  # The interpreter and install options are part of what a release is.
  hash="$(
    cd "$REPO_DIR"
    {
      "$PYTHON" -c 'import sys; print(sys.executable, sys.version)'
      printf '%s|%s\n' "$SYSTEM_SITE_PACKAGES" "$PIP_ARGS"
      find src pyproject.toml binbot.example.toml -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-12
  )"
  printf '%s-%s\n' "$version" "$hash"
}

link_target() { if [ -L "$1" ]; then readlink "$1"; fi; }

# Replace a symlink atomically (rename over the old one), so the service never sees it missing.
set_link() {
  local link="$1" target="$2"
  ln -sfn "$target" "$link.tmp.$$"
  mv -Tf "$link.tmp.$$" "$link"
}

build_release() {
  local dir="$PREFIX/releases/$RELEASE"
  RELEASE_DIR="$dir"
  if [ -f "$dir/.complete" ]; then
    return 0
  fi
  say "building release $RELEASE (pip install; this takes a minute)"
  # A half-built release (interrupted run) is rebuilt from scratch: a venv cannot be moved.
  rm -rf "$dir"
  mkdir -p "$PREFIX/releases"
  local venv_args=()
  [ "$SYSTEM_SITE_PACKAGES" = 1 ] && venv_args+=(--system-site-packages)
  "$PYTHON" -m venv "${venv_args[@]}" "$dir"
  local pip_extra=()
  if [ -n "$PIP_ARGS" ]; then read -r -a pip_extra <<<"$PIP_ARGS"; fi
  if ! "$dir/bin/python" -m pip install --disable-pip-version-check --no-input \
      "${pip_extra[@]}" "$REPO_DIR" >"$dir/install.log" 2>&1; then
    tail -n 30 "$dir/install.log" >&2
    die "pip install failed (full log: $dir/install.log)"
  fi
  mkdir -p "$dir/share/binbot" "$dir/share/doc/binbot"
  cp "$REPO_DIR/binbot.example.toml" "$dir/share/binbot/binbot.example.toml"
  if [ -f "$REPO_DIR/docs/operations.md" ]; then
    cp "$REPO_DIR/docs/operations.md" "$dir/share/doc/binbot/operations.md"
  fi
  printf 'release=%s\nsource=%s\nbuilt=%s\n' "$RELEASE" "$REPO_DIR" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/RELEASE"
  chmod -R go-w "$dir"
  touch "$dir/.complete"
  changed "built release $RELEASE in $dir"
}

prune_releases() {
  local keep_current keep_previous count=0 line path
  keep_current="$(link_target "$PREFIX/current")"
  keep_previous="$(link_target "$PREFIX/previous")"
  # Newest first by build time; current and previous are never removed.
  while IFS= read -r line; do
    path="${line#* }"
    path="${path%/.complete}"
    count=$((count + 1))
    if [ "$count" -le "$KEEP_RELEASES" ] || [ "$path" = "$keep_current" ] \
        || [ "$path" = "$keep_previous" ]; then
      continue
    fi
    rm -rf "$path"
    changed "removed old release $(basename "$path")"
  done < <(find "$PREFIX/releases" -mindepth 2 -maxdepth 2 -name .complete -printf '%T@ %p\n' \
             | sort -rn)
}

# --- user, directories, config ---------------------------------------------------------------

ensure_user() {
  if ! getent passwd "$SERVICE_USER" >/dev/null; then
    local nologin
    nologin="$(command -v nologin || echo /usr/sbin/nologin)"
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
      --shell "$nologin" --comment "binbot service" "$SERVICE_USER"
    changed "created system user $SERVICE_USER"
  fi
  SERVICE_GROUP="$(id -gn "$SERVICE_USER")"
}

# ensure_dir PATH MODE OWNER GROUP: create it or fix its mode and owner.
ensure_dir() {
  local path="$1" mode="$2" owner="$3" group="$4"
  if [ ! -d "$path" ]; then
    install -d -m "$mode" -o "$owner" -g "$group" "$path"
    changed "created $path"
    return 0
  fi
  local actual
  actual="$(stat -c '%a %U %G' "$path")"
  if [ "$actual" != "${mode#0} $owner $group" ]; then
    chmod "$mode" "$path"
    chown "$owner:$group" "$path"
    changed "fixed mode/owner of $path (was $actual)"
  fi
}

ensure_dirs() {
  ensure_dir "$PREFIX" 0755 root root
  ensure_dir "$PREFIX/releases" 0755 root root
  ensure_dir "$CONFIG_DIR" 0750 root "$SERVICE_GROUP"
  # Only root reads the secrets; systemd copies them into the unit's private credentials dir.
  ensure_dir "$CONFIG_DIR/credentials" 0700 root root
  ensure_dir "$DATA_DIR" 0700 "$SERVICE_USER" "$SERVICE_GROUP"
  ensure_dir "$DATA_DIR/backups" 0700 "$SERVICE_USER" "$SERVICE_GROUP"
  # Files left behind by commands run as root would be unwritable for the service.
  local stray
  stray="$(find "$DATA_DIR" ! -user "$SERVICE_USER" -print -quit)"
  if [ -n "$stray" ]; then
    chown -R "$SERVICE_USER:$SERVICE_GROUP" "$DATA_DIR"
    changed "gave $SERVICE_USER ownership of files in $DATA_DIR (e.g. $stray)"
  fi
}

CONFIG_FILE=""
CREDENTIALS_FILE=""

ensure_config() {
  CONFIG_FILE="$CONFIG_DIR/binbot.toml"
  CREDENTIALS_FILE="$CONFIG_DIR/credentials/binbot.env"
  if [ ! -e "$CONFIG_FILE" ]; then
    local tmp="$CONFIG_FILE.tmp.$$"
    # The example's relative data_dir would resolve against the service's working directory;
    # point it at the real data directory instead.
    sed "s|^data_dir *=.*|data_dir = \"$DATA_DIR\"|" "$REPO_DIR/binbot.example.toml" >"$tmp"
    chown "root:$SERVICE_GROUP" "$tmp"
    chmod 0640 "$tmp"
    mv -f "$tmp" "$CONFIG_FILE"
    changed "created $CONFIG_FILE from binbot.example.toml (edit it, then re-run or restart)"
  fi
  if [ ! -e "$CREDENTIALS_FILE" ]; then
    install -m 0600 -o root -g root /dev/null "$CREDENTIALS_FILE"
    cat >"$CREDENTIALS_FILE" <<'EOF'
# binbot secrets in .env syntax, e.g. BINBOT_BINANCE_API_KEY=... and BINBOT_BINANCE_API_SECRET=...
# (testnet keys: BINBOT_BINANCE_TESTNET_API_KEY=...). Readable by root only; systemd passes
# this file to binbot (LoadCredential=), so the values never appear in the unit, the
# environment or `ps`. Restart binbot after editing (systemctl restart binbot).
EOF
    changed "created $CREDENTIALS_FILE (root-only, for secrets)"
  fi
}

# Show the options the example of this release documents that the user's config lacks (table
# and key paths; [[bots]] entries are the user's own and are not compared).
report_new_options() {
  local missing
  missing="$("$RELEASE_DIR/bin/python" - "$RELEASE_DIR/share/binbot/binbot.example.toml" \
      "$CONFIG_FILE" <<'PY'
import sys
import tomllib


def keys(table, prefix=""):
    found = set()
    for name, value in table.items():
        path = f"{prefix}{name}"
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found.add(path)
        elif isinstance(value, dict) and not path.startswith("bots"):
            found.add(f"[{path}]")
            found |= keys(value, f"{path}.")
        else:
            found.add(path)
    return found


with open(sys.argv[1], "rb") as example_file, open(sys.argv[2], "rb") as user_file:
    example, user = tomllib.load(example_file), tomllib.load(user_file)
for key in sorted(keys(example) - keys(user)):
    print(key)
PY
)" || { warn "could not compare $CONFIG_FILE with the example (is it valid TOML?)"; return 0; }
  if [ -n "$missing" ]; then
    say "Options documented in this version's binbot.example.toml that $CONFIG_FILE does not set"
    say "(their defaults apply; see $RELEASE_DIR/share/binbot/binbot.example.toml):"
    printf '%s\n' "$missing" | sed 's/^/    /'
  fi
}

# --- running binbot as the service user ------------------------------------------------------

cleanup() {
  if [ -n "$RUNTIME_CREDS" ] && [ -d "$RUNTIME_CREDS" ]; then rm -rf "$RUNTIME_CREDS"; fi
  if [ -n "$EFFECTIVE_CONFIG" ]; then rm -f "$EFFECTIVE_CONFIG"; fi
}

# Mirror what systemd gives the service: its user, data dir, umask and a private copy of the
# credentials (the original is root-only).
prepare_runtime_creds() {
  RUNTIME_CREDS="$(mktemp -d /tmp/binbot-creds.XXXXXX)"
  install -m 0400 -o "$SERVICE_USER" -g "$SERVICE_GROUP" "$CREDENTIALS_FILE" \
    "$RUNTIME_CREDS/binbot.env"
  chown "$SERVICE_USER:$SERVICE_GROUP" "$RUNTIME_CREDS"
  chmod 0500 "$RUNTIME_CREDS"
}

# as_service RELEASE_DIR ARGS...: run that release's binbot CLI as the service user.
as_service() {
  local release="$1"
  shift
  (
    cd "$DATA_DIR"
    umask 0077
    runuser -u "$SERVICE_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$DATA_DIR" \
      LANG=C.UTF-8 BINBOT_DATA_DIR="$DATA_DIR" CREDENTIALS_DIRECTORY="$RUNTIME_CREDS" \
      "$release/bin/binbot" "$@"
  )
}

# has_db_action RELEASE_DIR ACTION: whether that release has `binbot db ACTION` (older
# releases may lack it). One `db --help` per release: every CLI start costs a second or two.
declare -A DB_HELP=()
has_db_action() {
  local release="$1" action="$2"
  if [ -z "${DB_HELP[$release]+set}" ]; then
    DB_HELP[$release]="$(as_service "$release" db --help 2>/dev/null || true)"
  fi
  # argparse lists each action indented at the start of a line.
  grep -qE "^ +$action( |\$)" <<<"${DB_HELP[$release]}"
}

# Validate the user's config with the new release (before anything is switched) and keep the
# effective settings, secrets masked, for the steps that need a value from them.
check_config() {
  local errors
  EFFECTIVE_CONFIG="$(mktemp /tmp/binbot-config.XXXXXX)"
  errors="$(mktemp /tmp/binbot-config-errors.XXXXXX)"
  if ! as_service "$RELEASE_DIR" config show --config "$CONFIG_FILE" >"$EFFECTIVE_CONFIG" \
      2>"$errors"; then
    cat "$errors" >&2
    rm -f "$errors"
    die "$CONFIG_FILE is not valid for release $RELEASE; fix it and re-run (nothing was switched)"
  fi
  rm -f "$errors"
}

# config_value PYTHON_EXPR: evaluate against the effective config (`c`, as `config show` prints it).
config_value() {
  "$RELEASE_DIR/bin/python" -c "import json, sys; c = json.load(open(sys.argv[1])); print($1)" \
    "$EFFECTIVE_CONFIG"
}

# --- database backup, migration, rollback ----------------------------------------------------

BACKUP_DIR=""

backup_database() {
  local from_release="${1:-$RELEASE_DIR}"
  BACKUP_DIR="$DATA_DIR/backups/$(date -u +%Y%m%dT%H%M%SZ)-before-$RELEASE"
  install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_GROUP" "$BACKUP_DIR"
  local external
  external="$(config_value "bool(c['database'].get('url'))" || echo False)"
  if [ "$external" = True ]; then
    warn "the database is not SQLite (database.url is set): back it up yourself (pg_dump) before" \
      "updating; a rollback restores the code, not that database"
  fi
  # Every SQLite database in the data dir. binbot's own backup (SQLite's online backup API) is
  # used when the installed release has it; otherwise a plain copy with the WAL, which is
  # consistent because the service is stopped.
  local db name copied=0
  for db in "$DATA_DIR"/*.db; do
    name="$(basename "$db")"
    if [ "$name" = binbot.db ] && has_db_action "$from_release" backup; then
      local out
      if ! out="$(as_service "$from_release" db backup --config "$CONFIG_FILE" \
          --output "$BACKUP_DIR/$name" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "binbot db backup failed; nothing was changed"
      fi
    else
      cp -a "$db" "$BACKUP_DIR/"
      if [ -e "$db-wal" ]; then cp -a "$db-wal" "$BACKUP_DIR/"; fi
    fi
    copied=$((copied + 1))
  done
  if [ "$copied" -gt 0 ]; then
    changed "backed up $copied database(s) to $BACKUP_DIR"
  else
    rmdir "$BACKUP_DIR"
    BACKUP_DIR=""
  fi
}

restore_database() {
  [ -n "$BACKUP_DIR" ] && [ -d "$BACKUP_DIR" ] || return 0
  local db name
  for db in "$BACKUP_DIR"/*.db; do
    name="$(basename "$db")"
    # A WAL or shared-memory file of the failed run must not be replayed onto the old file.
    rm -f "$DATA_DIR/$name" "$DATA_DIR/$name-wal" "$DATA_DIR/$name-shm"
    cp -a "$db" "$DATA_DIR/"
    if [ -e "$db-wal" ]; then cp -a "$db-wal" "$DATA_DIR/"; fi
  done
  say "restored the database files from $BACKUP_DIR"
}

migrate_database() {
  if ! has_db_action "$RELEASE_DIR" upgrade; then
    warn "release $RELEASE has no 'binbot db upgrade'; the database is migrated when binbot starts"
    return 0
  fi
  local out
  if ! out="$(as_service "$RELEASE_DIR" db upgrade --config "$CONFIG_FILE" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
  changed "migrated the database with release $RELEASE"
}

# --- systemd ---------------------------------------------------------------------------------

# The deploy lock (fd 9) must not leak into anything systemctl starts.
svc() { systemctl "$@" 9>&-; }

service_active() { svc is-active --quiet "$SERVICE.service"; }

render_unit() {
  local restart=on-failure auto
  auto="$(config_value "c.get('service', {}).get('auto_restart', True)" || echo True)"
  [ "$auto" = False ] && restart=no
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@USER@|$SERVICE_USER|g" -e "s|@GROUP@|$SERVICE_GROUP|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@CONFIG_DIR@|$CONFIG_DIR|g" \
    -e "s|@CONFIG@|$CONFIG_FILE|g" -e "s|@RESTART@|$restart|g" "$SCRIPT_DIR/binbot.service"
}

UNIT_CHANGED=0

install_unit() {
  local target rendered
  if [ "$USE_SYSTEMD" = 1 ]; then
    target="$UNIT_DIR/$SERVICE.service"
  else
    target="$PREFIX/systemd/$SERVICE.service"
    ensure_dir "$PREFIX/systemd" 0755 root root
  fi
  rendered="$(mktemp)"
  render_unit >"$rendered"
  if [ -f "$target" ] && cmp -s "$rendered" "$target"; then
    rm -f "$rendered"
    return 0
  fi
  if [ "$USE_SYSTEMD" = 1 ] && command -v systemd-analyze >/dev/null; then
    local check="${rendered%/*}/$SERVICE.service"
    cp "$rendered" "$check"
    if ! systemd-analyze verify "$check"; then
      rm -f "$rendered" "$check"
      die "the rendered unit does not pass systemd-analyze verify"
    fi
    rm -f "$check"
  fi
  install -m 0644 -o root -g root "$rendered" "$target"
  rm -f "$rendered"
  UNIT_CHANGED=1
  changed "installed unit $target"
  if [ "$USE_SYSTEMD" = 1 ]; then
    svc daemon-reload
  fi
}

health_url() {
  local spec enabled host port
  spec="$(config_value "'%s %s %s' % (c['api']['enabled'], c['api']['host'], c['api']['port'])")" \
    || return 1
  read -r enabled host port <<<"$spec"
  [ "$enabled" = True ] || return 1
  case "$host" in
    0.0.0.0|::|localhost|"") host=127.0.0.1 ;;
    *:*) host="[$host]" ;;
  esac
  printf 'http://%s:%s/api/v1/health\n' "$host" "$port"
}

# Wait until the service answers its health endpoint with 200 (or, with the API disabled,
# stays up for 10 seconds); fail early when systemd reports the unit failed.
wait_healthy() {
  local url deadline
  url="$(health_url || true)"
  deadline=$((SECONDS + HEALTH_TIMEOUT))
  say "waiting up to ${HEALTH_TIMEOUT}s for $SERVICE${url:+ to answer $url}"
  if [ -z "$url" ]; then
    sleep 10
    service_active
    return
  fi
  while [ "$SECONDS" -lt "$deadline" ]; do
    if svc is-failed --quiet "$SERVICE.service"; then
      return 1
    fi
    if probe_health "$url"; then
      return 0
    fi
    sleep 2
  done
  return 1
}

probe_health() {
  "$PREFIX/current/bin/python" - "$1" <<'PY'
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
PY
}

# --- the steps -------------------------------------------------------------------------------

ROLLBACK_TO=""

rollback() {
  local reason="$1"
  warn "$reason"
  if [ "$USE_SYSTEMD" = 1 ]; then
    journalctl -u "$SERVICE.service" -n 40 --no-pager >&2 2>/dev/null || true
    svc stop "$SERVICE.service" 2>/dev/null || true
  fi
  if [ -z "$ROLLBACK_TO" ]; then
    die "first install failed and there is no previous release to return to; see the log above"
  fi
  set_link "$PREFIX/current" "$ROLLBACK_TO"
  restore_database
  rm -f "$PREFIX/.migrated-release"
  [ -f "$ROLLBACK_TO/.migrated" ] && cp "$ROLLBACK_TO/.migrated" "$PREFIX/.migrated-release"
  say "rolled back to $(basename "$ROLLBACK_TO")"
  if [ "$USE_SYSTEMD" = 1 ]; then
    svc reset-failed "$SERVICE.service" 2>/dev/null || true
    svc start "$SERVICE.service" || true
    if wait_healthy; then
      say "the previous release is running again"
    else
      warn "the previous release did not come back healthy either; check journalctl -u $SERVICE"
    fi
  fi
  die "update to $RELEASE failed and was rolled back"
}

switch_release() {
  local current
  current="$(link_target "$PREFIX/current")"
  local migrated=""
  [ -f "$PREFIX/.migrated-release" ] && migrated="$(cat "$PREFIX/.migrated-release")"
  if [ "$current" = "$RELEASE_DIR" ] && [ "$migrated" = "$RELEASE" ]; then
    return 0
  fi
  SWITCHED=1
  if [ "$USE_SYSTEMD" = 1 ] && service_active; then
    say "stopping $SERVICE for the database backup and migration"
    svc stop "$SERVICE.service"
  fi
  local old_release=""
  [ -n "$current" ] && [ -f "$current/.complete" ] && old_release="$current"
  backup_database "$old_release"
  if [ "$current" != "$RELEASE_DIR" ]; then
    if [ -n "$old_release" ]; then
      set_link "$PREFIX/previous" "$old_release"
      ROLLBACK_TO="$old_release"
    fi
    set_link "$PREFIX/current" "$RELEASE_DIR"
    changed "switched $PREFIX/current to $RELEASE${old_release:+ (previous: $(basename "$old_release"))}"
  else
    ROLLBACK_TO="$(link_target "$PREFIX/previous")"
  fi
  if ! migrate_database; then
    rollback "the database migration failed"
  fi
  printf '%s\n' "$RELEASE" >"$PREFIX/.migrated-release"
  printf '%s\n' "$RELEASE" >"$RELEASE_DIR/.migrated"
}

restart_service() {
  [ "$USE_SYSTEMD" = 1 ] || return 0
  if ! svc is-enabled --quiet "$SERVICE.service" 2>/dev/null; then
    svc enable --quiet "$SERVICE.service"
    changed "enabled $SERVICE.service at boot"
  fi
  if [ "$SWITCHED" = 1 ] || [ "$UNIT_CHANGED" = 1 ] || ! service_active; then
    svc reset-failed "$SERVICE.service" 2>/dev/null || true
    svc restart "$SERVICE.service"
    if ! wait_healthy; then
      rollback "$SERVICE did not become healthy after the restart"
    fi
    changed "restarted $SERVICE.service (healthy)"
  fi
}

SWITCHED=0
RELEASE=""
RELEASE_DIR=""
SERVICE_GROUP=""

main() {
  parse_args "$@"
  check_inputs
  trap cleanup EXIT
  say "binbot deploy: prefix $PREFIX, user $SERVICE_USER, config $CONFIG_DIR, data $DATA_DIR"
  ensure_user
  pick_python
  ensure_dirs
  # One deploy at a time.
  exec 9>>"$PREFIX/.deploy.lock"
  flock -n 9 || die "another deploy is running (lock $PREFIX/.deploy.lock)"
  RELEASE="$(release_id)"
  build_release
  ensure_config
  prepare_runtime_creds
  check_config
  report_new_options
  switch_release
  install_unit
  restart_service
  prune_releases
  if [ ${#CHANGES[@]} -eq 0 ]; then
    say "no changes: release $RELEASE is installed and up to date"
  else
    say "done: release $RELEASE (${#CHANGES[@]} change(s))"
  fi
}

main "$@"
