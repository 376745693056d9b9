#!/usr/bin/env bash
# test_servers.sh: the loopback servers of tests/integration/servers.sh work,
# so that the remote-source tests and bench/remote.sh stand on solid ground.
#
#  - lighttpd serves static files byte for byte and logs every hit;
#  - MapServer (mapserv CGI) serves WMS 1.3.0 and 1.1.1 from a GeoTIFF
#    (EPSG:3857 RGB): capabilities list the layer and CRSs, GetMap returns PNG
#    (RGBA) and JPEG of the requested size, the exact source pixels on the
#    source's own grid, 1.3.0's lat/lon axis order for EPSG:4326, transparency
#    outside the data, and a ServiceException for a bad request;
#  - MapCache (CGI) serves WMTS over that WMS: capabilities, KVP and REST
#    GetTile, a second GetTile from its cache (no WMS hit), an exception for
#    an unknown tile matrix set;
#  - mapserv also runs as FastCGI (SERVERS_MAPSERV_FASTCGI=N) with the same
#    answers;
#  - servers stop cleanly on exit, and the caller's EXIT trap still runs.
# Does not need the swath binary.
. "$(dirname "$0")/lib.sh"
. "$SWATH_SRC/tests/integration/servers.sh"

DOC=$WORK/doc
mkdir -p "$DOC/tiles/1/0"
SRC=$WORK/src.tif
CX=950668 CY=6002678 RES=4 N=512
gen_rgb "$SRC" --size $N --crs EPSG:3857 --center $CX,$CY --res $RES
gdal_translate -q -of PNG -srcwin 0 0 256 256 "$SRC" "$DOC/tiles/1/0/0.png" ||
  die "static tile written"

servers_start_lighttpd "$DOC" || die "lighttpd starts"
pass "lighttpd starts on $SERVERS_URL"
check "lighttpd: port is a loopback port that answers" curl -sf -o /dev/null "$SERVERS_URL/tiles/1/0/0.png"

# ---- static files ------------------------------------------------------------
curl -s -o "$WORK/got.png" -D "$WORK/h.txt" "$SERVERS_URL/tiles/1/0/0.png"
check "static: tile served byte for byte" cmp "$WORK/got.png" "$DOC/tiles/1/0/0.png"
check "static: Content-Type image/png" grep -qi '^Content-Type: image/png' "$WORK/h.txt"
check_eq "static: a missing tile is 404" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$SERVERS_URL/tiles/1/0/9.png")"
check_eq "access log: hits counted per URL pattern" "1 2" \
  "$(servers_hits ' /tiles/1/0/9\.png ') $(servers_hits '"GET /tiles/1/0/0\.png HTTP/1\.1" 200 ')"

# ---- WMS (MapServer) ----------------------------------------------------------
MAP=$WORK/ortho.map
servers_mapfile "$MAP" "$SRC" ortho || die "mapfile written"
WMS=$(servers_wms_url "$MAP")
curl -s -o "$WORK/caps13.xml" "$WMS&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities"
py_checks "$WORK/caps13.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
import swt
ns = {"w": "http://www.opengis.net/wms"}
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    root = None
    print(open(sys.argv[1], errors="replace").read()[:800])
swt.check("WMS 1.3.0 GetCapabilities is a WMS_Capabilities document",
          root is not None and root.tag == "{http://www.opengis.net/wms}WMS_Capabilities"
          and root.get("version") == "1.3.0")
layers = {l.findtext("w:Name", namespaces=ns): l for l in root.iter("{http://www.opengis.net/wms}Layer")} if root is not None else {}
swt.check("WMS 1.3.0 GetCapabilities lists layer 'ortho'", "ortho" in layers, str(list(layers)))
crs = {c.text for c in layers["ortho"].findall("w:CRS", ns)} if "ortho" in layers else set()
swt.check("WMS layer offers EPSG:3857 and EPSG:4326", {"EPSG:3857", "EPSG:4326"} <= crs, str(crs))
fmts = {f.text for f in root.find("w:Capability/w:Request/w:GetMap", ns).findall("w:Format", ns)} if root is not None else set()
swt.check("WMS GetMap offers image/png and image/jpeg", {"image/png", "image/jpeg"} <= fmts, str(fmts))
EOF
check "WMS 1.1.1 GetCapabilities lists layer 'ortho'" bash -c \
  "curl -s '$WMS&SERVICE=WMS&VERSION=1.1.1&REQUEST=GetCapabilities' | grep -q '<Name>ortho</Name>'"

