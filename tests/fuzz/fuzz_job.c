/* fuzz_job.c: a job file, through swath_job_load (what `swath run` and
 * `swath prefetch` call before anything else): YAML -> config tree ->
 * validated job. Nothing is run. The input is written to a file in a
 * private temporary folder, where relative paths in the job resolve. */
#include <unistd.h>

#include "engine/job.h"
#include "fuzz_util.h"

static char g_dir[256], g_path[300];

static void cleanup(void) {
  unlink(g_path);
  rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  snprintf(g_dir, sizeof g_dir, "%s/swath-fuzz-job-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_dir)) abort();
  snprintf(g_path, sizeof g_path, "%s/job.yaml", g_dir);
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  FILE *f = fopen(g_path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  swath_job *job = NULL;
  swath_error_clear();
  int rc = swath_job_load(g_path, &job);
  fuzz_check_rc(rc, "swath_job_load", 1);
  if (!rc) {
    char key[17];
    swath_job_key(job, key);
    swath_job_free(job);
  }
  return 0;
}
