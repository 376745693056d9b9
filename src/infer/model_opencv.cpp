/* model_opencv.cpp: the "onnx" runtime, ONNX models in-process through
 * OpenCV DNN (Debian's 4.6). The project's only C++ file for models; the
 * rest of swath sees swath_model_onnx (model.h) and nothing of C++: every
 * cv::Exception and std::exception is caught here and becomes a code and
 * one line.
 *
 * What the model declares (input and output names and shapes, -1 for an
 * open dimension, the opset) is read from the ONNX graph itself with
 * Debian's libonnx (onnx::ModelProto), not from OpenCV, which does not
 * expose declared shapes. Outputs are fetched by their graph names, in the
 * graph's output order: OpenCV 4.6's importer keeps each graph output as a
 * layer of that name, while getUnconnectedOutLayersNames() lists layers in
 * its own order (not the graph's), so swath does not use it.
 *
 * Open loads the file twice (libonnx for the declaration, OpenCV for the
 * network) and then runs one forward pass over a zero batch of the
 * declared input shape (an open batch: 1; open C/H/W: the spec's, where
 * given), so an operator OpenCV cannot run or a shape it cannot propagate
 * fails at open, before any tile.
 *
 * Threads: cv::setNumThreads is process-wide in OpenCV; each open sets it
 * to spec->threads (0: 1). swath keeps one state per worker thread
 * (model.c: this runtime is not concurrent) with OpenCV at 1 thread, so
 * the run's thread budget is its --workers. OpenCV's own log is silenced
 * once (process-wide too): its errors reach the user as swath's one line.
 *
 * Invariants: a state's Net is used by one thread at a time (model.c's
 * pool); run() leaves no output allocated when it fails. */
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <onnx/onnx_pb.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "core/error.h"
}
#include "infer/model.h"

