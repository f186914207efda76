#!/usr/bin/env python3
"""Writes the benchmark models of the EZKL side by side, each twice with the same weights.

    python make_models.py OUT_DIR [--models mlp,dense16x32] [--seed 13]

For each model NAME it writes into OUT_DIR:

    NAME.keras              the Keras 3 model (what kerafold proves)
    NAME.onnx               the same network as ONNX, NCHW (what EZKL proves)
    NAME.input.json         the fixed input for kerafold: {"input": [...]} in Keras' shape
    NAME.ezkl-input.json    the same input for EZKL: {"input_data": [[...]]}, flat in ONNX order

and OUT_DIR/models.json with the float logits, class and top-2 margin of every model.

The weights come from numpy (He-normal scaled by 0.5, small uniform biases) with a seed per model,
so a model's weights do not depend on which other models are written. Each layer is then scaled
by one positive factor so that its pre-activations on the fixed input have an RMS of 1: the
activations stay O(1) at any depth instead of vanishing (He x 0.5 alone halves them per layer).

Three implementations of the forward pass must agree before anything is written: numpy (here),
Keras (the .keras model) and onnxruntime (the .onnx model). The script exits non-zero otherwise.
"""

import argparse
import json
import os
import sys
import zlib

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

# name -> (input shape in Keras' NHWC / flat layout, layer plan)
# plan items: ("dense", units, relu) | ("conv", filters, relu) | ("pool",) | ("flatten",)
MODELS = {
    "mlp": ((784,), [("dense", 32, True), ("dense", 10, False)]),
    "cnn": (
        (28, 28, 1),
        [
            ("conv", 4, True),
            ("pool",),
            ("conv", 8, True),
            ("pool",),
            ("flatten",),
            ("dense", 10, False),
        ],
    ),
    "dense16x32": ((16,), [("dense", 16, True)] * 32),
    "dense16x128": ((16,), [("dense", 16, True)] * 128),
    "dense16x512": ((16,), [("dense", 16, True)] * 512),
}

ONNX_OPSET = 17
ONNX_IR_VERSION = 8  # old enough for every ONNX reader involved (tract in EZKL, onnxruntime)


# ---------------------------------------------------------------- numpy reference ---------------


def conv_valid_3x3(x, k, b):
    """x: (H, W, Cin), k: (3, 3, Cin, Cout) as Keras stores it, b: (Cout,). 'valid' padding."""
    h, w, _ = x.shape
    out = np.zeros((h - 2, w - 2, k.shape[3]), dtype=np.float64)
    for di in range(3):
        for dj in range(3):
            out += x[di : di + h - 2, dj : dj + w - 2, :] @ k[di, dj]
    return out + b


def maxpool2(x):
    h, w, c = x.shape
    ho, wo = h // 2, w // 2
    return x[: 2 * ho, : 2 * wo, :].reshape(ho, 2, wo, 2, c).max(axis=(1, 3))


def draw_layers(name, seed):
    """The weights of model `name`, scaled layer by layer on its fixed input.

    Returns (x, layers) where x is the input (float32, Keras shape) and layers is a list of dicts:
    {"kind": "dense"|"conv", "w", "b", "relu"} or {"kind": "pool"|"flatten", "shape_in": (H, W, C)}.
    """
    shape, plan = MODELS[name]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x = rng.random(shape, dtype=np.float64).astype(np.float32)
    h = x.astype(np.float64)
    layers = []
    for item in plan:
        kind = item[0]
        if kind == "pool":
            layers.append({"kind": "pool", "shape_in": h.shape})
            h = maxpool2(h)
            continue
        if kind == "flatten":
            layers.append({"kind": "flatten", "shape_in": h.shape})
            h = h.reshape(-1)
            continue
        units, relu = item[1], item[2]
        if kind == "dense":
            fan_in = h.shape[0]
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, units)) * 0.5
        else:
            fan_in = 9 * h.shape[2]
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (3, 3, h.shape[2], units)) * 0.5
        b = rng.uniform(-0.05, 0.05, units)
        z = h @ w + b if kind == "dense" else conv_valid_3x3(h, w, b)
        s = 1.0 / np.sqrt(np.mean(z * z))
        w, b = (w * s).astype(np.float32), (b * s).astype(np.float32)
        # recompute from the float32 weights so the reference is what the files hold
        z = h @ w.astype(np.float64) + b if kind == "dense" else conv_valid_3x3(h, w.astype(np.float64), b)
        h = np.maximum(z, 0.0) if relu else z
        layers.append({"kind": kind, "w": w, "b": b, "relu": relu})
    return x, layers, h


# ---------------------------------------------------------------- Keras ------------------------


