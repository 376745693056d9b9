/* cmd_processes.c: `swath processes [NAME|PLUGIN.so] [--json]`: what each
 * process does and the parameters it accepts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "process/process.h"

static json_t *to_json(const swath_process_vtable *vt) {
  json_t *params = json_array();
  for (const swath_param *p = vt->params; p && p->name; p++)
    json_array_append_new(params, json_pack("{s:s,s:s,s:o,s:s}", "name", p->name, "type", p->type, "default",
                                            p->default_value ? json_string(p->default_value) : json_null(),
                                            "description", p->description ? p->description : ""));
  return json_pack("{s:s,s:s,s:o}", "name", vt->name, "description", vt->description ? vt->description : "",
                   "parameters", params);
}

static void print_text(const swath_process_vtable *vt) {
  printf("%s: %s\n", vt->name, vt->description ? vt->description : "");
  for (const swath_param *p = vt->params; p && p->name; p++)
    printf("  %-18s %-8s %-12s %s\n", p->name, p->type,
           p->default_value ? (*p->default_value ? p->default_value : "(none)") : "required",
           p->description ? p->description : "");
}

int swath_cmd_processes(int argc, char **argv) {
  int as_json = 0;
  const char *name = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) as_json = 1;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: swath processes [NAME|PLUGIN.so] [--json]\n");
      return 0;
    } else if (argv[i][0] == '-') {
      return swath_cli_fail(
          swath_error_set(SWATH_EINVAL, "processes: unknown option '%s'", argv[i]));
    } else if (!name) name = argv[i];
    else {
      fprintf(stderr, "swath: processes: expected at most one process name\n");
      return 2;
    }
  }
  swath_process one = {0};
  const swath_process_vtable *single[2] = {NULL, NULL};
  const swath_process_vtable *const *list = swath_process_builtins();
  if (name) {
    int r = swath_process_open(name, &one);
    if (r) return swath_cli_fail(r);
    single[0] = one.vt;
    list = single;
  }
  if (as_json) {
    json_t *arr = json_array();
    for (int i = 0; list[i]; i++) json_array_append_new(arr, to_json(list[i]));
    char *s = json_dumps(name ? json_array_get(arr, 0) : arr, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(arr);
  } else {
    for (int i = 0; list[i]; i++) {
      if (i) putchar('\n');
      print_text(list[i]);
    }
  }
  swath_process_close(&one);
  return 0;
}
