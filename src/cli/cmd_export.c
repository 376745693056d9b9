/* cmd_export.c: `swath export` and `swath heatmap`, the two readers of a
 * features store (engine/export.h, engine/heatmap.h). SRC is an output
 * folder, a store file or a PG: connection; both resolve it the same way
 * (swath_features_locate). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "engine/export.h"
#include "engine/heatmap.h"
#include "engine/job.h"

static void export_usage(FILE *f) {
  fprintf(f, "usage: swath export SRC --format geojson|csv|fgb|gpkg [options]\n"
             "\n"
             "Write the features of a features store (SRC: an output folder, a store .gpkg,\n"
             "or a PG: connection) in lon/lat (EPSG:4326). GeoJSON and CSV go to stdout\n"
             "without -o; a file is written under a temporary name and renamed when whole.\n"
             "\n"
             "  --format F        geojson (RFC 7946), csv (lon,lat,score,class,z,x,y,wkt),\n"
             "                    fgb (FlatGeobuf) or gpkg (GeoPackage)\n"
             "  --threshold T     keep features with score >= T (0 to 1)\n"
             "  --class C[,C...]  keep these classes\n"
             "  --area FILE       keep features whose centre lies in the polygons of FILE\n"
             "  --bounds W,S,E,N  keep features whose centre lies in these lon/lat bounds\n"
             "  -o, --output FILE write FILE (needed for fgb and gpkg)\n"
             "  --overwrite       replace FILE if it exists\n"
             "  --tiles           with csv: z,x,y,class,score, the best score per output tile\n"
             "                    and class, sorted by z, x, y, class\n"
             "  --crs store       fgb, gpkg: keep the store's CRS instead of EPSG:4326\n"
             "  --merge           lines (contours): one feature per line joined from the pieces\n"
             "                    of equal class and value (class, value, pieces); not csv\n");
}

static int parse_bounds(const char *s, swath_features_query *q) {
  swath_bounds b;
  int rc = swath_parse_bounds(s, "--bounds", &b);
  if (rc) return rc;
  if (b.minx < -180 || b.maxx > 180 || b.miny < -90 || b.maxy > 90 || b.minx > b.maxx)
    return swath_error_set(SWATH_EINVAL, "--bounds: '%s' is not lon/lat W,S,E,N (W < E)", s);
  q->has_bounds = 1;
  q->bounds[0] = b.minx, q->bounds[1] = b.miny, q->bounds[2] = b.maxx, q->bounds[3] = b.maxy;
  return 0;
}

/* getopt's messages for a missing value or an unknown flag, as one line. */
static int bad_flag(const char *cmd, int c, char **argv) {
  if (c == ':')
    return swath_error_set(SWATH_EINVAL, "%s: option '%s' needs a value", cmd, argv[optind - 1]);
  return swath_error_set(SWATH_EINVAL, "%s: unknown option '%s' (try 'swath %s --help')", cmd,
                         argv[optind - 1], cmd);
}

