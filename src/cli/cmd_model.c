/* cmd_model.c: `swath model info` (what a model declares and what swath
 * will feed it), `swath model predict` (one batch from a raw float32
 * file, every output to a raw float32 file: a debugging tool, and what the
 * oracle tests compare with PyTorch), `swath model serve` (the KServe v2
 * API over the model) and `swath model bench` (the model's ceiling: chips/s
 * over chips held in memory). Thin: the work is infer/model.c,
 * infer/model_io.c, infer/model_bench.c and server/kserve.c. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "infer/model.h"
#include "infer/model_bench.h"
#include "infer/model_io.h"
#include "server/kserve.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath model info FILE.onnx|URL [--type TYPE] [--name NAME] [--json]\n"
             "       swath model predict FILE.onnx|URL [--type TYPE] [--name NAME]\n"
             "                           --chips IN.f32 --shape N,C,H,W -o OUT_PREFIX\n"
             "       swath model serve FILE.onnx [--port 8500] [--host 127.0.0.1] [--name NAME]\n"
             "                         [--threads 2] [--max-batch N] [--max-body MB]\n"
             "       swath model bench FILE.onnx --chips IN.f32|--random N [--batch B]\n"
             "                         [--workers W] [--seconds S] [--batches K]\n"
             "\n"
             "info     the model's runtime, input and outputs (names and shapes; ? or -1:\n"
             "         left open by the model), its opset, and the chips swath feeds it\n"
             "predict  run one batch: IN.f32 holds N x C x H x W little-endian float32\n"
             "         values (no header); each output i is written to OUT_PREFIX.i.f32\n"
             "         (same format) and its shape printed as 'output i NAME: N x ...'\n"
             "serve    answer the KServe v2 inference protocol (REST: /v2/health/ready,\n"
             "         /v2/models/NAME, POST /v2/models/NAME/infer, JSON or binary tensors)\n"
             "         over the model run here, until interrupted\n"
             "bench    the model's ceiling: W threads (default 1), one model instance each,\n"
             "         run batches of B chips (default 8) taken from the chips in memory\n"
             "         (IN.f32: N x C x H x W float32 as for predict, N from its size;\n"
             "         or N chips of random values) for S seconds (default 10) or K\n"
             "         batches in all; prints chips, batches, wall s, chips/s, model busy\n"
             "\n"
             "  --type      onnx (the default for a file), kserve or tfserving (a URL)\n"
             "  --name      the model's name on a server (serve: default the file name)\n"
             "  --protocol  kserve: binary (the binary tensor extension, default) or json\n"
             "  --layout    tfserving: nchw or nhwc (default: guessed from the signature)\n"
             "  --json      info as one JSON object\n"
             "  --port      serve: TCP port (0: any free port, printed at start)\n"
             "  --threads   serve: request threads, each with its own model instance\n"
             "  --max-batch serve: most chips per request (0: any; published in the metadata)\n"
             "  --max-body  serve: largest request body in MiB (default 256)\n");
}

struct args {
  swath_model_spec spec;
  const char *chips, *shape, *out;
  int json;
  /* bench; -1: not given */
  long long random, batches;
  int batch, workers;
  double seconds;
};

