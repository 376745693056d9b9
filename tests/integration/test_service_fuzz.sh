#!/usr/bin/env bash
# test_service_fuzz.sh: malformed requests against a running `swath serve`
# with the Processes API and a catalog (issue 20, point 5): bad JSON, huge
# bodies (declared and sent), invalid UTF-8 and unicode in paths and
# queries, negative, huge and non-numeric paging values, wrong and unknown
# methods, header floods, garbage request lines, HTTP/1.0 and pipelined
# requests, a slow client trickling bytes (slowloris: --max-conns-per-ip
# and --timeout keep it from starving others). Each answer is a 4xx (never
# 5xx, a dropped connection or a hang); after each case the server still
# answers a normal request; at the end no job was queued and the outputs
# root is unchanged.
. "$(dirname "$0")/lib.sh"
require_swath
start_postgres
DB="$PG_LIBPQ"
mkdir -p "$WORK/in" "$WORK/out/keep"
gen_dem "$WORK/in/dem.tif" --size 256
echo keep >"$WORK/out/keep/file.txt"
CAT=$WORK/cat.db
run_swath catalog ingest "$SWATH_SRC/tests/data/stac/core-item.json" --catalog "$CAT"
[ "$RUN_RC" -eq 0 ] || die "ingest a STAC item" "$(last_run_output)"
# make the queue's schema exist so it can be counted
"$SWATH" status --db "$DB" >/dev/null 2>&1

"$SWATH" serve --catalog "$CAT" --db "$DB" --outputs "$WORK/out" --inputs "$WORK/in" --port 0 \
  --threads 4 --max-body 100000 --timeout 3 --max-conns-per-ip 8 2>"$WORK/serve.log" &
SERVE_PID=$!
track_bg $SERVE_PID
PORT=$(serve_port "$WORK/serve.log")
[ -n "$PORT" ] || die "server started" "$(cat "$WORK/serve.log")"
(cd "$WORK/out" && find . -type f | sort | xargs md5sum) >"$WORK/out.before"

py_checks "$PORT" <<'EOF'
import socket, sys, time, json, threading
import swt
port = int(sys.argv[1])

def raw(data, timeout=10, src=None, read=True):
    """Send bytes, return everything the server sends until it closes or goes quiet."""
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(data)
    except OSError:
        pass  # the server may close before reading everything
    out = b""
    if read:
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
                if b"\r\n\r\n" in out and not data.startswith(b"GET /processes HTTP/1.1\r\nHost: a\r\n\r\nGET"):
                    head, _, body = out.partition(b"\r\n\r\n")
                    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if cl and len(body) >= int(cl[0].split(b":")[1]):
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    s.close()
    return out

def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except Exception:
        return None

