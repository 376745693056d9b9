#!/usr/bin/env python3
"""Generate a synthetic Sentinel-2 index in the schema of Google's public
`index.csv.gz` (gs://gcp-public-data-sentinel-2/index.csv.gz), for tests and
benchmarks. Standard library only; deterministic for a given --seed.

  gen_s2_index.py OUT.csv[.gz] [--rows N] [--seed S] [--tiles T]
                  [--start 2015-07-01] [--end 2024-12-31]
                  [--bad K] [--bad-lines FILE] [--base-url-root URL]

Columns, exactly as in Google's index:
  GRANULE_ID,PRODUCT_ID,DATATAKE_IDENTIFIER,MGRS_TILE,SENSING_TIME,TOTAL_SIZE,
  CLOUD_COVER,GEOMETRIC_QUALITY_FLAG,GENERATION_TIME,NORTH_LAT,SOUTH_LAT,
  WEST_LON,EAST_LON,BASE_URL

Shape of the data:
- T pseudo MGRS tiles (default rows/50, at least 1, at most 40000), each a
  box about 1 degree high and 1/cos(lat) degrees wide, at random places
  between 56 S and 76 N. About 1% of the tiles straddle the antimeridian:
  their WEST_LON is greater than their EAST_LON (179.6 .. -179.5).
- Row i observes tile i % T in round i // T; rounds are spread evenly over
  [start, end) with a per-tile jitter, so granule ids are unique.
- Granules sensed before 2016-12-06 use the old ("OPER") naming, as in the
  real index; later ones the compact naming (L1C_T32TMT_A041234_...).
- CLOUD_COVER is uniform in 0..100 (3 decimals); TOTAL_SIZE is empty for
  about 5% of rows; GEOMETRIC_QUALITY_FLAG is PASSED, FAILED or empty.
- --bad K replaces K rows (spread evenly) by malformed lines: a wrong field
  count, a non-numeric cloud cover, a bad date, a latitude out of range.
  Their 1-based line numbers (header = line 1) go to --bad-lines.
- --base-url-root replaces gs://gcp-public-data-sentinel-2 in BASE_URL (the
  colour-statistics tests point it at a local folder).

Output ending in .gz is gzip-compressed (level 1); '-' writes to stdout.
"""
import argparse
import datetime as dt
import gzip
import io
import math
import random
import sys

HEADER = ("GRANULE_ID,PRODUCT_ID,DATATAKE_IDENTIFIER,MGRS_TILE,SENSING_TIME,TOTAL_SIZE,"
          "CLOUD_COVER,GEOMETRIC_QUALITY_FLAG,GENERATION_TIME,NORTH_LAT,SOUTH_LAT,"
          "WEST_LON,EAST_LON,BASE_URL")
BANDS = "CDEFGHJKLMNPQRSTUVWX"  # MGRS latitude bands from 80 S, 8 degrees each
SQUARE = "ABCDEFGHJKLMNPQRSTUVWXYZ"
NEW_NAMING = dt.datetime(2016, 12, 6, tzinfo=dt.timezone.utc)
S2B_START = dt.datetime(2017, 3, 7, tzinfo=dt.timezone.utc)