static int parse_args(const char *cmd, int argc, char **argv, struct args *a) {
  static const struct option opts[] = {
      {"type", required_argument, NULL, 't'},
      {"name", required_argument, NULL, 'n'},
      {"json", no_argument, NULL, 'j'},
      {"chips", required_argument, NULL, 'c'},
      {"shape", required_argument, NULL, 's'},
      {"output", required_argument, NULL, 'o'},
      {"protocol", required_argument, NULL, 'P'},
      {"layout", required_argument, NULL, 'L'},
      {"random", required_argument, NULL, 'r'},
      {"batch", required_argument, NULL, 'b'},
      {"workers", required_argument, NULL, 'w'},
      {"seconds", required_argument, NULL, 'S'},
      {"batches", required_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c, rc = 0;
  long v;
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
    case 'P':
      a->spec.protocol = optarg;
      break;
    case 'L':
      a->spec.layout = optarg;
      break;
    case 'r':
      if (!(rc = swath_cli_long(optarg, "--random", 1, 1 << 20, &v))) a->random = v;
      break;
    case 'k':
      if (!(rc = swath_cli_long(optarg, "--batches", 1, 1L << 40, &v))) a->batches = v;
      break;
    case 'b':
    case 'w':
      if (!(rc = swath_cli_long(optarg, c == 'b' ? "--batch" : "--workers", 1,
                                c == 'b' ? 1024 : 256, &v)))
        *(c == 'b' ? &a->batch : &a->workers) = (int)v;
      break;
    case 'S': {
      char *end;
      a->seconds = strtod(optarg, &end);
      if (end == optarg || *end || !(a->seconds > 0 && a->seconds <= 86400))
        rc = swath_error_set(SWATH_EINVAL, "--seconds: '%s' is not a number in (0, 86400]", optarg);
      break;
    }
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
    if (rc) return rc;
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

/* `swath model serve`: the KServe v2 API over the model until SIGINT or
 * SIGTERM (blocked before the server's threads start, so only this
 * thread, in sigwait, receives them). */
static int swath_cmd_model_serve(int argc, char **argv) {
  static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                       {"host", required_argument, NULL, 'H'},
                                       {"name", required_argument, NULL, 'n'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"max-batch", required_argument, NULL, 'b'},
                                       {"max-body", required_argument, NULL, 'B'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  swath_kserve_config cfg = {0};
  cfg.http.host = "127.0.0.1";
  cfg.http.port = 8500;
  cfg.http.threads = 2;
  cfg.http.max_body = (size_t)256 << 20;
  long v = 0;
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (swath_cli_http_option(c, optarg, &cfg.http, &rc)) {
      if (rc) return swath_cli_fail(rc);
      continue;
    }
    switch (c) {
    case 'n':
      cfg.name = optarg;
      break;
    case 'b':
      if (!(rc = swath_cli_long(optarg, "--max-batch", 0, 1 << 20, &v))) cfg.max_batch = (int)v;
      break;
    case 'B':
      if (!(rc = swath_cli_long(optarg, "--max-body", 1, 1 << 16, &v)))
        cfg.http.max_body = (size_t)v << 20;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      rc =
          swath_error_set(SWATH_EINVAL, "model serve: option '%s' needs a value", argv[optind - 1]);
      break;
    default:
      rc = swath_error_set(SWATH_EINVAL,
                           "model serve: unknown option '%s' (try 'swath model --help')",
                           argv[optind - 1]);
    }
    if (rc) return swath_cli_fail(rc);
  }
  if (optind != argc - 1)
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL, "model serve: expected one model (a .onnx file)"));
  cfg.model.path = argv[optind];
  sigset_t set;
  swath_cli_block_stop_signals(&set);
  swath_kserve_server *srv;
  if ((rc = swath_kserve_start(&cfg, &srv))) return swath_cli_fail(rc);
  fprintf(stderr, "swath: serving model '%s' (KServe v2) on http://%s:%d/ (%d threads)\n",
          swath_kserve_name(srv), cfg.http.host, swath_kserve_port(srv), cfg.http.threads);
  swath_cli_wait_stop(&set);
  swath_kserve_stop(srv);
  return 0;
}

static int cmd_bench(struct args *a) {
  if (!a->chips == (a->random < 0))
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL, "model bench: give --chips IN.f32 or --random N (one)"));
  swath_model_bench_opts o = {
      .batch = a->batch > 0 ? a->batch : 8,
      .workers = a->workers > 0 ? a->workers : 1,
      .seconds = a->seconds > 0   ? a->seconds
                 : a->batches > 0 ? 86400
                                  : 10,
      .batches = a->batches > 0 ? a->batches : 0,
  };
  swath_model *m;
  int rc = swath_model_open(&a->spec, o.workers, &m);
  if (rc) return swath_cli_fail(rc);
  const int64_t *d = swath_model_get_info(m)->input.shape;
  swath_tensor chips = {0};
  rc = swath_model_bench_chips(a->chips, a->random, (int)d[1], (int)d[2], (int)d[3], &chips);
  swath_model_bench_result res;
  if (!rc) rc = swath_model_bench(m, &chips, &o, &res);
  if (!rc) {
    printf("model bench %s: %lld chips (%s) x %lld x %lld x %lld, batch %d, %d worker(s)\n",
           swath_model_get_info(m)->name, (long long)chips.shape[0], a->chips ? a->chips : "random",
           (long long)d[1], (long long)d[2], (long long)d[3], o.batch, o.workers);
    printf("%lld chips in %lld batches in %.3f s: %.2f chips/s; model busy %.3f s = %.0f%% of "
           "%d x wall, %d instance(s)\n",
           (long long)res.chips, (long long)res.batches, res.wall_s,
           res.wall_s > 0 ? res.chips / res.wall_s : 0, res.busy_s,
           res.wall_s > 0 ? 100 * res.busy_s / res.wall_s / o.workers : 0, o.workers,
           res.instances);
  }
  swath_tensor_free(&chips);
  swath_model_close(m);
  return swath_cli_status(rc);
}

int swath_cmd_model(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "serve")) return swath_cmd_model_serve(argc - 1, argv + 1);
  if (strcmp(sub, "info") && strcmp(sub, "predict") && strcmp(sub, "bench"))
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "model: unknown subcommand '%s' (info, predict, serve or bench)", sub));
  struct args a;
  memset(&a, 0, sizeof a);
  a.random = a.batches = -1;
  int rc = parse_args(sub, argc - 1, argv + 1, &a);
  if (rc > 0) return 0;
  if (rc) return swath_cli_fail(rc);
  int bench_opts = a.random >= 0 || a.batches >= 0 || a.batch || a.workers || a.seconds > 0;
  if (!strcmp(sub, "bench")) {
    if (a.shape || a.out || a.json)
      return swath_cli_fail(
          swath_error_set(SWATH_EINVAL, "model bench: --shape, -o and --json are not bench's"));
    return cmd_bench(&a);
  }
  if (bench_opts)
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL,
                        "model %s: --random, --batch, --workers, --seconds and --batches are for "
                        "bench",
                        sub));
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
