"""mutation_fuzz.py: the script-driven mutation fuzzer of issue 16, run by
test_mutation_fuzz.sh against the real `swath` binary.

It writes a fixed number of hostile job files (N_JOBS: wrong types, huge
numbers, unicode and control characters, deep nesting, duplicate keys, YAML
aliases and tags, byte-level damage, special files) and bandmath
expressions (N_EXPR), all from one fixed seed, so every run tries the same
cases. Each runs as `swath run JOB --no-progress --workers 1` with a time
and memory limit, and must:

  - exit 0, 1 or 2 (no signal, no abort, no timeout);
  - on exit 2, print exactly one line on stderr, "swath: ...";
  - on exit 2, write nothing: its output folder stays absent or empty;
  - on exit 1, say why on a "swath: ..." line.

Expressions must exit 0 or 2: an expression is checked before any tile.

Usage: mutation_fuzz.py SWATH WORK   (WORK holds data/img.tif, data/b.tif)
Prints "ok - ..." / "FAIL - ..." lines for lib.sh's py_checks."""
import json
import os
import random
import resource
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SEED = 16
N_JOBS = 486
N_EXPR = 136
TIMEOUT_S = 30          # per case; a case that needs it has hung
MEMORY_BYTES = 4 << 30  # address space (tcmalloc and GDAL reserve some)

SWATH, WORK = sys.argv[1], sys.argv[2]
rng = random.Random(SEED)


# ---- base jobs (valid, quick: one metatile of a 64-pixel raster) ----------

def base_job(kind, out):
    job = {
        "process": "convert",
        "inputs": {"img": os.path.join(WORK, "data", "img.tif")},
        "grid": {"name": "WebMercatorQuad", "metatiling": 2},
        "zoom": 10,
        "output": {"path": out, "format": "PNG"},
        "cache": {"path": "cache"},
    }
    if kind == 1:
        job["process"] = "bandmath"
        job["params"] = {"expression": "img.b1 * 0.5 + b.b1; img.b2", "dtype": "Byte"}
        job["inputs"]["b"] = {"path": os.path.join(WORK, "data", "b.tif"), "type": "gdal"}
        job["output"].update({"format": "GTiff", "compression": "DEFLATE"})
    elif kind == 2:
        job["process"] = "hillshade"
        job["inputs"] = {"dem": os.path.join(WORK, "data", "b.tif")}
        job["params"] = {"azimuth": 315, "altitude": 45, "z_factor": 2}
        job["zoom"] = [9, 10]
        job["area"] = {"bounds": [8.5, 47.37, 8.52, 47.39], "crs": "EPSG:4326"}
        job["output"].update({"overviews": True, "resampling": "bilinear"})
    return job


# ---- values that break types, ranges and text ------------------------------

UNICODE = ["Zürich", "\u202e\u0644\u0627", "\U0001F600" * 3, "e\u0301\u0301", "\ufeff", "\u2028x",
           "\uffff", "\u00a0", "日本語"]
CONTROL = ["\x01", "\x07", "\x1b[31m", "\t", "\r", "\x7f", "\x08", "\x0b\x0c", "\n"]