# The source's own pixel grid: a 200x150 window of source pixels at native
# resolution must come back exactly (nearest neighbour, no shift).
X0=$((CX - N / 2 * RES)) Y1=$((CY + N / 2 * RES))
BX0=$((X0 + 100 * RES)) BX1=$((X0 + 300 * RES)) BY1=$((Y1 - 50 * RES)) BY0=$((Y1 - 200 * RES))
GETMAP="$WMS&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ortho&STYLES="
curl -s -o "$WORK/map.png" "$GETMAP&CRS=EPSG:3857&BBOX=$BX0,$BY0,$BX1,$BY1&WIDTH=200&HEIGHT=150&FORMAT=image/png&TRANSPARENT=TRUE"
curl -s -o "$WORK/map.jpg" "$GETMAP&CRS=EPSG:3857&BBOX=$BX0,$BY0,$BX1,$BY1&WIDTH=200&HEIGHT=150&FORMAT=image/jpeg"
check_eq "WMS GetMap PNG: 200x150, 4 bands (RGBA)" "Size is 200, 150 4" \
  "$(gdalinfo "$WORK/map.png" 2>&1 | grep '^Size is') $(gdalinfo "$WORK/map.png" 2>&1 | grep -c '^Band ')"
check_eq "WMS GetMap JPEG: 200x150, JPEG driver" "Size is 200, 150 JPEG" \
  "$(gdalinfo "$WORK/map.jpg" 2>&1 | grep '^Size is') $(gdalinfo "$WORK/map.jpg" 2>&1 | sed -n 's|^Driver: \([A-Z]*\)/.*|\1|p')"

# EPSG:4326 in 1.3.0 is lat,lon; outside the data is transparent.
read -r W S E NN <<<"$(lonlat_bounds "$SRC" | tr ',' ' ')"
MID_LON=$(echo "($W + $E) / 2" | bc -l) MID_LAT=$(echo "($S + $NN) / 2" | bc -l)
D=0.002
curl -s -o "$WORK/ll.png" "$GETMAP&CRS=EPSG:4326&BBOX=$(echo "$MID_LAT - $D" | bc -l),$(echo "$MID_LON - $D" | bc -l),$(echo "$MID_LAT + $D" | bc -l),$(echo "$MID_LON + $D" | bc -l)&WIDTH=64&HEIGHT=64&FORMAT=image/png&TRANSPARENT=TRUE"
curl -s -o "$WORK/out.png" "$GETMAP&CRS=EPSG:3857&BBOX=0,0,10000,10000&WIDTH=64&HEIGHT=64&FORMAT=image/png&TRANSPARENT=TRUE"
py_checks "$SRC" "$WORK" 100 50 <<'EOF'
import sys
import numpy as np
from osgeo import gdal
import swt
gdal.UseExceptions()
src, work, c0, r0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = gdal.Open(src).ReadAsArray(c0, r0, 200, 150)
got = gdal.Open(work + "/map.png").ReadAsArray()
diff = int(np.abs(got[:3].astype(int) - want.astype(int)).max())
swt.check("WMS GetMap on the source's own grid returns its exact pixels",
          diff == 0 and (got[3] == 255).all(), "max difference %d, alpha min %d" % (diff, got[3].min()))
ll = gdal.Open(work + "/ll.png").ReadAsArray()
swt.check("WMS 1.3.0 EPSG:4326 with lat,lon axis order hits the data", (ll[3] == 255).all(),
          "opaque share %.2f" % (ll[3] == 255).mean())
out = gdal.Open(work + "/out.png").ReadAsArray()
swt.check("WMS GetMap outside the data is fully transparent", (out[3] == 0).all())
EOF

curl -s -o "$WORK/bad.xml" -D "$WORK/bad.h" "$GETMAP&LAYERS=nope&CRS=EPSG:3857&BBOX=$BX0,$BY0,$BX1,$BY1&WIDTH=200&HEIGHT=150&FORMAT=image/png"
check "WMS bad layer: a ServiceExceptionReport with code LayerNotDefined" \
  grep -q 'ServiceException code="LayerNotDefined"' "$WORK/bad.xml"
check "WMS bad layer: status 200 (what clients must see through)" grep -q '^HTTP/1.1 200' "$WORK/bad.h"
curl -s -o "$WORK/bad2.xml" "$GETMAP&CRS=EPSG:2056&BBOX=2600000,1200000,2601000,1201000&WIDTH=200&HEIGHT=150&FORMAT=image/png"
# (MapServer 8.0 says code="InvalidSRS" in 1.3.0 too, where the standard says InvalidCRS.)
check "WMS unoffered CRS: a ServiceException (InvalidCRS/InvalidSRS)" \
  grep -qE '<ServiceException code="Invalid(CRS|SRS)"' "$WORK/bad2.xml" ||
  sed -e 's/^/    /' "$WORK/bad2.xml"

