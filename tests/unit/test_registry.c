/* test_registry.c: sinks and stores are looked up by name in registries
 * with an ABI version (issue 17.4), as processes are: an unknown name gets
 * one line naming the known ones, an implementation built for another ABI
 * is refused and stays unknown, and a registered one is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "engine/store.h"
#include "io/sink.h"

static void one_line(const char *want) {
  const char *msg = swath_error_message();
  if (!strstr(msg, want)) fail_msg("message '%s' lacks '%s'", msg, want);
  assert_null(strchr(msg, '\n'));
}

static void builtins_are_found(void **st) {
  (void)st;
  const swath_sink_vtable *sink = NULL;
  const swath_store_vtable *store = NULL;
  assert_int_equal(swath_sink_find(SWATH_SINK_DEFAULT, &sink), 0);
  assert_ptr_equal(sink, &swath_sink_tiledir);
  assert_int_equal(swath_store_find(SWATH_STORE_DEFAULT, &store), 0);
  assert_ptr_equal(store, &swath_store_sqlite);
}

static void unknown_names_get_one_line(void **st) {
  (void)st;
  const swath_sink_vtable *sink = &swath_sink_tiledir;
  const swath_store_vtable *store = &swath_store_sqlite;
  assert_int_equal(swath_sink_find("stacta", &sink), SWATH_EINVAL);
  assert_null(sink);
  one_line("unknown sink 'stacta' (known: tiledir, none)");
  assert_int_equal(swath_store_find("postgres\nx", &store), SWATH_EINVAL);
  assert_null(store);
  one_line("unknown store 'postgres\\nx' (known: sqlite, postgresql)");
}

static int s_open(const swath_sink_cfg *c, void **s) { return (void)c, (void)s, 0; }
static int s_write(void *s, swath_tile t, const swath_raster *r) {
  return (void)s, (void)t, (void)r, 0;
}
static void s_close(void *s) { (void)s; }
static int t_open(const char *u, const char *k, int *same, int64_t *done, void **s) {
  return (void)u, (void)k, (void)same, (void)done, (void)s, 0;
}
static int t_get(void *s, swath_tile t, enum swath_task_state *o, unsigned char *c, int n) {
  return (void)s, (void)t, (void)o, (void)c, (void)n, 0;
}
static int t_mark(void *s, swath_tile t, enum swath_task_state st, const char *m,
                  const swath_tile_range *r, const unsigned char *c, int n) {
  return (void)s, (void)t, (void)st, (void)m, (void)r, (void)c, (void)n, 0;
}

static void other_abi_is_refused(void **st) {
  (void)st;
  static const swath_sink_vtable old_sink = {.name = "old",
                                             .abi_version = SWATH_SINK_ABI + 1,
                                             .open = s_open,
                                             .write_tile = s_write,
                                             .close = s_close};
  static const swath_store_vtable old_store = {.name = "old",
                                               .abi_version = SWATH_STORE_ABI + 1,
                                               .open = t_open,
                                               .get = t_get,
                                               .mark = t_mark};
  const swath_sink_vtable *sink;
  const swath_store_vtable *store;
  assert_int_equal(swath_sink_register(&old_sink), SWATH_EINVAL);
  one_line("sink 'old': built for sink ABI 2, swath needs 1; rebuild it");
  assert_int_equal(swath_sink_find("old", &sink), SWATH_EINVAL);
  assert_int_equal(swath_store_register(&old_store), SWATH_EINVAL);
  one_line("store 'old': built for store ABI 2, swath needs 1; rebuild it");
  assert_int_equal(swath_store_find("old", &store), SWATH_EINVAL);
}

static void registered_ones_are_found(void **st) {
  (void)st;
  static const swath_sink_vtable mine = {.name = "mine",
                                         .abi_version = SWATH_SINK_ABI,
                                         .open = s_open,
                                         .write_tile = s_write,
                                         .close = s_close};
  static const swath_sink_vtable lacking = {.name = "lacking", .abi_version = SWATH_SINK_ABI};
  const swath_sink_vtable *sink;
  assert_int_equal(swath_sink_register(&mine), 0);
  assert_int_equal(swath_sink_find("mine", &sink), 0);
  assert_ptr_equal(sink, &mine);
  assert_int_equal(swath_sink_register(&mine), SWATH_EINVAL);
  one_line("sink 'mine' is registered already");
  assert_int_equal(swath_sink_register(&lacking), SWATH_EINVAL);
  one_line("sink 'lacking': its vtable lacks open, write_tile or close");
  assert_int_equal(swath_sink_find("nope", &sink), SWATH_EINVAL);
  one_line("(known: tiledir, none, mine)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(builtins_are_found), cmocka_unit_test(unknown_names_get_one_line),
      cmocka_unit_test(other_abi_is_refused), cmocka_unit_test(registered_ones_are_found)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