def keras_model(name, x, layers):
    import keras

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=x.shape))
    for i, layer in enumerate(layers):
        kind = layer["kind"]
        act = "relu" if layer.get("relu") else None
        if kind == "dense":
            model.add(keras.layers.Dense(layer["w"].shape[1], activation=act, name=f"dense_{i}"))
        elif kind == "conv":
            model.add(
                keras.layers.Conv2D(layer["w"].shape[3], 3, padding="valid", activation=act, name=f"conv_{i}")
            )
        elif kind == "pool":
            model.add(keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
        else:
            model.add(keras.layers.Flatten(name=f"flatten_{i}"))
    for klayer, layer in zip(model.layers, layers):
        if "w" in layer:
            klayer.set_weights([layer["w"], layer["b"]])
    return model


# ---------------------------------------------------------------- ONNX -------------------------


def onnx_model(name, x, layers):
    """The same network in ONNX's NCHW layout.

    Keras keeps images as NHWC and its Flatten reads (h, w, c); ONNX's Conv wants NCHW and its
    Flatten reads (c, h, w). So conv kernels go (kh, kw, cin, cout) -> (cout, cin, kh, kw), and the
    rows of the Dense after a Flatten are permuted from (h, w, c) to (c, h, w) order.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = "input"
    if x.ndim == 3:
        in_shape = [1, x.shape[2], x.shape[0], x.shape[1]]
    else:
        in_shape = [1, x.shape[0]]
    flatten_from = None  # (H, W, C) of the last Flatten, if the next Dense follows it
    out_dim = None
    for i, layer in enumerate(layers):
        kind = layer["kind"]
        nxt = f"t{i}"
        if kind == "dense":
            w = layer["w"]
            if flatten_from is not None:
                hh, ww, cc = flatten_from
                w = w.reshape(hh, ww, cc, -1).transpose(2, 0, 1, 3).reshape(hh * ww * cc, -1)
                flatten_from = None
            inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(layer["b"], f"B{i}")]
            nodes.append(helper.make_node("Gemm", [cur, f"W{i}", f"B{i}"], [nxt], name=f"dense_{i}"))
            out_dim = [1, w.shape[1]]
        elif kind == "conv":
            k = np.ascontiguousarray(layer["w"].transpose(3, 2, 0, 1))
            inits += [numpy_helper.from_array(k, f"W{i}"), numpy_helper.from_array(layer["b"], f"B{i}")]
            nodes.append(
                helper.make_node(
                    "Conv", [cur, f"W{i}", f"B{i}"], [nxt], kernel_shape=[3, 3], strides=[1, 1],
                    pads=[0, 0, 0, 0], name=f"conv_{i}",
                )
            )
        elif kind == "pool":
            nodes.append(helper.make_node("MaxPool", [cur], [nxt], kernel_shape=[2, 2], strides=[2, 2], name=f"pool_{i}"))
        else:
            flatten_from = layer["shape_in"]
            nodes.append(helper.make_node("Flatten", [cur], [nxt], axis=1, name=f"flatten_{i}"))
        cur = nxt
        if layer.get("relu"):
            nodes.append(helper.make_node("Relu", [cur], [nxt + "r"], name=f"relu_{i}"))
            cur = nxt + "r"
    nodes.append(helper.make_node("Identity", [cur], ["output"], name="output"))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dim)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="kerafold-bench")
    model.ir_version = ONNX_IR_VERSION
    import onnx

    onnx.checker.check_model(model)
    return model


def onnx_input(x):
    """The input in ONNX order, flat: NHWC -> NCHW for images."""
    if x.ndim == 3:
        return x.transpose(2, 0, 1).reshape(-1)
    return x.reshape(-1)


# ---------------------------------------------------------------- main -------------------------


def write_model(name, out_dir, seed):
    import keras
    import onnx
    import onnxruntime as ort

    x, layers, ref = draw_layers(name, seed)
    ref = ref.reshape(-1)

    km = keras_model(name, x, layers)
    k_out = np.asarray(km(x[None, ...])).reshape(-1)
    keras_path = os.path.join(out_dir, f"{name}.keras")
    km.save(keras_path)
    k_loaded = np.asarray(keras.saving.load_model(keras_path)(x[None, ...])).reshape(-1)

    om = onnx_model(name, x, layers)
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    onnx.save(om, onnx_path)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x_onnx = onnx_input(x)
    in_shape = [1, x.shape[2], x.shape[0], x.shape[1]] if x.ndim == 3 else [1, x.shape[0]]
    o_out = np.asarray(sess.run(["output"], {"input": x_onnx.reshape(in_shape)})[0]).reshape(-1)

    scale = max(1.0, float(np.max(np.abs(ref))))
    for what, got in (("Keras", k_out), ("Keras (reloaded .keras)", k_loaded), ("onnxruntime", o_out)):
        err = float(np.max(np.abs(got - ref))) / scale
        if not err < 1e-4:
            sys.exit(f"{name}: {what} disagrees with the numpy reference (max rel. error {err:.2e})")
    top = np.argsort(-ref)
    assert int(np.argmax(k_out)) == int(top[0]) == int(np.argmax(o_out)), name

    with open(os.path.join(out_dir, f"{name}.input.json"), "w") as f:
        json.dump({"input": x.astype(float).tolist()}, f)
    with open(os.path.join(out_dir, f"{name}.ezkl-input.json"), "w") as f:
        json.dump({"input_data": [x_onnx.astype(float).tolist()]}, f)

    n_params = sum(l["w"].size + l["b"].size for l in layers if "w" in l)
    return {
        "keras": f"{name}.keras",
        "onnx": f"{name}.onnx",
        "kerafold_input": f"{name}.input.json",
        "ezkl_input": f"{name}.ezkl-input.json",
        "layers": len(km.layers),
        "params": int(n_params),
        "float_logits": [float(v) for v in ref],
        "float_class": int(top[0]),
        "float_margin": float(ref[top[0]] - ref[top[1]]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    os.makedirs(args.out_dir, exist_ok=True)
    meta_path = os.path.join(args.out_dir, "models.json")
    meta = {"seed": args.seed, "models": {}}
    for name in names:
        info = write_model(name, args.out_dir, args.seed)
        meta["models"][name] = info
        print(
            f"{name:12s} {info['layers']:4d} layers {info['params']:7d} params  float class {info['float_class']}"
            f"  top-2 margin {info['float_margin']:.3f}  (numpy = Keras = onnxruntime)",
            file=sys.stderr,
        )
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
