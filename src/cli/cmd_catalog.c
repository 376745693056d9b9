/* cmd_catalog.c: `swath catalog ingest|search|stats`. Flags become library
 * calls: search and stats flags are turned into the same GET-style
 * parameters the HTTP API takes (swath_search_body_from_params), so a CLI
 * search and an HTTP search with the same parameters give the same items.
 * --cloud-max N is shorthand for the filter eo:cloud_cover <= N.
 *
 * File names, item ids and collections come from users and from remote
 * data: every line printed with them is made safe for a terminal as error
 * messages are (core/error.c), control characters written out, so one
 * cannot split a line, a column or drive the terminal. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/secret.h"

#define MAX_REPORTED 20

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: swath catalog ingest PATH... --catalog DB [--collection NAME] [--format F]\n"
      "                            [--rgb-bands R,G,B]\n"
      "       swath catalog search --catalog DB [SELECTION] [--sortby [-]FIELD,...]\n"
      "                            [--limit N] [--token T] [--all] [--json]\n"
      "                            [--count-limit N|none]\n"
      "       swath catalog stats  --catalog DB [SELECTION]\n"
      "                            [--exact | --sample-step N | --overview [--overview-size N]]\n"
      "                            [--threads N] [--force]\n"
      "\n"
      "SELECTION (as in the STAC API):\n"
      "  --bbox W,S,E,N        lon/lat box; W > E crosses the antimeridian\n"
      "  --intersects G        GeoJSON geometry (text, or a file: geometry or one feature)\n"
      "  --datetime T|T1/T2    RFC 3339 instant or interval, '..' for an open end\n"
      "  --ids A,B             item ids\n"
      "  --collections A,B     collection ids\n"
      "  --cloud-max N         eo:cloud_cover <= N\n"
      "  --filter JSON|@FILE   CQL2-JSON filter\n"
      "  --query JSON          STAC query extension, e.g. {\"eo:cloud_cover\":{\"lt\":20}}\n"
      "\n"
      "ingest reads a Sentinel-2 index CSV (plain or .gz), STAC items (Item, ItemCollection\n"
      "or NDJSON) or a folder of rasters, and updates scenes that are already there.\n"
      "search prints id, collection, datetime, cloud cover and colour per line (--json: the\n"
      "STAC ItemCollection); --all follows next pages to the end. numberMatched is counted\n"
      "up to --count-limit matches (default 100000; 0: always; none: never, which makes a\n"
      "first page over a large area as cheap as the page itself).\n"
      "stats computes mean red, green, blue and brightness (default --exact) and caches them;\n"
      "sort on them with --sortby -color:red.\n");
}

/* Text from a file or an item with its control characters written out
 * (swath_escape_controls: 4 bytes at most for each). Caller frees. */
static char *escaped(const char *s) {
  if (!s) s = "";
  size_t n = 4 * strlen(s) + 1;
  char *out = malloc(n);
  if (out) swath_escape_controls(s, out, n);
  return out;
}

/* One line on f, made safe as an error message is: secrets redacted,
 * control characters written out (the new line is added after). */
static void print_safe(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void print_safe(FILE *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL, *red = NULL, *out = NULL;
  if (msg) {
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    size_t cap = swath_redact(msg, NULL, 0) + 1;
    if ((red = malloc(cap))) swath_redact(msg, red, cap);
  }
  if (red) out = escaped(red);
  if (out) fprintf(f, "%s\n", out);
  free(msg);
  free(red);
  free(out);
}

static char *read_text(const char *path, const char *what) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    swath_error_set(SWATH_EINVAL, "%s: cannot read '%s'", what, path);
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *s = malloc(cap);
  size_t got;
  while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *t = realloc(s, cap *= 2);
      if (!t) free(s);
      s = t;
    }
  }
  fclose(f);
  if (!s) swath_error_set(SWATH_ENOMEM, "%s: out of memory", what);
  if (s) s[n] = '\0';
  return s;
}

/* The error for what getopt_long returned that no option of the command
 * took: ':' (an option without its value) or anything else (unknown). */
