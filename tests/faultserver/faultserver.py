#!/usr/bin/python3
"""faultserver.py: a deterministic, fault-injecting tile server for tests.

Serves files from --root over HTTP/1.1 (keep-alive) on loopback, and answers
a configured share of paths with a fault. Every decision is a pure function
of (seed, request target, attempt number), so a test can predict each
request's fate with `plan` and check the fetcher against it:

  * each target gets one kind (or none) from hash(seed, target) and the
    --fault shares; transient kinds fault on attempts 1..r, where
    r = 1 + hash % --repeat, and the next attempt succeeds;
  * permanent kinds answer the same way on every attempt.

Kinds (transient): 503, 429 (with Retry-After), stall (no answer for
--stall-seconds, past the client's timeout), reset (TCP RST after the
request), truncate (Content-Length larger than the bytes sent), corrupt (200
with the image cut in half, Content-Length matching: only decoding shows it).
Kinds (permanent): html (200 text/html page), exception (200 OGC exception
document, WMS or OWS flavour), 404, 403, down (503 forever), wrongsize (200
with a 100x100 PNG).

Every hit is logged, one tab-separated line, to --log:
  t  host  target  attempt  answer  inflight_host  inflight_all  user_agent
(HEAD requests are never faulted; they are logged with attempt 0 and
answer "head".)
`t` is seconds since start; inflight counts requests whose last byte has not
been sent (counted before the last byte goes out, so a client can never see
its transfer end while the server still counts it).

Redirects: with --redirect BASE, a GET of /go/REST is answered "302 Found",
Location: BASE/REST (BASE "self": this server), before any fault; with
--header-log F, every GET appends "target <TAB> headers" to F (the request
headers other than Host, User-Agent, Accept and Accept-Encoding, as
"Name: value" joined by " | "): what reached which server.

TLS: with --tls-cert and --tls-key the server speaks HTTPS (HTTP/1.1 only,
offered by ALPN), and --tls-delay-ms holds each new connection that long
before its TLS handshake: a slow connection set-up, to tell connect time
from the time a request takes once sent.

The server exits by itself after --max-seconds, so a failed test leaves
nothing running. Standard library only, except `make-tiles` (GDAL).

Proxy mode: with --upstream http://HOST:PORT (instead of --root), the bytes
of an "ok" answer (and of the corrupt and truncate faults) come from the
upstream server: the request target (path and query) is forwarded, and the
upstream status, Content-Type and body are relayed. Put it in front of a WMS
or a tile server to inject faults into real traffic; the fault decisions are
the same pure function of (seed, target, attempt). Upstream connections are
kept alive, one per serving thread.

  faultserver.py serve (--root DIR | --upstream URL) --port-file F --log L [--bind ADDR]... \
      [--seed S] [--fault KIND=SHARE]... [--repeat N] [--retry-after S] \
      [--stall-seconds S] [--delay-ms MS] [--max-seconds S] \
      [--tls-cert PEM --tls-key PEM [--tls-delay-ms MS]] [--redirect BASE] [--header-log F]
  faultserver.py plan [--seed S] [--fault KIND=SHARE]... [--repeat N] < targets
  faultserver.py make-tiles --out DIR --count N [--zoom Z] [--formats png,jpeg]
"""
import argparse
import hashlib
import http.client
import http.server
import os
import select
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib

TRANSIENT = ["503", "429", "stall", "reset", "truncate", "corrupt"]
PERMANENT = ["html", "exception", "404", "403", "down", "wrongsize"]
KINDS = TRANSIENT + PERMANENT

CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def parse_faults(items):
    shares = {}
    for item in items or []:
        kind, _, share = item.partition("=")
        if kind not in KINDS:
            raise SystemExit("faultserver: unknown fault kind '%s' (want one of %s)"
                             % (kind, ", ".join(KINDS)))
        shares[kind] = float(share)
    if sum(shares.values()) > 1.0 + 1e-9:
        raise SystemExit("faultserver: fault shares add up to more than 1")
    return shares


def decide(seed, target, shares, repeat):
    """(kind or None, number of faulting attempts, variant bit) for a target."""
    h = hashlib.sha256(("%s:%s" % (seed, target)).encode()).digest()
    u = int.from_bytes(h[:8], "big") / 2.0**64
    acc = 0.0
    kind = None
    for k in KINDS:  # fixed order: the option order does not matter
        acc += shares.get(k, 0.0)
        if u < acc:
            kind = k
            break
    repeats = 1 + int.from_bytes(h[8:16], "big") % max(1, repeat)
    return kind, repeats, h[16] & 1


