/* cmd_model.c: `swath model info` (what a model declares and what swath
 * will feed it) and `swath model predict` (one batch from a raw float32
 * file, every output to a raw float32 file: a debugging tool, and what the
 * oracle tests compare with PyTorch). Thin: the work is infer/model.c and
 * infer/model_io.c. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "infer/model.h"
#include "infer/model_io.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath model info FILE.onnx|URL [--type TYPE] [--name NAME] [--json]\n"
             "       swath model predict FILE.onnx|URL [--type TYPE] [--name NAME]\n"
             "                           --chips IN.f32 --shape N,C,H,W -o OUT_PREFIX\n"
             "\n"
             "info     the model's runtime, input and outputs (names and shapes; ? or -1:\n"
             "         left open by the model), its opset, and the chips swath feeds it\n"
             "predict  run one batch: IN.f32 holds N x C x H x W little-endian float32\n"
             "         values (no header); each output i is written to OUT_PREFIX.i.f32\n"
             "         (same format) and its shape printed as 'output i NAME: N x ...'\n"
             "\n"
             "  --type   onnx (the default for a file), kserve or tfserving (a URL)\n"
             "  --name   the model's name on a server\n"
             "  --json   info as one JSON object\n");
}

struct args {
  swath_model_spec spec;
  const char *chips, *shape, *out;
  int json;
};

static int parse_args(const char *cmd, int argc, char **argv, struct args *a) {
  static const struct option opts[] = {
      {"type", required_argument, NULL, 't'},  {"name", required_argument, NULL, 'n'},
      {"json", no_argument, NULL, 'j'},        {"chips", required_argument, NULL, 'c'},
      {"shape", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      a->spec.type = optarg;
      break;
    case 'n':
      a->spec.name = optarg;
      break;
    case 'j':
      a->json = 1;
      break;
    case 'c':
      a->chips = optarg;
      break;
    case 's':
      a->shape = optarg;
      break;
    case 'o':
      a->out = optarg;
      break;
    case 'h':
      usage(stdout);
      return 1;
    case ':':
      return swath_error_set(SWATH_EINVAL, "model %s: option '%s' needs a value", cmd,
                             argv[optind - 1]);
    default:
      return swath_error_set(SWATH_EINVAL,
                             "model %s: unknown option '%s' (try 'swath model --help')", cmd,
                             argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return swath_error_set(SWATH_EINVAL, "model %s: expected one model (a .onnx file or a URL)",
                           cmd);
  const char *m = argv[optind];
  if (!strncmp(m, "http://", 7) || !strncmp(m, "https://", 8))
    a->spec.url = m;
  else
    a->spec.path = m;
  if (a->spec.url && !a->spec.type)
    return swath_error_set(SWATH_EINVAL, "model %s: a model URL needs --type kserve or tfserving",
                           cmd);
  return 0;
}

static int cmd_info(struct args *a) {
  swath_model *m;
  int rc = swath_model_open(&a->spec, 1, &m);
  if (rc) return swath_cli_fail(rc);
  const swath_model_info *info = swath_model_get_info(m);
  if (a->json) {
    json_t *j = swath_model_info_json(info);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s) printf("%s\n", s);
    free(s);
    json_decref(j);
    if (!s) rc = swath_error_set(SWATH_ENOMEM, "model info: out of memory");
  } else {
    swath_model_info_print(info, stdout);
  }
  swath_model_close(m);
  return swath_cli_status(rc);
}

/* "N,C,H,W": four whole numbers of at least 1. */
static int parse_shape(const char *s, int64_t shape[4]) {
  char *end;
  const char *p = s;
  for (int i = 0; i < 4; i++) {
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || v > (1LL << 31) || (i < 3 ? *end != ',' : *end != '\0'))
      return swath_error_set(
          SWATH_EINVAL, "--shape: expected N,C,H,W (four whole numbers of at least 1), got '%s'",
          s);
    shape[i] = v;
    p = end + 1;
  }
  return 0;
}

static int cmd_predict(struct args *a) {
  if (!a->chips || !a->shape || !a->out)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "model predict: --chips, --shape and -o "
                                                        "are required"));
  int64_t shape[4];
  int rc = parse_shape(a->shape, shape);
  if (rc) return swath_cli_fail(rc);
  swath_tensor in;
  rc = swath_tensor_read_f32(a->chips, 4, shape, &in);
  if (rc) return swath_cli_fail(rc);
  swath_model *m;
  rc = swath_model_open(&a->spec, 1, &m);
  if (rc) {
    swath_tensor_free(&in);
    return swath_cli_fail(rc);
  }
  const swath_model_info *info = swath_model_get_info(m);
  swath_tensor out[SWATH_MODEL_MAX_OUTPUTS];
  rc = swath_model_run(m, &in, out); /* on failure, no output is left allocated */
  if (!rc) {
    rc = swath_tensors_write_f32(a->out, info->noutputs, out);
    for (int i = 0; !rc && i < info->noutputs; i++) {
      printf("output %d %s:", i, info->outputs[i].name);
      for (int d = 0; d < out[i].ndim; d++)
        printf("%s%lld", d ? " x " : " ", (long long)out[i].shape[d]);
      printf("\n");
    }
    for (int i = 0; i < info->noutputs; i++)
      swath_tensor_free(&out[i]);
  }
  swath_tensor_free(&in);
  swath_model_close(m);
  return swath_cli_status(rc);
}

int swath_cmd_model(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "info") && strcmp(sub, "predict"))
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL, "model: unknown subcommand '%s' (info or predict)", sub));
  struct args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(sub, argc - 1, argv + 1, &a);
  if (rc > 0) return 0;
  if (rc) return swath_cli_fail(rc);
  if (!strcmp(sub, "info")) {
    if (a.chips || a.shape || a.out)
      return swath_cli_fail(
          swath_error_set(SWATH_EINVAL, "model info: --chips, --shape and -o are for predict"));
    return cmd_info(&a);
  }
  if (a.json)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "model predict: --json is for info"));
  return cmd_predict(&a);
}
