#!/usr/bin/python3
"""docs_test.py: run or check every fenced code block of README.md and
docs/*.md, so that the docs cannot drift from what swath does. Driven by
tests/integration/test_docs.sh, which makes the placeholder data and starts
the servers (see there); run by hand with --list to see how each block is
classified without running anything.

How a block is classified (first rule that applies):

1. A marker in an HTML comment right above the block (blank lines between
   are allowed), `<!-- docs-test: KIND: TEXT -->`, which may span lines:
     skip: REASON        not run; REASON says why (keep these rare: a command
                         that runs for minutes, installs packages, or would
                         run this test itself)
     figure: WHAT        a figure (a diagram, a layout), nothing to run
     output-of: COMMANDS example output: COMMANDS run (bash, in the doc's
                         sandbox) and every non-blank line of the block must
                         match the end of a line of their output (stdout and
                         stderr), where a number in the block stands for any
                         number and "..." for any text
   A marker that is not right above a block, or of another kind, fails.
2. By the info string and the text:
     yaml, a mapping with `process`: a job. Written to NAME.yaml when its
         first line is a comment "# NAME.yaml" (later blocks may use the
         file), else to job-L<line>.yaml, and run: `swath run FILE` must
         exit 0.
     yaml, another mapping: a fragment of a job (`inputs:`, `cache:` ...).
         Written as it is, followed by the keys it lacks from a minimal job
         (bandmath of its first input into GTiff, zoom 14, a small area near
         Zurich), and checked with `swath run FILE --check` (every check a
         run makes at start, remote services included; nothing written).
     c, with `typedef struct NAME { ... } NAME;`: a copy of a type of
         include/swath/plugin.h: compiled against the header, with static
         assertions that it has the header's size and, member by member,
         its offsets and types.
     c, otherwise: compiled with include/ (cc -fsyntax-only -Werror); a
         function it declares that the header types as NAME_fn (the plugin
         entry point) must have that type.
     sh/bash/none, first line `swath SUBCOMMAND ...` with `[--...]`: a
         synopsis: every --flag in it must appear in `swath SUBCOMMAND
         --help`.
     sh/bash/none whose every command starts with a known program
         (COMMANDS below): run with bash -e -o pipefail in the doc's sandbox.
         `swath serve` runs in the background until the doc is done. `curl`
         fails on an HTTP error, unless the line after the command is a
         comment that shows JSON (`# {"code": ...}`): that is what the
         command must print (compared as JSON), whatever its exit status.
   Anything else fails: add a marker, or a rule here.

Every doc runs in its own sandbox, a copy of the placeholder data laid out
as the docs assume (data/dem.tif, data/rgb.tif, ...: see test_docs.sh),
with $HOME in the sandbox and `swath` on PATH. Before a block runs, URLs of
the example services are rewritten to the local servers (rewrites()); a
block that names another example host fails. Prints "ok - " / "FAIL - " lines
(counted by test_docs.sh) and per doc a count of the blocks run, checked,
skipped and shown as figures.
"""
import argparse
import glob
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import yaml

COMMANDS = {"swath", "make", "curl", "bash", "cmake", "diff", "gdalinfo", "gdal_translate", "cc", "jq",
            "/usr/bin/python3", "python3"}
TIMEOUT = 120  # seconds per block or command; a hang fails the block

