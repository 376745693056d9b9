# shellcheck shell=bash
# servers.sh: real map servers on loopback for integration tests and benchmarks.
#
#   . "$SWATH_SRC/tests/integration/servers.sh"
#
# Everything comes from Debian packages: lighttpd (static files, CGI),
# MapServer's mapserv CGI (WMS 1.1.1/1.3.0 over a local GeoTIFF) and MapCache's
# CGI (/usr/lib/cgi-bin/mapcache, package mapcache-cgi; a FastCGI build that
# runs as plain CGI when lighttpd starts it per request) serving WMTS from the
# MapServer WMS. One lighttpd serves all three:
#
#   $SERVERS_URL/...                    DOCROOT (static files, e.g. an XYZ tree)
#   $SERVERS_URL/cgi-bin/mapserv?map=F  MapServer (any mapfile, by absolute path)
#   $SERVERS_URL/cgi-bin/mapcache/...   MapCache, config $SERVERS_DIR/mapcache.xml
#
# Functions
#   servers_start_lighttpd DOCROOT   start lighttpd on a free loopback port; exports
#                                    SERVERS_PORT, SERVERS_URL (http://127.0.0.1:PORT),
#                                    SERVERS_LOG (access log), SERVERS_DIR (config,
#                                    logs, caches), SERVERS_PID. Stopped on EXIT.
#                                    With SERVERS_MAPSERV_FASTCGI=N (N > 0), mapserv
#                                    runs as N resident FastCGI processes instead of
#                                    a CGI process per request (benchmarks: the way a
#                                    production WMS runs). With SERVERS_TLS=1 it
#                                    serves HTTPS (HTTP/2 offered by ALPN) with a
#                                    self-signed certificate for 127.0.0.1 made for
#                                    the run; SERVERS_URL is https://..., and
#                                    SERVERS_CA the certificate to trust (PEM).
#   servers_mapfile OUT.map GEOTIFF LAYER [RESAMPLE]
#                                    write a mapfile serving GEOTIFF as WMS layer LAYER
#                                    (EPSG:3857, EPSG:4326 and the raster's own CRS;
#                                    image/png (RGBA) and image/jpeg; transparent
#                                    outside the data when TRANSPARENT=TRUE);
#                                    RESAMPLE: NEAREST (default), BILINEAR, AVERAGE.
#   servers_wms_url MAPFILE          echo the WMS base URL for a mapfile (ends in "map=...")
#   servers_wmts MAPFILE LAYER [FORMAT]
#                                    write $SERVERS_DIR/mapcache.xml: tileset LAYER on grid
#                                    GoogleMapsCompatible (and WGS84), source = the MapServer
#                                    WMS of MAPFILE, disk cache in $SERVERS_DIR/mapcache-cache,
#                                    metatile 1x1. Exports SERVERS_WMTS_URL (KVP endpoint) and
#                                    SERVERS_WMTS_CAPS (GetCapabilities URL).
#                                    SERVERS_WMTS_EXTENT="MINX MINY MAXX MAXY" (EPSG:3857):
#                                    GoogleMapsCompatible restricted to that extent with
#                                    tolerance 0 (the capabilities carry TileMatrixSetLimits;
#                                    tiles outside answer 404 TileOutOfRange).
#                                    SERVERS_WMTS_BBOX="W S E N": the layer's WGS84BoundingBox.
#   servers_hits [ERE]               number of access-log lines matching ERE (all if none),
#                                    counted once the log has been quiet for 0.3 s
#   servers_wait_log N               wait until the access log has >= N lines (5 s at most)
#   servers_stop                     stop lighttpd (also done on EXIT); keeps SERVERS_DIR when
#                                    KEEP_WORK=1 or when it lies inside the caller's $WORK.
#
# Access log: one line per request:  HOST [TIME] "METHOD URL PROTO" STATUS BYTES USEC
# The EXIT trap is chained: whatever the caller had set still runs, after
# servers_stop, with the exit status it would have seen.

SERVERS_MAPSERV=${SERVERS_MAPSERV:-/usr/lib/cgi-bin/mapserv}
SERVERS_MAPCACHE=${SERVERS_MAPCACHE:-/usr/lib/cgi-bin/mapcache}
_SERVERS_PY=/usr/bin/python3
_SERVERS_TRAP_SET=0
_SERVERS_OWN_DIR=0