def deep_list(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v


def deep_map(n):
    v = 1
    for _ in range(n):
        v = {"a": v}
    return v


def hostile_value():
    pick = rng.randrange(24)
    return [
        None, True, False, 0, -1, 2 ** 63, -2 ** 63 - 1, 10 ** 40, 1e308, -0.0,
        "", "x" * rng.choice([300, 5000, 70000]), [], {}, [1, 2, 3], {"k": "v"},
        rng.choice(UNICODE), "a" + rng.choice(CONTROL) + "b",
        rng.choice(["../../../etc/passwd", "/dev/zero", "/dev/urandom", "/proc/self/mem", "/",
                    ".", "data", "data/img.tif/x", "/vsizip//dev/zero", "/vsicurl/http://127.0.0.1:9/x"]),
        deep_list(rng.choice([20, 63, 70])), deep_map(rng.choice([20, 70])),
        rng.choice(["nan", ".inf", "-.inf", "0x7fffffff", "1e999", "1_000", "0o17", "+12", "1,5"]),
        rng.choice(["true", "yes", "on", "~", "null", "NULL", "Null"]),
        [rng.choice(UNICODE)] * 3,
    ][pick]


def paths(v, prefix=()):
    """Every (path, value) of the tree."""
    yield prefix, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from paths(x, prefix + (i,))


def get_parent(tree, path):
    for k in path[:-1]:
        tree = tree[k]
    return tree


def safe_output(path, value):
    """Never let a mutant write outside the work folder: output.path only
    takes values under it, or ones that cannot be written."""
    if path[:2] == ("output", "path") and isinstance(value, str):
        return value in ("", "/dev/null/x", "/proc/x") or (
            not value.startswith("/") and ".." not in value)
    return True


def tree_mutation(job):
    """One change to the tree; returns a description."""
    nodes = [(p, v) for p, v in paths(job) if p]
    path, _ = rng.choice(nodes)
    parent = get_parent(job, path)
    op = rng.randrange(7)
    if op <= 2:
        v = hostile_value()
        if not safe_output(path, v):
            v = "/dev/null/x"
        parent[path[-1]] = v
        return "%s = %s" % ("/".join(map(str, path)), json.dumps(v)[:60])
    if op == 3 and isinstance(parent, dict):
        del parent[path[-1]]
        return "delete %s" % "/".join(map(str, path))
    if op == 4 and isinstance(parent, dict):
        k = rng.choice(["frobnicate", rng.choice(UNICODE), "a" + rng.choice(CONTROL), "", "0", "<<"])
        parent[k] = hostile_value()
        return "add key %r" % k
    if op == 5 and isinstance(parent, dict) and path[-1] != "path":
        k = path[-1]
        parent[k + rng.choice(UNICODE + CONTROL)] = parent.pop(k)
        return "rename key %s" % k
    v = parent[path[-1]]
    parent[path[-1]] = [v] if rng.random() < 0.5 else {"value": v}
    if path[:2] == ("output", "path"):
        parent[path[-1]] = "/dev/null/x"
    return "wrap %s" % "/".join(map(str, path))


def to_yaml(job):
    """JSON is YAML; sometimes a key per line in block style instead."""
    if rng.random() < 0.5:
        return json.dumps(job, ensure_ascii=rng.random() < 0.5) + "\n"
    lines = []
    for k, v in job.items():
        lines.append("%s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)))
    return "\n".join(lines) + "\n"


LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' +
          "".join("%s: &%s [%s]\n" % (c, c, ",".join(["*" + p] * 10))
                  for p, c in zip("abcdefgh", "bcdefghi")))


def text_mutation(text):
    """One change to the text; returns (text, description)."""
    op = rng.randrange(14)
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    if op == 0:
        lines.insert(i, lines[i])
        return "\n".join(lines), "duplicate line %d (duplicate key)" % (i + 1)
    if op == 1:
        del lines[i]
        return "\n".join(lines), "delete line %d" % (i + 1)
    if op == 2:
        lines[i] = rng.choice(["\t", "   ", " ", "- "]) + lines[i]
        return "\n".join(lines), "indent line %d" % (i + 1)
    if op == 3:
        n = rng.randrange(len(text) + 1)
        return text[:n], "truncate at %d" % n
    if op == 4:
        b = bytearray(text.encode())
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return b, "flip bytes"
    if op == 5:
        n = rng.randrange(len(text) + 1)
        return text[:n] + rng.choice(CONTROL + UNICODE + ["\x00"]) + text[n:], "insert a character at %d" % n
    if op == 6:
        return text + LAUGHS + "params: {x: *i}\n", "billion laughs"
    if op == 7:
        return text + "x: &anchor {a: 1}\ny: *anchor\nz: *nope\n", "anchor and aliases"
    if op == 8:
        n = rng.choice([65, 200, 40000, 100000])
        return text + "x: " + "[" * n + "]" * rng.choice([0, n]) + "\n", "%d levels of flow nesting" % n
    if op == 9:
        n = rng.choice([65, 100, 300])
        return text + "".join("%sk:\n" % (" " * d) for d in range(n)), "%d levels of block nesting" % n
    if op == 10:
        tag = rng.choice(["!!binary aGVsbG8=", "!!python/object:os.system", "!!map {a: 1}", "!!set {a}",
                          "!!omap [a: 1]", "!<tag:x> 1", "!!float x", "!!int 1.5"])
        return text + "zoom: " + tag + "\n", "tag " + tag
    if op == 11:
        return text + rng.choice(["---\nzoom: 3\n", "...\n---\n[", "%YAML 1.1\n---\n", "? [a, b]\n: 1\n",
                                  "{a: 1}: 2\n", "<<: {zoom: 3}\n"]), "document and key forms"
    if op == 12:
        enc = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1"])
        return text.replace("Z", "Ž").encode(enc, errors="replace"), "encoded as " + enc
    return text.replace("\n", rng.choice(["\r\n", "\r", "\n\n\n", " \n"])), "line endings"


def make_jobs(root):
    """[(job file, output folder, description)], N_JOBS of them."""
    cases = []
    special = os.path.join(root, "special")
    os.makedirs(special)
    big = os.path.join(special, "big.yaml")
    with open(big, "w") as f:
        f.write("zoom: 3\n" + "#" * (1 << 20))
    exact = os.path.join(special, "exactly-1MiB.yaml")
    with open(exact, "w") as f:
        f.write("zoom: 3\n" + "#" * ((1 << 20) - 9) + "\n")
    fifo = os.path.join(special, "fifo.yaml")
    os.mkfifo(fifo)
    loop = os.path.join(special, "loop.yaml")
    os.symlink(loop, loop)
    empty = os.path.join(special, "empty.yaml")
    open(empty, "w").close()
    nuls = os.path.join(special, "nuls.yaml")
    with open(nuls, "wb") as f:
        f.write(b"\0" * 4096)
    binary = os.path.join(special, "binary.yaml")
    with open(binary, "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(3000)))
    noperm = os.path.join(special, "noperm.yaml")
    with open(noperm, "w") as f:
        f.write("zoom: 3\n")
    os.chmod(noperm, 0)
    for p in ["/dev/zero", "/dev/urandom", "/dev/null", "/dev/full", "/proc/self/mem", "/proc/self/maps",
              special, "/", big, exact, fifo, loop, empty, nuls, binary, noperm,
              os.path.join(special, "missing.yaml"), os.path.join(special, "dir.yaml", "x")]:
        cases.append((p, None, "special file " + p))
    n = 0
    while len(cases) < N_JOBS:
        n += 1
        out = os.path.join(WORK, "out", "job%d" % n)
        job = base_job(n % 3, out)
        desc = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            desc.append(tree_mutation(job))
        text = to_yaml(job)
        if rng.random() < 0.45:
            text, d = text_mutation(text)
            desc.append(d)
        path = os.path.join(root, "job%d.yaml" % n)
        with open(path, "wb") as f:
            f.write(text if isinstance(text, (bytes, bytearray)) else text.encode("utf-8", "surrogatepass"))
        cases.append((path, out, "; ".join(desc)))
    return cases


# ---- hostile expressions ----------------------------------------------------

def make_expressions():
    fixed = [
        "", " ", ";", ";;;;", "img.b1;" * 17, "img.b1;" * 16,
        "x" * 2020, "img.b1 + " + "y" * 3000, "img.b1 + 1" * 600, "(" * 10000 + "img.b1" + ")" * 10000,
        "(" * 100 + "img.b1", "img.b1" + ")" * 100, "-" * 5000 + "1", "!" * 300 + "1", "1" + "^1" * 2400,
        "sin(" * 1000 + "1" + ")" * 1000, "img.b1 % 2", "img.b1 // 2", "img.b1 ** 2", "img.b1 =< 2",
        "img.b0", "img.b99", "img.b4", "img.b1b1", "img.b", "img.", ".b1", "img..b1", "IMG.b1", "b.b2",
        "img.b-1", "img.b1.5", "img.b01", "img.b1e3", "img.b1 + nosuch.b1", "nri.b1 - red.b1",
        "1/0", "0/0", "log(-1)", "sqrt(-1)", "1e308 * 10", "1e999", "-1e999", "0x1F", "1e", "1.2.3", "..5",
        "min()", "max(,)", "sum(1,)", "avg(1;2)", "sin(1,2)", "sin", "sin()", "atan2(1)", "rint", "pi", "_pi()",
        "1 ? 2", "1 ? 2 : ", "? :", "1 : 2", "1 ? 2 : 3 ? 4", "(1 ? 2 : 3) ? 4 : 5 : 6", "sum(0?1,2,3,4:5)",
        "img.b1 = 5", "img.b1 += 1", "b.b1 = img.b1 = 1", "\"text\"", "strfun1(\"a\")", "'a'",
        "img.b1\n+ 1", "img.b1\r", "img.b1\x00 + 1", "img.b1\x1b[2J", "img.b1\t*\t2", "\x7f",
        "Zürich.b1", "img.b1 × 2", "img.b1 − 1", "\u202eimg.b1", "img.b1 + \U0001F600", "\ufeffimg.b1",
        "img.b1 + " * 300 + "1", "&&", "||", "img.b1 && || b.b1", "img.b1 <> 1", "img.b1 ! = 1",
        "1,2", "(1,2)", "((1,2),3)", "#comment", "img.b1 # x", "img.b1 $ 2", "img.b1 @ 2", "img.b1 ~ 2",
        "\\", "img.b1\\2", "{img.b1}", "[img.b1]", "img.b1;;img.b2", " ; img.b1", "img.b1 ;",
    ]
    atoms = ["img.b1", "img.b2", "img.b3", "b.b1", "1", "0", "-1", "2.5e3", "_pi", "_e", "nir.b1", "img.b9"]
    funcs = ["sin", "cos", "log", "ln", "exp", "sqrt", "abs", "min", "max", "sum", "avg", "rint", "sign", "nofun"]
    ops = ["+", "-", "*", "/", "^", "&&", "||", "==", "!=", "<", ">", "<=", ">=", "%", ",", ""]

    def gen(d):
        r = rng.random()
        if d > 6 or r < 0.3:
            return rng.choice(atoms)
        if r < 0.5:
            f = rng.choice(funcs)
            return "%s(%s)" % (f, ",".join(gen(d + 1) for _ in range(rng.randrange(0, 4))))
        if r < 0.6:
            return "(%s ? %s : %s)" % (gen(d + 1), gen(d + 1), gen(d + 1))
        if r < 0.65:
            return "(" * rng.randrange(1, 4) + gen(d + 1)
        return "%s %s %s" % (gen(d + 1), rng.choice(ops), gen(d + 1))

    exprs = list(fixed)
    while len(exprs) < N_EXPR:
        exprs.append(gen(0))
    return exprs[:N_EXPR]


def expression_jobs(root, exprs):
    cases = []
    for i, e in enumerate(exprs):
        out = os.path.join(WORK, "out", "expr%d" % i)
        job = base_job(1, out)
        job["params"]["expression"] = e
        job["params"]["dtype"] = "Float32"
        path = os.path.join(root, "expr%d.yaml" % i)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(json.dumps(job) + "\n")
        cases.append((path, out, "expression %s" % json.dumps(e)[:70]))
    return cases


# ---- running ------------------------------------------------------------------

def limit():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def files_under(d):
    if not d or not os.path.isdir(d):
        return []
    return [os.path.join(a, f) for a, _, fs in os.walk(d) for f in fs]


def run(case):
    path, out, desc = case
    t0 = time.time()
    try:
        p = subprocess.run([SWATH, "run", path, "--no-progress", "--workers", "1"], cwd=WORK,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S,
                           preexec_fn=limit)
        rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc, err = "timeout", (e.stderr or b"").decode("utf-8", "replace")
    return path, out, desc, rc, err, time.time() - t0


def main():
    root = os.path.join(WORK, "mutants")
    os.makedirs(root)
    jobs = make_jobs(root)
    exprs = expression_jobs(root, make_expressions())
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run, jobs + exprs))
    took = time.time() - t0
    # The mode-0 file must not stay behind (rm -rf copes, but be tidy).
    os.chmod(os.path.join(root, "special", "noperm.yaml"), stat.S_IRUSR | stat.S_IWUSR)

    bad_rc, bad_lines, wrote, silent_1, expr_1 = [], [], [], [], []
    counts = {}
    for i, (path, out, desc, rc, err, secs) in enumerate(results):
        is_expr = i >= len(jobs)
        counts[rc] = counts.get(rc, 0) + 1
        lines = err.splitlines()
        what = "%s (%s): exit %s, %.1f s; stderr: %s" % (os.path.basename(path), desc, rc, secs,
                                                          " | ".join(lines)[:300])
        if rc not in (0, 1, 2):
            bad_rc.append(what)
            continue
        if rc == 2:
            if len(err.split("\n")) != 2 or not err.startswith("swath: "):
                bad_lines.append(what)
            written = files_under(out)
            if written:
                wrote.append(what + "; wrote " + ", ".join(written[:3]))
        if rc == 1 and not any(l.startswith("swath: ") for l in lines):
            silent_1.append(what)
        if is_expr and rc == 1:
            expr_1.append(what)

    print("# %d job files and %d expressions in %.1f s; exit statuses: %s" % (
        len(jobs), len(exprs), took, ", ".join("%s: %d" % kv for kv in sorted(counts.items(), key=str))))

    def check(name, failures):
        if failures:
            print("FAIL - " + name)
            for f in failures[:15]:
                print("    " + f)
            if len(failures) > 15:
                print("    ... and %d more" % (len(failures) - 15))
        else:
            print("ok - " + name)

    check("every mutant exits 0, 1 or 2 (no signal, abort or timeout of %d s)" % TIMEOUT_S, bad_rc)
    check("every exit 2 prints exactly one line on stderr, 'swath: ...'", bad_lines)
    check("no exit 2 writes anything in its output folder", wrote)
    check("every exit 1 says why on a 'swath: ...' line", silent_1)
    check("expressions exit 0 or 2 (checked before any tile)", expr_1)
    ok = sum(1 for r in results if r[3] == 0)
    check("some mutants still run (the base jobs are valid)", [] if ok > 10 else ["only %d exit 0" % ok])
    check("most mutants are refused (the mutations bite)",
          [] if counts.get(2, 0) > len(results) // 2 else ["only %d exit 2" % counts.get(2, 0)])


main()
