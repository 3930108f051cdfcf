# Shared by the project's scripts: find or install PostgreSQL's server binaries.
# Sourced, not run.

die() { echo "error: $*" >&2; exit 1; }

# True when we may install Debian packages ourselves (root with apt-get).
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

# apt_install "why" PKG...: installs Debian packages quietly, or stops naming what failed.
apt_install() {
  local why="$1"; shift
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed; $why"
}


# Sets PG_BIN to a directory holding initdb, pg_ctl and postgres; installs Debian's postgresql
# package when missing and we are root; otherwise stops with what to install.
ensure_postgres() {
  local d
  for d in $(echo "$PATH" | tr ':' ' ') $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then PG_BIN=$(dirname "$(readlink -f "$d/initdb")"); return 0; fi
  done
  if can_apt; then
    echo "PostgreSQL server binaries not found: installing Debian's postgresql package..." >&2
    apt_install "install PostgreSQL 13+ server binaries and run again" postgresql
    # Debian's package starts a cluster of its own on 5432; we never use it.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
      if [ -x "$d/initdb" ]; then PG_BIN=$(dirname "$(readlink -f "$d/initdb")"); return 0; fi
    done
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin; install them: apt-get install postgresql"
}

# Node.js and npm for the Better Auth interop test; installs Debian's packages when missing and root.
ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if can_apt; then
      echo "Node.js/npm not found: installing Debian's nodejs and npm packages..." >&2
      apt_install "install Node.js 18+ with npm and run again" nodejs npm
    else
      die "Node.js and npm are needed for the Better Auth interop test; install Node.js 18+ with npm"
    fi
  fi
}

# The pinned Better Auth (tests/interop/package-lock.json), installed once into an ignored folder.
ensure_interop_packages() {
  local dir=tests/interop
  if [ ! -f "$dir/node_modules/better-auth/package.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "installing the pinned Better Auth for the interop test (npm ci in $dir)..." >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $dir failed (is the npm registry reachable?)"
  fi
}

# Node.js 20+, which playwright-core (the console's browser test) needs; Debian 12's nodejs is 18.
ensure_node_20() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || major=0
  [ "${major:-0}" -ge 20 ] 2>/dev/null ||
    die "Node.js $(node --version 2>/dev/null || echo '(none)') is too old: the console's browser test (playwright-core) needs Node.js 20 or newer; Debian 12's nodejs package is 18, so install 20+ (e.g. from nodesource.com) and run again"
}

# The pinned playwright-core and htmx.org (tests/browser/package-lock.json) for the console's
# browser test, installed once into an ignored folder; never a browser download (Debian's
# Chromium is used, see ensure_chromium).
ensure_browser_packages() {
  local dir=tests/browser
  ensure_node_20
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ] || [ ! -f "$dir/node_modules/htmx.org/package.json" ] ||
    [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "installing the pinned playwright-core and htmx for the browser test (npm ci in $dir)..." >&2
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
      die "npm ci in $dir failed (is the npm registry reachable?)"
  fi
}

# Debian's Chromium for the console's browser test, with fonts-liberation so screenshots show
# real glyphs. Exports PAYOUT_TEST_CHROMIUM (kept when it already names an executable).
ensure_chromium() {
  if [ -n "${PAYOUT_TEST_CHROMIUM:-}" ] && [ -x "$PAYOUT_TEST_CHROMIUM" ]; then export PAYOUT_TEST_CHROMIUM; return 0; fi
  if ! command -v chromium >/dev/null 2>&1; then
    if can_apt; then
      echo "chromium not found: installing Debian's chromium and fonts-liberation packages..." >&2
      apt_install "install chromium (with fonts-liberation) and run again" chromium fonts-liberation
    fi
    command -v chromium >/dev/null 2>&1 ||
      die "chromium not found: the console's browser test needs Debian's chromium package; install it: apt-get install chromium fonts-liberation"
  fi
  PAYOUT_TEST_CHROMIUM=$(command -v chromium)
  export PAYOUT_TEST_CHROMIUM
}

# pdftotext (poppler-utils): the tests read the receipts and instructions PDFs with it.
ensure_pdftotext() {
  command -v pdftotext >/dev/null 2>&1 && return 0
  if can_apt; then
    echo "pdftotext not found: installing Debian's poppler-utils package..." >&2
    apt_install "install poppler-utils (pdftotext) and run again" poppler-utils
  else
    die "pdftotext not found: install poppler-utils (the tests read the PDFs with it)"
  fi
}

# The pinned Python test tools (tests/tools/requirements.txt: schemathesis, achkit) in a venv
# under target/; installed again only when the pins change. Exports PAYOUT_TEST_PYTHON and
# PAYOUT_TEST_SCHEMATHESIS for the tests that run them.
ensure_python_tools() {
  local venv=target/pytools req=tests/tools/requirements.txt
  command -v python3 >/dev/null 2>&1 || die "python3 not found: install Python 3.9+ (apt-get install python3 python3-venv)"
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if can_apt; then
      echo "python3-venv not found: installing Debian's python3-venv package..." >&2
      apt_install "install it and run again" python3-venv
    else
      die "Python's venv module is missing: install python3-venv"
    fi
  fi
  if [ ! -x "$venv/bin/st" ] || ! cmp -s "$req" "$venv/requirements.installed"; then
    echo "installing the pinned Python test tools into $venv (schemathesis, achkit)..." >&2
    rm -rf "$venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" ||
      die "pip install -r $req failed (is PyPI reachable?)"
    cp "$req" "$venv/requirements.installed"
  fi
  export PAYOUT_TEST_PYTHON="$PWD/$venv/bin/python" PAYOUT_TEST_SCHEMATHESIS="$PWD/$venv/bin/st"
}

ensure_cargo() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (https://rustup.rs) and run again"
}

# Starts a throwaway cluster in $1 (created), sets PG_PORT; runs as 'postgres'/'nobody' when root.
# PG_EXTRA_OPTS adds server options (bench/run loads pg_stat_statements with it).
start_throwaway_postgres() {
  local root="$1" run=()
  mkdir -p "$root"
  if [ "$(id -u)" = 0 ]; then
    local who=postgres; id -u postgres >/dev/null 2>&1 || who=nobody
    chown -R "$who" "$root"; run=(runuser -u "$who" --)
  fi
  "${run[@]}" "$PG_BIN/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null ||
    die "initdb failed"
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$root/data" -l "$root/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c timezone=UTC ${PG_EXTRA_OPTS:-}" start >/dev/null ||
    die "PostgreSQL did not start; see $root/postgres.log"
  PG_STOP=("${run[@]}" "$PG_BIN/pg_ctl" -D "$root/data" -m immediate stop)
}
