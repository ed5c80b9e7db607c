#!/usr/bin/python3
"""tfjs_models.py - a small face-api TinyFaceDetector-shaped tfjs model for
tests/test_convert_inputs.sh: one the converter must accept, and damaged
copies it must refuse with one line, each broken in one place (the kinds of
damage scripts/fuzz-convert found making it print a traceback, or write a
model the engine refused).

    tests/tfjs_models.py OUT_DIR

writes OUT_DIR/NAME/tiny_face_detector_model-weights_manifest.json + .bin
for every case and prints `NAME<TAB>EXPECTED` lines: `ok` for the valid
model, else a text the converter's one-line refusal must contain. 4
channels throughout, random weights, some of them uint8-quantized.
"""
import json
import os
import sys

import numpy as np

RNG = np.random.default_rng(7)
MODEL = "tiny_face_detector_model"
C = 4


def tensors():
    """[(name, float32 array, quantized)] in the model's order."""
    t = [("conv0/filters", (3, 3, 3, C), True), ("conv0/bias", (C,), False)]
    for i in range(1, 6):
        t += [("conv%d/depthwise_filter" % i, (3, 3, C, 1), True),
              ("conv%d/pointwise_filter" % i, (1, 1, C, C), i % 2 == 0),
              ("conv%d/bias" % i, (C,), False)]
    t += [("conv8/filters", (1, 1, C, 6), False), ("conv8/bias", (6,), False)]
    return [(n, RNG.standard_normal(s).astype(np.float32) * 0.3, q) for n, s, q in t]


def encode(ts):
    """The manifest entries and the weights bytes."""
    specs, blob = [], b""
    for name, a, quant in ts:
        spec = {"name": name, "shape": list(a.shape), "dtype": "float32"}
        if quant:
            lo, hi = float(a.min()), float(a.max())
            scale = (hi - lo) / 255
            q = np.round((a - lo) / scale).astype(np.uint8)
            spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": lo}
            blob += q.tobytes()
        else:
            blob += a.astype("<f4").tobytes()
        specs.append(spec)
    return specs, blob


def write(out, name, manifest, blob, raw_manifest=None):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, MODEL + "-weights_manifest.json"), "w") as f:
        f.write(raw_manifest if raw_manifest is not None else json.dumps(manifest))
    with open(os.path.join(d, MODEL + ".bin"), "wb") as f:
        f.write(blob)


def spec_of(specs, name):
    return next(s for s in specs if s["name"] == name)


def main():
    out = sys.argv[1]
    specs, blob = encode(tensors())
    group = lambda s, paths=None: [{"paths": paths or [MODEL + ".bin"], "weights": s}]
    cases = {}

    def case(name, expected, change=None, data=None, raw=None):
        s = json.loads(json.dumps(specs))
        manifest = group(s)
        if change:
            manifest = change(s, manifest) or manifest
        write(out, name, manifest, blob if data is None else data, raw)
        cases[name] = expected

    case("valid", "ok")
    case("manifest_cut", "not a JSON weights manifest", raw=json.dumps(group(specs))[:500])
    case("weights_null", "not a tfjs weights manifest",
         lambda s, m: m[0].update(weights=None))
    case("shape_string", "has no name or no valid shape",
         lambda s, m: spec_of(s, "conv0/bias").update(shape=["4"]))
    case("dtype_bogus", "tensor 'conv0/bias' has dtype 'bogus'",
         lambda s, m: spec_of(s, "conv0/bias").update(dtype="bogus"))
    case("quant_null_scale", "tensor 'conv0/filters' needs a finite quantization scale",
         lambda s, m: spec_of(s, "conv0/filters")["quantization"].update(scale=None))
    case("quant_overflow", "layer 0: weights or biases that are not finite numbers",
         lambda s, m: spec_of(s, "conv0/filters")["quantization"].update(scale=1e300))
    case("bin_short", "the weights end inside tensor", data=blob[:len(blob) // 2])
    case("bin_long", "bytes in the weights, manifest describes", data=blob + b"\0" * 4)
    case("path_missing", "missing.bin: No such file or directory",
         lambda s, m: group(s, ["missing.bin"]))
    case("path_escape", "weights path '../x.bin' is not a file name",
         lambda s, m: group(s, ["../x.bin"]))
    case("tensor_missing", "tensor 'conv8/bias' is missing",
         lambda s, m: m[0].update(weights=s[:-1]), data=blob[:-6 * 4])
    case("tensor_twice", "tensor 'conv8/bias' appears twice",
         lambda s, m: m[0].update(weights=s + s[-1:]), data=blob + blob[-6 * 4:])
    case("rank", "tensor 'conv1/bias' has shape [2, 2], expected 1 dimensions",
         lambda s, m: spec_of(s, "conv1/bias").update(shape=[2, 2]))
    case("channels", "layer 3: weights of shape [8, 2, 1, 1] (groups 1) do not fit its 4",
         lambda s, m: spec_of(s, "conv1/pointwise_filter").update(shape=[1, 1, 2, 8]))
    case("huge_dims", "the weights end inside tensor 'conv0/bias'",
         lambda s, m: spec_of(s, "conv0/bias").update(shape=[2**31 - 1] * 3))
    for name, expected in cases.items():
        print("%s\t%s" % (name, expected))


if __name__ == "__main__":
    main()
