#!/usr/bin/env python3
"""test_catalog_stac.py: the Python side of test_catalog_stac.sh.

  gen DIR                 write DIR/cql2.ndjson (the filter catalog: ids with
                          %, _, \\, capitals and non-ASCII, strings the CQL2
                          examples compare with, null datetimes with intervals,
                          end_datetime alone, cloud cover missing or not) and
                          DIR/rgb/*.tif, constant rasters whose colour
                          statistics the evaluator knows exactly
  cql2 SWATH DB BASE EXAMPLES ITEMS
                          every CQL2-JSON example of the standard, as written
                          and with its properties renamed to swath's
                          queryables of the same type, plus the cases of the
                          issue: swath's ids (CLI, GET and POST /search)
                          against this file's evaluator, or a clean refusal
                          (exit 2 with one line, HTTP 400 with a JSON body)
                          where the evaluator says swath cannot answer
  stac SWATH DIR BASE ITEMS
                          the STAC specification's example items, ingested
                          into their own catalogs (DIR/<name>.db; BASE serves
                          the three whose ids differ): each comes back equal
                          (every number exact), with a bbox computed by OGR
                          when it had none, geometry null kept; a UTF-8 BOM
                          and \\u0000 accepted; bare dates and longitudes past
                          180 refused with the line

The evaluator is independent of swath's SQL: CQL2's rules in plain Python
(three-valued logic with None as NULL, `like` as a regular expression,
times as Python datetimes to the microsecond). Prints "ok - " / "FAIL - "
lines (lib.sh's py_checks counts them).
"""
import copy
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

FAILS = 0


def check(name, cond, detail=""):
    global FAILS
    print(("ok - " if cond else "FAIL - ") + name, flush=True)
    if not cond:
        FAILS += 1
        for line in str(detail).splitlines()[:30]:
            print("    " + line)
    return cond


# ---- the filter catalog ----------------------------------------------------

# what the examples compare with, near misses (case, prefixes) and the issue's ids
IDS = """Toronto toronto Frankfurt Tokyo New_York Smith Smithers smith John_Smith
LC82030282019133LGN00 OLI OLI_TIRS oli_tirs TIRS 153 154 15X 155 ScanSAR_Narrow ascending
HH+VV+HV+VH Jones Bob_Jones jones Mike Mike_Jones mike Big_Mike mikey brick brick_house
red_brick Brick fa7e1920-9107-422d-a3db-c468cbc5d6df foo foobar Foo xfoo a b c d
cs3-20160503_132131_05 cs3-20160503x132131x05 100%_done back\\slash PROJ-EXAMPLE proj-example
\u00fcn\u00efcode""".split()
IDS = [i.replace("_", " ") if i[0].isalpha() and "_" in i and not i.startswith(("cs3", "oli", "OLI"))
       else i for i in IDS]
COLLECTIONS = ["c1", "c2", "ascending", "brick"]
CLOUDS = [0.1, 0.2, None, 0, 1, 2, 3, 4, 5, 10, 15, 20, 28, 50, 99.9, 100, None, 150 / 2]
TIMES = [  # (datetime, start_datetime, end_datetime)
    ("2019-05-13T10:00:00Z", None, None),
    (None, "1969-07-16T13:32:00Z", "1969-07-24T16:50:35Z"),
    ("1969-07-20T20:17:40Z", None, None),
    ("2005-01-10T01:01:01.393Z", None, "2005-01-11T00:00:00Z"),
    ("1851-04-29T00:00:00Z", None, None),
    ("2012-08-10T05:30:00Z", "2012-08-10T05:00:00Z", "2012-08-10T06:00:00Z"),
    ("1970-01-01T00:00:00Z", None, None),
    ("2017-06-10T07:30:00Z", None, None),
    ("2010-02-10T05:29:20.073Z", None, None),
    (None, "2015-01-01T00:00:00Z", "2015-12-31T23:59:59.999Z"),
    ("1969-12-31T23:59:59.999Z", None, None),
]
# (red, green, blue) of the constant rasters every third item gets
RGB = [(5, 10, 20), (28, 203, 1), (100, 150, 4), (10, 10, 10), (2, 3, 4), (255, 1, 128)]