_servers_err() { echo "servers.sh: $*" >&2; }

# A free TCP port on 127.0.0.1 (bound and released; lighttpd retries on a race).
_servers_free_port() {
  "$_SERVERS_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_servers_dir() {
  [ -n "${SERVERS_DIR:-}" ] && [ -d "$SERVERS_DIR" ] && return 0
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    SERVERS_DIR=$WORK/servers
    mkdir -p "$SERVERS_DIR"
  else
    SERVERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/swath-servers.XXXXXX") || return 1
    _SERVERS_OWN_DIR=1
  fi
  export SERVERS_DIR
}

# Prepend servers_stop to the caller's EXIT trap, keeping the exit status.
_servers_trap() {
  [ "$_SERVERS_TRAP_SET" = 1 ] && return 0
  local old
  old=$(trap -p EXIT)
  if [ -n "$old" ]; then
    eval "set -- $old"
    old=$3
  fi
  # shellcheck disable=SC2064
  trap "_servers_rc=\$?; servers_stop; (exit \$_servers_rc); ${old:-:}" EXIT
  _SERVERS_TRAP_SET=1
}

# _servers_mapserv_conf DIR: lighttpd lines that route /cgi-bin/mapserv and
# /cgi-bin/mapcache: both as CGI (a process per request), or mapserv as
# FastCGI (SERVERS_MAPSERV_FASTCGI=N resident processes, which keep GDAL
# registered and the mapfile's raster open between requests).
# _servers_tls_cert DIR: with SERVERS_TLS=1, a self-signed certificate for
# 127.0.0.1 (made once per DIR with openssl); exports SERVERS_CA.
_servers_tls_cert() {
  local d=$1
  [ "${SERVERS_TLS:-0}" = 1 ] || return 0
  if [ ! -s "$d/server.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
      -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
      { _servers_err "openssl could not make a certificate"; return 1; }
    cat "$d/cert.pem" "$d/key.pem" >"$d/server.pem"
  fi
  SERVERS_CA=$d/cert.pem
  export SERVERS_CA
}

# _servers_tls_conf DIR: lighttpd lines for HTTPS when SERVERS_TLS=1.
_servers_tls_conf() {
  [ "${SERVERS_TLS:-0}" = 1 ] || return 0
  cat <<EOF
server.modules += ("mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "$1/server.pem"
EOF
}

_servers_mapserv_conf() {
  local d=$1 n=${SERVERS_MAPSERV_FASTCGI:-0}
  if [ "$n" = 0 ]; then
    echo "alias.url = (\"/cgi-bin/mapserv\" => \"$SERVERS_MAPSERV\", \"/cgi-bin/mapcache\" => \"$SERVERS_MAPCACHE\")"
    return 0
  fi
  cat <<EOF
server.modules += ("mod_fastcgi")
alias.url = ("/cgi-bin/mapcache" => "$SERVERS_MAPCACHE")
fastcgi.server = ("/cgi-bin/mapserv" => ((
  "socket" => "$d/mapserv.sock",
  "bin-path" => "$SERVERS_MAPSERV",
  "max-procs" => $n,
  "check-local" => "disable",
  "bin-environment" => ("MAPSERVER_CONFIG_FILE" => "$d/mapserver.conf", "GDAL_PAM_ENABLED" => "NO",
                        "CPL_LOG_ERRORS" => "OFF")
)))
EOF
}

servers_start_lighttpd() {
  local docroot=${1:?servers_start_lighttpd DOCROOT}
  [ -d "$docroot" ] || { _servers_err "no such folder: $docroot"; return 1; }
  docroot=$(cd "$docroot" && pwd)
  command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] ||
    { _servers_err "lighttpd not installed (scripts/install-deps.sh)"; return 1; }
  _servers_dir || return 1
  _servers_trap
  local d=$SERVERS_DIR
  mkdir -p "$d/mapcache-cache" "$d/mapcache-locks"
  _servers_tls_cert "$d" || return 1
  # mapcache.xml must exist for MapCache to answer at all; servers_wmts fills it.
  [ -f "$d/mapcache.xml" ] || echo '<mapcache><service type="wmts" enabled="true"/></mapcache>' >"$d/mapcache.xml"
  cat >"$d/mapserver.conf" <<EOF
CONFIG
  ENV
    MS_MAP_PATTERN "^/"
    GDAL_PAM_ENABLED "NO"
  END
END
EOF
  local try port
  for try in 1 2 3 4 5; do
    port=$(_servers_free_port) || return 1
    cat >"$d/lighttpd.conf" <<EOF
server.modules = ("mod_access", "mod_alias", "mod_setenv", "mod_cgi", "mod_accesslog")
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$d/lighttpd-error.log"
server.max-keep-alive-requests = 10000
server.max-keep-alive-idle = 30
server.max-connections = 1024
server.max-fds = 4096
server.follow-symlink = "enable"
# A piped logger: lighttpd writes each line as the request ends (a file
# logger is buffered for up to 4 s).
accesslog.filename = "|exec /bin/cat >>'$d/access.log'"
accesslog.format = "%h %t \"%r\" %>s %b %D"
mimetype.assign = (".png" => "image/png", ".jpg" => "image/jpeg", ".jpeg" => "image/jpeg",
  ".webp" => "image/webp", ".tif" => "image/tiff", ".tiff" => "image/tiff",
  ".xml" => "application/xml", ".json" => "application/json", ".txt" => "text/plain",
  ".html" => "text/html", "" => "application/octet-stream")
$(_servers_mapserv_conf "$d")
$(_servers_tls_conf "$d")
\$HTTP["url"] =~ "^/cgi-bin/" {
  cgi.assign = ("" => "")
}
setenv.add-environment = (
  "MAPSERVER_CONFIG_FILE" => "$d/mapserver.conf",
  "MAPCACHE_CONFIG_FILE" => "$d/mapcache.xml",
  "GDAL_PAM_ENABLED" => "NO",
  "CPL_LOG_ERRORS" => "OFF"
)
EOF
    : >"$d/access.log"
    /usr/sbin/lighttpd -D -f "$d/lighttpd.conf" >"$d/lighttpd.out" 2>&1 &
    SERVERS_PID=$!
    local i
    for i in $(seq 100); do
      if ! kill -0 "$SERVERS_PID" 2>/dev/null; then break; fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        SERVERS_PORT=$port
        # (an if, not $(... && echo s): an assignment takes the status of its
        # command substitution, which would stop callers under set -e)
        if [ "${SERVERS_TLS:-0}" = 1 ]; then
          SERVERS_URL=https://127.0.0.1:$port
        else
          SERVERS_URL=http://127.0.0.1:$port
        fi
        SERVERS_LOG=$d/access.log
        export SERVERS_PORT SERVERS_URL SERVERS_LOG SERVERS_PID
        return 0
      fi
      sleep 0.05
    done
    kill "$SERVERS_PID" 2>/dev/null
    wait "$SERVERS_PID" 2>/dev/null
    SERVERS_PID=
    # Only a lost race for the port is worth another try.
    grep -q -i 'address already in use' "$d/lighttpd-error.log" "$d/lighttpd.out" 2>/dev/null || break
  done
  _servers_err "lighttpd did not start: $(cat "$d/lighttpd.out" "$d/lighttpd-error.log" 2>/dev/null | tail -n 5)"
  return 1
}

# servers_alive PID: the process runs. One that has exited but is not
# reaped yet (a zombie: lighttpd's FastCGI children are reparented to PID 1
# when lighttpd goes, and PID 1 may reap them late) counts as gone.
servers_alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case $st in
  "" | Z*) return 1 ;;
  esac
  return 0
}

