# shellcheck shell=bash
# lib.sh: shared helpers for the integration tests (tests/integration/test_*.sh).
#
# Source it first:   . "$(dirname "$0")/lib.sh"
#
# Environment (set by CTest; defaults for running a test by hand from the repo root):
#   SWATH            the binary under test            (default: build/swath)
#   SWATH_SRC        the source tree                  (default: two folders up)
#   SWATH_BUILD_DIR  the build folder (sample plugin) (default: the binary's folder)
#   KEEP_WORK=1      keep the per-test work folder for inspection
#
# Every check prints "ok - NAME" or "FAIL - NAME" plus detail; the last line of
# a test is "N passed, N failed", and the test exits non-zero if any check
# failed, if it ran no check at all, or if it stopped early (die).
#
# Python snippets run with Debian's /usr/bin/python3 (GDAL + numpy; the
# python3 on PATH may lack them) and can `import swt`, a helper module this
# file writes into the work folder (tile bounds, tile reading, comparisons).
set -uo pipefail

SWATH_SRC=${SWATH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SWATH=${SWATH:-$SWATH_SRC/build/swath}
case "$SWATH" in /*) ;; *) SWATH=$PWD/$SWATH ;; esac
SWATH_BUILD_DIR=${SWATH_BUILD_DIR:-$(dirname "$SWATH")}
PY=/usr/bin/python3
GEN="$SWATH_SRC/tests/data/gen_raster.py"
# No .aux.xml files from the GDAL tools we use as oracles.
export GDAL_PAM_ENABLED=NO
export CPL_LOG_ERRORS=OFF

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/swath-$TEST_NAME.XXXXXX") || {
  echo "FAIL - cannot create a work folder"
  echo "0 passed, 1 failed"
  exit 1
}
export PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}"

_PASSED=0
_FAILED=0
_BG_PIDS=()
_ON_EXIT=()
_T0=$(date +%s)

_finish() {
  local rc=$?
  local p
  for p in "${_ON_EXIT[@]}"; do eval "$p" >/dev/null 2>&1; done
  for p in "${_BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "$_PASSED" -eq 0 ] && [ "$_FAILED" -eq 0 ]; then
    echo "FAIL - $TEST_NAME ran no check (exit status $rc)"
    _FAILED=1
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "# work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  echo "# $TEST_NAME took $(($(date +%s) - _T0)) s"
  echo "$_PASSED passed, $_FAILED failed"
  [ "$_FAILED" -eq 0 ] && [ "$_DIED" -eq 0 ] && exit 0
  exit 1
}
_DIED=0
trap _finish EXIT
trap 'exit 130' INT TERM

# Indent detail lines under a check.
_detail() { sed -e 's/^/    /' | head -n "${1:-40}"; }

pass() {
  echo "ok - $1"
  _PASSED=$((_PASSED + 1))
}

# fail NAME [DETAIL...]
fail() {
  local name=$1
  shift
  echo "FAIL - $name"
  [ $# -gt 0 ] && printf '%s\n' "$@" | _detail 60
  _FAILED=$((_FAILED + 1))
  return 0
}

# die NAME [DETAIL...]: a failed precondition; the rest of the test cannot run.
die() {
  fail "$@"
  _DIED=1
  exit 1
}

# check NAME CMD...: passes when CMD exits 0; its output is shown on failure.
check() {
  local name=$1
  shift
  local out
  out=$("$@" 2>&1)
  local rc=$?
  if [ $rc -eq 0 ]; then
    pass "$name"
  else
    fail "$name" "command: $*" "exit status: $rc" "$out"
  fi
  return $rc
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then
    pass "$1"
    return 0
  fi
  fail "$1" "expected: $2" "     got: $3"
  return 1
}

# check_py NAME [ARGS...] <<'EOF' ... EOF: a Python check read from stdin; it
# passes when the script exits 0. Lines it prints are shown as comments (all of
# them on failure). sys.argv[1:] are ARGS.
check_py() {
  local name=$1
  shift
  local out rc
  out=$("$PY" - "$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    pass "$name"
    [ -n "$out" ] && printf '%s\n' "$out" | sed -e 's/^/    # /' | head -n 15
  else
    fail "$name" "exit status: $rc" "$out"
  fi
  return $rc
}

# check_same_tiles NAME DIR_A DIR_B: the .png tiles under both folders
# (their .swath state left out) are the same files, byte for byte, and
# there are some.
check_same_tiles() {
  check_py "$1" "$2" "$3" <<'EOF'
import hashlib, os, sys
def files(root):
    out = {}
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".swath"]
        for f in fs:
            if f.endswith(".png"):
                p = os.path.join(d, f)
                out[os.path.relpath(p, root)] = hashlib.md5(open(p, "rb").read()).hexdigest()
    return out
a, b = files(sys.argv[1]), files(sys.argv[2])
assert a and a == b, (len(a), len(b), sorted(set(a) ^ set(b))[:5])
print(len(a), "tiles")
EOF
}

# py_checks [ARGS...] <<'EOF' ... EOF: a Python script that makes several
# checks with swt.check(name, cond, detail) (printing "ok - "/"FAIL - " lines);
# they are counted here. A script that dies (exception, non-zero exit) counts
# as one more failure.
py_checks() {
  local out rc line
  out=$("$PY" - "$@" 2>&1)
  rc=$?
  while IFS= read -r line; do
    case "$line" in
    "ok - "*) echo "$line"; _PASSED=$((_PASSED + 1)) ;;
    "FAIL - "*) echo "$line"; _FAILED=$((_FAILED + 1)) ;;
    *) echo "    $line" ;;
    esac
  done <<<"$out"
  if [ $rc -ne 0 ]; then fail "python checks ran to the end (exit status $rc)"; fi
  return $rc
}

# py ARGS... <<'EOF': run a Python helper script (not a check).
py() { "$PY" - "$@"; }

# Background processes started by a test are killed on exit.
track_bg() { _BG_PIDS+=("$1"); }

# serve_port LOG: the port of a `swath serve --port 0` writing to LOG, once
# it says so ("... on http://127.0.0.1:PORT/ ..."); empty after 30 s.
serve_port() {
  local p=
  for _ in $(seq 1 300); do
    p=$(sed -n 's/.*on http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$1")
    [ -n "$p" ] && break
    sleep 0.1
  done
  echo "$p"
}

require_swath() {
  [ -x "$SWATH" ] || die "swath binary present" "not executable: $SWATH (set SWATH or build first)"
}

# run_swath ARGS...: run swath with ARGS; sets RUN_RC and leaves stdout and
# stderr in $WORK/run.out and $WORK/run.err (also echoed on failure by callers).
RUN_RC=0
run_swath() {
  "$SWATH" "$@" >"$WORK/run.out" 2>"$WORK/run.err"
  RUN_RC=$?
  return 0
}

# last_run_output: stdout+stderr of the last run_swath, for failure detail.
last_run_output() { tail -n 30 "$WORK/run.out" "$WORK/run.err" 2>/dev/null; }

# check_run NAME EXPECTED_RC ARGS...: run swath and check its exit status.
check_run() {
  local name=$1 want=$2
  shift 2
  run_swath "$@"
  if [ "$RUN_RC" -eq "$want" ]; then
    pass "$name"
    return 0
  fi
  fail "$name" "command: swath $*" "exit status: $RUN_RC (expected $want)" "$(last_run_output)"
  return 1
}

# gen KIND OUT [gen_raster.py options]: deterministic synthetic raster.
gen() {
  local kind=$1 out=$2
  shift 2
  mkdir -p "$(dirname "$out")"
  "$PY" "$GEN" "$kind" "$out" "$@" >"$WORK/gen.log" 2>&1 ||
    die "generate $kind raster $out" "$(cat "$WORK/gen.log")"
}
gen_rgb() { gen rgb "$@"; }
# gen_zurich FILE SIZE: an RGB GeoTIFF of SIZE px of 4.777 m (zoom 15 of
# WebMercatorQuad) in EPSG:3857 over Zurich, on that zoom's pixel grid: what
# the remote tests serve as XYZ/WMS/WMTS tiles.
gen_zurich() { gen_rgb "$1" --size "$2" --crs EPSG:3857 --center 950668,6002678 --res 4.777314267823516; }
gen_dem() { gen dem "$@"; }
gen_bands() { gen bands "$@"; }

# lonlat_bounds RASTER: W,S,E,N of a raster's footprint in EPSG:4326.
lonlat_bounds() {
  "$PY" -c 'import swt, sys; print(",".join("%.9f" % v for v in swt.lonlat_bounds(sys.argv[1])))' "$1"
}

# tile_files DIR EXT: the z/x/y of every tile file under DIR, sorted.
tile_files() {
  (cd "$1" 2>/dev/null && find . -regextype posix-extended -regex "\./[0-9]+/[0-9]+/[0-9]+\.$2" |
    sed -e 's|^\./||' -e "s|\.$2\$||" | sort)
}

# tmp_files DIR: leftover temporary files anywhere under DIR.
tmp_files() { find "$1" -name '*.tmp*' 2>/dev/null; }

# state_db OUT: path of a job's state store.
state_db() { echo "$1/.swath/state.sqlite"; }

cat >"$WORK/swt.py" <<'PYEOF'
"""Helpers for the integration tests: independent tile arithmetic (mercantile
formulas, not swath's), tile reading and pixel comparisons."""
import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")

MERC = 20037508.342789244  # half the Web Mercator world width, metres


def merc_bounds(z, x, y):
    """Tile bounds in EPSG:3857 (XYZ rows counted from the top)."""
    size = 2 * MERC / (1 << z)
    return (-MERC + x * size, MERC - (y + 1) * size, -MERC + (x + 1) * size, MERC - y * size)


def merc_res(z, tile=256):
    return 2 * MERC / (1 << z) / tile


def crs84_bounds(z, x, y):
    """WorldCRS84Quad tile bounds in lon/lat (2x1 tiles at zoom 0)."""
    size = 180.0 / (1 << z)
    return (-180 + x * size, 90 - (y + 1) * size, -180 + (x + 1) * size, 90 - y * size)


def merc_lonlat_bounds(z, x, y):
    n = 1 << z
    def lat(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))
    return (x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def merc_tile_float(lon, lat, z):
    """Fractional tile coordinates of a lon/lat point (mercantile's formula)."""
    n = 1 << z
    x = (lon + 180.0) / 360.0 * n
    s = math.sin(math.radians(lat))
    y = (0.5 - 0.25 * math.log((1 + s) / (1 - s)) / math.pi) * n
    return x, y


def _span(a, b, n):
    """Tile indices whose interior intersects [a, b] (fractional coordinates)."""
    lo = max(0, int(math.floor(a)))
    hi = min(n - 1, int(math.ceil(b)) - 1)
    return range(lo, hi + 1)


def merc_tiles(w, s, e, n, z):
    """Set of (x, y) WebMercatorQuad tiles whose interior meets a lon/lat box
    (w > e crosses the antimeridian)."""
    if w > e:
        return merc_tiles(w, s, 180.0, n, z) | merc_tiles(-180.0, s, e, n, z)
    lat_max = 85.0511287798066
    s, n = max(s, -lat_max), min(n, lat_max)
    x0, y0 = merc_tile_float(w, n, z)
    x1, y1 = merc_tile_float(e, s, z)
    N = 1 << z
    return {(x, y) for x in _span(x0, x1, N) for y in _span(y0, y1, N)}


def crs84_tiles(w, s, e, n, z):
    if w > e:
        return crs84_tiles(w, s, 180.0, n, z) | crs84_tiles(-180.0, s, e, n, z)
    size = 180.0 / (1 << z)
    cols, rows = 2 << z, 1 << z
    return {(x, y) for x in _span((w + 180) / size, (e + 180) / size, cols)
            for y in _span((90 - n) / size, (90 - s) / size, rows)}


def srs(text):
    r = osr.SpatialReference()
    r.SetFromUserInput(text)
    r.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return r


def lonlat_bounds(path):
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform()
    w, h = ds.RasterXSize, ds.RasterYSize
    ct = osr.CoordinateTransformation(srs(ds.GetProjection()), srs("EPSG:4326"))
    return ct.TransformBounds(gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3], 21)


def raster_extent(path):
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform()
    return (gt[0], gt[3] + ds.RasterYSize * gt[5], gt[0] + ds.RasterXSize * gt[1], gt[3]), gt[1]


def box_inside_raster(bounds, bounds_crs, path, margin_px=2.0):
    """True if the box (in bounds_crs) lies fully inside the raster's extent
    shrunk by margin_px source pixels (checked on densified edges)."""
    (x0, y0, x1, y1), res = raster_extent(path)
    m = margin_px * res
    ds = gdal.Open(path)
    ct = osr.CoordinateTransformation(srs(bounds_crs), srs(ds.GetProjection()))
    bx0, by0, bx1, by1 = bounds
    pts = []
    for i in range(21):
        t = i / 20
        pts += [(bx0 + t * (bx1 - bx0), by0), (bx0 + t * (bx1 - bx0), by1),
                (bx0, by0 + t * (by1 - by0)), (bx1, by0 + t * (by1 - by0))]
    for px, py in pts:
        qx, qy, _ = ct.TransformPoint(px, py)
        if not (x0 + m <= qx <= x1 - m and y0 + m <= qy <= y1 - m):
            return False
    return True


def box_misses_raster(bounds, bounds_crs, path, margin_px=2.0):
    """True if the box lies fully outside the raster's extent grown by margin_px."""
    (x0, y0, x1, y1), res = raster_extent(path)
    m = margin_px * res
    ds = gdal.Open(path)
    ct = osr.CoordinateTransformation(srs(bounds_crs), srs(ds.GetProjection()))
    bx0, by0, bx1, by1 = bounds
    xs, ys = [], []
    for i in range(21):
        t = i / 20
        for px, py in ((bx0 + t * (bx1 - bx0), by0), (bx0 + t * (bx1 - bx0), by1),
                       (bx0, by0 + t * (by1 - by0)), (bx1, by0 + t * (by1 - by0))):
            qx, qy, _ = ct.TransformPoint(px, py)
            xs.append(qx)
            ys.append(qy)
    return max(xs) < x0 - m or min(xs) > x1 + m or max(ys) < y0 - m or min(ys) > y1 + m


class Tile:
    """A raster read whole: data bands as float64 [b, h, w], a validity mask
    (alpha > 0, or != nodata), and what the file says about itself."""

    def __init__(self, path):
        ds = gdal.Open(path)
        self.path = path
        self.driver = ds.GetDriver().ShortName
        self.width, self.height, self.count = ds.RasterXSize, ds.RasterYSize, ds.RasterCount
        self.gt = ds.GetGeoTransform(can_return_null=True)
        self.wkt = ds.GetProjection()
        b1 = ds.GetRasterBand(1)
        self.dtype = gdal.GetDataTypeName(b1.DataType)
        arr = ds.ReadAsArray()
        if arr.ndim == 2:
            arr = arr[None]
        self.raw = arr
        last = ds.GetRasterBand(self.count)
        self.has_alpha = self.count > 1 and last.GetColorInterpretation() == gdal.GCI_AlphaBand
        if self.has_alpha:
            self.alpha = arr[-1].astype(np.float64)
            self.data = arr[:-1].astype(np.float64)
            self.valid = self.alpha > 0
        else:
            self.alpha = None
            self.data = arr.astype(np.float64)
            nd = b1.GetNoDataValue()
            self.nodata = nd
            if nd is None:
                self.valid = np.ones(arr.shape[1:], bool)
            elif isinstance(nd, float) and math.isnan(nd):
                self.valid = ~np.isnan(self.data[0])
            else:
                self.valid = self.data[0] != nd
        ds = None

    def checksum(self):
        """md5 of the decoded pixels, data hidden under invalid pixels zeroed."""
        d = np.where(self.valid[None], self.data, 0)
        h = hashlib.md5()
        h.update(np.ascontiguousarray(d).tobytes())
        h.update(np.ascontiguousarray(self.valid).tobytes())
        return h.hexdigest()


def tile_path(root, z, x, y, ext):
    return os.path.join(root, str(z), str(x), "%d.%s" % (y, ext))


def list_tiles(root, ext, z=None):
    out = []
    if not os.path.isdir(root):
        return out
    for zd in os.listdir(root):
        if not zd.isdigit() or (z is not None and int(zd) != z):
            continue
        for xd in os.listdir(os.path.join(root, zd)):
            if not xd.isdigit():
                continue
            for f in os.listdir(os.path.join(root, zd, xd)):
                stem, dot, e = f.partition(".")
                if dot and e == ext and stem.isdigit():
                    out.append((int(zd), int(xd), int(stem)))
    return sorted(out)


def checksums(root, ext):
    return {t: Tile(tile_path(root, *t, ext)).checksum() for t in list_tiles(root, ext)}


def stats(root):
    """{relative path: (inode, mtime_ns)} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (st.st_ino, st.st_mtime_ns)
    return out


def run(cmd):
    """Run a command; raise with its output if it fails."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stdout[-2000:]))
    return r.stdout


def gdalwarp(src, dst, bounds, size, t_srs="EPSG:3857", resampling="bilinear", extra=()):
    # -et 0: the exact transform. With gdalwarp's default approximation the
    # result depends on the warped extent (a tile and its metatile differ by a
    # few DN at sharp edges), so oracle jobs set output.warp_error: 0 too.
    run(["gdalwarp", "-q", "-overwrite", "-et", "0", "-t_srs", t_srs, "-te"] + ["%.10f" % v for v in bounds]
        + ["-ts", str(size[0]), str(size[1]), "-r", resampling] + list(extra) + [src, dst])
    return dst


def check(name, cond, detail=""):
    """One check for py_checks: prints ok/FAIL (and detail) and returns cond."""
    print(("ok - " if cond else "FAIL - ") + name, flush=True)
    if detail and (not cond or os.environ.get("SWT_VERBOSE")):
        for line in str(detail).splitlines()[:40]:
            print("    " + line)
    elif detail:
        print("    # " + str(detail).splitlines()[0])
    sys.stdout.flush()
    return bool(cond)


def compare(name, got, want, tol, min_valid_frac=0.0, bands=None):
    """Compare two Tiles on pixels valid in both. Returns (ok, message)."""
    both = got.valid & want.valid
    n = int(both.sum())
    frac = n / both.size
    if got.data.shape[1:] != want.data.shape[1:]:
        return False, "%s: shapes differ %s vs %s" % (name, got.data.shape, want.data.shape)
    nb = min(got.data.shape[0], want.data.shape[0]) if bands is None else bands
    if got.data.shape[0] < nb or want.data.shape[0] < nb:
        return False, "%s: band counts %d vs %d" % (name, got.data.shape[0], want.data.shape[0])
    if frac < min_valid_frac:
        return False, "%s: only %.1f%% of pixels valid in both (need %.0f%%)" % (
            name, 100 * frac, 100 * min_valid_frac)
    if n == 0:
        return True, "%s: no pixel valid in both" % name
    d = np.abs(got.data[:nb] - want.data[:nb])[:, both]
    worst = float(d.max())
    bad = int((d > tol).sum())
    msg = "%s: %d px valid in both, max |diff| %.6g, %d samples over %g" % (name, n, worst, bad, tol)
    return bad == 0, msg
PYEOF

# fault_server NAME MAX_SECONDS ARGS...: tests/faultserver/faultserver.py in
# the background (killed when the test ends; it also stops by itself after
# MAX_SECONDS), logging to $WORK/NAME.log; waits for its ports and prints
# its first port ($WORK/NAME.ports lists them all).
fault_server() {
  local name=$1 max=$2 i
  shift 2
  "$PY" "$SWATH_SRC/tests/faultserver/faultserver.py" serve --port-file "$WORK/$name.ports" \
    --log "$WORK/$name.log" --max-seconds "$max" "$@" >"$WORK/$name.out" 2>&1 &
  track_bg $!
  for i in $(seq 200); do [ -s "$WORK/$name.ports" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.ports" ] || die "fault server $name starts" "$(cat "$WORK/$name.out")"
  sed -n 1p "$WORK/$name.ports" | cut -d' ' -f2
}

# same_tiles A B: the same PNG tile files under A and B ({z}/{x}/{y}.png,
# at least one) with the same decoded pixels; prints how many, or the first
# difference.
same_tiles() {
  "$PY" - "$1" "$2" <<'PY'
import sys, glob, os
import numpy as np
from osgeo import gdal
a, b = sys.argv[1], sys.argv[2]
ta = sorted(os.path.relpath(p, a) for p in glob.glob(a + "/*/*/*.png"))
tb = sorted(os.path.relpath(p, b) for p in glob.glob(b + "/*/*/*.png"))
if ta != tb or not ta:
    print("tile sets differ", len(ta), len(tb)); sys.exit(1)
for t in ta:
    if not np.array_equal(gdal.Open(os.path.join(a, t)).ReadAsArray(), gdal.Open(os.path.join(b, t)).ReadAsArray()):
        print("pixels differ in", t); sys.exit(1)
print(len(ta), "tiles equal")
PY
}

# start_postgres: a throwaway PostgreSQL 15 cluster (with PostGIS available)
# in $WORK/pg, listening on a free loopback port, trust authentication for
# user swath; stopped when the test ends. Sets PG_PORT, PG_CONN (an OGR
# "PG:" connection string to database `swath`, created here) and PG_LIBPQ
# (the same as a libpq conninfo). Runs the
# server as the postgres user when the test runs as root (initdb refuses
# root).
start_postgres() {
  local bin=/usr/lib/postgresql/15/bin as=()
  [ -x "$bin/initdb" ] || die "PostgreSQL 15 is installed" "missing $bin/initdb"
  mkdir -p "$WORK/pg"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$WORK/pg"
    chmod o+x "$WORK"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$WORK/pg/data" -A trust -U swath >"$WORK/pg/initdb.log" 2>&1 ||
    die "initdb" "$(tail -5 "$WORK/pg/initdb.log")"
  PG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -t 60 \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1 ||
    die "PostgreSQL starts" "$(tail -5 "$WORK/pg/log")"
  _ON_EXIT+=("${as[*]} $bin/pg_ctl -D $WORK/pg/data -m immediate stop")
  psql -h 127.0.0.1 -p "$PG_PORT" -U swath -d postgres -qc "CREATE DATABASE swath" >/dev/null &&
    psql -h 127.0.0.1 -p "$PG_PORT" -U swath -d swath -qc "CREATE EXTENSION postgis" >/dev/null ||
    die "database swath with PostGIS" "$(tail -5 "$WORK/pg/log")"
  PG_CONN="PG:host=127.0.0.1 port=$PG_PORT user=swath dbname=swath"
  PG_LIBPQ="host=127.0.0.1 port=$PG_PORT user=swath dbname=swath"
}

# start_pgbouncer: a pgbouncer (Debian's, 1.18) in front of start_postgres'
# server, on a free loopback port, in transaction pooling with a pool of 4
# server connections per database (so clients really share them), any
# database name passed through, trust authentication for user swath;
# stopped when the test ends. Sets PGB_PORT, PGB_CONN (a libpq conninfo to
# database swath through it) and PGB_RESTART, a script that stops it at
# once (SIGTERM: every client and server connection dropped) and starts it
# again on the same port, returning once it accepts connections: callable
# from anywhere (a C driver, a background loop), or as restart_pgbouncer.
# Runs as the postgres user when the test runs as root (pgbouncer refuses).
start_pgbouncer() {
  local bin=/usr/sbin/pgbouncer dir=$WORK/pgb as=""
  [ -x "$bin" ] || die "pgbouncer is installed" "missing $bin (scripts/install-deps.sh)"
  [ -n "${PG_PORT:-}" ] || die "start_pgbouncer after start_postgres"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    chmod o+x "$WORK"
    as="runuser -u postgres --"
  fi
  PGB_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '"swath" ""\n' >"$dir/users.txt"
  printf '%s\n' "[databases]" "* = host=127.0.0.1 port=$PG_PORT" "[pgbouncer]" \
    "listen_addr = 127.0.0.1" "listen_port = $PGB_PORT" "unix_socket_dir =" "auth_type = trust" \
    "auth_file = $dir/users.txt" "pool_mode = transaction" "default_pool_size = 4" \
    "max_client_conn = 200" "logfile = $dir/pgbouncer.log" "pidfile = $dir/pgbouncer.pid" \
    >"$dir/pgbouncer.ini"
  printf '%s\n' '#!/bin/bash' "pid=\$(cat $dir/pgbouncer.pid 2>/dev/null) || exit 0" \
    'kill -TERM "$pid" 2>/dev/null || exit 0' \
    'for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.05; done' \
    'kill -9 "$pid" 2>/dev/null; exit 0' >"$dir/stop.sh"
  printf '%s\n' '#!/bin/bash' "$as $bin -d $dir/pgbouncer.ini || exit 1" \
    'for _ in $(seq 200); do' \
    "  (exec 3<>/dev/tcp/127.0.0.1/$PGB_PORT) 2>/dev/null && exit 0" \
    '  sleep 0.05' 'done' "echo 'pgbouncer does not accept connections on port $PGB_PORT' >&2" \
    'exit 1' >"$dir/start.sh"
  printf '%s\n' '#!/bin/bash' "$dir/stop.sh && exec $dir/start.sh" >"$dir/restart.sh"
  chmod +x "$dir/stop.sh" "$dir/start.sh" "$dir/restart.sh"
  "$dir/start.sh" >"$dir/start.log" 2>&1 ||
    die "pgbouncer starts" "$(cat "$dir/start.log")" "$(tail -5 "$dir/pgbouncer.log" 2>/dev/null)"
  _ON_EXIT+=("$dir/stop.sh")
  PGB_CONN="host=127.0.0.1 port=$PGB_PORT user=swath dbname=swath"
  PGB_RESTART=$dir/restart.sh
}

# restart_pgbouncer: see start_pgbouncer.
restart_pgbouncer() { "$PGB_RESTART"; }
