/* search_bench.c: search latency of the swath catalog and of PostgreSQL +
 * PostGIS on the same rows, side by side (built and run by run.sh).
 *
 * Query classes: a point, a 2x2 degree box and a 10x10 degree box, each
 * without filters and with a 30-day datetime window plus eo:cloud_cover <=
 * 30. Both engines answer the same question: ids of the matching scenes,
 * newest first, at most 2000. swath goes through its public API (search
 * body -> swath_search_parse -> swath_search_run, ids only, without
 * numberMatched; a second column adds the numberMatched count the STAC API
 * returns); PostgreSQL runs one prepared statement over a GiST index with
 * the && operator. Every query set runs once untimed first (warm caches,
 * as a running server has), then timed. Prints p50/p99 in milliseconds.
 *
 *   search_bench CATALOG [PG_CONNINFO] [N]   (N queries per class, default 200) */
#include <gdal.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "core/error.h"

#define MAX_N 5000

struct query {
  double w, s, e, n;
  int filtered;
  int64_t t0; /* ms */
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  qsort(v, n, sizeof *v, cmp_d);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

static int swath_query(swath_catalog *c, const struct query *q, int count, int *found) {
  char t0[32], t1[32], body[512];
  swath_time_format(q->t0, t0);
  swath_time_format(q->t0 + 30LL * 86400000 - 1, t1);
  if (q->filtered)
    snprintf(body, sizeof body,
             "{\"bbox\": [%.6f, %.6f, %.6f, %.6f], \"datetime\": \"%s/%s\", \"filter\": {\"op\": "
             "\"<=\", \"args\": [{\"property\": \"eo:cloud_cover\"}, 30]}, \"limit\": 2000}",
             q->w, q->s, q->e, q->n, t0, t1);
  else
    snprintf(body, sizeof body, "{\"bbox\": [%.6f, %.6f, %.6f, %.6f], \"limit\": 2000}", q->w, q->s,
             q->e, q->n);
  json_t *b = json_loads(body, 0, NULL);
  swath_search *s;
  int rc = swath_search_parse(b, &s);
  json_decref(b);
  if (rc) return rc;
  swath_search_opts o = {count ? 0 : -1, 1, NULL};
  swath_page p;
  rc = swath_search_run(c, s, &o, &p);
  swath_search_free(s);
  if (rc) return rc;
  *found = p.returned;
  swath_page_clear(&p);
  return 0;
}

static int pg_query(PGconn *pg, const struct query *q, int *found) {
  char w[32], s[32], e[32], n[32], t0[32], t1[32];
  snprintf(w, sizeof w, "%.6f", q->w);
  snprintf(s, sizeof s, "%.6f", q->s);
  snprintf(e, sizeof e, "%.6f", q->e);
  snprintf(n, sizeof n, "%.6f", q->n);
  swath_time_format(q->t0, t0);
  swath_time_format(q->t0 + 30LL * 86400000 - 1, t1);
  const char *v[6] = {w, s, e, n, t0, t1};
  PGresult *r =
      PQexecPrepared(pg, q->filtered ? "filtered" : "plain", q->filtered ? 6 : 4, v, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fprintf(stderr, "postgres: %s", PQerrorMessage(pg));
    PQclear(r);
    return -1;
  }
  *found = PQntuples(r);
  PQclear(r);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: search_bench CATALOG [PG_CONNINFO] [N]\n");
    return 2;
  }
  int n = argc > 3 ? atoi(argv[3]) : 200;
  if (n < 10 || n > MAX_N) n = 200;
  GDALAllRegister();
  swath_catalog *c;
  if (swath_catalog_open(argv[1], SWATH_CATALOG_READONLY, &c)) {
    fprintf(stderr, "swath: %s\n", swath_error_message());
    return 1;
  }
  PGconn *pg = NULL;
  if (argc > 2 && *argv[2]) {
    pg = PQconnectdb(argv[2]);
    if (PQstatus(pg) != CONNECTION_OK) {
      fprintf(stderr, "postgres: %s", PQerrorMessage(pg));
      return 1;
    }
    const char *plain = "SELECT id FROM scenes WHERE geom && ST_MakeEnvelope($1::float8, "
                        "$2::float8, $3::float8, $4::float8, 4326) ORDER BY dt DESC LIMIT 2000";
    const char *filtered =
        "SELECT id FROM scenes WHERE geom && ST_MakeEnvelope($1::float8, $2::float8, $3::float8, "
        "$4::float8, 4326) AND dt BETWEEN $5::timestamptz AND $6::timestamptz AND cloud <= 30 "
        "ORDER BY dt DESC LIMIT 2000";
    PGresult *r = PQprepare(pg, "plain", plain, 4, NULL);
    PQclear(r);
    r = PQprepare(pg, "filtered", filtered, 6, NULL);
    PQclear(r);
  }
  static const struct {
    const char *name;
    double size;
  } classes[] = {{"point", 0}, {"2x2 box", 2}, {"10x10 box", 10}};
  static struct query qs[MAX_N];
  static double ts[MAX_N], tc[MAX_N], tp[MAX_N];
  srand(42);
  printf("%-22s %9s %9s %9s %9s %9s %9s %9s %9s\n", "query", "ids(avg)", "swath p50", "swath p99",
         "+count p50", "+count p99", "pg p50", "pg p99", "p50 ratio");
  for (int k = 0; k < 3; k++)
    for (int f = 0; f < 2; f++) {
      for (int i = 0; i < n; i++) {
        double sz = classes[k].size;
        qs[i].w = -170 + (rand() / (double)RAND_MAX) * (340 - sz);
        qs[i].s = -50 + (rand() / (double)RAND_MAX) * (120 - sz);
        qs[i].e = qs[i].w + sz;
        qs[i].n = qs[i].s + sz;
        qs[i].filtered = f;
        /* 2016-01-01 + up to ~8.5 years */
        qs[i].t0 = 1451606400000LL + (int64_t)(rand() % 3100) * 86400000LL;
      }
      long found_total = 0;
      int ndiff = 0, nmore = 0;
      for (int pass = 0; pass < 2; pass++) { /* pass 0 warms the caches */
        for (int i = 0; i < n; i++) {
          int found = 0;
          double t = now_ms();
          if (swath_query(c, &qs[i], 0, &found)) {
            fprintf(stderr, "swath: %s\n", swath_error_message());
            return 1;
          }
          ts[i] = now_ms() - t;
          if (pass) found_total += found;
          t = now_ms();
          if (swath_query(c, &qs[i], 1, &found)) return 1;
          tc[i] = now_ms() - t;
          if (pg) {
            int pf = 0;
            t = now_ms();
            if (pg_query(pg, &qs[i], &pf)) return 1;
            tp[i] = now_ms() - t;
            if (pass && pf != found) ndiff++, nmore += pf > found;
          }
        }
      }
      char name[64];
      snprintf(name, sizeof name, "%s%s", classes[k].name, f ? " +time+cloud" : "");
      double s50 = pct(ts, n, 0.5), s99 = pct(ts, n, 0.99);
      double c50 = pct(tc, n, 0.5), c99 = pct(tc, n, 0.99);
      if (pg) {
        double p50 = pct(tp, n, 0.5), p99 = pct(tp, n, 0.99);
        printf("%-22s %9.0f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", name,
               (double)found_total / n, s50, s99, c50, c99, p50, p99, p50 / s50);
      } else {
        printf("%-22s %9.0f %9.2f %9.2f %9.2f %9.2f %9s %9s %9s\n", name, (double)found_total / n,
               s50, s99, c50, c99, "-", "-", "-");
      }
      if (ndiff)
        printf("  (%d of %d queries returned different id counts, %d of them more from postgres: "
               "its && keeps the -180..180 envelope of antimeridian granules, swath tests "
               "them exactly)\n",
               ndiff, n, nmore);
      fflush(stdout);
    }
  if (pg) PQfinish(pg);
  swath_catalog_close(c);
  GDALDestroyDriverManager();
  return 0;
}
