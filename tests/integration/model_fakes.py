"""model_fakes.py: a 1x1-convolution model three ways, for
test_model_remote.sh: as an ONNX file (python3-onnx's helper API), as a
fake KServe v2 server and as a fake TensorFlow Serving server, both written
from the protocols' REST documents and computing the same convolution with
numpy.

    model_fakes.py onnx OUT.onnx
    model_fakes.py kserve|tfserving    (prints "... on http://127.0.0.1:PORT/")

The model: x (N x 3 x 8 x 8) -> y = W x + B per pixel (N x 2 x 8 x 8) and
p = sigmoid(y). The fake KServe server serves it under several names that
misbehave on purpose: "conv" (right), "flaky" (503 on every other infer),
"wrongshape" (y comes back N x 2 x 4 x 4), "bad400" (400 with an error
text). GET /stats returns what it saw. The fake TF Serving server declares
its signature NHWC (TF's default): images N x 8 x 8 x 3 -> y, p N x 8 x 8 x 2.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

C, K, H, W = 3, 2, 8, 8
WT = ((np.arange(K * C, dtype=np.float32).reshape(K, C) - 2.5) / 4).astype(np.float32)
BIAS = np.array([0.25, -1.5], dtype=np.float32)


def conv_nchw(x):
    y = np.einsum("kc,nchw->nkhw", WT, x).astype(np.float32) + BIAS[None, :, None, None]
    return y.astype(np.float32), (1 / (1 + np.exp(-y))).astype(np.float32)


def make_onnx(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[1, 1]),
         helper.make_node("Sigmoid", ["y"], ["p"])], "conv1x1",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, H, W])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", K, H, W]),
         helper.make_tensor_value_info("p", TensorProto.FLOAT, ["N", K, H, W])],
        [numpy_helper.from_array(WT.reshape(K, C, 1, 1), "w"),
         numpy_helper.from_array(BIAS, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


STATS = {"infer": {}, "headers": []}
LOCK = threading.Lock()


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, obj=None, body=None, headers=()):
        if body is None:
            body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


META = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, C, H, W]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, K, H, W]},
                    {"name": "p", "datatype": "FP32", "shape": [-1, K, H, W]}],
        "platform": "fake", "versions": ["1"]}
NAMES = ("conv", "flaky", "wrongshape", "bad400")


class KServe(Base):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts == ["v2", "health", "ready"]:
            return self.answer(200, {"ready": True})
        if parts == ["stats"]:
            with LOCK:
                return self.answer(200, STATS)
        if len(parts) == 3 and parts[:2] == ["v2", "models"]:
            if parts[2] in NAMES:
                return self.answer(200, dict(META, name=parts[2]))
            return self.answer(404, {"error": "Model %s not found" % parts[2]})
        self.answer(404, {"error": "no route"})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        raw = self.body()
        if len(parts) != 4 or parts[3] != "infer" or parts[2] not in NAMES:
            return self.answer(404, {"error": "no route"})
        name = parts[2]
        with LOCK:
            n = STATS["infer"][name] = STATS["infer"].get(name, 0) + 1
            STATS["headers"].append([self.headers.get("Content-Type"),
                                     self.headers.get("Inference-Header-Content-Length")])
        if name == "flaky" and n % 2 == 1:
            return self.answer(503, {"error": "warming up"}, headers=[("Retry-After", "0")])
        if name == "bad400":
            return self.answer(400, {"error": "input x: the fake refuses this batch"})
        # The request, JSON or with the binary extension (the spec's layout).
        hl = self.headers.get("Inference-Header-Content-Length")
        head = json.loads(raw[:int(hl)] if hl else raw)
        inp = head["inputs"][0]
        assert inp["name"] == "x" and inp["datatype"] == "FP32", inp
        shape = inp["shape"]
        if "parameters" in inp and "binary_data_size" in inp["parameters"]:
            size = inp["parameters"]["binary_data_size"]
            assert size == 4 * int(np.prod(shape)) and len(raw) == int(hl) + size
            x = np.frombuffer(raw[int(hl):], dtype="<f4").reshape(shape)
        else:
            x = np.array(inp["data"], dtype=np.float32).reshape(shape)
        y, p = conv_nchw(x)
        if name == "wrongshape":
            y = y[:, :, :4, :4]
        outs = [{"name": nm, "datatype": "FP32", "shape": list(t.shape),
                 "data": t.ravel().tolist()} for nm, t in (("y", y), ("p", p))]
        self.answer(200, {"model_name": name, "outputs": outs})


SIG = {"inputs": {"images": {"dtype": "DT_FLOAT", "name": "serving_default_images:0",
                             "tensor_shape": {"dim": [{"size": "-1", "name": ""},
                                                      {"size": str(H), "name": ""},
                                                      {"size": str(W), "name": ""},
                                                      {"size": str(C), "name": ""}],
                                              "unknown_rank": False}}},
       "outputs": {nm: {"dtype": "DT_FLOAT", "name": "StatefulPartitionedCall:%d" % i,
                        "tensor_shape": {"dim": [{"size": "-1", "name": ""},
                                                 {"size": str(H), "name": ""},
                                                 {"size": str(W), "name": ""},
                                                 {"size": str(K), "name": ""}],
                                         "unknown_rank": False}}
                   for i, nm in enumerate(("y", "p"))},
       "method_name": "tensorflow/serving/predict"}


class TFServing(Base):
    def do_GET(self):
        if self.path == "/v1/models/conv":
            return self.answer(200, {"model_version_status": [
                {"version": "1", "state": "AVAILABLE",
                 "status": {"error_code": "OK", "error_message": ""}}]})
        if self.path == "/v1/models/conv/metadata":
            return self.answer(200, {
                "model_spec": {"name": "conv", "signature_name": "", "version": "1"},
                "metadata": {"signature_def": {"signature_def": {"serving_default": SIG}}}})
        self.answer(404, {"error": "Servable not found for request: Latest(%s)" % self.path})

    def do_POST(self):
        raw = self.body()
        if self.path != "/v1/models/conv:predict":
            return self.answer(404, {"error": "Servable not found"})
        req = json.loads(raw)
        if req.get("signature_name") != "serving_default" or "images" not in req.get("inputs", {}):
            return self.answer(400, {"error": "want columnar inputs {images: ...}"})
        x = np.array(req["inputs"]["images"], dtype=np.float32)  # NHWC
        if x.ndim != 4 or x.shape[1:] != (H, W, C):
            return self.answer(400, {"error": "images: shape %s, want [-1,8,8,3]" % (x.shape,)})
        y, p = conv_nchw(x.transpose(0, 3, 1, 2))
        nhwc = lambda t: t.transpose(0, 2, 3, 1).tolist()
        self.answer(200, {"outputs": {"y": nhwc(y), "p": nhwc(p)}})


if __name__ == "__main__":
    if sys.argv[1] == "onnx":
        make_onnx(sys.argv[2])
        sys.exit(0)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), KServe if sys.argv[1] == "kserve" else TFServing)
    print("fake %s on http://127.0.0.1:%d/" % (sys.argv[1], srv.server_port), flush=True)
    srv.serve_forever()