def answer_for(kind, repeats, attempt):
    """What to send on this attempt: a kind name, or 'ok'."""
    if kind is None:
        return "ok"
    if kind in TRANSIENT:
        return kind if attempt <= repeats else "ok"
    return kind


def make_png(width, height):
    """A grey gradient PNG, standard library only."""
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title></head>"
             b"<body><h1>Please try again later</h1><p>Our tile servers are being updated."
             b"</p></body></html>\n")

WMS_EXCEPTION = (b"<?xml version='1.0' encoding=\"UTF-8\"?>\n"
                 b"<ServiceExceptionReport version=\"1.3.0\" xmlns=\"http://www.opengis.net/ogc\">\n"
                 b"<ServiceException code=\"LayerNotDefined\">\n"
                 b"msWMSLoadGetMapParams(): WMS server error. Invalid layer(s) given in the "
                 b"LAYERS parameter.\n</ServiceException>\n</ServiceExceptionReport>\n")

OWS_EXCEPTION = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 b"<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/1.1\" version=\"1.0.0\">\n"
                 b"  <ows:Exception exceptionCode=\"TileOutOfRange\" locator=\"TILEROW\">\n"
                 b"    <ows:ExceptionText>TileRow is out of range &amp; cannot be served"
                 b"</ows:ExceptionText>\n  </ows:Exception>\n</ows:ExceptionReport>\n")


