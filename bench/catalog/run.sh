#!/usr/bin/env bash
# run.sh [SWATH [ROWS]]: the scene catalog benchmark. Not part of ctest: it
# generates a ROWS-row Sentinel-2 index (default 10,000,000; cached in the work
# folder) and measures, side by side with PostgreSQL 15 + PostGIS loaded with
# the same rows:
#   1. ingest: swath catalog ingest of index.csv.gz into a new catalog, rows/s;
#      PostgreSQL: COPY of the same CSV, then the table, GiST and datetime
#      index builds (its load time, for reference);
#   2. search latency p50/p99 (search_bench.c): point, 2x2 and 10x10 degree
#      boxes, with and without datetime + cloud filters, 2000 ids at most;
#   3. HTTP: `wrk` against `swath serve` (2 threads), random 2x2 boxes with a
#      month window, 10-item pages; requests/s.
# PostgreSQL runs from a temporary data folder under /tmp as user postgres
# (initdb/pg_ctl via runuser when run as root), on a unix socket, and is
# stopped at the end. Work files: $BENCH_WORK (default bench/work/catalog).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
swath=$(realpath "${1:-$root/build/swath}")
build=$(dirname "$swath")
rows=${2:-10000000}
work=${BENCH_WORK:-$root/bench/work}/catalog
mkdir -p "$work"
PGBIN=/usr/lib/postgresql/15/bin
. "$root/bench/lib.sh"

echo "== scene catalog benchmark, $rows rows"
bench_machine
idx="$work/index_$rows.csv.gz"
if [ ! -s "$idx" ]; then
  echo "generating $idx ..."
  python3 "$root/tests/data/gen_s2_index.py" "$idx" --rows "$rows" --seed 1
fi
ls -l "$idx"

# ---- 1. ingest ---------------------------------------------------------------------
db="$work/scenes.db"
rm -f "$db" "$db-wal" "$db-shm"
/usr/bin/time -f '%e %U %S %M' -o "$work/ingest.time" "$swath" -q catalog ingest "$idx" --catalog "$db" | tee "$work/ingest.out"
read -r wall user sys rss <"$work/ingest.time"
echo "swath ingest: $rows rows in ${wall}s wall (${user}s user + ${sys}s sys), peak RSS $((rss / 1024)) MB: $(echo "$rows / $wall" | bc) rows/s"
ls -l "$db"
# a second run over the same file: every row is an update (the incremental path)
/usr/bin/time -f '%e' -o "$work/reingest.time" "$swath" -q catalog ingest "$idx" --catalog "$db" >"$work/reingest.out"
echo "swath re-ingest (all updates): $(cat "$work/reingest.time")s: $(echo "$rows / $(cat "$work/reingest.time")" | bc) rows/s"

# ---- PostgreSQL + PostGIS ---------------------------------------------------------------
pgdir=$(mktemp -d /tmp/swath-bench-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
}
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
cat >>"$pgdir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$pgdir'
shared_buffers = 2GB
work_mem = 64MB
maintenance_work_mem = 1GB
max_wal_size = 8GB
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
CONF
as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w start >/dev/null
conn="host=$pgdir dbname=postgres user=postgres"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$conn" "$@"; }
psql -c "CREATE EXTENSION postgis" -c "CREATE UNLOGGED TABLE raw(granule text, product text, datatake text, mgrs text, sensing text, size text, cloud text, quality text, generation text, north float8, south float8, west float8, east float8, base text)"
t0=$(date +%s.%N)
zcat "$idx" | psql -c "COPY raw FROM STDIN WITH (FORMAT csv, HEADER true)"
t1=$(date +%s.%N)
psql -c "CREATE TABLE scenes AS SELECT granule AS id, sensing::timestamptz AS dt, nullif(cloud, '')::real AS cloud, CASE WHEN west <= east THEN ST_MakeEnvelope(west, south, east, north, 4326) ELSE ST_MakeEnvelope(-180, south, 180, north, 4326) END AS geom, product, datatake, mgrs, size, quality, generation, base FROM raw" -c "DROP TABLE raw"
t2=$(date +%s.%N)
psql -c "CREATE INDEX scenes_geom ON scenes USING gist(geom)" -c "CREATE INDEX scenes_dt ON scenes(dt)" -c "ALTER TABLE scenes ADD PRIMARY KEY (id)" -c "VACUUM ANALYZE scenes"
t3=$(date +%s.%N)
echo "postgres load: COPY $(echo "$t1 - $t0" | bc)s, table $(echo "$t2 - $t1" | bc)s, GiST+dt+pk indexes and analyze $(echo "$t3 - $t2" | bc)s: total $(echo "$t3 - $t0" | bc)s: $(echo "$rows / ($t3 - $t0)" | bc) rows/s"

# ---- 2. search latency --------------------------------------------------------------------
cc -O2 -std=gnu17 -I"$root/src" -o "$work/search_bench" "$here/search_bench.c" "$build/libswathlib.a" \
  $(pkg-config --cflags --libs gdal libcurl sqlite3 yaml-0.1 jansson libmicrohttpd libpq muparser libdeflate libpng yajl libisal) -lpthread -lm -ldl
"$work/search_bench" "$db" "$conn" "${QUERIES:-200}" | tee "$work/search.out"

# ---- 3. HTTP -------------------------------------------------------------------------------
WRK_OUT="$work" bash "$here/http_wrk.sh" "$swath" "$db"
echo "== done; results in $work"