static int option_error(const char *cmd, int c, char **argv) {
  const char *opt = argv[optind - 1];
  if (c == ':')
    return swath_error_set(SWATH_EINVAL, "catalog %s: option '%s' needs a value", cmd, opt);
  return swath_error_set(SWATH_EINVAL, "catalog %s: unknown option '%s'", cmd, opt);
}

/* ---- ingest ----------------------------------------------------------------- */

struct bad_ctx {
  int64_t shown;
};

static void on_bad(void *ud, const char *source, int64_t line, const char *msg) {
  struct bad_ctx *b = ud;
  if (b->shown++ >= MAX_REPORTED) return;
  if (line > 0)
    print_safe(stderr, "swath: %s:%lld: skipped: %s", source, (long long)line, msg);
  else
    print_safe(stderr, "swath: %s: skipped: %s", source, msg);
}

static int cmd_ingest(int argc, char **argv) {
  static const struct option opts[] = {
      {"catalog", required_argument, NULL, 'c'}, {"collection", required_argument, NULL, 'C'},
      {"format", required_argument, NULL, 'f'},  {"rgb-bands", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  const char *db = NULL;
  swath_ingest_opts o = {0};
  struct bad_ctx bad = {0};
  o.on_bad = on_bad;
  o.ud = &bad;
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      db = optarg;
      break;
    case 'C':
      o.collection = optarg;
      break;
    case 'f':
      o.format = optarg;
      break;
    case 'b':
      if (sscanf(optarg, "%d,%d,%d", &o.rgb_bands[0], &o.rgb_bands[1], &o.rgb_bands[2]) != 3 ||
          o.rgb_bands[0] < 1 || o.rgb_bands[1] < 1 || o.rgb_bands[2] < 1)
        rc = swath_error_set(SWATH_EINVAL, "--rgb-bands: expected three band numbers like 3,2,1");
      break;
    case 'h':
      usage(stdout);
      return 0;
    default: /* ':' or '?' */
      rc = option_error("ingest", c, argv);
    }
    if (rc) return swath_cli_fail(rc);
  }
  if (!db)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "catalog ingest: --catalog DB is "
                                                        "required"));
  if (optind >= argc)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "catalog ingest: give a file or folder"));
  swath_catalog *cat;
  int existed = access(db, F_OK) == 0;
  if ((rc = swath_catalog_open(db, SWATH_CATALOG_CREATE, &cat))) return swath_cli_fail(rc);
  int64_t stored = 0;
  for (int i = optind; i < argc && !rc; i++) {
    swath_ingest_report r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bad.shown = 0;
    rc = swath_catalog_ingest(cat, argv[i], &o, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (bad.shown > MAX_REPORTED)
      print_safe(stderr, "swath: %s: ... and %lld more skipped records", argv[i],
                 (long long)(bad.shown - MAX_REPORTED));
    stored += r.inserted + r.updated;
    if (rc) break;
    print_safe(stdout,
               "%s: %s, %lld records: %lld new, %lld updated, %lld malformed; %.2f s (%.0f "
               "records/s)",
               argv[i], r.format ? r.format : "?", (long long)r.read, (long long)r.inserted,
               (long long)r.updated, (long long)r.malformed, s, s > 0 ? (double)r.read / s : 0.0);
  }
  swath_catalog_close(cat);
  if (rc && !existed && stored == 0) {
    /* do not leave an empty catalog behind a failed first ingest */
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int k = 0; k < 3; k++) {
      char p[4096];
      snprintf(p, sizeof p, "%s%s", db, suffix[k]);
      unlink(p);
    }
  }
  return rc ? swath_cli_fail(rc) : 0;
}

/* ---- selection flags shared by search and stats ---------------------------------- */

enum {
  O_BBOX = 256,
  O_ISECT,
  O_DATETIME,
  O_IDS,
  O_COLLS,
  O_CLOUD,
  O_FILTER,
  O_QUERY,
  O_SORT,
  O_LIMIT,
  O_TOKEN,
  O_JSON,
  O_ALL,
  O_CATALOG,
  O_COUNT_LIMIT,
  O_EXACT,
  O_STEP,
  O_OVERVIEW,
  O_OVERVIEW_SIZE,
  O_THREADS,
  O_FORCE
};