def make_tiles(rng, n):
    tiles = []
    for k in range(n):
        lat = rng.uniform(-56.0, 76.0)
        height = 0.99
        width = min(3.0, 0.99 / math.cos(math.radians(lat + height / 2)))
        if k % 100 == 57:  # straddles the antimeridian
            west = rng.uniform(180.0 - width + 0.05, 179.95)
        else:
            west = rng.uniform(-180.0, 180.0 - width)
        east = west + width
        if east > 180.0:
            east -= 360.0
        zone = min(60, int((west + 180.0) / 6.0) + 1)
        band = BANDS[min(19, int((lat + 80.0) / 8.0))]
        sq = SQUARE[k % 24] + SQUARE[(k // 24) % 20]
        # Several tiles may share a name when T is large; the granule id
        # stays unique through the orbit number.
        tiles.append((f"{zone:02d}{band}{sq}", lat + height, lat, west, east, rng.random()))
    return tiles


def fmt_time(t, frac=True):
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s + (".%06dZ" % t.microsecond if frac else "")


def compact(t):
    return t.strftime("%Y%m%dT%H%M%S")


def row(i, tiles, rounds, start, span, rng, root):
    t = tiles[i % len(tiles)]
    mgrs, north, south, west, east, phase = t
    rnd = i // len(tiles)
    frac = (rnd + phase) / rounds
    take = start + dt.timedelta(seconds=int(frac * span))
    sensing = take + dt.timedelta(seconds=rng.randint(3, 600), microseconds=rng.randint(0, 999) * 1000)
    gen = sensing + dt.timedelta(hours=rng.randint(1, 30), seconds=rng.randint(0, 3599))
    sat = "S2B" if take >= S2B_START and (i // 7) % 2 else "S2A"
    orbit = 1000 + (i * 7919) % 900000
    rel = 1 + (i % 143)
    if take >= NEW_NAMING:
        pb = "N0%d0%d" % (2 + rnd % 3, rnd % 10)
        product = f"{sat}_MSIL1C_{compact(take)}_{pb}_R{rel:03d}_T{mgrs}_{compact(gen)}"
        granule = f"L1C_T{mgrs}_A{orbit:06d}_{compact(sensing)}"
        datatake = f"G{sat}_{compact(take)}_{orbit:06d}_{pb[0]}{pb[1:3]}.{pb[3:]}"
    else:
        product = (f"{sat}_OPER_PRD_MSIL1C_PDMC_{compact(gen)}_R{rel:03d}_V{compact(take)}_"
                   f"{compact(take)}")
        granule = f"{sat}_OPER_MSI_L1C_TL_SGS__{compact(gen)}_A{orbit:06d}_T{mgrs}_N02.04"
        datatake = f"G{sat}_{compact(take)}_{orbit:06d}_N02.04"
    size = "" if i % 20 == 3 else str(rng.randint(300_000_000, 900_000_000))
    cloud = "%.3f" % rng.uniform(0.0, 100.0)
    gq = ("PASSED", "PASSED", "PASSED", "FAILED", "")[i % 5]
    base = f"{root}/tiles/{int(mgrs[:2])}/{mgrs[2]}/{mgrs[3:]}/{product}.SAFE"
    return (f"{granule},{product},{datatake},{mgrs},{fmt_time(sensing)},{size},{cloud},{gq},"
            f"{fmt_time(gen)},{north:.6f},{south:.6f},{west:.6f},{east:.6f},{base}")


def bad_row(k, good):
    f = good.split(",")
    kind = k % 4
    if kind == 0:
        return ",".join(f[:9])  # wrong field count
    if kind == 1:
        f[6] = "cloudy"
    elif kind == 2:
        f[4] = "2020-13-45T99:00:00Z"
    else:
        f[9] = "123.5"  # latitude out of range
    return ",".join(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tiles", type=int, default=0)
    ap.add_argument("--start", default="2015-07-01")
    ap.add_argument("--end", default="2024-12-31")
    ap.add_argument("--bad", type=int, default=0)
    ap.add_argument("--bad-lines")
    ap.add_argument("--base-url-root", default="gs://gcp-public-data-sentinel-2")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    ntiles = a.tiles or max(1, min(40000, a.rows // 50))
    tiles = make_tiles(rng, ntiles)
    start = dt.datetime.fromisoformat(a.start).replace(tzinfo=dt.timezone.utc)
    end = dt.datetime.fromisoformat(a.end).replace(tzinfo=dt.timezone.utc)
    span = (end - start).total_seconds()
    rounds = max(1, math.ceil(a.rows / ntiles))
    bad_at = set()
    if a.bad:
        step = max(1, a.rows // a.bad)
        bad_at = {step // 2 + k * step for k in range(a.bad) if step // 2 + k * step < a.rows}

    if a.out == "-":
        out = sys.stdout
    elif a.out.endswith(".gz"):
        out = io.TextIOWrapper(gzip.open(a.out, "wb", compresslevel=1), encoding="ascii")
    else:
        out = open(a.out, "w", encoding="ascii")
    out.write(HEADER + "\n")
    bad_lines = []
    buf = []
    for i in range(a.rows):
        line = row(i, tiles, rounds, start, span, rng, a.base_url_root)
        if i in bad_at:
            line = bad_row(len(bad_lines), line)
            bad_lines.append(i + 2)
        buf.append(line)
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    if out is not sys.stdout:
        out.close()
    if a.bad_lines:
        with open(a.bad_lines, "w") as f:
            f.write("".join(f"{n}\n" for n in bad_lines))


if __name__ == "__main__":
    main()
