/* cmd_tiles.c: `swath tiles`, the tiles (or process tiles) of a grid that
 * really intersect bounds or an area file, as z/x/y lines, a count, or a
 * GeoJSON FeatureCollection in lon/lat. Output streams one tile at a time, so
 * memory stays flat however many tiles there are. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/area.h"
#include "core/error.h"
#include "core/grid.h"
#include "engine/job.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath tiles --grid NAME|FILE.json --zoom Z|Z1-Z2\n"
             "                   (--bounds MINX,MINY,MAXX,MAXY [--bounds-crs CRS] | --area FILE)\n"
             "                   [--tile-size N] [--metatiling M] [--geojson | --count]\n"
             "\n"
             "List the tiles of a grid whose interior meets the area's (not just its\n"
             "bounding box; sharing only an edge does not count), one z/x/y per line,\n"
             "row by row: the tiles `swath run` writes (those holding data).\n"
             "\n"
             "  --grid         WebMercatorQuad, WorldCRS84Quad or an OGC TileMatrixSet JSON file\n"
             "  --zoom         a zoom or an inclusive range\n"
             "  --bounds       a box; minx > maxx crosses the antimeridian (geographic CRS)\n"
             "  --bounds-crs   CRS of --bounds (default EPSG:4326, lon/lat order)\n"
             "  --area         any OGR-readable file; the union of its polygons\n"
             "  --tile-size    tile size in pixels (default 256, or the grid file's)\n"
             "  --metatiling   list process tiles of MxM tiles instead (metatile coordinates)\n"
             "  --geojson      one FeatureCollection of tile polygons in lon/lat (EPSG:4326)\n"
             "  --count        print only the number of tiles\n");
}

static int parse_int(const char *s, const char *what, int lo, int hi, int *v) {
  char *end;
  long n = strtol(s, &end, 10);
  if (end == s || *end || n < lo || n > hi)
    return swath_error_set(SWATH_EINVAL, "%s: expected a whole number in %d-%d, got '%s'", what, lo,
                           hi, s);
  *v = (int)n;
  return 0;
}

/* One feature per call, so the collection is never held in memory. */
static int print_feature(swath_lonlat *ll, const swath_grid *g, swath_tile t, int m, int first) {
  swath_bounds b = m > 1 ? swath_grid_metatile_bounds(g, t, m) : swath_grid_tile_bounds(g, t);
  double xy[2 * SWATH_LONLAT_RING_MAX];
  int n = swath_lonlat_ring(ll, b, xy);
  if (n < 0) return n;
  json_t *ring = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(ring, json_pack("[ff]", xy[2 * i], xy[2 * i + 1]));
  json_t *f = json_pack("{s:s, s:{s:I, s:I, s:I}, s:{s:s, s:[o]}}", "type", "Feature", "properties",
                        "z", (json_int_t)t.z, "x", (json_int_t)t.x, "y", (json_int_t)t.y,
                        "geometry", "type", "Polygon", "coordinates", ring);
  if (!f) return swath_error_set(SWATH_ENOMEM, "tiles: cannot build GeoJSON feature");
  char *s = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
  json_decref(f);
  if (!s) return SWATH_ENOMEM;
  printf("%s%s", first ? "\n" : ",\n", s);
  free(s);
  return 0;
}

/* z/x/y lines, or GeoJSON features when ll is given. */
static int list_zoom(const swath_grid *g, const swath_area *a, int z, int m, swath_lonlat *ll,
                     int *first) {
  swath_tile_iter *it;
  int rc = swath_tile_iter_new(g, a, z, m, &it);
  if (rc) return rc;
  swath_tile t;
  while (!rc && swath_tile_iter_next(it, &t) == 1) {
    if (ll) {
      rc = print_feature(ll, g, t, m, *first);
      *first = 0;
    } else {
      printf("%d/%lld/%lld\n", t.z, (long long)t.x, (long long)t.y);
    }
  }
  swath_tile_iter_free(it);
  return rc;
}

