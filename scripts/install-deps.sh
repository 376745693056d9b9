#!/usr/bin/env bash
# install-deps.sh: install every Debian package swath needs to build, test and
# benchmark. Idempotent and quiet: when everything is present it prints nothing
# and touches nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libgdal-dev gdal-bin python3-gdal python3-numpy libproj-dev
  libcurl4-openssl-dev libsqlite3-dev sqlite3 libyaml-dev libjansson-dev
  libmicrohttpd-dev libpq-dev libcmocka-dev libmuparser-dev libdeflate-dev libisal-dev libpng-dev libyajl-dev libgoogle-perftools-dev
  postgresql postgresql-15-postgis-3 pgbouncer
  lighttpd lighttpd-mod-openssl openssl cgi-mapserver mapcache-tools mapcache-cgi
  wrk hyperfine time bc curl jq python3-yaml python3-prometheus-client
  lomiri-wallpapers-16.04
  clang libclang-rt-14-dev
  libopencv-dnn-dev libonnx-dev libprotobuf-dev python3-onnx python3-torch
  nodejs chromium
)
# npm: Debian's package, unless the installed nodejs brings its own
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

# The map viewer's npm packages (web/package-lock.json: MapLibre GL JS, and
# playwright-core for its test, which drives Debian's chromium: no browser
# download). npm ci only when web/node_modules is not what the lock says.
web_deps() {
  local web
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
  [ -f "$web/package-lock.json" ] || return 0
  if [ -f "$web/node_modules/.package-lock.json" ] &&
    node -e '
      const a = require(process.argv[1]).packages, b = require(process.argv[2]).packages;
      for (const [k, v] of Object.entries(a)) if (k && (!b[k] || b[k].version !== v.version)) process.exit(1);
    ' "$web/package-lock.json" "$web/node_modules/.package-lock.json" 2>/dev/null; then
    return 0
  fi
  echo "install-deps: npm ci in $web" >&2
  (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
trap web_deps EXIT

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; tests start their own on loopback.
for svc in lighttpd postgresql pgbouncer; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