# ---- WMTS (MapCache over the WMS) ------------------------------------------------
servers_wmts "$MAP" ortho image/png || die "mapcache.xml written"
curl -s -o "$WORK/wmts.xml" "$SERVERS_WMTS_CAPS"
py_checks "$WORK/wmts.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
import swt
W, O = "{http://www.opengis.net/wmts/1.0}", "{http://www.opengis.net/ows/1.1}"
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    root = None
    print(open(sys.argv[1], errors="replace").read()[:800])
swt.check("WMTS GetCapabilities is a WMTS 1.0.0 Capabilities document",
          root is not None and root.tag == W + "Capabilities")
layers = {l.findtext(O + "Identifier"): l for l in root.iter(W + "Layer")} if root is not None else {}
swt.check("WMTS lists layer 'ortho'", "ortho" in layers, str(list(layers)))
links = [e.text for e in layers["ortho"].iter(W + "TileMatrixSet")] if "ortho" in layers else []
swt.check("WMTS layer links GoogleMapsCompatible", "GoogleMapsCompatible" in links, str(links))
sets = [s for s in root.findall(W + "Contents/" + W + "TileMatrixSet")
        if s.findtext(O + "Identifier") == "GoogleMapsCompatible"] if root is not None else []
swt.check("WMTS GoogleMapsCompatible matrix set is EPSG:3857, 256 px, zoom 0 is 1x1",
          sets and "3857" in sets[0].findtext(O + "SupportedCRS")
          and sets[0].find(W + "TileMatrix").findtext(W + "MatrixWidth") == "1"
          and sets[0].find(W + "TileMatrix").findtext(W + "TileWidth") == "256")
EOF
# A zoom-15 tile over the middle of the raster.
read -r TX TY <<<"$("$PY" -c 'import swt, sys; x, y = swt.merc_tile_float(float(sys.argv[1]), float(sys.argv[2]), 15); print(int(x), int(y))' "$MID_LON" "$MID_LAT")"
GETTILE="$SERVERS_WMTS_URL?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=ortho&STYLE=default&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX=15&TILEROW=$TY&TILECOL=$TX&FORMAT=image/png"
WMS_HITS0=$(servers_hits 'cgi-bin/mapserv')
curl -s -o "$WORK/t1.png" -D "$WORK/t1.h" "$GETTILE"
WMS_HITS1=$(servers_hits 'cgi-bin/mapserv')
curl -s -o "$WORK/t2.png" "$SERVERS_WMTS_URL/1.0.0/ortho/default/GoogleMapsCompatible/15/$TY/$TX.png"
WMS_HITS2=$(servers_hits 'cgi-bin/mapserv')
check_eq "WMTS KVP GetTile: a 256x256 PNG" "Size is 256, 256 PNG" \
  "$(gdalinfo "$WORK/t1.png" 2>&1 | grep '^Size is') $(gdalinfo "$WORK/t1.png" 2>&1 | sed -n 's|^Driver: \([A-Z]*\)/.*|\1|p')"
check "WMTS KVP GetTile: status 200, image/png" grep -qi '^Content-Type: image/png' "$WORK/t1.h"
check "WMTS REST GetTile: same bytes as KVP" cmp "$WORK/t1.png" "$WORK/t2.png"
check_eq "WMTS: first GetTile asks the WMS once, the second comes from MapCache's cache" "1 0" \
  "$((WMS_HITS1 - WMS_HITS0)) $((WMS_HITS2 - WMS_HITS1))"
py_checks "$SRC" "$WORK/t1.png" 15 "$TX" "$TY" <<'EOF'
import sys
import numpy as np
from osgeo import gdal
import swt
gdal.UseExceptions()
src, tile, z, x, y = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
x0, y0, x1, y1 = swt.merc_bounds(z, x, y)
ref = gdal.Warp("", src, format="MEM", outputBounds=(x0, y0, x1, y1), width=256, height=256,
                resampleAlg="near", dstAlpha=True).ReadAsArray().astype(int)
got = gdal.Open(tile).ReadAsArray().astype(int)
if got.shape[0] == 3:  # MapCache stores fully opaque tiles as RGB
    got = np.concatenate([got, np.full((1,) + got.shape[1:], 255)])
both = (ref[3] == 255) & (got[3] == 255)
d = np.abs(got[:3] - ref[:3])[:, both]
swt.check("WMTS tile matches the source warped by GDAL (same place: median diff <= 2)",
          both.mean() > 0.5 and np.median(d) <= 2,
          "overlap %.2f, median %.1f, max %d" % (both.mean(), np.median(d) if d.size else -1, d.max() if d.size else -1))
