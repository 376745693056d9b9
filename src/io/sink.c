/* sink.c: the registry of sinks, the one place that lists them. The
 * built-ins are added on first use; swath_sink_register adds others at
 * start-up (core/registry.h: no lock after that). */
#include <pthread.h>

#include "core/error.h"
#include "core/registry.h"
#include "io/sink.h"

static swath_registry g_sinks = {.what = "sink", .abi = SWATH_SINK_ABI};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void add_builtins(void) {
  swath_registry_add(&g_sinks, swath_sink_tiledir.name, swath_sink_tiledir.abi_version,
                     &swath_sink_tiledir);
  swath_registry_add(&g_sinks, swath_sink_none.name, swath_sink_none.abi_version, &swath_sink_none);
}

int swath_sink_register(const swath_sink_vtable *vt) {
  pthread_once(&g_once, add_builtins);
  if (vt->abi_version == SWATH_SINK_ABI && (!vt->open || !vt->write_tile || !vt->close))
    return swath_error_set(SWATH_EINVAL, "sink '%s': its vtable lacks open, write_tile or close",
                           vt->name ? vt->name : "");
  return swath_registry_add(&g_sinks, vt->name, vt->abi_version, vt);
}

int swath_sink_find(const char *name, const swath_sink_vtable **out) {
  pthread_once(&g_once, add_builtins);
  const void *vt;
  int r = swath_registry_find(&g_sinks, name, &vt);
  *out = vt;
  return r;
}
