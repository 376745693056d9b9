/* registry.c: see registry.h. A fixed array: a handful of implementations
 * per interface, added once at start-up. */
#include "core/registry.h"

#include <string.h>

#include "core/error.h"

int swath_registry_add(swath_registry *r, const char *name, int abi, const void *vt) {
  if (!name || !*name || !vt)
    return swath_error_set(SWATH_EINVAL, "%s: an implementation without a name", r->what);
  if (abi != r->abi)
    return swath_error_set(SWATH_EINVAL, "%s '%s': built for %s ABI %d, swath needs %d; rebuild it",
                           r->what, name, r->what, abi, r->abi);
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->names[i], name) == 0)
      return swath_error_set(SWATH_EINVAL, "%s '%s' is registered already", r->what, name);
  if (r->n >= SWATH_REGISTRY_MAX)
    return swath_error_set(SWATH_EINVAL, "%s '%s': no room for more than %d", r->what, name,
                           SWATH_REGISTRY_MAX);
  r->names[r->n] = name;
  r->vts[r->n] = vt;
  r->n++;
  return 0;
}

int swath_registry_find(const swath_registry *r, const char *name, const void **vt) {
  *vt = NULL;
  for (int i = 0; name && i < r->n; i++) {
    if (strcmp(r->names[i], name) == 0) {
      *vt = r->vts[i];
      return 0;
    }
  }
  char known[256] = "";
  for (int i = 0; i < r->n; i++) {
    if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
    strncat(known, r->names[i], sizeof known - strlen(known) - 1);
  }
  return swath_error_set(SWATH_EINVAL, "unknown %s '%s' (known: %s)", r->what, name ? name : "",
                         known[0] ? known : "none");
}