servers_stop() {
  if [ -n "${SERVERS_PID:-}" ]; then
    # FastCGI mapserv processes outlive lighttpd unless stopped here.
    local fcgi p
    fcgi=$(pgrep -P "$SERVERS_PID" -x mapserv 2>/dev/null)
    kill "$SERVERS_PID" 2>/dev/null
    local i
    for i in $(seq 100); do
      kill -0 "$SERVERS_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$SERVERS_PID" 2>/dev/null
    wait "$SERVERS_PID" 2>/dev/null
    for p in $fcgi; do kill "$p" 2>/dev/null; done
    for i in $(seq 40); do
      p=
      for p in $fcgi; do servers_alive "$p" && break; p=; done
      [ -z "$p" ] && break
      sleep 0.05
    done
    for p in $fcgi; do kill -9 "$p" 2>/dev/null; done
    SERVERS_PID=
  fi
  if [ "$_SERVERS_OWN_DIR" = 1 ] && [ "${KEEP_WORK:-0}" != 1 ] && [ -n "${SERVERS_DIR:-}" ]; then
    rm -rf "$SERVERS_DIR"
    SERVERS_DIR=
    _SERVERS_OWN_DIR=0
  fi
  return 0
}

# Wait until the access log has not grown for 0.3 s (2 s at most): a line is
# written when lighttpd finishes a request, which for a CGI can be a moment
# after the client has read the whole answer.
_servers_settle() {
  local last=-1 now i
  for i in $(seq 20); do
    now=$(stat -c %s "$SERVERS_LOG" 2>/dev/null || echo 0)
    [ "$now" = "$last" ] && return 0
    last=$now
    sleep 0.3
  done
}