struct sel {
  const char *db;
  const char *keys[16];
  char *vals[16];
  size_t n;
  const char *cloud, *filter;
};

static void sel_add(struct sel *s, const char *k, char *v) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->keys[i], k)) {
      free(s->vals[i]);
      s->vals[i] = v;
      return;
    }
  s->keys[s->n] = k;
  s->vals[s->n++] = v;
}

static void sel_free(struct sel *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->vals[i]);
}

/* After the options of search and stats: no operand left, and a catalog. */
static int sel_done(const char *cmd, const struct sel *s, int argc, char **argv) {
  if (optind < argc)
    return swath_error_set(SWATH_EINVAL, "catalog %s: unexpected argument '%s'", cmd, argv[optind]);
  if (!s->db) return swath_error_set(SWATH_EINVAL, "catalog %s: --catalog DB is required", cmd);
  return 0;
}

/* --intersects: GeoJSON text, or a file holding a geometry or one feature. */
static char *geometry_arg(const char *arg) {
  char *text = arg[0] == '{' ? strdup(arg) : read_text(arg, "--intersects");
  if (!text) return NULL;
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  free(text);
  if (!j) {
    swath_error_set(SWATH_EINVAL, "--intersects: not valid JSON: %s", err.text);
    return NULL;
  }
  json_t *g = j;
  const char *type = json_string_value(json_object_get(j, "type"));
  if (type && !strcmp(type, "FeatureCollection")) {
    json_t *fs = json_object_get(j, "features");
    if (json_array_size(fs) != 1) {
      json_decref(j);
      swath_error_set(SWATH_EINVAL, "--intersects: the FeatureCollection must hold exactly one "
                                    "feature");
      return NULL;
    }
    g = json_object_get(json_array_get(fs, 0), "geometry");
  } else if (type && !strcmp(type, "Feature")) {
    g = json_object_get(j, "geometry");
  }
  char *out = json_dumps(g, JSON_COMPACT);
  json_decref(j);
  return out;
}

/* 1 if the option was a selection flag (handled), 0 if not, < 0 on error. */
static int sel_option(struct sel *s, int c, const char *arg) {
  char *v = NULL;
  switch (c) {
  case O_CATALOG:
    s->db = arg;
    return 1;
  case O_BBOX:
    sel_add(s, "bbox", strdup(arg));
    return 1;
  case O_ISECT:
    if (!(v = geometry_arg(arg))) return swath_error_code() ? swath_error_code() : SWATH_ENOMEM;
    sel_add(s, "intersects", v);
    return 1;
  case O_DATETIME:
    sel_add(s, "datetime", strdup(arg));
    return 1;
  case O_IDS:
    sel_add(s, "ids", strdup(arg));
    return 1;
  case O_COLLS:
    sel_add(s, "collections", strdup(arg));
    return 1;
  case O_QUERY:
    sel_add(s, "query", strdup(arg));
    return 1;
  case O_CLOUD: {
    char *end;
    double d = strtod(arg, &end);
    if (end == arg || *end || d < 0 || d > 100)
      return swath_error_set(SWATH_EINVAL, "--cloud-max: expected a number in 0-100, got '%s'",
                             arg);
    s->cloud = arg;
    return 1;
  }
  case O_FILTER:
    s->filter = arg;
    return 1;
  }
  return 0;
}

/* The next option of search or stats (getopt_long over opts) that is the
 * command's own or -h: 1 with *c set. Selection flags go into s on the
 * way; 0 at the end, or the error of a selection flag's value, an option
 * without its value or an unknown one. */
