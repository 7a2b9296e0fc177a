#!/usr/bin/env bash
# Installs whatever the registry needs on this machine and is missing: Debian packages,
# the FerretDB binary (cached in .tools/, ignored by git) and the npm packages.
# Usage: scripts/ensure-deps.sh [--test]   (--test also brings the browser and PDF tools)
set -euo pipefail
cd "$(dirname "$0")/.."

FERRETDB_VERSION=v1.24.2
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '[setup] %s\n' "$*" >&2; }

apt_missing=()
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
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

# FerretDB is only needed when no external MongoDB is configured (tests always use it).
if [ ! -x .tools/bin/ferretdb ] && { [ "$want_test" = 1 ] || [ -z "${MONGODB_URI:-}" ]; }; then
  command -v go >/dev/null 2>&1 || { say "Go is needed to build FerretDB ${FERRETDB_VERSION}"; exit 1; }
  say "building FerretDB ${FERRETDB_VERSION} (first run only)"
  # A plain `go install …@version` builds a binary that panics at start: FerretDB embeds
  # build/version/version.txt, which its release tooling generates and the module lacks.
  # So fetch the module through the Go module proxy, add that file, and build it.
  src_dir=$(go mod download -json "github.com/FerretDB/FerretDB@${FERRETDB_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src_dir" ] || { say "could not download FerretDB ${FERRETDB_VERSION}"; exit 1; }
  build_dir=$(mktemp -d)
  cp -r "$src_dir/." "$build_dir"
  chmod -R u+w "$build_dir"
  echo "$FERRETDB_VERSION" > "$build_dir/build/version/version.txt"
  mkdir -p .tools/bin
  (cd "$build_dir" && go build -o "$OLDPWD/.tools/bin/ferretdb" ./cmd/ferretdb)
  rm -rf "$build_dir"
fi

# npm packages: reinstall when the lock file changed since the last install.
stamp=node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
