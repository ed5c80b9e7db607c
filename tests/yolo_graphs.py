#!/usr/bin/python3
"""yolo_graphs.py - small YOLO-shaped ONNX graphs for tests/test_convert.sh:
one the converter must accept, and variants it must refuse, each broken in
one place (python3-onnx's helper, random weights).

    tests/yolo_graphs.py OUT_DIR

writes OUT_DIR/NAME.onnx for every case and prints `NAME<TAB>EXPECTED` lines:
`ok` for the valid graph, else a text the converter's refusal must contain.
The valid graph has every kind of node YOLOv8n-face uses: Conv + SiLU at
strides 1 and 2, a C2f block (1x1 conv, Split, bottleneck with Add,
Concat), SPPF's 5x5 MaxPool, a nearest x2 Resize, and three heads (64 box
+ 1 logit channels) at strides 8, 16, 32.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(5)


class Graph:
    def __init__(self, size=64):
        self.nodes, self.inits, self.size = [], [], size

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def conv(self, name, x, cin, cout, k=3, s=1, act="silu", pads=None, **attrs):
        w = self.const(name + ".w", RNG.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.2)
        b = self.const(name + ".b", RNG.standard_normal(cout).astype(np.float32) * 0.1)
        self.nodes.append(helper.make_node(
            "Conv", [x, w, b], [name], name=name, kernel_shape=[k, k],
            strides=s if isinstance(s, list) else [s, s],
            pads=pads if pads is not None else [k // 2] * 4, **attrs))
        if act == "silu":
            self.nodes.append(helper.make_node("Sigmoid", [name], [name + ".sig"],
                                               name=name + "/Sigmoid"))
            self.nodes.append(helper.make_node("Mul", [name, name + ".sig"], [name + ".act"],
                                               name=name + "/Mul"))
            return name + ".act"
        if act == "sigmoid":
            self.nodes.append(helper.make_node("Sigmoid", [name], [name + ".act"],
                                               name=name + "/Sigmoid"))
            return name + ".act"
        if act == "square":
            self.nodes.append(helper.make_node("Mul", [name, name], [name + ".act"],
                                               name=name + "/Mul"))
            return name + ".act"
        if act == "relu":
            self.nodes.append(helper.make_node("Relu", [name], [name + ".act"],
                                               name=name + "/Relu"))
            return name + ".act"
        return name

    def node(self, op, inputs, name, outputs=None, **attrs):
        outputs = outputs or [name]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def save(self, path, heads, in_size=None):
        size = in_size or self.size
        inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
        outs = [helper.make_tensor_value_info(h, TensorProto.FLOAT, None) for h in heads]
        graph = helper.make_graph(self.nodes, "tiny-yolo", [inp], outs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.save(model, path)


def build(path, fault=None):
    """The valid graph, or the one with `fault`."""
    g = Graph()
    f = fault
    x = g.conv("c0", "images", 3, 8, s=2, pads=[0, 0, 1, 1] if f == "pads" else None)
    if f == "kernel5":
        x = g.conv("c1", x, 8, 8, k=5, s=2)
    else:
        x = g.conv("c1", x, 8, 8, s=[2] if f == "strides1" else 2,
                   act="relu" if f == "relu" else "silu",
                   **({"group": 2} if f == "grouped" else {}),
                   **({"dilations": [2, 2], "pads": [2, 2, 2, 2]} if f == "dilated" else {}))
    act = {"sigmoid_only": "sigmoid", "mul_other": "square"}.get(f, "silu")
    p8 = g.conv("c2", x, 8, 16, s=2, act=act)
    # C2f: 1x1 conv, Split, bottleneck with a residual Add, Concat, 1x1 conv
    y = g.conv("c3", p8, 16, 16, k=1)
    sizes = g.const("split.sizes", np.array([8, 9] if f == "split_sizes" else [8, 8], np.int64))
    s0, s1 = g.node("Split", [y, sizes], "split", ["split.0", "split.1"],
                    axis=2 if f == "split_axis" else 1)
    z = g.conv("c4", s1, 8, 8)
    add = g.node("Add", [s1, g.const("one", np.ones((1, 8, 1, 1), np.float32))
                         if f == "add_const" else z], "add")
    cat = g.node("Concat", [s0, s1, add], "cat", axis=2 if f == "concat_axis" else 1)
    p8 = g.conv("c5", cat, 24, 16, k=1)
    p16 = g.conv("c6", p8, 16, 16, s=2)
    c7 = g.conv("c7", p16, 16, 16, s=2)
    k = 3 if f == "maxpool3" else 5
    mp = g.node("MaxPool", [c7], "pool", kernel_shape=[k, k], strides=[1, 1],
                pads=[k // 2] * 4)
    p32 = g.conv("c8", g.node("Concat", [c7, mp], "cat2", axis=1), 32, 16, k=1)
    scale = 3.0 if f == "resize_scale3" else 2.0
    scales = g.const("up.scales", np.array([1, 1, scale, scale], np.float32))
    up = g.node("Resize", [p32, "", scales], "up", mode="linear" if f == "resize_linear"
                else "nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")
    q16 = g.conv("c9", g.node("Concat", [up, p16], "cat3", axis=1), 32, 16, k=1)
    heads = []
    for stride, t in ((8, p8), (16, q16), (32, p32))[:2 if f == "heads2" else 3]:
        box = g.conv("box%d" % stride, t, 16, 63 if f == "head_channels" else 64, k=1,
                     act="linear")
        cls = g.conv("cls%d" % stride, t, 16, 1, k=1,
                     act="silu" if f == "head_silu" and stride == 16 else "linear")
        heads.append(g.node("Concat", [box, cls], "head%d" % stride, axis=1))
    if f == "init_dims":   # dims that disagree with the data
        next(t for t in g.inits if t.name == "c1.w").dims[3] = 4
    g.save(path, heads, in_size=60 if f == "input_size" else None)


# fault -> what the refusal must say (the node it names and why)
CASES = {
    None: "ok",
    "pads": "Conv node 'c0': pads [0, 0, 1, 1]",
    "kernel5": "Conv node 'c1': kernel 5x5",
    "grouped": "Conv node 'c1': group=2",
    "dilated": "Conv node 'c1': dilations",
    "relu": "Relu node 'c1/Relu': operator Relu is not supported",
    "sigmoid_only": "Conv node 'c2': output goes to Sigmoid/Mul nodes that are not exactly",
    "mul_other": "Conv node 'c2': output goes to Sigmoid/Mul nodes that are not exactly",
    "split_axis": "Split node 'split': axis 2",
    "split_sizes": "Split node 'split': sizes [8, 9]",
    "add_const": "Add node 'add': only the sum of two layer outputs",
    "concat_axis": "Concat node 'cat': axis 2",
    "maxpool3": "MaxPool node 'pool': kernel_shape [3, 3]",
    "resize_linear": "Resize node 'up': mode",
    "resize_scale3": "Resize node 'up': scales",
    "head_channels": "Concat node 'head8': head channels [63, 1]",
    "head_silu": "Concat node 'head16': head input from layer",
    "heads2": "expected 3 head Concat nodes",
    "input_size": "size 60 is not a multiple of 32",
    # found by scripts/fuzz-convert (tracebacks before)
    "strides1": "Conv node 'c1': strides [2]",
    "init_dims": "initializer 'c1.w' is unreadable",
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for fault, expected in CASES.items():
        name = fault or "valid"
        build(os.path.join(out, name + ".onnx"), fault)
        print("%s\t%s" % (name, expected))
    with open(os.path.join(out, "garbage.onnx"), "wb") as f:
        f.write(b"\x08\x07not a model" * 10)
    print("garbage\tnot a readable ONNX model")


if __name__ == "__main__":
    main()