namespace {

struct Onnx {
  std::string path;
  cv::dnn::Net net;
  std::vector<std::string> outputs; /* graph output names, graph order */
  swath_model_info info;
};

int fail(int code, const std::string &path, const std::string &reason) {
  return swath_error_set(code, "model '%s': %s", path.c_str(), reason.c_str());
}

/* The innermost message of an OpenCV error: "... error: (-5:Bad argument)
 * MSG in function 'f'", nested when one layer's error is wrapped by the
 * importer's. */
std::string innermost(const std::string &what) {
  size_t at = what.rfind("error: (");
  std::string m = what;
  if (at != std::string::npos) {
    size_t close = what.find(") ", at);
    if (close != std::string::npos) m = what.substr(close + 2);
  }
  size_t fn = m.find(" in function '");
  if (fn != std::string::npos) m.erase(fn);
  size_t nl = m.find('\n');
  if (nl != std::string::npos) m.erase(nl);
  if (what.find("(-215:Assertion failed)", at == std::string::npos ? 0 : at) != std::string::npos)
    m = "OpenCV's check '" + m + "' failed";
  return m;
}

/* The text between `open` and the next `close` after it, or "". */
std::string between(const std::string &s, const char *open, const char *close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += std::strlen(open);
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

/* Why OpenCV refused a model, naming the operator where its message does. */
std::string opencv_reason(const cv::Exception &e) {
  std::string what = e.what();
  std::string type = between(what, "of type \"", "\"");
  if (what.find("Can't create layer") != std::string::npos && !type.empty())
    return "operator '" + type + "' is not supported by OpenCV DNN " CV_VERSION;
  if (what.find("Failed to parse ONNX model") != std::string::npos)
    return "OpenCV cannot parse it as an ONNX model";
  std::string node = between(what, "Node [", "]");
  std::string op = node.substr(0, node.find('@'));
  if (!op.empty()) return "operator '" + op + "': " + innermost(what);
  return innermost(what);
}

void copy_name(char *dst, size_t cap, const std::string &s) {
  std::snprintf(dst, cap, "%s", s.c_str());
}

/* A declared tensor: its name and shape (-1 for dim_param or no value). */
void declared(const onnx::ValueInfoProto &v, swath_tensor_info *out) {
  copy_name(out->name, sizeof out->name, v.name());
  out->ndim = 0;
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
  const onnx::TensorShapeProto &sh = v.type().tensor_type().shape();
  if (sh.dim_size() > SWATH_TENSOR_MAX_DIMS) return;
  out->ndim = sh.dim_size();
  for (int i = 0; i < sh.dim_size(); i++)
    out->shape[i] =
        sh.dim(i).has_dim_value() && sh.dim(i).dim_value() > 0 ? sh.dim(i).dim_value() : -1;
}

/* The graph's declaration, through libonnx. */
int read_declaration(Onnx *st) {
  std::ifstream f(st->path, std::ios::binary);
  if (!f) return fail(SWATH_EINVAL, st->path, std::string("cannot read: ") + std::strerror(errno));
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&f) || !model.has_graph() || model.ir_version() <= 0)
    return fail(SWATH_EINVAL, st->path,
                "not an ONNX model (it does not parse as an ONNX ModelProto)");
  const onnx::GraphProto &g = model.graph();
  std::vector<const onnx::ValueInfoProto *> inputs;
  for (const onnx::ValueInfoProto &v : g.input()) {
    bool init = false; /* before IR 4, initializers are listed as inputs too */
    for (const onnx::TensorProto &t : g.initializer())
      init = init || t.name() == v.name();
    if (!init) inputs.push_back(&v);
  }
  if (inputs.size() != 1)
    return fail(SWATH_EINVAL, st->path,
                std::to_string(inputs.size()) + " inputs; swath feeds one (the chips)");
  int et = inputs[0]->type().tensor_type().elem_type();
  if (et != onnx::TensorProto::FLOAT)
    return fail(SWATH_EINVAL, st->path,
                "input '" + inputs[0]->name() + "' is of ONNX element type " + std::to_string(et) +
                    "; swath feeds float32 (1)");
  /* OpenCV 4.6's importer asserts on either (tensor.has_shape()). */
  const onnx::ValueInfoProto *noshape = nullptr;
  for (const onnx::ValueInfoProto &v : g.output())
    if (!noshape && !v.type().tensor_type().has_shape()) noshape = &v;
  if (!inputs[0]->type().tensor_type().has_shape()) noshape = inputs[0];
  if (noshape)
    return fail(SWATH_EINVAL, st->path,
                "'" + noshape->name() +
                    "' declares no shape; OpenCV DNN needs one on every graph input and output "
                    "(torch.onnx.export writes them)");
  if (g.output_size() < 1 || g.output_size() > SWATH_MODEL_MAX_OUTPUTS)
    return fail(SWATH_EINVAL, st->path,
                std::to_string(g.output_size()) + " outputs (swath reads 1 to " +
                    std::to_string(SWATH_MODEL_MAX_OUTPUTS) + ")");
  swath_model_info *in = &st->info;
  std::snprintf(in->runtime, sizeof in->runtime, "onnx");
  size_t slash = st->path.find_last_of('/');
  copy_name(in->name, sizeof in->name,
            slash == std::string::npos ? st->path : st->path.substr(slash + 1));
  declared(*inputs[0], &in->input);
  in->noutputs = g.output_size();
  for (int i = 0; i < g.output_size(); i++) {
    declared(g.output(i), &in->outputs[i]);
    st->outputs.push_back(g.output(i).name());
  }
  /* A fixed batch is the most the graph is known to take. */
  in->max_batch = in->input.ndim >= 1 && in->input.shape[0] > 0 ? (int)in->input.shape[0] : 0;
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") in->opset = (int)o.version();
  return 0;
}

/* One output Mat as a tensor, the declared rank kept where OpenCV pads it
 * (a Mat has at least 2 dimensions: an N output comes back N x 1). */
int to_tensor(const Onnx *st, int i, const cv::Mat &mat, swath_tensor *t) {
  cv::Mat m = mat;
  if (m.depth() != CV_32F) m.convertTo(m, CV_32F);
  if (!m.isContinuous()) m = m.clone();
  int ndim = m.dims;
  int want = st->info.outputs[i].ndim;
  if (want > 0 && want < ndim) {
    bool ones = true;
    for (int d = want; d < ndim; d++)
      ones = ones && m.size[d] == 1;
    if (ones) ndim = want;
  }
  if (ndim > SWATH_TENSOR_MAX_DIMS)
    return fail(SWATH_EINVAL, st->path, "output '" + st->outputs[i] + "' has too many dimensions");
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
  for (int d = 0; d < ndim; d++)
    shape[d] = m.size[d];
  int rc = swath_tensor_alloc(t, ndim, shape);
  if (rc) return rc;
  std::memcpy(t->data, m.ptr<float>(), swath_tensor_count(t) * sizeof(float));
  return 0;
}