class State:
    def __init__(self, args):
        self.args = args
        self.shares = parse_faults(args.fault)
        self.lock = threading.Lock()
        self.attempts = {}
        self.inflight = {}
        self.inflight_all = 0
        self.t0 = time.monotonic()
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.wrongsize = make_png(100, 100)
        self.upstream = urllib.parse.urlsplit(args.upstream) if args.upstream else None
        self.tls = threading.local()
        self.tls_ctx = None
        if args.tls_cert:
            self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
            self.tls_ctx.set_alpn_protocols(["http/1.1"])

    def begin(self, host, target, ua):
        kind, repeats, variant = decide(self.args.seed, target, self.shares, self.args.repeat)
        with self.lock:
            attempt = self.attempts.get(target, 0) + 1
            self.attempts[target] = attempt
            self.inflight[host] = self.inflight.get(host, 0) + 1
            self.inflight_all += 1
            answer = answer_for(kind, repeats, attempt)
            if self.log:
                self.log.write("%.6f\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n" % (
                    time.monotonic() - self.t0, host, target, attempt, answer,
                    self.inflight[host], self.inflight_all, ua))
        return answer, variant

    def end(self, host):
        with self.lock:
            self.inflight[host] -= 1
            self.inflight_all -= 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver/1"

    def log_message(self, fmt, *args):  # the hit log replaces stderr chatter
        pass

    def setup(self):
        st = self.server.state
        if st.tls_ctx:  # in the connection's own thread: handshakes run in parallel
            time.sleep(st.args.tls_delay_ms / 1000.0)
            self.request = st.tls_ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def do_GET(self):
        st = self.server.state
        host = self.server.server_address[0]
        if st.args.header_log:
            skip = {"host", "user-agent", "accept", "accept-encoding"}
            seen = " | ".join("%s: %s" % (k, v) for k, v in self.headers.items()
                              if k.lower() not in skip)
            with st.lock:
                with open(st.args.header_log, "a") as f:
                    f.write("%s\t%s\n" % (self.path, seen))
        if st.args.redirect and self.path.startswith("/go/"):
            base = st.args.redirect
            if base == "self":
                base = "http://%s:%d" % self.server.server_address[:2]
            self.send_response(302)
            self.send_header("Location", base.rstrip("/") + self.path[3:])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer, variant = st.begin(host, self.path, self.headers.get("User-Agent", ""))
        self.counted = True
        try:
            self.respond(st, host, answer, variant)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            if self.counted:
                st.end(host)

    def do_HEAD(self):
        """Existence checks (MapCache's REST cache sends HEAD before GET) are
        answered honestly, never faulted, and do not count as attempts."""
        st = self.server.state
        if st.upstream:
            u = st.upstream
            try:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
                conn.request("HEAD", u.path.rstrip("/") + self.path)
                resp = conn.getresponse()
                status, ctype, length = (resp.status, resp.getheader("Content-Type"),
                                         resp.getheader("Content-Length", "0"))
                conn.close()
            except (http.client.HTTPException, OSError):
                status, ctype, length = 502, "text/plain", "0"
        else:
            rel = self.path.split("?", 1)[0].lstrip("/")
            root = os.path.abspath(st.args.root)
            path = os.path.normpath(os.path.join(root, rel))
            ok = path.startswith(root + os.sep) and os.path.isfile(path)
            status = 200 if ok else 404
            ctype = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
            length = str(os.path.getsize(path)) if ok else "0"
        if st.log:
            with st.lock:
                st.log.write("%.6f\t%s\t%s\t0\thead\t0\t0\t%s\n" % (
                    time.monotonic() - st.t0, self.server.server_address[0], self.path,
                    self.headers.get("User-Agent", "")))
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/octet-stream")
        self.send_header("Content-Length", length)
        self.end_headers()

    def uncount(self, st, host):
        if self.counted:
            self.counted = False
            st.end(host)

    def send_all(self, st, host, status, ctype, body, extra=()):
        head = ["HTTP/1.1 %d %s\r\n" % (status, self.responses.get(status, ("",))[0]),
                "Server: faultserver/1\r\n",
                "Content-Length: %d\r\n" % len(body)]
        if ctype:
            head.append("Content-Type: %s\r\n" % ctype)
        for k, v in extra:
            head.append("%s: %s\r\n" % (k, v))
        data = "".join(head).encode() + b"\r\n" + body
        self.wfile.write(data[:-1])
        self.uncount(st, host)  # before the last byte: see the module comment
        self.wfile.write(data[-1:])

    def upstream(self, st):
        """(status, content type, body) of this request's target upstream."""
        u = st.upstream
        for attempt in (1, 2):  # a kept-alive connection may have been closed
            conn = getattr(st.tls, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
                st.tls.conn = conn
            try:
                conn.request("GET", u.path.rstrip("/") + self.path,
                             headers={"User-Agent": self.headers.get("User-Agent", "")})
                resp = conn.getresponse()
                body = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    st.tls.conn = None
                return resp.status, resp.getheader("Content-Type"), body
            except (http.client.HTTPException, OSError):
                conn.close()
                st.tls.conn = None
                if attempt == 2:
                    return 502, "text/plain", b"faultserver: upstream unreachable\n"

    def serve_file(self, st, host, corrupt=False):
        if st.upstream:
            status, ctype, body = self.upstream(st)
            if corrupt and status == 200:
                body = body[: len(body) // 2]
            self.send_all(st, host, status, ctype, body)
            return
        rel = self.path.split("?", 1)[0].lstrip("/")
        root = os.path.abspath(st.args.root)
        path = os.path.normpath(os.path.join(root, rel))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            self.send_all(st, host, 404, "text/plain", b"not found\n")
            return
        with open(path, "rb") as f:
            body = f.read()
        if corrupt:
            body = body[: len(body) // 2]
        ctype = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
        self.send_all(st, host, 200, ctype, body)

    def client_gone(self, timeout):
        """Wait up to `timeout` s; True if the client closed the connection."""
        r, _, _ = select.select([self.connection], [], [], timeout)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def respond(self, st, host, answer, variant):
        a = st.args
        if answer == "ok":
            if a.delay_ms:
                time.sleep(a.delay_ms / 1000.0)
            self.serve_file(st, host)
        elif answer in ("503", "down"):
            self.send_all(st, host, 503, "text/plain", b"busy\n")
        elif answer == "429":
            self.send_all(st, host, 429, "text/plain", b"slow down\n",
                          [("Retry-After", "%d" % a.retry_after)])
        elif answer == "stall":
            if self.client_gone(a.stall_seconds):
                self.uncount(st, host)
                self.close_connection = True
            else:
                self.serve_file(st, host)
        elif answer == "reset":
            self.uncount(st, host)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif answer == "truncate":
            if st.upstream:
                body = self.upstream(st)[2] or b"x" * 1000
            else:
                rel = self.path.split("?", 1)[0].lstrip("/")
                path = os.path.join(a.root, rel)
                body = open(path, "rb").read() if os.path.isfile(path) else b"x" * 1000
            self.wfile.write(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                              "Content-Type: image/png\r\n\r\n" % len(body)).encode())
            self.wfile.write(body[: len(body) // 2])
            self.uncount(st, host)
            self.connection.shutdown(socket.SHUT_WR)
            self.close_connection = True
        elif answer == "corrupt":
            self.serve_file(st, host, corrupt=True)
        elif answer == "html":
            self.send_all(st, host, 200, "text/html; charset=utf-8", HTML_PAGE)
        elif answer == "exception":
            if variant:
                self.send_all(st, host, 200, "application/vnd.ogc.se_xml", WMS_EXCEPTION)
            else:
                self.send_all(st, host, 200, "application/xml", OWS_EXCEPTION)
        elif answer == "404":
            self.send_all(st, host, 404, "text/plain", b"no tile here\n")
        elif answer == "403":
            self.send_all(st, host, 403, "text/plain", b"forbidden\n")
        elif answer == "wrongsize":
            self.send_all(st, host, 200, "image/png", st.wrongsize)
        else:
            self.send_all(st, host, 500, "text/plain", b"faultserver bug\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # resets are expected here
        pass


def cmd_serve(a):
    state = State(a)
    servers = []
    for addr in a.bind or ["127.0.0.1"]:
        s = Server((addr, a.port), Handler)
        s.state = state
        servers.append(s)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            for s in servers:
                f.write("%s %d\n" % s.server_address[:2])
        os.rename(tmp, a.port_file)  # readers never see a half-written file

    def bye(*_):
        if state.log:
            state.log.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    threading.Timer(a.max_seconds, bye).start()
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def cmd_plan(a):
    shares = parse_faults(a.fault)
    for line in sys.stdin:
        target = line.strip()
        if target:
            kind, repeats, variant = decide(a.seed, target, shares, a.repeat)
            print("%s\t%s\t%d\t%d" % (target, kind or "none", repeats, variant))


def cmd_make_tiles(a):
    from osgeo import gdal
    import random
    rnd = random.Random(a.seed)
    mem = gdal.GetDriverByName("MEM")
    formats = a.formats.split(",")
    exts = {"png": ("PNG", "png"), "jpeg": ("JPEG", "jpg"), "webp": ("WEBP", "webp")}
    n = 0
    side = int(a.count ** 0.5) + 1
    for i in range(a.count):
        x, y = 100 + i % side, 200 + i // side
        fmt, ext = exts[formats[i % len(formats)]]
        ds = mem.Create("", a.size, a.size, 3, gdal.GDT_Byte)
        for b in range(3):
            base = rnd.randrange(256)
            row = bytes((base + xx * (b + 1) + i) % 256 for xx in range(a.size))
            ds.GetRasterBand(b + 1).WriteRaster(0, 0, a.size, a.size, row * a.size)
        d = os.path.join(a.out, str(a.zoom), str(x))
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "%d.%s" % (y, ext))
        gdal.GetDriverByName(fmt).CreateCopy(path, ds)
        aux = path + ".aux.xml"
        if os.path.exists(aux):
            os.remove(aux)
        print("/%d/%d/%d.%s" % (a.zoom, x, y, ext))
        n += 1
    return n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def faults(sp):
        sp.add_argument("--seed", default="1")
        sp.add_argument("--fault", action="append", metavar="KIND=SHARE")
        sp.add_argument("--repeat", type=int, default=2,
                        help="transient faults hit attempts 1..r, r in 1..REPEAT")

    s = sub.add_parser("serve")
    faults(s)
    s.add_argument("--root")
    s.add_argument("--upstream", help="proxy mode: http://HOST:PORT[/PREFIX] to forward to")
    s.add_argument("--bind", action="append", help="address (repeat for several hosts)")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--log")
    s.add_argument("--retry-after", type=int, default=1)
    s.add_argument("--stall-seconds", type=float, default=5.0)
    s.add_argument("--delay-ms", type=float, default=0.0)
    s.add_argument("--max-seconds", type=float, default=120.0)
    s.add_argument("--redirect", metavar="BASE",
                   help="answer GET /go/REST with 302 to BASE/REST (BASE 'self': this server)")
    s.add_argument("--header-log", metavar="F", help="append each GET's target and headers to F")
    s.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    s.add_argument("--tls-key", help="the certificate's private key (PEM)")
    s.add_argument("--tls-delay-ms", type=float, default=0.0,
                   help="hold each new connection this long before the TLS handshake")
    pl = sub.add_parser("plan")
    faults(pl)
    m = sub.add_parser("make-tiles")
    m.add_argument("--out", required=True)
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--zoom", type=int, default=12)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--formats", default="png,jpeg")
    m.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.cmd == "serve":
        if bool(a.root) == bool(a.upstream):
            p.error("serve needs exactly one of --root and --upstream")
        if a.upstream and urllib.parse.urlsplit(a.upstream).scheme != "http":
            p.error("--upstream must be an http:// URL")
        if bool(a.tls_cert) != bool(a.tls_key):
            p.error("--tls-cert and --tls-key go together")
        cmd_serve(a)
    elif a.cmd == "plan":
        cmd_plan(a)
    else:
        cmd_make_tiles(a)


if __name__ == "__main__":
    main()