servers_hits() {
  [ -f "${SERVERS_LOG:-}" ] || { echo 0; return 0; }
  _servers_settle
  if [ $# -eq 0 ]; then
    wc -l <"$SERVERS_LOG"
  else
    grep -c -E -- "$1" "$SERVERS_LOG"
  fi
  return 0
}

servers_wait_log() {
  local n=$1 i
  for i in $(seq 100); do
    [ "$(servers_hits)" -ge "$n" ] && return 0
    sleep 0.05
  done
  return 1
}

servers_wms_url() { echo "$SERVERS_URL/cgi-bin/mapserv?map=$1"; }

servers_mapfile() {
  local out=${1:?servers_mapfile OUT.map GEOTIFF LAYER} tif=${2:?GEOTIFF} layer=${3:?LAYER}
  local resample=${4:-NEAREST}
  tif=$(cd "$(dirname "$tif")" && pwd)/$(basename "$tif")
  [ -f "$tif" ] || { _servers_err "no such raster: $tif"; return 1; }
  "$_SERVERS_PY" - "$out" "$tif" "$layer" "$resample" <<'PYEOF'
import sys
from osgeo import gdal, osr
gdal.UseExceptions()
out, tif, layer, resample = sys.argv[1:5]
ds = gdal.Open(tif)
gt = ds.GetGeoTransform()
w, h = ds.RasterXSize, ds.RasterYSize
own = osr.SpatialReference(wkt=ds.GetProjection())
own.AutoIdentifyEPSG()
code = own.GetAuthorityCode(None)
own_srs = ("EPSG:%s" % code) if code and own.GetAuthorityName(None) == "EPSG" else None
own.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
merc = osr.SpatialReference()
merc.ImportFromEPSG(3857)
merc.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
x0, y1, x1, y0 = gt[0], gt[3], gt[0] + w * gt[1], gt[3] + h * gt[5]
ext = osr.CoordinateTransformation(own, merc).TransformBounds(x0, y0, x1, y1, 21)
srs = ["EPSG:3857", "EPSG:4326"]
if own_srs and own_srs not in srs:
    srs.append(own_srs)
proj = ('"init=epsg:%s"' % code) if own_srs else '"%s"' % own.ExportToProj4()
text = """# Written by tests/integration/servers.sh (servers_mapfile).
MAP
  NAME "swath_test"
  STATUS ON
  SIZE 256 256
  MAXSIZE 8192
  UNITS METERS
  EXTENT %(ext)s
  IMAGECOLOR 255 255 255
  PROJECTION
    "init=epsg:3857"
  END
  OUTPUTFORMAT
    NAME "png"
    DRIVER "AGG/PNG"
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    TRANSPARENT ON
    FORMATOPTION "COMPRESSION=1"
  END
  OUTPUTFORMAT
    NAME "jpeg"
    DRIVER "AGG/JPEG"
    MIMETYPE "image/jpeg"
    IMAGEMODE RGB
    EXTENSION "jpg"
    FORMATOPTION "QUALITY=90"
  END
  WEB
    METADATA
      "wms_title"           "swath test WMS"
      "wms_abstract"        "%(tif)s"
      "wms_srs"             "%(srs)s"
      "wms_enable_request"  "*"
      "wms_getmap_formatlist" "image/png,image/jpeg"
    END
  END
  LAYER
    NAME "%(layer)s"
    TYPE RASTER
    STATUS ON
    DATA "%(tif)s"
    PROJECTION
      %(proj)s
    END
    PROCESSING "RESAMPLE=%(resample)s"
    METADATA
      "wms_title" "%(layer)s"
      "wms_srs"   "%(srs)s"
      "wms_extent" "%(ext)s"
    END
  END
END
""" % dict(ext=" ".join("%.6f" % v for v in ext), tif=tif, srs=" ".join(srs), layer=layer,
           proj=proj, resample=resample.upper())
open(out, "w").write(text)
PYEOF
}

servers_wmts() {
  local mapfile=${1:?servers_wmts MAPFILE LAYER [FORMAT]} layer=${2:?LAYER} fmt=${3:-image/png}
  [ -n "${SERVERS_URL:-}" ] || { _servers_err "servers_wmts: start lighttpd first"; return 1; }
  mapfile=$(cd "$(dirname "$mapfile")" && pwd)/$(basename "$mapfile")
  local mcfmt=PNG
  [ "$fmt" = image/jpeg ] && mcfmt=JPEG
  local d=$SERVERS_DIR grid="<grid>GoogleMapsCompatible</grid>" meta=
  [ -n "${SERVERS_WMTS_EXTENT:-}" ] &&
    grid="<grid tolerance=\"0\" restricted_extent=\"$SERVERS_WMTS_EXTENT\">GoogleMapsCompatible</grid>"
  [ -n "${SERVERS_WMTS_BBOX:-}" ] && meta="<metadata><wgs84boundingbox>$SERVERS_WMTS_BBOX</wgs84boundingbox></metadata>"
  mkdir -p "$d/mapcache-cache" "$d/mapcache-locks"
  cat >"$d/mapcache.xml.tmp" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tests/integration/servers.sh (servers_wmts). -->
<mapcache>
  <source name="wms" type="wms">
    <getmap>
      <params>
        <FORMAT>$fmt</FORMAT>
        <LAYERS>$layer</LAYERS>
        <TRANSPARENT>TRUE</TRANSPARENT>
      </params>
    </getmap>
    <http>
      <url>$SERVERS_URL/cgi-bin/mapserv?map=$mapfile</url>
      <connection_timeout>10</connection_timeout>
      <timeout>60</timeout>
    </http>
  </source>
  <cache name="disk" type="disk">
    <base>$d/mapcache-cache</base>
  </cache>
  <format name="PNG" type="PNG"><compression>fast</compression></format>
  <format name="JPEG" type="JPEG"><quality>90</quality></format>
  <tileset name="$layer">
    $meta
    <source>wms</source>
    <cache>disk</cache>
    $grid
    <grid>WGS84</grid>
    <format>$mcfmt</format>
    <metatile>1 1</metatile>
    <metabuffer>0</metabuffer>
  </tileset>
  <default_format>$mcfmt</default_format>
  <service type="wmts" enabled="true"/>
  <service type="tms" enabled="true"/>
  <service type="wms" enabled="false"/>
  <locker type="disk">
    <directory>$d/mapcache-locks</directory>
    <retry>0.01</retry>
    <timeout>60</timeout>
  </locker>
  <errors>report</errors>
  <log_level>warn</log_level>
</mapcache>
EOF
  mv "$d/mapcache.xml.tmp" "$d/mapcache.xml"
  SERVERS_WMTS_URL=$SERVERS_URL/cgi-bin/mapcache/wmts
  SERVERS_WMTS_CAPS=$SERVERS_URL/cgi-bin/mapcache/wmts/1.0.0/WMTSCapabilities.xml
  export SERVERS_WMTS_URL SERVERS_WMTS_CAPS
}

# zurich_source SIZE: the raster the remote tests serve: $SRC (lib.sh's
# gen_zurich, SIZE px), its lon/lat bounds in W S E N, and $DOC, the
# (empty) document root for the servers.
zurich_source() {
  DOC=$WORK/doc
  mkdir -p "$DOC"
  SRC=$WORK/src.tif
  gen_zurich "$SRC" "$1"
  IFS=, read -r W S E N <<<"$(lonlat_bounds "$SRC")"
}
# inset_box DW DS DE DN: the YAML box [W+DW, S+DS, E-DE, N-DN] of
# zurich_source's bounds (degrees).
inset_box() {
  echo "[$(echo "$W + $1" | bc -l), $(echo "$S + $2" | bc -l), $(echo "$E - $3" | bc -l), $(echo "$N - $4" | bc -l)]"
}