static int sel_next(const char *cmd, int argc, char **argv, const struct option *opts,
                    struct sel *s, int *c) {
  while ((*c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    int h = sel_option(s, *c, optarg);
    if (h < 0) return h;
    if (h) continue;
    if (*c == ':' || *c == '?') return option_error(cmd, *c, argv);
    return 1;
  }
  return 0;
}

/* The search body of the selection (filter and --cloud-max ANDed). */
static int sel_body(struct sel *s, json_t **body) {
  char *filter = NULL;
  if (s->filter) {
    filter = s->filter[0] == '@' ? read_text(s->filter + 1, "--filter") : strdup(s->filter);
    if (!filter) return swath_error_code() ? swath_error_code() : SWATH_ENOMEM;
  }
  if (s->cloud) {
    char *f;
    size_t n = (filter ? strlen(filter) : 0) + strlen(s->cloud) + 128;
    if (!(f = malloc(n))) return SWATH_ENOMEM;
    if (filter)
      snprintf(f, n,
               "{\"op\":\"and\",\"args\":[%s,{\"op\":\"<=\",\"args\":[{\"property\":"
               "\"eo:cloud_cover\"},%s]}]}",
               filter, s->cloud);
    else
      snprintf(f, n, "{\"op\":\"<=\",\"args\":[{\"property\":\"eo:cloud_cover\"},%s]}", s->cloud);
    free(filter);
    filter = f;
  }
  if (filter) sel_add(s, "filter", filter);
  return swath_search_body_from_params(s->keys, (const char *const *)s->vals, s->n, 0, body);
}

#define SELECTION_OPTIONS                                                                          \
  {"catalog", required_argument, NULL, O_CATALOG}, {"bbox", required_argument, NULL, O_BBOX},      \
      {"intersects", required_argument, NULL, O_ISECT},                                            \
      {"datetime", required_argument, NULL, O_DATETIME}, {"ids", required_argument, NULL, O_IDS},  \
      {"collections", required_argument, NULL, O_COLLS},                                           \
      {"cloud-max", required_argument, NULL, O_CLOUD},                                             \
      {"filter", required_argument, NULL, O_FILTER}, {"query", required_argument, NULL, O_QUERY},  \
  {                                                                                                \
    "help", no_argument, NULL, 'h'                                                                 \
  }

/* ---- search ---------------------------------------------------------------- */

/* One item as a line of tab-separated columns (id, collection, datetime,
 * cloud cover, colour); the text columns escaped, so that they stay one
 * line and one column each. */
static int print_line(json_t *item) {
  json_t *p = json_object_get(item, "properties");
  json_t *cc = json_object_get(p, "eo:cloud_cover"), *r = json_object_get(p, "color:red");
  const char *dt = json_string_value(json_object_get(p, "datetime"));
  const char *method = json_string_value(json_object_get(p, "color:method"));
  char *id = escaped(json_string_value(json_object_get(item, "id")));
  char *coll = escaped(json_string_value(json_object_get(item, "collection")));
  char *m = r && method ? escaped(method) : NULL;
  int rc = 0;
  if (!id || !coll || (r && method && !m)) {
    rc = swath_error_set(SWATH_ENOMEM, "catalog search: out of memory");
  } else {
    printf("%s\t%s\t%s\t", id, coll, dt ? dt : "");
    if (cc)
      printf("%.3f", json_number_value(cc));
    else
      printf("-");
    if (r)
      printf("\t%.2f\t%.2f\t%.2f\t%s\n", json_number_value(r),
             json_number_value(json_object_get(p, "color:green")),
             json_number_value(json_object_get(p, "color:blue")), m ? m : "(null)");
    else
      printf("\t-\t-\t-\t-\n");
  }
  free(id);
  free(coll);
  free(m);
  return rc;
}

static int cmd_search(int argc, char **argv) {
  static const struct option opts[] = {SELECTION_OPTIONS,
                                       {"sortby", required_argument, NULL, O_SORT},
                                       {"limit", required_argument, NULL, O_LIMIT},
                                       {"token", required_argument, NULL, O_TOKEN},
                                       {"json", no_argument, NULL, O_JSON},
                                       {"all", no_argument, NULL, O_ALL},
                                       {"count-limit", required_argument, NULL, O_COUNT_LIMIT},
                                       {NULL, 0, NULL, 0}};
  struct sel s = {0};
  int json_out = 0, all = 0, c, more = 0, rc = 0;
  long count_limit = 100000;
  optind = 1;
  opterr = 0;
  while (!rc && (more = sel_next("search", argc, argv, opts, &s, &c)) == 1) {
    switch (c) {
    case O_SORT:
      sel_add(&s, "sortby", strdup(optarg));
      break;
    case O_LIMIT:
      sel_add(&s, "limit", strdup(optarg));
      break;
    case O_TOKEN:
      sel_add(&s, "token", strdup(optarg));
      break;
    case O_JSON:
      json_out = 1;
      break;
    case O_ALL:
      all = 1;
      break;
    case O_COUNT_LIMIT:
      rc = swath_cli_count_limit(optarg, &count_limit);
      break;
    case 'h':
      usage(stdout);
      sel_free(&s);
      return 0;
    }
  }
  if (more < 0) rc = more;
  if (!rc) rc = sel_done("search", &s, argc, argv);
  if (!rc && all && json_out)
    rc = swath_error_set(SWATH_EINVAL, "catalog search: --all prints lines, not --json");
  json_t *body = NULL;
  if (!rc) rc = sel_body(&s, &body);
  sel_free(&s);
  if (rc) return swath_cli_fail(rc);

  swath_catalog *cat = NULL;
  swath_search *q = NULL;
  rc = swath_catalog_open(s.db, SWATH_CATALOG_READONLY, &cat);
  swath_search_opts o = {count_limit, 0, NULL};
  int64_t total = 0, matched = -1;
  while (!rc) {
    swath_page page;
    if ((rc = swath_search_parse(body, &q)) || (rc = swath_search_run(cat, q, &o, &page))) break;
    size_t i;
    json_t *w, *item;
    json_array_foreach(page.warnings, i, w)
        print_safe(stderr, "swath: warning: %s", json_string_value(w));
    if (json_out) {
      json_t *links = json_array();
      if (page.next_token) {
        char href[1024];
        snprintf(href, sizeof href, "?token=%s", page.next_token);
        json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "next", "href", href,
                                               "token", page.next_token));
      }
      swath_jtext t = {.precision = SWATH_JSON_DIGITS}; /* the server's bytes */
      rc = swath_page_write(&page, links, &t);
      json_decref(links);
      if (!rc && (fwrite(t.p, 1, t.len, stdout) != t.len || putchar('\n') == EOF))
        rc = swath_error_set(SWATH_EIO, "catalog search: cannot write to standard output");
      swath_jtext_clear(&t);
      if (rc) {
        swath_page_clear(&page);
        break;
      }
    } else {
      json_t *items = json_loadb(page.features, page.features_len, JSON_ALLOW_NUL, NULL);
      json_array_foreach(items, i, item) if (!rc) rc = print_line(item);
      json_decref(items);
      if (!items) rc = swath_error_set(SWATH_ENOMEM, "catalog search: out of memory");
      if (rc) {
        swath_page_clear(&page);
        break;
      }
    }
    total += page.returned;
    /* --all: counted with the first page (which has the same matches), not
     * again with each next one */
    if (o.count_limit >= 0) matched = page.matched;
    o.count_limit = -1;
    if (!all || !page.next_token) { /* the summary, once */
      if (matched >= 0)
        fprintf(stderr, "swath: %lld matched, %lld returned\n", (long long)matched,
                (long long)total);
      else if (count_limit >= 0)
        fprintf(stderr, "swath: more than %ld matched, %lld returned\n", count_limit,
                (long long)total);
      else
        fprintf(stderr, "swath: %lld returned (not counted: --count-limit none)\n",
                (long long)total);
    }
    if (page.next_token && !all && !json_out)
      fprintf(stderr, "swath: next page: --token %s\n", page.next_token);
    if (!all || !page.next_token) {
      swath_page_clear(&page);
      break;
    }
    json_object_set_new(body, "token", json_string(page.next_token));
    swath_page_clear(&page);
    swath_search_free(q);
    q = NULL;
  }
  swath_search_free(q);
  json_decref(body);
  swath_catalog_close(cat);
  if (!rc && (fflush(stdout) != 0 || ferror(stdout)))
    rc = swath_error_set(SWATH_EIO, "catalog search: write error");
  return rc ? swath_cli_fail(rc) : 0;
}

