/* store.c: the registry of state stores, the one place that lists them.
 * The built-ins are added on first use; swath_store_register adds others
 * at start-up (core/registry.h: no lock after that). */
#include <pthread.h>

#include "core/error.h"
#include "core/registry.h"
#include "engine/queue.h"
#include "engine/store.h"

static swath_registry g_stores = {.what = "store", .abi = SWATH_STORE_ABI};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void add_builtins(void) {
  swath_registry_add(&g_stores, swath_store_sqlite.name, swath_store_sqlite.abi_version,
                     &swath_store_sqlite);
  /* A queued job's marks (store_pg.c): open's uri is a libpq conninfo. */
  swath_registry_add(&g_stores, swath_store_pg.name, swath_store_pg.abi_version, &swath_store_pg);
}

int swath_store_register(const swath_store_vtable *vt) {
  pthread_once(&g_once, add_builtins);
  if (vt->abi_version == SWATH_STORE_ABI && (!vt->open || !vt->get || !vt->mark || !vt->close))
    return swath_error_set(SWATH_EINVAL, "store '%s': its vtable lacks open, get, mark or close",
                           vt->name ? vt->name : "");
  return swath_registry_add(&g_stores, vt->name, vt->abi_version, vt);
}

int swath_store_find(const char *name, const swath_store_vtable **out) {
  pthread_once(&g_once, add_builtins);
  const void *vt;
  int r = swath_registry_find(&g_stores, name, &vt);
  *out = vt;
  return r;
}
