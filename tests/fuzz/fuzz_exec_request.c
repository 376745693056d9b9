/* fuzz_exec_request.c: an OGC API - Processes execute request body, as
 * POST /processes/{id}/execution receives it, through
 * swath_exec_request_job (JSON body -> job text or a one-line refusal),
 * then the job text it makes through the job parser, as the service loads
 * it. The roots are folders made here (an input root with a file and a
 * symlink leading out, an outputs root); the first byte picks the process
 * (its "path" parameters are checked as inputs). Beyond the sanitizers:
 * a job text the checks let through holds no '..' segment, no file://,
 * /vsi or vrt:// and no path outside the roots in the keys it rewrote. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/job.h"
#include "fuzz_util.h"
#include "process/process.h"
#include "server/exec_request.h"

static char g_in[4200], g_out[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  char tmpl[] = "/tmp/fuzz_exec_XXXXXX", base[4096];
  if (!mkdtemp(tmpl) || !realpath(tmpl, base)) abort(); /* roots are resolved */
  snprintf(g_in, sizeof g_in, "%s/in", base);
  snprintf(g_out, sizeof g_out, "%s/out", base);
  char p[128];
  if (mkdir(g_in, 0700) || mkdir(g_out, 0700)) abort();
  snprintf(p, sizeof p, "%s/dem.tif", g_in);
  FILE *f = fopen(p, "w");
  if (f) fclose(f);
  snprintf(p, sizeof p, "%s/link.tif", g_in);
  if (symlink("/etc/passwd", p)) abort();
  return 0;
}

static int under(const char *s, const char *root) {
  size_t n = strlen(root);
  return strncmp(s, root, n) == 0 && (s[n] == '/' || s[n] == '\0');
}

/* A ".." path segment. */
static int dotdot(const char *s) {
  for (const char *p = s; (p = strstr(p, "..")); p++)
    if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) return 1;
  return 0;
}

/* The rule on what passed: every rewritten path lies under its root. */
static void check_job(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  if (!j) abort(); /* we wrote it */
  json_t *o = json_object_get(j, "output"), *v;
  if (json_is_object(o) && json_is_string(v = json_object_get(o, "path")) &&
      (!under(json_string_value(v), g_out) || dotdot(json_string_value(v))))
    abort();
  json_t *in = json_object_get(j, "inputs");
  const char *k;
  json_object_foreach(in, k, v) {
    if (json_is_string(v) && strncasecmp(json_string_value(v), "http", 4) != 0 &&
        (!under(json_string_value(v), g_in) || dotdot(json_string_value(v))))
      abort();
  }
  if (strstr(text, "file://") || strstr(text, "vrt://")) abort();
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  const swath_process_vtable *const *b = swath_process_builtins();
  int nb = 0;
  while (b[nb])
    nb++;
  const swath_process_vtable *vt = b[data[0] % nb];
  const char *roots_in[] = {g_in};
  swath_exec_roots roots = {roots_in, 1, g_out};
  char *text = NULL;
  swath_error_clear();
  int rc =
      swath_exec_request_job(&roots, vt->name, vt->params, (const char *)data + 1, size - 1, &text);
  fuzz_check_rc(rc, "swath_exec_request_job", 1);
  if (!rc) {
    check_job(text);
    char path[128];
    snprintf(path, sizeof path, "%s/posted-job", g_out);
    swath_job *job = NULL;
    swath_error_clear();
    rc = swath_job_load_text(path, text, &job);
    fuzz_check_rc(rc, "swath_job_load_text", 1);
    swath_job_free(job);
  }
  free(text);
  return 0;
}
