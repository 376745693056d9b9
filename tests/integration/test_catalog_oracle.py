#!/usr/bin/env python3
"""Brute-force oracle for `swath catalog search` and the STAC API.

Reads the generated Sentinel-2 index CSV itself, answers random queries by
scanning every row, and checks that swath answers them identically:
  - the CLI (`swath catalog search ... --all`, all pages),
  - HTTP GET /search following `next` links (small pages),
  - HTTP POST /search following `next` links (body with token),
  - HTTP GET /collections/{id}/items (for queries it can express),
comparing the ordered list of ids (so sorting, tie-breaking and paging are
checked too), numberMatched and numberReturned, and that no page repeats
or skips an item. Standard library only.

  test_catalog_oracle.py --swath BIN --catalog DB --csv FILE --base URL
                         [--queries N] [--seed S]

Rows get rid = their order in the file (how a new catalog is built), which
is the final tie-breaker of every sort, in the direction of the last key.
Prints one line per check; exits 1 if any failed.
"""
import argparse
import csv
import datetime as dt
import json
import random
import subprocess
import sys
import urllib.parse
import urllib.request

FAILS = 0


def check(ok, what):
    global FAILS
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILS += 1


def ms(s):
    """RFC 3339 (Z) or a date -> ms since the epoch (date: first ms)."""
    if len(s) == 10:
        d = dt.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    else:
        d = dt.datetime.strptime(s.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f" if "." in s
                                 else "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(round(d.timestamp() * 1000))


def load(path):
    rows = []
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        for i, x in enumerate(r):
            rows.append({
                "rid": i + 1,
                "id": x["GRANULE_ID"],
                "dt": ms(x["SENSING_TIME"]),
                "cloud": float(x["CLOUD_COVER"]),
                "w": float(x["WEST_LON"]), "s": float(x["SOUTH_LAT"]),
                "e": float(x["EAST_LON"]), "n": float(x["NORTH_LAT"]),
            })
    return rows


def parts(w, s, e, n):
    return [(w, s, e, n)] if w <= e else [(w, s, 180.0, n), (-180.0, s, e, n)]


def meets(a, b):
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def interval(q):
    if "/" not in q:
        t0 = ms(q)
        return t0, (t0 + 86400000 - 1) if len(q) == 10 else t0
    a, b = q.split("/")
    t0 = None if a in ("", "..") else ms(a)
    t1 = None if b in ("", "..") else ms(b) + (86400000 - 1 if len(b) == 10 else 0)
    return t0, t1


SORTS = {
    "datetime": lambda r: r["dt"],
    "eo:cloud_cover": lambda r: r["cloud"],
    "id": lambda r: r["id"],
}


def expected(rows, q):
    out = []
    qb = parts(*q["bbox"]) if "bbox" in q else None
    t0, t1 = interval(q["datetime"]) if "datetime" in q else (None, None)
    ids = set(q["ids"]) if "ids" in q else None
    for r in rows:
        if qb and not any(meets(a, b) for a in parts(r["w"], r["s"], r["e"], r["n"]) for b in qb):
            continue
        if t0 is not None and r["dt"] < t0:
            continue
        if t1 is not None and r["dt"] > t1:
            continue
        if "cloud_max" in q and not r["cloud"] <= q["cloud_max"]:
            continue
        if ids is not None and r["id"] not in ids:
            continue
        out.append(r)
    keys = q["sortby"]
    # stable sorts from the last key to the first; rid breaks ties in the
    # direction of the last key
    out.sort(key=lambda r: r["rid"], reverse=keys[-1][0] == "-")
    for k in reversed(keys):
        out.sort(key=SORTS[k.lstrip("-+")], reverse=k[0] == "-")
    return [r["id"] for r in out]


def rand_query(rng, rows):
    q = {}
    kind = rng.random()
    if kind < 0.85:
        size = rng.choice([0.0, 2.0, 10.0, 40.0, 90.0])
        if rng.random() < 0.15:  # across the antimeridian
            w = round(rng.uniform(175.0, 179.9), 3)
            e = round(rng.uniform(-179.9, -170.0), 3)
        else:
            w = round(rng.uniform(-180.0, 180.0 - size), 3)
            e = round(w + size, 3)
        s = round(rng.uniform(-60.0, 75.0 - min(size, 40)), 3)
        n = round(min(90.0, s + min(size, 40)), 3)
        q["bbox"] = (w, s, e, n)
    elif kind < 0.95:
        q["ids"] = [r["id"] for r in rng.sample(rows, rng.randint(1, 30))] + ["no-such-id"]
    if rng.random() < 0.6:
        d0 = dt.date(2015, 7, 1) + dt.timedelta(days=rng.randint(0, 3400))
        d1 = d0 + dt.timedelta(days=rng.choice([0, 30, 365, 1500]))
        form = rng.randint(0, 4)
        if form == 0:
            q["datetime"] = d0.isoformat()
        elif form == 1:
            q["datetime"] = f"{d0.isoformat()}/{d1.isoformat()}"
        elif form == 2:
            q["datetime"] = f"../{d1.isoformat()}T12:00:00Z"
        elif form == 3:
            q["datetime"] = f"{d0.isoformat()}T06:30:00.5Z/.."
        else:
            q["datetime"] = f"{d0.isoformat()}T00:00:00Z/{d1.isoformat()}T23:59:59Z"
    if rng.random() < 0.5:
        q["cloud_max"] = rng.choice([0.5, 10, 20, 55.5, 99])
    q["sortby"] = rng.choice([["-datetime"], ["datetime"], ["-eo:cloud_cover"],
                              ["eo:cloud_cover", "-datetime"], ["id"], ["-id"]])
    q["limit"] = rng.choice([1, 3, 7, 25, 100])
    return q


def cloud_filter(q):
    return {"op": "<=", "args": [{"property": "eo:cloud_cover"}, q["cloud_max"]]}


def cli(args, q):
    cmd = [args.swath, "-q", "catalog", "search", "--catalog", args.catalog, "--all",
           "--limit", str(q["limit"]), "--sortby", ",".join(q["sortby"])]
    if "bbox" in q:
        cmd += ["--bbox", ",".join(str(v) for v in q["bbox"])]
    if "datetime" in q:
        cmd += ["--datetime", q["datetime"]]
    if "cloud_max" in q:
        cmd += ["--cloud-max", str(q["cloud_max"])]
    if "ids" in q:
        cmd += ["--ids", ",".join(q["ids"])]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return [line.split("\t")[0] for line in p.stdout.splitlines() if line], p.stderr


def get_json(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def follow(first_url, body, n_expected):
    """All pages; returns (ids, problems)."""
    ids, problems, url, pages = [], [], first_url, 0
    while url:
        pages += 1
        if pages > 2000:
            problems.append("more than 2000 pages")
            break
        fc = get_json(url, body)
        feats = fc["features"]
        if fc.get("numberReturned") != len(feats):
            problems.append(f"numberReturned {fc.get('numberReturned')} != {len(feats)}")
        if fc.get("numberMatched") != n_expected:
            problems.append(f"numberMatched {fc.get('numberMatched')} != {n_expected}")
        ids += [f["id"] for f in feats]
        nxt = [l for l in fc.get("links", []) if l.get("rel") == "next"]
        url, body = (nxt[0]["href"], nxt[0].get("body")) if nxt else (None, None)
    return ids, problems


def http_get_url(base, q):
    p = {"limit": q["limit"], "sortby": ",".join(q["sortby"])}
    if "bbox" in q:
        p["bbox"] = ",".join(str(v) for v in q["bbox"])
    if "datetime" in q:
        p["datetime"] = q["datetime"]
    if "cloud_max" in q:
        p["filter"] = json.dumps(cloud_filter(q))
        p["filter-lang"] = "cql2-json"
    if "ids" in q:
        p["ids"] = ",".join(q["ids"])
    return base + "/search?" + urllib.parse.urlencode(p)


def post_body(q):
    b = {"limit": q["limit"], "sortby": [
        {"field": k.lstrip("-+"), "direction": "desc" if k[0] == "-" else "asc"}
        for k in q["sortby"]]}
    if "bbox" in q:
        b["bbox"] = list(q["bbox"])
    if "datetime" in q:
        b["datetime"] = q["datetime"]
    if "cloud_max" in q:
        b["query"] = {"eo:cloud_cover": {"lte": q["cloud_max"]}}  # the query extension
    if "ids" in q:
        b["ids"] = q["ids"]
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swath", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = load(args.csv)
    rng = random.Random(args.seed)
    nonempty = 0
    for i in range(args.queries):
        q = rand_query(rng, rows)
        exp = expected(rows, q)
        # keep the page count reasonable: at most ~60 pages per query
        q["limit"] = max(q["limit"], -(-len(exp) // 60))
        nonempty += bool(exp)
        desc = json.dumps(q)
        got, err = cli(args, q)
        check(got == exp, f"cli   q{i}: {len(exp)} expected, {len(got) if got is not None else err} "
              f"got {desc}")
        ids, problems = follow(http_get_url(args.base, q), None, len(exp))
        check(ids == exp and not problems,
              f"GET   q{i}: {len(ids)} ids over pages, dups={len(ids) - len(set(ids))} "
              f"{'; '.join(problems[:2])}")
        ids, problems = follow(args.base + "/search", post_body(q), len(exp))
        check(ids == exp and not problems,
              f"POST  q{i}: {len(ids)} ids over pages, dups={len(ids) - len(set(ids))} "
              f"{'; '.join(problems[:2])}")
        if "ids" not in q and "cloud_max" not in q:
            p = {"limit": q["limit"], "sortby": ",".join(q["sortby"])}
            for k in ("bbox", "datetime"):
                if k in q:
                    p[k] = ",".join(map(str, q[k])) if k == "bbox" else q[k]
            url = args.base + "/collections/sentinel-2-l1c/items?" + urllib.parse.urlencode(p)
            ids, problems = follow(url, None, len(exp))
            check(ids == exp and not problems, f"items q{i}: {len(ids)} ids over pages")
    check(nonempty >= args.queries // 3, f"{nonempty} of {args.queries} queries matched something")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