/* ---- stats ------------------------------------------------------------------ */

static void on_fail(void *ud, const char *coll, const char *id, const char *msg) {
  int64_t *shown = ud;
  if ((*shown)++ < MAX_REPORTED) print_safe(stderr, "swath: %s/%s: %s", coll, id, msg);
}

static int cmd_stats(int argc, char **argv) {
  static const struct option opts[] = {SELECTION_OPTIONS,
                                       {"exact", no_argument, NULL, O_EXACT},
                                       {"sample-step", required_argument, NULL, O_STEP},
                                       {"overview", no_argument, NULL, O_OVERVIEW},
                                       {"overview-size", required_argument, NULL, O_OVERVIEW_SIZE},
                                       {"threads", required_argument, NULL, O_THREADS},
                                       {"force", no_argument, NULL, O_FORCE},
                                       {NULL, 0, NULL, 0}};
  struct sel s = {0};
  int64_t shown = 0;
  swath_stats_opts o = {SWATH_STATS_EXACT, 1, 1024, 0, 0, on_fail, &shown};
  long v = 0, nth = sysconf(_SC_NPROCESSORS_ONLN);
  int c, more = 0, rc = 0, methods = 0;
  optind = 1;
  opterr = 0;
  while (!rc && (more = sel_next("stats", argc, argv, opts, &s, &c)) == 1) {
    switch (c) {
    case O_EXACT:
      o.method = SWATH_STATS_EXACT;
      methods++;
      break;
    case O_STEP:
      rc = swath_cli_long(optarg, "--sample-step", 1, 100000, &v);
      o.method = v > 1 ? SWATH_STATS_STEP : SWATH_STATS_EXACT;
      o.step = (int)v;
      methods++;
      break;
    case O_OVERVIEW:
      o.method = SWATH_STATS_OVERVIEW;
      methods++;
      break;
    case O_OVERVIEW_SIZE:
      rc = swath_cli_long(optarg, "--overview-size", 16, 65536, &v);
      o.overview = (int)v;
      break;
    case O_THREADS:
      rc = swath_cli_long(optarg, "--threads", 1, 64, &nth);
      break;
    case O_FORCE:
      o.force = 1;
      break;
    case 'h':
      usage(stdout);
      sel_free(&s);
      return 0;
    }
  }
  if (more < 0) rc = more;
  if (!rc && methods > 1)
    rc = swath_error_set(SWATH_EINVAL, "catalog stats: give one of --exact, --sample-step, "
                                       "--overview");
  if (!rc) rc = sel_done("stats", &s, argc, argv);
  o.threads = nth > 0 ? (int)nth : 1;
  json_t *body = NULL;
  if (!rc) rc = sel_body(&s, &body);
  sel_free(&s);
  swath_search *q = NULL;
  if (!rc) rc = swath_search_parse(body, &q);
  json_decref(body);
  if (rc) return swath_cli_fail(rc);
  swath_catalog *cat;
  if ((rc = swath_catalog_open(s.db, 0, &cat))) {
    swath_search_free(q);
    return swath_cli_fail(rc);
  }
  swath_stats_report r;
  rc = swath_catalog_stats(cat, q, &o, &r);
  swath_search_free(q);
  swath_catalog_close(cat);
  if (rc) return swath_cli_fail(rc);
  if (shown > MAX_REPORTED)
    fprintf(stderr, "swath: ... and %lld more scenes failed\n", (long long)(shown - MAX_REPORTED));
  printf("stats: %lld selected, %lld computed, %lld cached, %lld failed, %lld without valid "
         "pixels\n",
         (long long)r.selected, (long long)r.computed, (long long)r.cached, (long long)r.failed,
         (long long)r.no_data);
  if (r.failed)
    return swath_cli_fail(swath_error_set(SWATH_EIO,
                                          "catalog stats: %lld scenes failed (rerun to "
                                          "retry only those)",
                                          (long long)r.failed));
  return 0;
}

int swath_cmd_catalog(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "ingest")) return cmd_ingest(argc - 1, argv + 1);
  if (!strcmp(argv[1], "search")) return cmd_search(argc - 1, argv + 1);
  if (!strcmp(argv[1], "stats")) return cmd_stats(argc - 1, argv + 1);
  return swath_cli_fail(swath_error_set(SWATH_EINVAL,
                                        "catalog: unknown subcommand '%s' (ingest, "
                                        "search or stats)",
                                        argv[1]));
}