/* Forward one batch; `out` gets every output or nothing. */
int forward(Onnx *st, const swath_tensor *in, swath_tensor *out, int fail_code,
            const std::string &ctx) {
  int n = st->info.noutputs;
  for (int i = 0; i < n; i++)
    out[i] = swath_tensor{};
  int rc = 0;
  try {
    int sizes[4] = {(int)in->shape[0], (int)in->shape[1], (int)in->shape[2], (int)in->shape[3]};
    cv::Mat blob(4, sizes, CV_32F, in->data); /* wraps: the input is only read */
    st->net.setInput(blob);
    std::vector<cv::Mat> mats;
    st->net.forward(mats, st->outputs);
    if ((int)mats.size() != n)
      return fail(SWATH_EINTERNAL, st->path, "OpenCV returned too few outputs");
    for (int i = 0; !rc && i < n; i++) {
      if (mats[i].dims < 1 || mats[i].size[0] != sizes[0])
        rc = fail(SWATH_EINVAL, st->path,
                  "output '" + st->outputs[i] + "' does not have the batch as its first dimension");
      else
        rc = to_tensor(st, i, mats[i], &out[i]);
    }
  } catch (const cv::Exception &e) {
    rc = fail(fail_code, st->path, ctx + opencv_reason(e));
  } catch (const std::bad_alloc &) {
    rc = fail(SWATH_ENOMEM, st->path, "out of memory");
  } catch (const std::exception &e) {
    rc = fail(fail_code, st->path, ctx + e.what());
  }
  if (rc)
    for (int i = 0; i < n; i++)
      swath_tensor_free(&out[i]);
  return rc;
}

/* One forward pass over zeros, so a model OpenCV cannot run fails at open. */
int validate(Onnx *st, const swath_model_spec *spec) {
  const swath_tensor_info *d = &st->info.input;
  const int given[3] = {spec->input_channels, spec->input_height, spec->input_width};
  int64_t shape[4] = {d->shape[0] > 0 ? d->shape[0] : 1, 0, 0, 0};
  for (int i = 1; i < 4; i++) {
    shape[i] = d->shape[i] > 0 ? d->shape[i] : given[i - 1];
    if (shape[i] <= 0) return 0; /* open and not given: checked at the first run */
  }
  swath_tensor in;
  int rc = swath_tensor_alloc(&in, 4, shape);
  if (rc) return rc;
  std::memset(in.data, 0, swath_tensor_count(&in) * sizeof(float));
  swath_tensor out[SWATH_MODEL_MAX_OUTPUTS];
  std::string ctx = "a first run on a zero batch of " + std::to_string(shape[0]);
  for (int i = 1; i < 4; i++)
    ctx += " x " + std::to_string(shape[i]);
  rc = forward(st, &in, out, SWATH_EINVAL, ctx + " failed: ");
  swath_tensor_free(&in);
  for (int i = 0; !rc && i < st->info.noutputs; i++)
    swath_tensor_free(&out[i]);
  return rc;
}

std::once_flag g_quiet;

int onnx_load(Onnx *st, const swath_model_spec *spec) {
  int rc = read_declaration(st);
  if (rc) return rc;
  try {
    std::call_once(g_quiet,
                   [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
    cv::setNumThreads(spec->threads > 0 ? spec->threads : 1);
    st->net = cv::dnn::readNetFromONNX(st->path);
    st->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    st->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    for (const std::string &o : st->outputs)
      if (st->net.getLayerId(o) < 0)
        return fail(SWATH_EINVAL, st->path,
                    "OpenCV's network has no output '" + o + "' (an output the graph declares)");
  } catch (const cv::Exception &e) {
    return fail(SWATH_EINVAL, st->path, opencv_reason(e));
  }
  return validate(st, spec);
}

int onnx_open(const swath_model_spec *spec, void **state) {
  *state = nullptr;
  if (!spec->path || !*spec->path)
    return swath_error_set(SWATH_EINVAL, "model: the onnx runtime needs a .onnx file path");
  Onnx *st = nullptr;
  int rc = 0;
  try {
    st = new Onnx();
    st->path = spec->path;
    rc = onnx_load(st, spec);
  } catch (const std::bad_alloc &) {
    rc = swath_error_set(SWATH_ENOMEM, "model '%s': out of memory", spec->path);
  } catch (const std::exception &e) {
    rc = fail(SWATH_EINVAL, spec->path, e.what());
  }
  if (rc) {
    delete st;
    return rc;
  }
  *state = st;
  return 0;
}

void onnx_info(void *state, swath_model_info *out) { *out = static_cast<Onnx *>(state)->info; }

int onnx_run(void *state, const swath_tensor *in, swath_tensor *out) {
  /* After open's check, a failure here is OpenCV's at run time. */
  return forward(static_cast<Onnx *>(state), in, out, SWATH_EIO, "");
}

void onnx_close(void *state) { delete static_cast<Onnx *>(state); }

} // namespace

extern "C" const swath_model_vtable swath_model_onnx = {
    "onnx", SWATH_MODEL_ABI, 0, onnx_open, onnx_info, onnx_run, onnx_close,
};