EOF
curl -s -o "$WORK/tbad.xml" "${GETTILE/GoogleMapsCompatible/NoSuchSet}"
check "WMTS unknown tile matrix set: an OWS exception" grep -q 'ExceptionReport' "$WORK/tbad.xml"

# ---- the fault server as a proxy in front of the WMS ----------------------------
FSURL=http://127.0.0.1:$(fault_server fs 60 --upstream "$SERVERS_URL" --seed 7 --repeat 1 --fault 503=1.0)
PROXIED="${GETMAP/$SERVERS_URL/$FSURL}&CRS=EPSG:3857&BBOX=$BX0,$BY0,$BX1,$BY1&WIDTH=200&HEIGHT=150&FORMAT=image/png&TRANSPARENT=TRUE"
check_eq "fault proxy: first attempt gets the injected 503" 503 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$PROXIED")"
check_eq "fault proxy: second attempt is relayed from MapServer (200 image/png)" "200 image/png" \
  "$(curl -s -o "$WORK/proxied.png" -w '%{http_code} %{content_type}' "$PROXIED")"
check "fault proxy: relayed GetMap equals the direct one byte for byte" cmp "$WORK/proxied.png" "$WORK/map.png"
check_eq "fault proxy: its hit log has both attempts" "1 503
2 ok" "$(cut -f4,5 "$WORK/fs.log" | tr '\t' ' ')"

# ---- stopping ------------------------------------------------------------------
PORT=$SERVERS_PORT PID=$SERVERS_PID
servers_stop
check "stop: lighttpd process gone" bash -c "! kill -0 $PID 2>/dev/null"
check "stop: port no longer answers" bash -c "! curl -s -o /dev/null --max-time 2 http://127.0.0.1:$PORT/"

# mapserv as FastCGI (bench/remote.sh's WMS): the same GetMap answer, from
# resident processes that go away with lighttpd.
cat >"$WORK/fcgi.sh" <<EOF
. "$SWATH_SRC/tests/integration/servers.sh"
SERVERS_MAPSERV_FASTCGI=2 servers_start_lighttpd "$DOC" || exit 9
WMS=\$(servers_wms_url "$MAP")
for i in 1 2 3; do
  curl -s -o "$WORK/fcgi\$i.png" "\${WMS}&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ortho&STYLES=&CRS=EPSG:3857&BBOX=$BX0,$BY0,$BX1,$BY1&WIDTH=200&HEIGHT=150&FORMAT=image/png&TRANSPARENT=TRUE"
done
pgrep -P "\$SERVERS_PID" -x mapserv -d ' ' >"$WORK/fcgi.pids"
EOF
env -u WORK -u SERVERS_DIR bash "$WORK/fcgi.sh"
check_eq "FastCGI: lighttpd started" 0 "$?"
check "FastCGI: GetMap equals the CGI answer byte for byte" cmp "$WORK/fcgi1.png" "$WORK/map.png"
check "FastCGI: a third GetMap too (resident processes reused)" cmp "$WORK/fcgi3.png" "$WORK/map.png"
check_eq "FastCGI: 2 resident mapserv processes" 2 "$(wc -w <"$WORK/fcgi.pids")"
# (servers_stop returns once they are gone; a zombie left for PID 1 to reap
# counts as gone)
gone=1
for p in $(cat "$WORK/fcgi.pids"); do servers_alive "$p" && gone=0; done
check_eq "FastCGI: they are gone once lighttpd stops" 1 "$gone"

# A script that has its own EXIT trap and exits with status 3 while the
# servers run: its trap still runs, its status is kept, lighttpd is gone.
cat >"$WORK/trap.sh" <<EOF
trap 'echo "own trap ran, status \$?" >"$WORK/trap.out"' EXIT
. "$SWATH_SRC/tests/integration/servers.sh"
servers_start_lighttpd "$DOC" || exit 9
echo "\$SERVERS_PID \$SERVERS_PORT \$SERVERS_DIR" >"$WORK/trap.pid"
exit 3
EOF
env -u WORK -u SERVERS_DIR bash "$WORK/trap.sh"
RC=$?
read -r PID PORT SDIR <"$WORK/trap.pid"
check_eq "trap chaining: exit status kept" 3 "$RC"
check_eq "trap chaining: the caller's own EXIT trap ran and saw status 3" "own trap ran, status 3" \
  "$(cat "$WORK/trap.out" 2>/dev/null)"
check "trap chaining: lighttpd stopped on exit" bash -c "! kill -0 $PID 2>/dev/null"
check "trap chaining: its own temp folder removed" test ! -e "$SDIR"