int swath_cmd_export(int argc, char **argv) {
  static const struct option opts[] = {
      {"format", required_argument, NULL, 'f'}, {"threshold", required_argument, NULL, 't'},
      {"class", required_argument, NULL, 'c'},  {"area", required_argument, NULL, 'a'},
      {"bounds", required_argument, NULL, 'b'}, {"output", required_argument, NULL, 'o'},
      {"overwrite", no_argument, NULL, 'w'},    {"tiles", no_argument, NULL, 'T'},
      {"crs", required_argument, NULL, 'C'},    {"merge", no_argument, NULL, 'M'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  swath_export_opts o = {0};
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while (!rc && (c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      o.format = optarg;
      break;
    case 't':
      rc = swath_parse_threshold(optarg, "--threshold", &o.query.threshold);
      o.query.has_threshold = 1;
      break;
    case 'c':
      o.query.classes = optarg;
      break;
    case 'a':
      o.query.area_file = optarg;
      break;
    case 'b':
      rc = parse_bounds(optarg, &o.query);
      break;
    case 'o':
      o.out = optarg;
      break;
    case 'w':
      o.overwrite = 1;
      break;
    case 'T':
      o.tiles = 1;
      break;
    case 'M':
      o.merge = 1;
      break;
    case 'C':
      if (strcmp(optarg, "store") && strcmp(optarg, "EPSG:4326"))
        rc = swath_error_set(SWATH_EINVAL, "--crs: expected 'store' or 'EPSG:4326', got '%s'",
                             optarg);
      o.keep_crs = strcmp(optarg, "store") == 0;
      break;
    case 'h':
      export_usage(stdout);
      return 0;
    default:
      rc = bad_flag("export", c, argv);
    }
  }
  if (!rc && optind != argc - 1)
    rc =
        swath_error_set(SWATH_EINVAL, optind < argc ? "export: one SRC expected, got more"
                                                    : "export: SRC is required (an output "
                                                      "folder, a .gpkg store or a PG: connection)");
  if (!rc && o.query.area_file && o.query.has_bounds)
    rc = swath_error_set(SWATH_EINVAL, "export: give at most one of --area and --bounds");
  if (!rc) rc = swath_export_check(&o);
  char *store = NULL;
  if (!rc) rc = swath_features_locate(argv[optind], &store);
  swath_export_stats st;
  if (!rc) rc = swath_export(store, &o, &st);
  free(store);
  if (rc) return swath_cli_fail(rc);
  if (o.merge)
    fprintf(stderr, "swath: exported %lld merged lines (from %lld pieces of %lld features) to %s\n",
            (long long)st.written, (long long)st.matched, (long long)st.total,
            o.out ? o.out : "stdout");
  else if (o.tiles)
    fprintf(stderr, "swath: exported %lld tile rows (from %lld features of %lld) to %s\n",
            (long long)st.written, (long long)st.matched, (long long)st.total,
            o.out ? o.out : "stdout");
  else
    fprintf(stderr, "swath: exported %lld features (of %lld) to %s\n", (long long)st.written,
            (long long)st.total, o.out ? o.out : "stdout");
  return 0;
}

static void heatmap_usage(FILE *f) {
  fprintf(f, "usage: swath heatmap SRC [options]\n"
             "\n"
             "Object density of a features store (SRC: an output folder, a store .gpkg, or a\n"
             "PG: connection) as heatmap.tif (the store's CRS) and PNG tiles {z}/{x}/{y}.png\n"
             "with tilejson.json, coloured from transparent (0) through yellow to red.\n"
             "\n"
             "  --zoom Z1-Z2      tile zooms (default 10-16)\n"
             "  --cell SIZE       cell size: 100m (ground metres, the default) or a number in\n"
             "                    the store CRS's units\n"
             "  --value V         count (features per cell, the default) or score (their sum)\n"
             "  --threshold T     only features with score >= T (0 to 1)\n"
             "  --max V           density at the top of the ramp (default: the densest cell)\n"
             "  --grid NAME       the tiles' grid (default WebMercatorQuad)\n"
             "  -o, --output DIR  the heatmap's folder (default SRC/heatmap; for a store\n"
             "                    file, heatmap/ beside it)\n"
             "  --workers N       tile workers (default: number of cores)\n"
             "  --progress, --no-progress\n");
}

static int heatmap_flag(int c, const char *arg, swath_heatmap_opts *o, const char **value) {
  long n;
  int rc = 0;
  switch (c) {
  case 'z':
    return swath_parse_zoom_range(arg, "--zoom", &o->min_zoom, &o->max_zoom);
  case 'c':
    return swath_heatmap_parse_cell(arg, &o->cell, &o->cell_metres);
  case 'v':
    *value = arg;
    return 0;
  case 't':
    o->has_threshold = 1;
    return swath_parse_threshold(arg, "--threshold", &o->threshold);
  case 'm': {
    char *end;
    o->max = strtod(arg, &end);
    if (end == arg || *end || !(o->max > 0))
      rc = swath_error_set(SWATH_EINVAL, "--max: expected a density above 0, got '%s'", arg);
    return rc;
  }
  case 'g':
    o->grid = arg;
    return 0;
  case 'o':
    o->out_dir = arg;
    return 0;
  case 'w':
    rc = swath_cli_long(arg, "--workers", 1, 1024, &n);
    o->workers = (int)n;
    return rc;
  case 'p':
    o->progress = 1;
    return 0;
  case 'P':
    o->progress = 0;
    return 0;
  }
  return SWATH_EINTERNAL;
}

int swath_cmd_heatmap(int argc, char **argv) {
  static const struct option opts[] = {
      {"zoom", required_argument, NULL, 'z'},   {"cell", required_argument, NULL, 'c'},
      {"value", required_argument, NULL, 'v'},  {"threshold", required_argument, NULL, 't'},
      {"max", required_argument, NULL, 'm'},    {"grid", required_argument, NULL, 'g'},
      {"output", required_argument, NULL, 'o'}, {"workers", required_argument, NULL, 'w'},
      {"progress", no_argument, NULL, 'p'},     {"no-progress", no_argument, NULL, 'P'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  swath_heatmap_opts o = {
      .min_zoom = 10, .max_zoom = 16, .cell = 100, .cell_metres = 1, .progress = -1};
  const char *value = "count";
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while (!rc && (c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    if (c == 'h') {
      heatmap_usage(stdout);
      return 0;
    }
    rc = c == ':' || c == '?' ? bad_flag("heatmap", c, argv) : heatmap_flag(c, optarg, &o, &value);
  }
  if (!rc && optind != argc - 1)
    rc =
        swath_error_set(SWATH_EINVAL, optind < argc ? "heatmap: one SRC expected, got more"
                                                    : "heatmap: SRC is required (an output "
                                                      "folder, a .gpkg store or a PG: connection)");
  if (!rc && strcmp(value, "count") && strcmp(value, "score"))
    rc = swath_error_set(SWATH_EINVAL, "--value: expected count or score, got '%s'", value);
  o.value_score = strcmp(value, "score") == 0;
  char *store = NULL, *dir = NULL;
  if (!rc) rc = swath_features_locate(argv[optind], &store);
  if (!rc && !o.out_dir) {
    /* SRC/heatmap for a folder; beside it for a store file. */
    const char *src = argv[optind];
    if (strncmp(src, "PG:", 3) == 0) {
      rc = swath_error_set(SWATH_EINVAL, "heatmap: give -o DIR for a PG: store");
    } else {
      char *copy = strdup(src);
      const char *base = strcmp(store, src) != 0 ? src : copy ? dirname(copy) : ".";
      size_t n = strlen(base) + 16;
      if ((dir = malloc(n))) snprintf(dir, n, "%s/heatmap", base);
      free(copy);
      o.out_dir = dir;
      if (!dir) rc = SWATH_ENOMEM;
    }
  }
  swath_heatmap_stats st;
  if (!rc) rc = swath_heatmap_build(store, &o, &st);
  free(store);
  if (rc == SWATH_EEMPTY) {
    fprintf(stderr, "swath: %s: nothing written\n", swath_error_message());
    free(dir);
    return 0;
  }
  if (!rc)
    fprintf(stderr,
            "swath: heatmap of %lld features (of %lld): %d x %d cells of %.6g, densest %.6g, "
            "tiles %d-%d in %s\n",
            (long long)st.features, (long long)st.total, st.width, st.height, st.cell, st.max,
            o.min_zoom, o.max_zoom, o.out_dir);
  free(dir);
  return swath_cli_status(rc);
}