ENV = os.environ
SRC = ENV.get("SWATH_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))


def rewrites():
    """(text in the docs, what the test serves instead)."""
    u = ENV.get("SERVERS_URL", "http://127.0.0.1:1")
    port = ENV.get("DOCS_SERVE_PORT", "1")
    return [
        ("https://tiles.example.org/", u + "/tiles.example.org/"),
        ("https://example.org/cog.tif", u + "/example.org/cog.tif"),
        ("https://wms.example.org/service", ENV.get("DOCS_WMS_URL", "")),
        ("https://example.org/wmts/1.0.0/WMTSCapabilities.xml", ENV.get("DOCS_WMTS_CAPS", "")),
        ("127.0.0.1:8080", "127.0.0.1:" + port),
        ("--port 8080", "--port " + port),
    ]


EXAMPLE_HOST = re.compile(r"[\w.-]*example\.(org|com|net)\b")

# The fragment's missing keys, by key (a fragment's own keys win).
FRAGMENT_BASE = [
    ("process", "process: bandmath"),
    ("params", 'params: {expression: "%(first)s.b1"}'),
    ("inputs", "inputs: {img: data/rgb.tif}"),
    ("zoom", "zoom: 14"),
    ("area", "area: {bounds: [8.505, 47.37, 8.515, 47.375], crs: EPSG:4326}"),
    ("output", "output: {path: out/%(name)s, format: GTiff}"),
]

PRELUDE = r"""set -eo pipefail
# swath serve runs until stopped: in the background, until the doc is done.
swath() {
  if [ "${1:-}" = serve ]; then
    local port="" a prev=""
    for a in "$@"; do [ "$prev" = --port ] && port=$a; prev=$a; done
    command swath "$@" </dev/null >>"$DOCS_SANDBOX/serve.log" 2>&1 &
    echo $! >>"$DOCS_SANDBOX/serve.pids"
    local i
    for i in $(seq 200); do
      curl -s -o /dev/null "http://127.0.0.1:${port:-8080}/" && return 0
      sleep 0.05
    done
    echo "swath serve did not answer on port ${port:-8080}" >&2
    cat "$DOCS_SANDBOX/serve.log" >&2
    return 1
  fi
  command swath "$@"
}
# An HTTP error is a failed command (unless the block shows it: see commands_of).
curl() { command curl --fail-with-body "$@"; }
# __docs_expect OUTPUT FILE: the command printed the JSON in FILE (any layout).
__docs_expect() {
  if [ "$(printf '%s' "$1" | jq -cS . 2>&1)" != "$(jq -cS . "$2")" ]; then
    echo "expected: $(cat "$2")" >&2
    echo "     got: $1" >&2
    return 1
  fi
}
"""

MARKER = re.compile(r"^[ \t]*<!--\s*docs-test:\s*(.*?)\s*-->", re.S | re.M)
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$")


class Block:
    def __init__(self, doc, line, info, text, marker):
        self.doc, self.line, self.info, self.text, self.marker = doc, line, info, text, marker

    def where(self):
        return "%s:%d" % (self.doc, self.line)


def extract(path, rel):
    """Fenced blocks of a markdown file, with the marker right above each.
    Returns (blocks, problems)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, problems, i = [], [], 0
    markers = []  # (line index where the comment ends, marker text, start line)
    text = "\n".join(lines)
    for m in MARKER.finditer(text):
        end = text.count("\n", 0, m.end())
        markers.append((end, m.group(1), text.count("\n", 0, m.start()) + 1))
    used = set()
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines):
            s = lines[i]
            if s.strip().startswith(fence[0] * len(fence)) and not s.strip().strip(fence[0]):
                break
            body.append(s[len(indent):] if s.startswith(indent) else s.lstrip())
            i += 1
        if i >= len(lines):
            problems.append("%s:%d: a code block that is never closed" % (rel, start + 1))
        marker = None
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        for k, (end, mtext, mline) in enumerate(markers):
            if end == j:
                marker = mtext
                used.add(k)
        blocks.append(Block(rel, start + 1, info, "\n".join(body) + "\n", marker))
        i += 1
    for k, (end, mtext, mline) in enumerate(markers):
        if k not in used:
            problems.append("%s:%d: a docs-test marker that is not right above a code block: %s"
                            % (rel, mline, mtext[:60]))
    return blocks, problems


def commands_of(text):
    """The shell commands of a block, as (command, expected output or None):
    blank lines dropped, lines continued by a trailing \\, | or && or an
    open quote joined. A comment line right after a command that shows JSON
    (`# {...}`, `# [...]`) is what that command prints; other comment lines
    are dropped."""
    out, cur, after_cmd = [], "", False
    for s in text.split("\n"):
        if not cur and after_cmd and re.match(r"\s*#\s*[{\[]", s):
            out[-1] = (out[-1][0], s.strip()[1:].strip())
            after_cmd = False
            continue
        after_cmd = False
        if not cur and (not s.strip() or s.strip().startswith("#")):
            continue
        cur += s + "\n"
        t = s.rstrip()
        if t.endswith("\\") or t.endswith("|") or t.endswith("&&"):
            continue
        # an open quote (a JSON body over several lines) continues too
        try:
            shlex.split(cur, comments=True)
        except ValueError:
            continue
        out.append((cur.strip(), None))
        cur = ""
        after_cmd = True
    if cur.strip():
        out.append((cur.strip(), None))
    return out


def classify(b):
    """(kind, detail) or ("unknown", why)."""
    if b.marker is not None:
        m = re.match(r"(skip|figure|output-of)\s*:\s*(.*)", b.marker, re.S)
        if not m or not m.group(2).strip():
            return "unknown", "marker '%s': expected skip: REASON, figure: WHAT or output-of: COMMANDS" % b.marker[:40]
        return m.group(1), m.group(2).strip()
    if b.info == "yaml":
        try:
            data = yaml.safe_load(b.text)
        except yaml.YAMLError as e:
            return "unknown", "YAML that does not parse: %s" % str(e).replace("\n", " ")
        if isinstance(data, dict) and "process" in data:
            return "job", data
        if isinstance(data, dict):
            return "fragment", data
        return "unknown", "YAML that is not a mapping (comments only? mark it output-of)"
    if b.info == "c":
        m = re.search(r"typedef\s+struct\s+(\w+)\s*\{.*\}\s*(\w+)\s*;", b.text, re.S)
        if m and m.group(1) == m.group(2):
            return "c-type", m.group(1)
        return "c", None
    if b.info in ("", "sh", "bash", "shell", "console"):
        first = b.text.lstrip().split("\n", 1)[0]
        if re.match(r"swath \w", first) and re.search(r"\[--?\w", b.text):
            return "synopsis", None
        cmds = commands_of(b.text)
        bad = [c for c, _ in cmds if c.split()[0] not in COMMANDS]
        if cmds and not bad:
            return "shell", cmds
        if bad:
            return "unknown", "not a command this test knows: '%s' (known: %s)" % (
                bad[0].split("\n")[0][:60], ", ".join(sorted(COMMANDS)))
        return "unknown", "an empty block"
    return "unknown", "info string '%s'" % b.info


class Runner:
    def __init__(self, swath, sandbox):
        self.swath = swath
        self.sandbox = sandbox
        self.env = dict(ENV)
        self.env["HOME"] = os.path.join(sandbox, "home")
        self.env["DOCS_SANDBOX"] = sandbox
        self.env["PATH"] = ENV["DOCS_BIN"] + ":" + ENV.get("PATH", "/usr/bin:/bin")
        for k in ("SWATH_CACHE_DIR", "XDG_CACHE_HOME"):
            self.env.pop(k, None)
        os.makedirs(self.env["HOME"], exist_ok=True)

    def sh(self, script):
        try:
            p = subprocess.run(["bash", "-c", PRELUDE + script], cwd=self.sandbox, env=self.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
            return p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            return 124, out + "\n(timed out after %d s)" % TIMEOUT

    def stop_servers(self):
        pids = os.path.join(self.sandbox, "serve.pids")
        if os.path.exists(pids):
            for s in open(pids).read().split():
                try:
                    os.kill(int(s), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
            os.unlink(pids)


def rewrite(text):
    for a, b in rewrites():
        text = text.replace(a, b)
    return text


def unrewritten(text):
    """The text without the URLs rewrite() knows."""
    for a, _ in rewrites():
        text = text.replace(a, "")
    return text


def tail(out, n=30):
    return "\n".join(out.rstrip().split("\n")[-n:])


def pattern_of(line):
    """A line of example output as a regex: numbers stand for any number,
    "..." for any text."""
    parts = re.split(r"(\.\.\.|\d+(?:\.\d+)?)", line.strip())
    rx = ""
    for p in parts:
        if p == "...":
            rx += ".*"
        elif re.fullmatch(r"\d+(?:\.\d+)?", p):
            rx += r"\d+(?:\.\d+)?"
        else:
            rx += re.escape(p)
    return re.compile(rx + r"\s*$")  # the end of a line (a prefix such as "swath: info: " may come before)


def check(ok, name, detail=""):
    print(("ok - " if ok else "FAIL - ") + name, flush=True)
    if not ok and detail:
        for s in str(detail).rstrip().split("\n")[:40]:
            print("    " + s)
    return ok


def run_block(b, kind, detail, r):
    """Run or check one block; returns its count column ("run", "checked")."""
    w = b.where()
    text = rewrite(b.text)
    unserved = EXAMPLE_HOST.search(unrewritten(b.text + (detail if kind == "output-of" else "")))
    if unserved:
        check(False, "%s: a placeholder server for %s" % (w, unserved.group(0)),
              "add the URL to rewrites() in tests/integration/docs_test.py and serve it in "
              "test_docs.sh")
        return "run"
    if kind == "job":
        m = re.match(r"#\s*([\w.-]+\.ya?ml)\s*$", b.text.split("\n", 1)[0])
        name = m.group(1) if m else "job-L%d.yaml" % b.line
        open(os.path.join(r.sandbox, name), "w").write(text)
        rc, out = r.sh("swath run %s --no-progress" % shlex.quote(name))
        check(rc == 0, "%s: job %s: swath run exits 0" % (w, name),
              "exit status %d\n%s" % (rc, tail(out)))
        return "run"
    if kind == "fragment":
        name = "fragment-L%d" % b.line
        inputs = detail.get("inputs")
        first = next(iter(inputs)) if isinstance(inputs, dict) and inputs else "img"
        extra = [line % {"first": first, "name": name} for key, line in FRAGMENT_BASE
                 if key not in detail]
        open(os.path.join(r.sandbox, name + ".yaml"), "w").write(text + "\n".join(extra) + "\n")
        rc, out = r.sh("swath run %s.yaml --check" % name)
        check(rc == 0 and "check passed" in out,
              "%s: fragment (%s) in a minimal job: swath run --check passes" % (w, ", ".join(detail)),
              "exit status %d\n%s" % (rc, tail(out)))
        return "checked"
    if kind == "shell":
        script = []
        for k, (cmd, want) in enumerate(commands_of(text)):
            if want is None:
                script.append(cmd)
                continue
            f = os.path.join(r.sandbox, "expect-L%d-%d.json" % (b.line, k))
            open(f, "w").write(want + "\n")
            script.append("__out=$( { %s\n} 2>&1 ) || true\n__docs_expect \"$__out\" %s"
                          % (cmd, shlex.quote(f)))
        rc, out = r.sh("\n".join(script) + "\n")
        check(rc == 0, "%s: shell block (%d commands) exits 0" % (w, len(detail)),
              "exit status %d\n%s" % (rc, tail(out)))
        return "run"
    if kind == "synopsis":
        words = re.match(r"swath ((?:catalog )?\w+)", b.text.strip()).group(1)
        rc, helptext = r.sh("command swath %s --help" % words)
        flags = sorted(set(re.findall(r"--[a-z][a-z-]*", b.text)))
        missing = [f for f in flags if not re.search(re.escape(f) + r"(?![a-z-])", helptext)]
        check(rc == 0 and not missing,
              "%s: synopsis of 'swath %s': its %d flags are in --help" % (w, words, len(flags)),
              "exit status %d; not in --help: %s\n%s" % (rc, " ".join(missing), tail(helptext)))
        return "checked"
    if kind == "output-of":
        rc, out = r.sh("set +e\n" + rewrite(detail))
        lines = [s for s in text.split("\n") if s.strip()]
        got = out.split("\n")
        missing = [s for s in lines if not any(pattern_of(s).search(g) for g in got)]
        check(not missing, "%s: example output (%d lines) is what the commands print" % (w, len(lines)),
              "not printed:\n  " + "\n  ".join(missing) + "\ncommands printed:\n" + tail(out))
        return "checked"
    if kind == "c":
        # A function the header types as NAME_fn (the plugin entry point)
        # must be declared with that type.
        header = open(os.path.join(SRC, "include", "swath", "plugin.h")).read()
        typed = [n for n in re.findall(r"\(\s*\*\s*(\w+)_fn\s*\)", header)
                 if re.search(r"\b%s\s*\(" % n, b.text)]
        checks = "".join("static %s_fn docs_check_%s __attribute__((unused)) = %s;\n" % (n, n, n)
                         for n in typed)
        src = os.path.join(r.sandbox, "block-L%d.c" % b.line)
        open(src, "w").write(b.text + checks)
        rc, out = r.sh("cc -std=c17 -Wall -Wextra -Werror -fsyntax-only -I%s %s"
                       % (shlex.quote(os.path.join(SRC, "include")), shlex.quote(src)))
        check(rc == 0, "%s: C block compiles against include/%s"
              % (w, "".join(", %s has the type %s_fn" % (n, n) for n in typed)), tail(out))
        return "checked"
    if kind == "c-type":
        return check_c_type(b, detail, r)
    raise AssertionError(kind)


def c_members(body):
    """Member names of a struct body (comments removed): the last identifier
    of each declarator, (*name) for function pointers."""
    body = re.sub(r"/\*.*?\*/|//[^\n]*", "", body, flags=re.S)
    names = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        fp = re.findall(r"\(\s*\*\s*(\w+)\s*\)", decl)
        if fp:
            names += fp
            continue
        for d in decl.split(","):
            m = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", d.strip())
            if m:
                names.append(m.group(1))
    return names


def check_c_type(b, name, r):
    m = re.search(r"typedef\s+struct\s+%s\s*\{(.*)\}\s*%s\s*;" % (name, name), b.text, re.S)
    members = c_members(m.group(1))
    doc = "doc_" + name
    lines = ["#include <stddef.h>", '#include "swath/plugin.h"', "#define %s %s" % (name, doc),
             b.text, "#undef %s" % name,
             '_Static_assert(sizeof(%s) == sizeof(%s), "size of %s");' % (doc, name, name)]
    for mem in members:
        lines.append('_Static_assert(offsetof(%s, %s) == offsetof(%s, %s), "offset of %s");'
                     % (doc, mem, name, mem, mem))
        lines.append('_Static_assert(__builtin_types_compatible_p(__typeof__(((%s *)0)->%s), '
                     '__typeof__(((%s *)0)->%s)), "type of %s");' % (doc, mem, name, mem, mem))
    src = os.path.join(r.sandbox, "block-L%d.c" % b.line)
    open(src, "w").write("\n".join(lines) + "\n")
    rc, out = r.sh("cc -std=gnu17 -Wall -Werror -fsyntax-only -I%s %s"
                   % (shlex.quote(os.path.join(SRC, "include")), shlex.quote(src)))
    check(rc == 0, "%s: struct %s as documented is the header's (size, %d members: offsets, types)"
          % (b.where(), name, len(members)), tail(out))
    return "checked"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true", help="classify only")
    ap.add_argument("docs", nargs="*")
    a = ap.parse_args()
    docs = a.docs or ([os.path.join(SRC, "README.md")] + sorted(glob.glob(os.path.join(SRC, "docs", "*.md"))))
    total = {}
    for path in docs:
        rel = os.path.relpath(path, SRC)
        blocks, problems = extract(path, rel)
        for p in problems:
            check(False, p)
        counts = {"run": 0, "checked": 0, "skipped": 0, "figure": 0}
        runner = None
        if not a.list:
            sandbox = os.path.join(ENV["DOCS_WORK"], re.sub(r"\W", "_", rel))
            subprocess.run(["cp", "-a", ENV["DOCS_FIXTURES"], sandbox], check=True)
            runner = Runner(ENV["SWATH"], sandbox)
        try:
            for b in blocks:
                kind, detail = classify(b)
                if a.list:
                    print("%s: %s%s" % (b.where(), kind, "" if kind in ("job", "fragment", "shell") or detail is None
                                        else ": " + str(detail).split("\n")[0][:70]))
                    continue
                if kind == "unknown":
                    check(False, "%s: a code block this test can classify" % b.where(),
                          detail + "\nadd a <!-- docs-test: ... --> marker above it, or a rule "
                          "to tests/integration/docs_test.py (see its docstring)")
                elif kind == "skip":
                    counts["skipped"] += 1
                    print("    # %s: skipped: %s" % (b.where(), " ".join(detail.split())))
                elif kind == "figure":
                    counts["figure"] += 1
                else:
                    t0 = time.time()
                    counts[run_block(b, kind, detail, runner)] += 1
                    if time.time() - t0 >= 1:
                        print("    # %.1f s" % (time.time() - t0))
        finally:
            if runner:
                runner.stop_servers()
        print("# %s: %d blocks: %d run, %d checked, %d skipped, %d figures"
              % (rel, len(blocks), counts["run"], counts["checked"], counts["skipped"], counts["figure"]))
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    print("# all docs: %d run, %d checked, %d skipped, %d figures"
          % (total.get("run", 0), total.get("checked", 0), total.get("skipped", 0), total.get("figure", 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
