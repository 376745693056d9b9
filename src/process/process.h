/* process.h: the registry of processes (built-ins and plugins) and the
 * host side of the plugin interface (include/swath/plugin.h).
 *
 * The registry is filled once at start-up with the built-ins; a job whose
 * `process:` is a path ending in .so loads a plugin instead. */
#ifndef SWATH_PROCESS_PROCESS_H
#define SWATH_PROCESS_PROCESS_H

#include "swath/plugin.h"

/* A job's parameters: owned key/value strings. */
struct swath_params {
  int n;
  char **keys;
  char **values;
  const swath_param *spec; /* the process's declared parameters (for defaults) */
};

swath_params *swath_params_new(void);
int swath_params_set(swath_params *p, const char *key, const char *value);
void swath_params_free(swath_params *p);
/* The host callbacks handed to processes. */
const swath_host *swath_process_host(void);

/* NULL-terminated list of built-in processes. */
const swath_process_vtable *const *swath_process_builtins(void);

/* A resolved process: a built-in, or a plugin with its dlopen handle. */
typedef struct swath_process {
  const swath_process_vtable *vt;
  void *dl; /* dlopen handle for plugins, else NULL */
} swath_process;

/* Resolve `name_or_path`: a built-in name, or a path to a plugin .so.
 * SWATH_EINVAL with a one-line message for unknown names, files that are not
 * shared libraries, libraries without the entry point or with another ABI. */
int swath_process_open(const char *name_or_path, swath_process *out);
void swath_process_close(swath_process *p);
/* Check that every key in `p` is a declared parameter and every required one
 * is present, set p->spec, and check declared types. SWATH_EINVAL on error. */
int swath_process_check_params(const swath_process_vtable *vt, swath_params *p);

/* Built-ins, one file each. */
extern const swath_process_vtable swath_process_convert;
extern const swath_process_vtable swath_process_hillshade;
extern const swath_process_vtable swath_process_bandmath;
extern const swath_process_vtable swath_process_detect;
extern const swath_process_vtable swath_process_contours;

#endif