def alive():
    r = raw(b"GET /processes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=5)
    return status(r) == 200

def req(method, target, body=b"", headers=()):
    h = [b"%s %s HTTP/1.1" % (method, target), b"Host: 127.0.0.1", b"Connection: close"]
    if body is not None:
        h.append(b"Content-Length: %d" % len(body))
    h += list(headers)
    return b"\r\n".join(h) + b"\r\n\r\n" + (body or b"")

def case(name, data, want=lambda s: s is not None and 400 <= s < 500, **kw):
    r = raw(data, **kw)
    s = status(r)
    ok_status = want(s)
    ok_alive = alive()
    swt.check("%s: %s, server still answers" % (name, s), ok_status and ok_alive,
              (r[:300], "alive" if ok_alive else "NOT ANSWERING"))

J = [("Content-Type", "application/json")]
post = lambda body: req(b"POST", b"/processes/hillshade/execution", body, [b"Content-Type: application/json"])
case("bad JSON", post(b"{"))
case("JSON array", post(b"[]"))
case("JSON null", post(b"null"))
case("inputs not an object", post(b'{"inputs": 5}'))
case("deeply nested JSON", post(b"[" * 20000 + b"]" * 20000))
case("invalid UTF-8 in a JSON string", post(b'{"inputs": {"inputs": {"dem": "\xff\xfe.tif"}}}'))
case("NUL in a JSON string", post(b'{"inputs": {"inputs": {"dem": "a\\u0000b.tif"}}}'))
case("unicode output path", post('{"inputs": {"inputs": {"dem": "dem.tif"}, "output": {"path": "../\u00fc\u2603"}}}'.encode()))
case("body over --max-body (read and dropped)", post(b"{" + b" " * 200000 + b"}"), want=lambda s: s == 413)
case("a declared 10 GB body", req(b"POST", b"/processes/hillshade/execution", None,
     [b"Content-Length: 10000000000", b"Content-Type: application/json"]) + b"{", want=lambda s: s == 413)
chunk = b"".join(b"%x\r\n%s\r\n" % (50000, b"a" * 50000) for _ in range(4)) + b"0\r\n\r\n"
case("a chunked body over --max-body", req(b"POST", b"/processes/hillshade/execution", None,
     [b"Transfer-Encoding: chunked"]) + chunk, want=lambda s: s == 413)
case("POST to STAC search with bad JSON", req(b"POST", b"/search", b"{]"))
for target in [b"/%ff%fe", b"/jobs/%ff", b"/jobs/%00", b"/jobs/\xff\xfe", b"/collections/%C0%AF/items",
               "/collections/\u00fc\u2603/items".encode(), b"/jobs/../../etc/passwd",
               b"/jobs/99999999999999999999999", b"/jobs/-1", b"/jobs/1e400",
               b"/processes/%2e%2e%2f%2e%2e", b"/" + b"a" * 60000]:
    # /jobs/%00 is /jobs/ once MHD decoded it (the path ends at the NUL): the list
    case("GET %r" % target[:40], req(b"GET", target, None),
         want=lambda s: s is not None and (400 <= s < 500 or (s == 200 and target == b"/jobs/%00")))
for q in [b"limit=-1", b"limit=0", b"limit=99999999999999999999999", b"limit=abc", b"limit=1e400",
          b"limit=%ff", b"status=%ff", "status=\u2603".encode(), b"before=-5", b"before=abc"]:
    case("GET /jobs?%s" % q.decode("latin-1"), req(b"GET", b"/jobs?" + q, None),
         want=lambda s: s in (200, 400))
for q in [b"limit=-1", b"limit=99999999999999999999", b"limit=x", b"bbox=nan,nan,nan,nan",
          b"bbox=1,2", b"datetime=%ff", b"token=%ff%fe", "collections=\u2603".encode(),
          b"intersects=%7B%7D", b"sortby=%ff"]:
    case("GET /search?%s" % q.decode("latin-1"), req(b"GET", b"/search?" + q, None),
         want=lambda s: s in (200, 400))
case("DELETE /processes", req(b"DELETE", b"/processes", None))
case("PUT /jobs", req(b"PUT", b"/jobs", b"{}"))
case("an unknown method", req(b"BREW", b"/", None))
case("a method of 2000 letters", req(b"A" * 2000, b"/", None))
# protocol errors: MHD's own answer (4xx, 505) or the connection closed
proto = lambda s: s is None or 400 <= s < 500 or s == 505
case("a request line of garbage", b"\x00\x01\x02 \xff\xfe\r\n\r\n", want=proto)
case("an HTTP/2 preface on HTTP/1", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want=proto)
case("HTTP/9.9", b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", want=proto)
case("2000 headers", req(b"GET", b"/processes", None, [b"X-H%d: v" % i for i in range(2000)]))
case("a 200 kB header", req(b"GET", b"/processes", None, [b"X-Big: " + b"a" * 200000]))
case("a header without a colon", b"GET /processes HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n")
r = raw(b"GET /processes HTTP/1.0\r\n\r\n")
swt.check("HTTP/1.0 without Host: 200", status(r) == 200 and alive(), r[:200])
r = raw(b"GET /processes HTTP/1.1\r\nHost: a\r\n\r\nGET /jobs HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", timeout=5)
codes = [int(l.split(b" ")[1]) for l in r.split(b"\r\n") if l.startswith(b"HTTP/1.1 ")]
# libmicrohttpd 0.9.75 answers the first of pipelined requests and closes
# the connection (clients then retry the rest on a new one): no hang, no 5xx
swt.check("pipelined requests: the first answered, no 5xx, server answers", codes[:1] == [200]
          and all(c < 500 for c in codes) and alive(), codes)

# slowloris from another loopback address: at most --max-conns-per-ip of
# its connections are kept; meanwhile 127.0.0.1 is answered at once; a
# connection that sends nothing for --timeout is closed.
slow = []
for i in range(24):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /processes HTTP/1.1\r\nHost: a\r\n")
    slow.append(s)
t0 = time.time()
for k in range(4):
    for s in slow:
        try:
            s.sendall(b"X-a: b\r\n")
        except OSError:
            pass
    time.sleep(0.5)
t1 = time.time()
ok = alive()
dt = time.time() - t1
swt.check("slowloris: a normal client is answered at once (%.2f s)" % dt, ok and dt < 2, dt)
open_ = 0
for s in slow:
    try:
        s.settimeout(0.2)
        d = s.recv(1)
        open_ += 0 if d == b"" else 1
    except socket.timeout:
        open_ += 1
    except OSError:
        pass
swt.check("slowloris: at most 8 of 24 connections from one address kept", open_ <= 8, open_)
idle = socket.socket()
idle.settimeout(15)
idle.connect(("127.0.0.1", port))
idle.sendall(b"GET /processes HTTP/1.1\r\n")
t0 = time.time()
try:
    d = idle.recv(100)
except OSError:
    d = b""
swt.check("a silent connection is closed after --timeout 3 s (%.1f s)" % (time.time() - t0),
          time.time() - t0 < 10, d[:100])
for s in slow:
    s.close()
swt.check("the server answers after the slow clients", alive(), "")
EOF
check "the server is still running" kill -0 "$SERVE_PID"
check_eq "no job was queued by any malformed request" 0 \
  "$(psql -h 127.0.0.1 -p "$PG_PORT" -U swath -d swath -Atc 'SELECT count(*) FROM swath_jobs')"
(cd "$WORK/out" && find . -type f | sort | xargs md5sum) >"$WORK/out.after"
check "the outputs root is unchanged" diff "$WORK/out.before" "$WORK/out.after"
check "no directory was made under the outputs root" eval "[ \"\$(find '$WORK/out' -mindepth 1 -type d)\" = '$WORK/out/keep' ]"
