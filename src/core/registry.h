/* registry.h: a list of implementations of one interface (sinks, stores),
 * looked up by name. Each interface keeps its own registry: its built-ins
 * are added on first use, and others (the next issues' sinks and stores, or
 * plugins) with add() at start-up, before any thread looks one up: the list
 * takes no lock. An implementation built for another ABI version of its
 * interface is refused, so a changed struct never meets old code. */
#ifndef SWATH_CORE_REGISTRY_H
#define SWATH_CORE_REGISTRY_H

#define SWATH_REGISTRY_MAX 16

typedef struct swath_registry {
  const char *what; /* the interface, for messages: "sink", "store" */
  int abi;          /* the ABI version this build of swath speaks */
  int n;
  const char *names[SWATH_REGISTRY_MAX];
  const void *vts[SWATH_REGISTRY_MAX];
} swath_registry;

/* Add `vt` (an interface's vtable) under `name`, built for ABI `abi`.
 * SWATH_EINVAL with one line for an ABI other than r->abi, a missing or
 * taken name, or a full list. */
int swath_registry_add(swath_registry *r, const char *name, int abi, const void *vt);
/* The vtable registered under `name` into *vt; SWATH_EINVAL with one line
 * naming the known ones if there is none. */
int swath_registry_find(const swath_registry *r, const char *name, const void **vt);

#endif
