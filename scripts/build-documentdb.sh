#!/usr/bin/env bash
# Builds the PostgreSQL extensions the embedded database needs (DocumentDB with its
# dependencies libbson, pg_cron and pgvector) from vendored source tarballs, once, and
# installs them into this machine's PostgreSQL 15. A second run finds the stamp that
# records which sources were installed and does nothing.
#
# Sources: ../shared/vendor beside the project when present, else the folder named by
# REGISTRY_VENDOR_DIR. Each tarball is checked against that folder's SHA256SUMS first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG

vendor_dir=${REGISTRY_VENDOR_DIR:-}
if [ -z "$vendor_dir" ] && [ -f ../shared/vendor/SHA256SUMS ]; then vendor_dir=$(cd ../shared/vendor && pwd); fi
ext_dir=$("$PG_CONFIG" --sharedir)/extension
stamp="$ext_dir/registry-documentdb.stamp"

if [ -f "$stamp" ] && [ -f "$("$PG_CONFIG" --pkglibdir)/pg_documentdb.so" ] \
  && { [ -z "$vendor_dir" ] || cmp -s "$vendor_dir/SHA256SUMS" "$stamp"; }; then
  exit 0
fi
if [ -z "$vendor_dir" ] || [ ! -f "$vendor_dir/SHA256SUMS" ]; then
  say "DocumentDB sources not found: put them in ../shared/vendor or set REGISTRY_VENDOR_DIR (see README)"
  exit 1
fi

say "verifying the vendored sources in $vendor_dir"
(cd "$vendor_dir" && sha256sum --quiet -c SHA256SUMS)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

unpack() { mkdir -p "$work/$2" && tar -xzf "$vendor_dir/$1" -C "$work/$2" --strip-components=1; }

say "building libbson (static, used only while building DocumentDB)"
unpack mongo-c-driver-1.28.0-notests.tar.gz mongo-c-driver
cmake -S "$work/mongo-c-driver" -B "$work/mongo-c-driver/build" -DENABLE_MONGOC=OFF -DENABLE_ICU=OFF \
  -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DCMAKE_C_FLAGS=-fPIC -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$work/prefix" >"$work/libbson.log" 2>&1 || { tail -30 "$work/libbson.log" >&2; exit 1; }
make -s -j"$jobs" -C "$work/mongo-c-driver/build" install >>"$work/libbson.log" 2>&1 || { tail -30 "$work/libbson.log" >&2; exit 1; }

for pkg in pg_cron-1.6.3 pgvector-0.8.0; do
  say "building $pkg"
  unpack "$pkg.tar.gz" "$pkg"
  make -s -j"$jobs" -C "$work/$pkg" >"$work/$pkg.log" 2>&1 || { tail -30 "$work/$pkg.log" >&2; exit 1; }
  $sudo_cmd make -s -C "$work/$pkg" install PG_CONFIG="$PG_CONFIG" >>"$work/$pkg.log" 2>&1 || { tail -30 "$work/$pkg.log" >&2; exit 1; }
done

# Debian's Intel decimal math library ships without a pkg-config file; DocumentDB asks for one.
mkdir -p "$work/pc"
cat >"$work/pc/intelmathlib.pc" <<EOF
Name: intelmathlib
Description: Intel decimal floating-point math library
Version: 2.0
Libs: -L/usr/lib/$(gcc -dumpmachine) -lbidgcc000
Cflags: -I/usr/include
EOF
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

say "building DocumentDB (about a minute and a half)"
unpack documentdb-0.107-0-ferretdb-3f80da90a9.tar.gz documentdb
(
  cd "$work/documentdb"
  make -j"$jobs" -C pg_documentdb_core && make -j"$jobs" -C pg_documentdb
) >"$work/documentdb.log" 2>&1 || { tail -40 "$work/documentdb.log" >&2; exit 1; }
$sudo_cmd env PKG_CONFIG_PATH="$PKG_CONFIG_PATH" make -C "$work/documentdb" install-no-distributed PG_CONFIG="$PG_CONFIG" \
  >>"$work/documentdb.log" 2>&1 || { tail -40 "$work/documentdb.log" >&2; exit 1; }

$sudo_cmd cp "$vendor_dir/SHA256SUMS" "$stamp"
say "DocumentDB installed into PostgreSQL $("$PG_CONFIG" --version)"
