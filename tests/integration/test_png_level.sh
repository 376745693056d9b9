#!/usr/bin/env bash
# test_png_level.sh: output.compression reaches swath's PNG encoder, and the
# default is the documented level (5, chosen on real imagery: docs/config.md).
#   - a job without `compression` writes the same bytes, tile for tile, as
#     the same job with `compression: "5"`, and other bytes than with "7"
#     (the previous default), "6" and "1";
#   - every tile's IDAT is exactly libdeflate's zlib stream of its own
#     filtered rows at the job's level (the oracle: the rows inflated and
#     deflated again by libdeflate through ctypes), for levels 1, 6 and 9;
#   - level 1 writes more bytes than 6, and 6 more than 9.
. "$(dirname "$0")/lib.sh"
require_swath

gen_rgb "$WORK/data/rgb.tif" --size 512 --res 2
for c in default 1 5 6 7 9; do
  comp=""
  [ "$c" = default ] || comp=", compression: \"$c\""
  cat >"$WORK/$c.yaml" <<EOF
process: convert
inputs: {img: data/rgb.tif}
grid: {name: WebMercatorQuad, metatiling: 2}
zoom: [14, 16]
output: {path: out/$c, format: PNG$comp}
EOF
  check_run "PNG pyramid with compression $c exits 0" 0 run "$WORK/$c.yaml" --workers 2 --no-progress
done

py_checks "$WORK/out" <<'EOF'
import ctypes, ctypes.util, os, struct, sys, zlib
import swt
out = sys.argv[1]

def tiles(c):
    d = os.path.join(out, c)
    return {os.path.relpath(os.path.join(r, f), d): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(d) for f in fs if f.endswith(".png")}

t = {c: tiles(c) for c in ("default", "1", "5", "6", "7", "9")}
swt.check("the pyramid has tiles", len(t["default"]) > 10, len(t["default"]))
swt.check("every job wrote the same tiles", all(set(v) == set(t["default"]) for v in t.values()))
swt.check("the default writes the bytes of compression \"5\", tile for tile",
          t["default"] == t["5"], [k for k in t["5"] if t["5"][k] != t["default"].get(k)][:3])
for c in ("1", "6", "7"):
    diff = sum(t[c][k] != t["default"][k] for k in t[c])
    swt.check("compression \"%s\" writes other bytes than the default (%d of %d tiles differ)"
              % (c, diff, len(t[c])), diff > len(t[c]) // 2)
size = {c: sum(map(len, t[c].values())) for c in t}
swt.check("level 1 > 6 > 9 in bytes", size["1"] > size["6"] > size["9"], size)

# The oracle: libdeflate itself, on the rows the tile carries.
lib = ctypes.CDLL(ctypes.util.find_library("deflate") or "libdeflate.so.0")
lib.libdeflate_alloc_compressor.restype = ctypes.c_void_p
lib.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
lib.libdeflate_zlib_compress.restype = ctypes.c_size_t
lib.libdeflate_zlib_compress.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.c_char_p, ctypes.c_size_t]
lib.libdeflate_free_compressor.argtypes = [ctypes.c_void_p]

def idat(png):
    pos, data = 8, b""
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    return data

for level in (1, 6, 9):
    comp = lib.libdeflate_alloc_compressor(level)
    bad = []
    for k, png in sorted(t[str(level)].items()):
        z = idat(png)
        raw = zlib.decompress(z)
        buf = ctypes.create_string_buffer(len(raw) + 1024)
        n = lib.libdeflate_zlib_compress(comp, raw, len(raw), buf, len(buf))
        if buf.raw[:n] != z:
            bad.append(k)
    lib.libdeflate_free_compressor(comp)
    swt.check("level %d: every tile's IDAT is libdeflate's level-%d stream of its rows" % (level, level),
              not bad, bad[:3])
EOF