def item_props(item):
    """The queryable values of an item without colour statistics."""
    p = item["properties"]
    q = {"id": item["id"], "collection": item.get("collection", "items"),
         "eo:cloud_cover": p.get("eo:cloud_cover")}
    for k in ("datetime", "start_datetime", "end_datetime"):
        q[k] = p.get(k)
    for c in ("red", "green", "blue", "brightness", "method", "pixels", "source"):
        q["color:" + c] = None
    return q


def cql2_items(stac_dir=None):
    """The items, and the queryable values the evaluator sees for each, by
    (collection, id); with the STAC examples the server's catalog holds."""
    items, props = [], {}
    for x in ("core-item", "collectionless-item", "proj-example") if stac_dir else ():
        q = item_props(json.load(open(os.path.join(stac_dir, x + ".json"))))
        props[q["collection"], q["id"]] = q
    for k, ident in enumerate(IDS):
        dt, t0, t1 = TIMES[k % len(TIMES)]
        p = {"datetime": dt}
        if t0:
            p["start_datetime"] = t0
        if t1:
            p["end_datetime"] = t1
        cloud = CLOUDS[k % len(CLOUDS)]
        if cloud is not None:
            p["eo:cloud_cover"] = cloud
        x, y = (k % 20) * 2 - 20, (k // 20) * 2 - 10
        item = {"type": "Feature", "stac_version": "1.0.0", "id": ident,
                "collection": COLLECTIONS[k % len(COLLECTIONS)],
                "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1],
                                                                 [x, y + 1], [x, y]]]},
                "properties": p, "links": [], "assets": {}}
        q = item_props(item)
        if k % 3 == 0:
            r, g, b = RGB[(k // 3) % len(RGB)]
            item["assets"]["data"] = {"href": f"rgb/{k}.tif", "type": "image/tiff"}
            q.update({"color:red": float(r), "color:green": float(g), "color:blue": float(b),
                      "color:brightness": (r + g + b) / 3.0, "color:method": "exact",
                      "color:pixels": 256.0, "color:source": "data:1,2,3"})
        items.append(item)
        props[q["collection"], ident] = q
    return items, props


def gen(d):
    from osgeo import gdal, osr
    import numpy as np
    gdal.UseExceptions()
    items, _ = cql2_items()
    os.makedirs(os.path.join(d, "rgb"), exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    with open(os.path.join(d, "rgb_ids"), "w") as f:  # (the items with colour statistics)
        f.write(",".join(i["id"] for i in items if "data" in i["assets"]))
    with open(os.path.join(d, "cql2.ndjson"), "w") as f:
        for k, item in enumerate(items):
            if "data" in item["assets"]:
                path = os.path.join(d, item["assets"]["data"]["href"])
                item["assets"]["data"]["href"] = path
                ds = gdal.GetDriverByName("GTiff").Create(path, 16, 16, 3, gdal.GDT_Byte)
                ds.SetProjection(srs.ExportToWkt())
                x, y = item["geometry"]["coordinates"][0][0]
                ds.SetGeoTransform((x, 1 / 16, 0, y + 1, 0, -1 / 16))
                for band, v in enumerate(RGB[(k // 3) % len(RGB)]):
                    ds.GetRasterBand(band + 1).WriteArray(np.full((16, 16), v, np.uint8))
                ds = None
            f.write(json.dumps(item) + "\n")


# ---- the evaluator ---------------------------------------------------------

QUERYABLES = {"id": "t", "collection": "t", "datetime": "d", "start_datetime": "d",
              "end_datetime": "d", "eo:cloud_cover": "n", "color:red": "n", "color:green": "n",
              "color:blue": "n", "color:brightness": "n", "color:method": "t", "color:pixels": "n",
              "color:source": "t"}
SUPPORTED = {"and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "between", "in", "like",
             "isNull"}


class Refused(Exception):
    """What swath must refuse with a 400: an operator, function, property or
    literal it does not support, or a comparison of different types."""


def parse_time(s):
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", s)
    if not m:
        raise ValueError(s)
    us = int(((m.group(7) or "") + "000000")[:6])
    return datetime(*map(int, m.groups()[:6]), us, tzinfo=timezone.utc)


def parse_date(s):
    return datetime(*map(int, s.split("-")), tzinfo=timezone.utc)


def operand(a, item):
    """(type, value): type n, t, d, b; value None for NULL."""
    if isinstance(a, dict) and "property" in a:
        name = a["property"]
        if name not in QUERYABLES:
            raise Refused(f"property {name}")
        t = QUERYABLES[name]
        v = item[name]
        if v is not None and t == "d":
            v = parse_time(v)
        return t, v
    if isinstance(a, bool):
        return "b", a
    if isinstance(a, (int, float)):
        return "n", float(a)
    if isinstance(a, str):
        return "s", a
    if isinstance(a, dict) and "timestamp" in a:
        return "d", parse_time(a["timestamp"])
    if isinstance(a, dict) and "date" in a:
        return "d", parse_date(a["date"])
    raise Refused(f"argument {json.dumps(a)[:40]}")


def typed(ops):
    """The operands as one type (a string with a datetime is a datetime)."""
    props = {t for t, _ in ops if t != "s"}
    t = "d" if "d" in props else (props.pop() if len(props) == 1 else ("t" if not props else None))
    if t is None:
        raise Refused("types")
    out = []
    for ot, v in ops:
        if ot == "s" and t == "d":
            try:
                v = parse_time(v)
            except ValueError:
                raise Refused("not a time")
        elif ot == "s":
            ot = "t"
        if ot not in (t, "s"):
            raise Refused("types")
        out.append(v)
    return out


def like_re(pattern):
    out, k = "", 0
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            k += 1
            if k == len(pattern):
                raise Refused("lone escape")
            out += re.escape(pattern[k])
        elif c == "%":
            out += ".*"
        elif c == "_":
            out += "."
        else:
            out += re.escape(c)
        k += 1
    return re.compile(out, re.S)


def ev(e, item):
    """True, False or None (NULL) for item; Refused if swath cannot answer."""
    if isinstance(e, bool):
        return e
    if not isinstance(e, dict) or "op" not in e:
        raise Refused("not an expression")
    op, args = e["op"], e.get("args", [])
    if op not in SUPPORTED:
        raise Refused(f"op {op}")
    if op in ("and", "or"):
        vals = [ev(a, item) for a in args]
        if op == "and":
            return False if False in vals else (None if None in vals else True)
        return True if True in vals else (None if None in vals else False)
    if op == "not":
        v = ev(args[0], item)
        return None if v is None else not v
    if op == "isNull":
        t, v = operand(args[0], item)
        return v is None
    if op == "like":
        t, v = operand(args[0], item)
        if t not in ("t", "s") or not isinstance(args[1], str):
            raise Refused("like")
        rx = like_re(args[1])
        return None if v is None else bool(rx.fullmatch(v))
    if op == "in":
        if not isinstance(args[1], list):
            raise Refused("in")
        vals = typed([operand(a, item) for a in [args[0]] + args[1]])
        return vals[0] is not None and vals[0] in vals[1:]  # never NULL (CQL2 in-predicate)
    vals = typed([operand(a, item) for a in args])
    if None in vals:
        return None
    if op == "between":
        return vals[1] <= vals[0] <= vals[2]
    a, b = vals
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def expected(f, props):
    """The ids the filter selects (sorted), or None when swath must refuse."""
    try:
        return sorted(p["id"] for p in props.values() if ev(f, p) is True)
    except Refused:
        return None


# ---- examples with swath's queryables ----------------------------------------

POOLS = {"t": ["id", "collection", "color:method", "color:source"],
         "n": ["eo:cloud_cover", "color:red", "color:green", "color:blue", "color:brightness",
               "color:pixels"],
         "d": ["datetime", "start_datetime", "end_datetime"]}


def literal_type(a):
    if isinstance(a, bool):
        return "b"
    if isinstance(a, (int, float)):
        return "n"
    if isinstance(a, str):
        return "t"
    if isinstance(a, dict) and ("timestamp" in a or "date" in a):
        return "d"
    return None


def prop_types(e, out):
    """{property: type} from the literals each property meets."""
    if isinstance(e, list):
        for a in e:
            prop_types(a, out)
        return
    if not isinstance(e, dict):
        return
    args = e.get("args")
    if isinstance(args, list):
        lits = [literal_type(a) for a in args if literal_type(a)]
        for a in args:
            if isinstance(a, list):
                lits += [literal_type(x) for x in a if literal_type(x)]
        if e.get("op") == "like":
            lits = ["t"]
        for a in args:
            if isinstance(a, dict) and "property" in a and a["property"] not in out:
                out[a["property"]] = lits[0] if lits else None
        prop_types(args, out)
    for k, v in e.items():
        if k != "args" and isinstance(v, (dict, list)):
            prop_types(v, out)
    if "property" in e and e["property"] not in out:
        out[e["property"]] = None


def renamed(f):
    """The example with its properties renamed to queryables of their type
    (booleans and geometries have none: those stay, and are refused)."""
    types = {}
    prop_types(f, types)
    pools = {t: [p for p in ps if p not in types] for t, ps in POOLS.items()}
    names = {}
    for p, t in types.items():
        if p in QUERYABLES:
            continue
        t = t or "n"
        if t in pools and pools[t]:
            names[p] = pools[t].pop(0)

    def walk(e):
        if isinstance(e, list):
            return [walk(a) for a in e]
        if isinstance(e, dict):
            if "property" in e and e["property"] in names:
                return {**e, "property": names[e["property"]]}
            return {k: walk(v) for k, v in e.items()}
        return e
    return walk(f), names


# ---- swath -------------------------------------------------------------------

def http(base, path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else
                                 json.dumps(body).encode(), method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def http_ids(base, path, body=None):
    """All pages' ids (sorted) of a search, or (status, body) of an error."""
    ids = []
    while True:
        status, d = http(base, path, body)
        if status != 200:
            return status, d
        ids += [f["id"] for f in d["features"]]
        nxt = [l for l in d["links"] if l["rel"] == "next"]
        if not nxt:
            return 200, sorted(ids)
        if body is None:
            path = nxt[0]["href"][len(base):]
        else:
            body = nxt[0]["body"]


def cli(swath, args):
    p = subprocess.run([swath, "-q"] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def cli_ids(swath, db, f):
    rc, out, err = cli(swath, ["catalog", "search", "--catalog", db, "--filter", json.dumps(f),
                               "--limit", "10000", "--json"])
    if rc != 0:
        return rc, err
    return 0, sorted(x["id"] for x in json.loads(out)["features"])


def one_line_400(status, body):
    return (status == 400 and isinstance(body, dict) and body.get("code") ==
            "InvalidParameterValue" and "\n" not in body.get("description", "\n"))


def run_filter(name, f, props, swath, db, base, use_cli=True):
    """Compare swath's answers with the evaluator's: 'answered', 'refused' or None (failed)."""
    want = expected(f, props)
    got = {}
    q = urllib.parse.urlencode({"filter": json.dumps(f), "filter-lang": "cql2-json", "limit": 10000})
    got["GET"] = http_ids(base, "/search?" + q)
    got["POST"] = http_ids(base, "/search", {"filter": f, "limit": 10000})
    if use_cli:
        got["CLI"] = cli_ids(swath, db, f)
    if want is None:
        bad = {k: v for k, v in got.items() if not (
            (k == "CLI" and v[0] == 2 and v[1].count("\n") == 1 and v[1].startswith("swath: ")) or
            (k != "CLI" and one_line_400(*v)))}
        ok = check(f"{name}: refused by the CLI (exit 2, one line) and HTTP (400)", not bad,
                   "\n".join(f"{k}: {v!r}"[:300] for k, v in bad.items()) + f"\nfilter: {json.dumps(f)}")
        return "refused" if ok else None
    bad = {k: v for k, v in got.items() if v != (0 if k == "CLI" else 200, want)}
    ok = check(f"{name}: {len(want)} ids, as the evaluator's ({'/'.join(got)})", not bad,
               f"filter: {json.dumps(f)}\nwant: {want}\n" +
               "\n".join(f"{k}: {v!r}"[:400] for k, v in bad.items()))
    return "answered" if ok else None


ISSUE_CASES = [  # (name, filter): the cases issue 15 names, and their neighbours
    ("like is case-sensitive", {"op": "like", "args": [{"property": "id"}, "PROJ-EXAMPLE"]}),
    ("like: \\_ is an underscore",
     {"op": "like", "args": [{"property": "id"}, "cs3-20160503\\_132131\\_05"]}),
    ("like: _ is any one character",
     {"op": "like", "args": [{"property": "id"}, "cs3-20160503_132131_05"]}),
    ("like: \\% and \\\\", {"op": "or", "args": [
        {"op": "like", "args": [{"property": "id"}, "100\\%%"]},
        {"op": "like", "args": [{"property": "id"}, "back\\\\slash"]}]}),
    ("like: _ is one non-ASCII character", {"op": "like", "args": [{"property": "id"}, "_n_code"]}),
    ("isNull(datetime)", {"op": "isNull", "args": [{"property": "datetime"}]}),
    ("end_datetime > 2016-01-01 only where it is set",
     {"op": ">", "args": [{"property": "end_datetime"}, {"timestamp": "1960-01-01T00:00:00Z"}]}),
    ("datetime <> ts leaves null datetimes out",
     {"op": "<>", "args": [{"property": "datetime"}, {"timestamp": "1970-01-01T00:00:00Z"}]}),
    ("not(start_datetime < ts): unknown stays unknown", {"op": "not", "args": [
        {"op": "<", "args": [{"property": "start_datetime"}, {"timestamp": "2000-01-01T00:00:00Z"}]}]}),
    ("sub-millisecond literal", {"op": "<=", "args": [
        {"property": "datetime"}, {"timestamp": "1969-12-31T23:59:59.9989Z"}]}),
    ("literal on both sides", {"op": "=", "args": [1, 1]}),
    ("literals that differ", {"op": "<", "args": ["b", "a"]}),
    ("in with an empty list", {"op": "in", "args": [{"property": "id"}, []]}),
    ("not in with an empty list", {"op": "not", "args": [{"op": "in", "args": [{"property": "id"}, []]}]}),
    ("not in over missing cloud cover", {"op": "not", "args": [
        {"op": "in", "args": [{"property": "eo:cloud_cover"}, [0.1, 5]]}]}),
    ("colour statistics", {"op": "and", "args": [
        {"op": ">", "args": [{"property": "color:brightness"}, 10]},
        {"op": "=", "args": [{"property": "color:source"}, "data:1,2,3"]}]}),
    ("a number compared with a string", {"op": "=", "args": [{"property": "eo:cloud_cover"}, "5"]}),
]


def links_and_tokens(swath, db, base, props):
    """Items pages carry self, collection and root (and next); a token used
    with another sortby is a clean 400 / exit 2 naming both; datetime
    bounds between two milliseconds are rounded inwards."""
    path = "/collections/c1/items?limit=2"
    status, d = http(base, path)
    rels = {l["rel"]: l["href"] for l in d.get("links", [])} if status == 200 else {}
    check("/collections/{id}/items: self, collection, root and next links",
          rels.get("self") == base + path and rels.get("collection") == base + "/collections/c1"
          and rels.get("root") == base + "/" and "next" in rels, rels)
    if "next" in rels:
        status, d2 = http(base, rels["next"][len(base):])
        rels2 = {l["rel"]: l["href"] for l in d2.get("links", [])} if status == 200 else {}
        check("the next page's self link is the next link followed",
              rels2.get("self") == rels["next"] and rels2.get("collection") == rels["collection"],
              rels2)
    status, d = http(base, "/search?limit=1&sortby=datetime")
    nxt = [l["href"] for l in d["links"] if l["rel"] == "next"]
    token = urllib.parse.parse_qs(urllib.parse.urlparse(nxt[0]).query)["token"][0] if nxt else ""
    status, e = http(base, "/search?token=" + urllib.parse.quote(token))
    check("HTTP: a token of another sortby is a 400 naming both",
          one_line_400(status, e) and "another sortby '+datetime', not '-datetime'" in
          e["description"], f"{status} {e}")
    rc, out, err = cli(swath, ["catalog", "search", "--catalog", db, "--limit", "1",
                               "--sortby", "datetime"])
    m = re.search(r"--token (\S+)", err)
    rc, out, err = cli(swath, ["catalog", "search", "--catalog", db, "--token",
                               m.group(1) if m else "x"])
    check("CLI: a token of another sortby is exit 2, one line naming both",
          rc == 2 and err == "swath: token: it belongs to another sortby '+datetime', not "
          "'-datetime'\n", f"{rc} {err!r}")
    q0, q1 = "1969-12-31T23:59:59.9991Z", "1970-01-01T00:00:00.0001Z"

    def meets(p):
        lo, hi = p["start_datetime"] or p["datetime"], p["end_datetime"] or p["datetime"]
        return parse_time(hi) >= parse_time(q0) and parse_time(lo) <= parse_time(q1)
    want = sorted(p["id"] for p in props.values() if meets(p))
    got = http_ids(base, "/search?" + urllib.parse.urlencode({"datetime": f"{q0}/{q1}"}))
    check(f"datetime bounds between milliseconds are rounded inwards ({want})",
          got == (200, want) and want, got)


def cql2(swath, db, base, exdir, stac_dir):
    _, props = cql2_items(stac_dir)
    links_and_tokens(swath, db, base, props)
    # the catalog holds what the evaluator evaluates
    status, d = http(base, "/search?limit=10000")
    check("the filter catalog holds every item", status == 200 and
          sorted(f["id"] for f in d["features"]) == sorted(p["id"] for p in props.values()),
          f"{status}")
    counts = {"answered": 0, "refused": 0, None: 0}
    for name, f in ISSUE_CASES:
        run_filter(name, f, props, swath, db, base)
    files = sorted(x for x in os.listdir(exdir) if x.endswith(".json"))
    as_written = {"answered": 0, "refused": 0, None: 0}
    for x in files:
        f = json.load(open(os.path.join(exdir, x)))
        as_written[run_filter(f"{x} as written", f, props, swath, db, base, use_cli=False)] += 1
        g, names = renamed(f)
        counts[run_filter(f"{x} with {names or 'its own properties'}", g, props, swath, db,
                          base)] += 1
    print(f"# CQL2 examples ({len(files)}) with swath's queryables: {counts['answered']} answered "
          f"as the evaluator does, {counts['refused']} refused with a one-line 400/exit 2, "
          f"{counts[None]} wrong; as written: {as_written['answered']} answered, "
          f"{as_written['refused']} refused, {as_written[None]} wrong")
    check("the examples answered and refused add up", counts["answered"] + counts["refused"] ==
          len(files) and counts["answered"] >= 30, counts)


# ---- STAC example items --------------------------------------------------------

OWN_RELS = ("self", "parent", "collection", "root")


def ogr_bbox(geometry):
    from osgeo import ogr
    g = ogr.CreateGeometryFromJson(json.dumps(geometry))
    x0, x1, y0, y1 = g.GetEnvelope()
    return [x0, y0, x1, y1]


def want_item(orig, collection="items"):
    e = copy.deepcopy(orig)
    e.setdefault("collection", collection)
    if "bbox" not in e and e.get("geometry") is not None:
        e["bbox"] = ogr_bbox(e["geometry"])
    e["links"] = [l for l in e.get("links", []) if l.get("rel") not in OWN_RELS]
    return e


def without_own_links(got):
    g = copy.deepcopy(got)
    g["links"] = [l for l in g.get("links", []) if l.get("rel") not in OWN_RELS]
    return g


def diff(a, b, path=""):
    """The first place two JSON values differ (exactly: 1.0 == 1, as JSON)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}/{k}: {'missing' if k not in b else 'extra'}"
            d = diff(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} elements"
        for k, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}/{k}")
            if d:
                return d
        return None
    if a != b or (type(a) is bool) != (type(b) is bool):
        return f"{path}: {a!r} != {b!r}"
    return None


def ingest(swath, path, db):
    p = subprocess.run([swath, "catalog", "ingest", path, "--catalog", db],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def cli_item(swath, db, ident):
    rc, out, err = cli(swath, ["catalog", "search", "--catalog", db, "--ids", ident, "--json"])
    if rc:
        return None, err
    fs = json.loads(out)["features"]
    return (fs[0] if len(fs) == 1 else None), out[:300]


def stac(swath, d, base, itemdir):
    names = sorted(x for x in os.listdir(itemdir) if x.endswith(".json"))
    for x in names:
        orig = json.load(open(os.path.join(itemdir, x)))
        variants = [("as written", orig)]
        nobbox = copy.deepcopy(orig)
        nobbox.pop("bbox", None)
        variants.append(("without bbox", nobbox))
        nogeom = copy.deepcopy(nobbox)
        nogeom["geometry"] = None
        variants.append(("geometry null", nogeom))
        nul = copy.deepcopy(orig)
        nul["properties"]["description"] = "a\u0000b, \u00e9"
        variants.append(("\\u0000 in a string", nul))
        for k, (what, item) in enumerate(variants):
            src = os.path.join(d, f"{x}.{k}.json")
            with open(src, "wb") as f:
                f.write(("\ufeff" if what == "as written" else "").encode())  # a BOM
                f.write(json.dumps(item, indent=2).encode())
            db = os.path.join(d, f"{x}.{k}.db")
            rc, log = ingest(swath, src, db)
            if not check(f"{x} {what}: ingested", rc == 0 and "1 new" in log, log):
                continue
            got, detail = cli_item(swath, db, item["id"])
            want = want_item(item)
            dd = diff(want, without_own_links(got)) if got else detail
            check(f"{x} {what}: comes back equal, numbers exact", dd is None, dd)
            if what == "geometry null":
                rc, out, err = cli(swath, ["catalog", "search", "--catalog", db, "--bbox",
                                           "-180,-90,180,90", "--json"])
                n = json.loads(out)["numberReturned"] if rc == 0 else err
                check(f"{x} {what}: no bbox search finds it", n == 0, n)
    # over HTTP: the items whose ids differ, in the server's catalog
    for x in names:
        orig = json.load(open(os.path.join(itemdir, x)))
        if orig["id"] == "20201211_223832_CS2" and x != "core-item.json":
            continue
        coll = orig.get("collection", "items")
        path = f"/collections/{urllib.parse.quote(coll)}/items/{urllib.parse.quote(orig['id'])}"
        status, got = http(base, path)
        dd = diff(want_item(orig), without_own_links(got)) if status == 200 else status
        check(f"{x} over HTTP: comes back equal, numbers exact", dd is None, dd)
        own = {l["rel"]: l["href"] for l in got.get("links", []) if l.get("rel") in OWN_RELS}
        check(f"{x} over HTTP: self, parent, collection and root links",
              own.get("self") == base + path and own.get("root") == base + "/" and
              own.get("collection") == base + path.rsplit("/items/", 1)[0], own)
    # a collection's extent is its one item's bbox and interval, exactly
    core = json.load(open(os.path.join(itemdir, "core-item.json")))
    status, coll = http(base, "/collections/" + core["collection"])
    ext = coll.get("extent", {}) if status == 200 else {}
    check("a collection's extent keeps every digit of its item's bbox and times",
          ext.get("spatial", {}).get("bbox") == [core["bbox"]] and
          ext.get("temporal", {}).get("interval") == [[core["properties"]["start_datetime"],
                                                        core["properties"]["end_datetime"]]], ext)
    # refused, with the line: a bare date, a longitude past 180
    bad = [copy.deepcopy(core) for _ in range(3)]
    bad[1]["id"] = "date-only"
    bad[1]["properties"]["start_datetime"] = "2020-12-11"
    bad[2]["id"] = "lon-190"
    bad[2]["geometry"]["coordinates"][0][1][0] = 190.0
    del bad[2]["bbox"]
    src = os.path.join(d, "bad.ndjson")
    with open(src, "wb") as f:  # (newline-delimited, with a BOM)
        f.write(("\ufeff" + "".join(json.dumps(i) + "\n" for i in bad)).encode())
    rc, log = ingest(swath, src, os.path.join(d, "bad.db"))
    check("a bare-date datetime is refused, with its line",
          rc == 0 and "bad.ndjson:2: skipped: properties.start_datetime '2020-12-11'" in log, log)
    check("a longitude past 180 is refused, with its line",
          "bad.ndjson:3: skipped: item 'lon-190': geometry spans longitudes" in log and
          "1 new" in log, log)


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2])
        return 0
    if cmd == "cql2":
        cql2(*sys.argv[2:7])
    elif cmd == "stac":
        stac(*sys.argv[2:6])
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
