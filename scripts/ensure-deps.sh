#!/usr/bin/env bash
# Installs whatever the registry needs on this machine and is missing: Debian packages,
# the embedded database (PostgreSQL 15 with DocumentDB built from vendored sources, and the
# FerretDB v2 binary cached in .tools/, ignored by git) and the npm packages.
# Usage: scripts/ensure-deps.sh [--test]   (--test also brings the browser and PDF tools)
set -euo pipefail
cd "$(dirname "$0")/.."

FERRETDB_VERSION=v2.7.0
# Only to read a data/ folder left by the earlier embedded database (FerretDB v1 on SQLite).
FERRETDB_V1_VERSION=v1.24.2
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '[setup] %s\n' "$*" >&2; }

need_db=0
{ [ "$want_test" = 1 ] || [ -z "${MONGODB_URI:-}" ]; } && need_db=1

apt_missing=()
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
if [ "$need_db" = 1 ]; then
  # PostgreSQL 15 and what building DocumentDB needs. The server and its -dev package are
  # installed together so apt keeps them at the same version.
  db_packages=(postgresql-15 postgresql-server-dev-15 libpq-dev postgresql-15-rum postgresql-15-postgis-3
    libpcre2-dev libintelrdfpmath-dev libkrb5-dev cmake pkg-config make gcc)
  for p in "${db_packages[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$st" != "install ok installed" ]; then
      # All of them in one command even if only one is missing: a newer rum or -dev package can
      # need a newer server than the machine came with, and apt then upgrades it alongside.
      apt_missing+=("${db_packages[@]}")
      break
    fi
  done
fi
# Certificates embed a CJK font; tests read PDFs back with pdftotext.
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || apt_missing+=(fonts-wqy-zenhei)
if [ "$want_test" = 1 ]; then
  command -v pdftotext >/dev/null 2>&1 || apt_missing+=(poppler-utils)
  command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
fi
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${apt_missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
  else
    say "missing ${apt_missing[*]} and no apt-get: install them by hand"
    exit 1
  fi
fi

if [ "$need_db" = 1 ]; then
  bash scripts/build-documentdb.sh
  # (Read the version first: `grep -q` in a pipe would end the writer early, failing the pipe.)
  have=$( [ -x .tools/bin/ferretdb ] && .tools/bin/ferretdb --version 2>/dev/null || true)
  if ! grep -qx "version: ${FERRETDB_VERSION}" <<<"$have"; then
    command -v go >/dev/null 2>&1 || { say "Go is needed to build FerretDB ${FERRETDB_VERSION}"; exit 1; }
    say "building FerretDB ${FERRETDB_VERSION} (first run only)"
    mkdir -p .tools/bin
    GOBIN="$PWD/.tools/bin" go install "github.com/FerretDB/FerretDB/v2/cmd/ferretdb@${FERRETDB_VERSION}"
  fi
fi

# A data/ folder from the earlier embedded database is migrated by `npm start`, which reads it
# with the FerretDB v1 it was written by; the test suite's migration test runs that binary too.
if { [ "$want_test" = 1 ] || { [ -d data/ferretdb/sqlite ] && [ -z "${MONGODB_URI:-}" ]; }; } && [ ! -x .tools/bin/ferretdb-v1 ]; then
  command -v go >/dev/null 2>&1 || { say "Go is needed to build FerretDB ${FERRETDB_V1_VERSION}"; exit 1; }
  say "building FerretDB ${FERRETDB_V1_VERSION} to read the old data/ferretdb (once)"
  # A plain `go install …@v1` builds a binary that panics at start: FerretDB v1 embeds
  # build/version/version.txt, which its release tooling generates and the module lacks.
  src_dir=$(go mod download -json "github.com/FerretDB/FerretDB@${FERRETDB_V1_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src_dir" ] || { say "could not download FerretDB ${FERRETDB_V1_VERSION}"; exit 1; }
  build_dir=$(mktemp -d)
  cp -r "$src_dir/." "$build_dir"
  chmod -R u+w "$build_dir"
  echo "$FERRETDB_V1_VERSION" > "$build_dir/build/version/version.txt"
  mkdir -p .tools/bin
  (cd "$build_dir" && go build -o "$OLDPWD/.tools/bin/ferretdb-v1" ./cmd/ferretdb)
  rm -rf "$build_dir"
fi

# npm packages: reinstall when the lock file changed since the last install.
stamp=node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