int swath_cmd_tiles(int argc, char **argv) {
  static const struct option opts[] = {
      {"grid", required_argument, NULL, 'g'},
      {"tile-size", required_argument, NULL, 't'},
      {"zoom", required_argument, NULL, 'z'},
      {"bounds", required_argument, NULL, 'b'},
      {"bounds-crs", required_argument, NULL, 'c'},
      {"area", required_argument, NULL, 'a'},
      {"metatiling", required_argument, NULL, 'm'},
      {"geojson", no_argument, NULL, 'j'},
      {"count", no_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *grid_name = NULL, *zoom = NULL, *bounds = NULL, *crs = "EPSG:4326", *area = NULL;
  int tile_size = 0, meta = 1, geojson = 0, count_only = 0, c, rc = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'g':
      grid_name = optarg;
      break;
    case 't':
      rc = parse_int(optarg, "--tile-size", 1, 16384, &tile_size);
      break;
    case 'z':
      zoom = optarg;
      break;
    case 'b':
      bounds = optarg;
      break;
    case 'c':
      crs = optarg;
      break;
    case 'a':
      area = optarg;
      break;
    case 'm':
      rc = parse_int(optarg, "--metatiling", 1, 64, &meta);
      break;
    case 'j':
      geojson = 1;
      break;
    case 'n':
      count_only = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      rc = swath_error_set(SWATH_EINVAL, "tiles: option '%s' needs a value", argv[optind - 1]);
      break;
    default:
      rc = swath_error_set(SWATH_EINVAL, "tiles: unknown option '%s' (try 'swath tiles --help')",
                           argv[optind - 1]);
    }
    if (rc) return swath_cli_fail(rc);
  }
  if (optind < argc)
    rc = swath_error_set(SWATH_EINVAL, "tiles: unexpected argument '%s'", argv[optind]);
  else if (!grid_name)
    rc = swath_error_set(SWATH_EINVAL, "tiles: --grid is required (WebMercatorQuad, "
                                       "WorldCRS84Quad or a TileMatrixSet .json file)");
  else if (!zoom)
    rc = swath_error_set(SWATH_EINVAL, "tiles: --zoom is required (Z or Z1-Z2)");
  else if (!bounds == !area)
    rc = swath_error_set(SWATH_EINVAL, "tiles: give exactly one of --bounds and --area");
  else if (geojson && count_only)
    rc = swath_error_set(SWATH_EINVAL, "tiles: --geojson and --count exclude each other");
  else if (meta & (meta - 1))
    rc = swath_error_set(SWATH_EINVAL,
                         "--metatiling: %d is not a power of two (1, 2, 4, 8, 16, 32 or 64)", meta);
  if (rc) return swath_cli_fail(rc);

  swath_grid g;
  int z0, z1;
  swath_bounds b;
  if ((rc = swath_grid_load(grid_name, tile_size, &g)) ||
      (rc = swath_parse_zoom_range(zoom, "--zoom", &z0, &z1)) ||
      (bounds && (rc = swath_parse_bounds(bounds, "--bounds", &b))))
    return swath_cli_fail(rc);
  if (!swath_grid_has_zoom(&g, z0) || !swath_grid_has_zoom(&g, z1))
    return swath_cli_fail(swath_error_set(SWATH_EINVAL,
                                          "--zoom: %d-%d is out of range for grid %s (%d-%d)", z0,
                                          z1, g.name, g.min_zoom, g.max_zoom));
  swath_area *a = NULL;
  rc = bounds ? swath_area_from_bounds(&g, b, crs, &a) : swath_area_from_file(&g, area, &a);
  if (rc) return swath_cli_fail(rc);
  swath_lonlat *ll = NULL;
  if (geojson && (rc = swath_lonlat_new(&g, &ll))) {
    swath_area_free(a);
    return swath_cli_fail(rc);
  }

  int64_t total = 0;
  int first = 1;
  if (geojson) printf("{\"type\": \"FeatureCollection\", \"features\": [");
  for (int z = z0; z <= z1 && !rc; z++) {
    if (count_only) {
      int64_t n = swath_area_count_tiles(&g, a, z, meta);
      if (n < 0)
        rc = (int)n;
      else
        total += n;
    } else {
      rc = list_zoom(&g, a, z, meta, ll, &first);
    }
  }
  if (geojson && !rc) printf("\n]}\n");
  if (count_only && !rc) printf("%lld\n", (long long)total);
  swath_lonlat_free(ll);
  swath_area_free(a);
  if (fflush(stdout) != 0 && !rc) rc = swath_error_set(SWATH_EIO, "tiles: cannot write output");
  return rc ? swath_cli_fail(rc) : 0;
}
