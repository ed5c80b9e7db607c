#!/usr/bin/env bash
# test_convert.sh - scripts/convert-model: tfjs dequantisation, HWIO -> OIHW,
# the 4x4 kernel for TF's stride-2 'same' padding, batch-norm folding, and
# the files it writes (Darknet header, layer sizes, the SSD priors trailer);
# for YOLOv8n-face: the cfg's layout (the refusal of every ONNX graph it
# cannot map exactly: tests/test_convert_inputs.sh), and the
# converted model run by scripts/darknet-forward against ONNX Runtime's
# head outputs (the oracle of `make oracle`), and the reference decoder.
# needs: oracle (ONNX Runtime's head outputs, from npm)
SUITE=convert
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CONVERT=$ROOT/scripts/convert-model
MODELS=${ANON_MODEL_DIR:-$ROOT/.cache/models}
FACE_API_MODELS=$ROOT/.cache/face-api/package/model

# py NAME CODE: runs CODE with the converter imported as `cm`.
py() {
    local name=$1 code=$2
    check "$name" "$PY" -c "
import importlib.machinery, importlib.util, struct, numpy as np
loader = importlib.machinery.SourceFileLoader('cm', '$CONVERT')
spec = importlib.util.spec_from_loader('cm', loader)
cm = importlib.util.module_from_spec(spec); loader.exec_module(cm)
$code"
}

py dequantize_like_tfjs '
q = np.array([0, 1, 255], np.uint8)
v = cm.dequantize(q, 0.5, -3.0)
assert v.dtype == np.float32 and list(v) == [-3.0, -2.5, 124.5], v'

py hwio_to_oihw '
w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)   # kh kw in out
o = cm.hwio_to_oihw(w)
assert o.shape == (5, 4, 2, 3)
assert o[4, 3, 1, 2] == w[1, 2, 3, 4] and o[1, 2, 0, 1] == w[0, 1, 2, 1]
d = cm.depthwise_to_oihw(np.arange(18, dtype=np.float32).reshape(3, 3, 2, 1))
assert d.shape == (2, 1, 3, 3) and d[1, 0, 2, 0] == 2 * 6 + 0 * 2 + 1'

py stride2_same_padding_as_4x4 '
# TF SAME, stride 2, 3x3 on an even size pads only bottom/right; Darknet
# with a 4x4 kernel (zero first row/col), padding=1 must give the same.
rng = np.random.default_rng(1)
x = rng.standard_normal((6, 6)).astype(np.float32)
k = rng.standard_normal((3, 3)).astype(np.float32)
tf = np.pad(x, ((0, 1), (0, 1)))
ref = np.array([[np.sum(tf[2*i:2*i+3, 2*j:2*j+3] * k) for j in range(3)] for i in range(3)])
k4 = cm.pad_to_4x4(k.reshape(1, 1, 3, 3))[0, 0]
dn = np.pad(x, ((1, 1), (1, 1)))
out = (6 + 2 - 4) // 2 + 1
got = np.array([[np.sum(dn[2*i:2*i+4, 2*j:2*j+4] * k4) for j in range(out)] for i in range(out)])
assert out == 3 and np.allclose(ref, got, atol=1e-5), (ref, got)'

py batch_norm_folds_with_tf_epsilon '
w = np.ones((2, 1, 3, 3), np.float32)
gamma, beta = np.array([2, 1], np.float32), np.array([0.5, -1], np.float32)
mean, var = np.array([1, 0], np.float32), np.array([3.999, 0.999], np.float32)
fw, fb = cm.fold_batch_norm(w, gamma, beta, mean, var)
s = gamma / np.sqrt(var + 1e-3)          # 1.0, 1.0
assert np.allclose(fw[0], s[0]) and np.allclose(fw[1], s[1])
assert np.allclose(fb, beta - mean * s), fb'

# The converted files: header, exact size, relu6 marks, priors trailer.
if [ -f "$MODELS/ssd.weights" ] && [ -f "$MODELS/tiny.weights" ]; then
    py converted_files_are_consistent "
for name, relu6, layers in (('ssd', 35, 47), ('tiny', 0, 18)):
    cfg = open('$MODELS/%s.cfg' % name).read()
    assert cfg.count('#anon: relu6') == relu6, name
    assert cfg.count('activation=relu\n#anon: relu6') == relu6, name
    assert sum(1 for l in cfg.splitlines() if l.startswith('[')) - 1 == layers, name
    data = open('$MODELS/%s.weights' % name, 'rb').read()
    assert struct.unpack('<iiiQ', data[:20]) == (0, 2, 0, 0), name
data = open('$MODELS/ssd.weights', 'rb').read()
assert data[-4:] == b'ANPR'
n = struct.unpack('<I', data[-8:-4])[0]
assert n == 5118, n
pri = np.frombuffer(data[-8 - n * 16:-8], '<f4').reshape(n, 4)
assert np.all(pri[:, 2] > pri[:, 0]) and np.all(pri[:, 3] > pri[:, 1])
assert 'padding=1' in open('$MODELS/ssd.cfg').read()
assert 'padding=' not in open('$MODELS/tiny.cfg').read()"
else
    not_ok converted_files_are_consistent "no converted models in $MODELS (make models)"
fi

# Converting again gives the same bytes (the Makefile may re-run it).
if [ -d "$FACE_API_MODELS" ]; then
    check reconversion_is_identical bash -c "
        '$CONVERT' tiny '$FACE_API_MODELS' '$TMP' &&
        cmp '$TMP/tiny.weights' '$MODELS/tiny.weights' && cmp '$TMP/tiny.cfg' '$MODELS/tiny.cfg'"
    check_fails rejects_missing_model "$CONVERT" tiny "$TMP/nowhere" "$TMP/out"
fi
check_fails rejects_bad_usage "$CONVERT" nope a b

# ---------------------------------------------------------------- YOLOv8n-face
YOLO_ONNX=$ROOT/.cache/yolo/package/model/yolov8n-face.onnx
YOLO_ORACLE=$ROOT/.cache/oracle/yolo
FORWARD=$ROOT/scripts/darknet-forward

# The converted cfg: 112 layers, the head routes last, every size and
# weight accounted for.
if [ -f "$MODELS/yolo.cfg" ]; then
    py yolo_cfg_layout "
loader = importlib.machinery.SourceFileLoader('fw', '$FORWARD')
spec = importlib.util.spec_from_loader('fw', loader)
fw = importlib.util.module_from_spec(spec); loader.exec_module(fw)
sections = fw.parse_cfg('$MODELS/yolo.cfg')
net, layers = sections[0][1], sections[1:]
assert (net['width'], net['height'], net['channels']) == ('640', '640', '3'), net
kinds = [k for k, _ in layers]
counts = {k: kinds.count(k) for k in set(kinds)}
assert counts == {'convolutional': 71, 'route': 30, 'shortcut': 6, 'maxpool': 3,
                  'upsample': 2}, counts
shapes = fw.layer_shapes(sections)
assert [k for k, _ in layers[-3:]] == ['route'] * 3
assert [s[:2] for s in shapes[-3:]] == [(65, 8), (65, 16), (65, 32)], shapes[-3:]
convs = [(o, shapes[i - 1][0] if i else 3) for i, (k, o) in enumerate(layers)
         if k == 'convolutional']
for o, _ in convs:
    assert o['pad'] == '1' and o['batch_normalize'] == '0' and o['size'] in ('1', '3'), o
    assert o['stride'] in ('1', '2') and o['activation'] in ('silu', 'linear'), o
# the linear convs are the heads' last ones: 64 box bins and 1 logit per stride
linear = sorted(o['filters'] for o, _ in convs if o['activation'] == 'linear')
assert linear == ['1', '1', '1', '64', '64', '64'], linear
for k, o in layers:
    if k == 'maxpool':
        assert (o['size'], o['stride'], o['padding']) == ('5', '1', '4'), o
    if k == 'shortcut':
        assert o['activation'] == 'linear' and int(o['from']) < 0, o
n = sum(int(o['filters']) * (1 + c * int(o['size']) ** 2) for o, c in convs)
size = len(open('$MODELS/yolo.weights', 'rb').read())
assert size == 20 + 4 * n and n == 3005827, (size, n)
# 2 x multiply-adds at 640 x 640: 8.1 GFLOP
gflop = 2 * sum(m for _, _, m in shapes) * 640 * 640 / 1e9
assert abs(gflop - 8.08) < 0.01, gflop"
else
    not_ok yolo_cfg_layout "no $MODELS/yolo.cfg (make models)"
fi

if [ -f "$YOLO_ONNX" ]; then
    check yolo_reconversion_is_identical bash -c "
        '$CONVERT' yolo '$YOLO_ONNX' '$TMP/yolo' &&
        cmp '$TMP/yolo/yolo.weights' '$MODELS/yolo.weights' && cmp '$TMP/yolo/yolo.cfg' '$MODELS/yolo.cfg'"
    # the graph cut after its heads converts to the same model
    check yolo_heads_cut_converts_the_same bash -c "
        '$CONVERT' yolo-heads '$YOLO_ONNX' '$TMP/heads.onnx' &&
        '$CONVERT' yolo '$TMP/heads.onnx' '$TMP/yolo-cut' &&
        cmp '$TMP/yolo-cut/yolo.weights' '$MODELS/yolo.weights' &&
        cmp '$TMP/yolo-cut/yolo.cfg' '$MODELS/yolo.cfg'"
else
    not_ok yolo_reconversion_is_identical "no $YOLO_ONNX (make models)"
fi

# The converter's input checks on small generated graphs and models:
# tests/test_convert_inputs.sh.

# The converted model, run by the numpy forward pass, reproduces ONNX
# Runtime's head outputs: the small graph (every node kind, random weights)
# and the real model on one demo photo (640 x 448 input).
ORT_NODE=$ROOT/.cache/onnxruntime
mkdir -p "$TMP/graphs"
"$PY" "$ROOT/tests/yolo_graphs.py" "$TMP/graphs" >/dev/null &&
    "$PY" "$CONVERT" yolo "$TMP/graphs/valid.onnx" "$TMP/graphs/out-valid" >/dev/null 2>&1
if [ -d "$ORT_NODE/node_modules/onnxruntime-node" ] && [ -f "$TMP/graphs/out-valid/yolo.cfg" ]; then
    "$PY" -c "
import numpy as np
px = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
open('$TMP/graphs/in.ppm', 'wb').write(b'P6\n64 64\n255\n' + px.tobytes())"
    check yolo_small_graph_matches_onnxruntime bash -c "
        node --no-warnings '$ROOT/scripts/yolo-oracle.mjs' '$ORT_NODE' '$TMP/graphs/valid.onnx' \
            '$TMP/graphs/in' &&
        '$FORWARD' '$TMP/graphs/out-valid/yolo.cfg' '$TMP/graphs/out-valid/yolo.weights' \
            '$TMP/graphs/in.ppm' --compare '$TMP/graphs/in' --tolerance 1e-5"
else
    not_ok yolo_small_graph_matches_onnxruntime "no $ORT_NODE (make oracle), or tests/yolo_graphs.py or convert-model failed"
fi
if [ -f "$YOLO_ORACLE/sample1-640.s8.f32" ] && [ -f "$MODELS/yolo.cfg" ]; then
    check yolo_forward_matches_onnxruntime nice "$FORWARD" "$MODELS/yolo.cfg" \
        "$MODELS/yolo.weights" "$YOLO_ORACLE/sample1-640.ppm" --compare "$YOLO_ORACLE/sample1-640" \
        --tolerance 1e-4
else
    not_ok yolo_forward_matches_onnxruntime "no oracle in $YOLO_ORACLE (make oracle)"
fi

# The reference decoder (scripts/yolo-reference), which the oracle's boxes
# and the engine's decoder follow, on hand-made heads: a cell whose bins
# are one-hot gives whole strides, uniform bins give 7.5; NMS as nms.c.
check yolo_reference_decoder_hand_case "$PY" - "$ROOT/scripts/yolo-reference" <<'PY'
import sys, importlib.machinery, importlib.util
import numpy as np
loader = importlib.machinery.SourceFileLoader("yr", sys.argv[1])
spec = importlib.util.spec_from_loader("yr", loader)
yr = importlib.util.module_from_spec(spec); loader.exec_module(yr)
h8 = np.zeros((65, 2, 2), np.float32); h8[64] = -10    # input 16 x 16
h8[64, 0, 1] = 0                                       # cell x=1, y=0: score 0.5
for side, b in enumerate((2, 1, 3, 0)):                # left 2, top 1, right 3, bottom 0
    h8[side * 16 + b, 0, 1] = 50
h8[64, 1, 0] = 2                                       # cell x=0, y=1: uniform bins
heads = [h8, np.full((65, 1, 1), -10, np.float32), np.full((65, 1, 1), -10, np.float32)]
boxes = yr.decode(heads, 0.25)
assert boxes.shape == (2, 5), boxes
one = boxes[np.argmin(boxes[:, 4])]
assert np.allclose(one, [(1.5 - 2) * 8, (0.5 - 1) * 8, 5 * 8, 1 * 8, 0.5], atol=1e-6), one
uni = boxes[np.argmax(boxes[:, 4])]
s = 1 / (1 + np.exp(-2.0))
assert np.allclose(uni, [(0.5 - 7.5) * 8, (1.5 - 7.5) * 8, 15 * 8, 15 * 8, s], atol=1e-5), uni
assert len(yr.decode(heads, 0.6)) == 1                 # score > thresh only
b = np.array([[0, 0, 10, 10, 0.9], [1, 0, 10, 10, 0.8], [0, 20, 10, 10, 0.7],
              [0, 0, 10, 10, 0.9]])
kept = yr.nms(b[:3], 0.45)                             # IoU 0.82: the second goes
assert kept.tolist() == [b[0].tolist(), b[2].tolist()], kept
kept = yr.nms(b[[3, 2, 0]], 0.45)                      # equal scores: one of the twins stays
assert len(kept) == 2
assert len(yr.nms(b[:2], 0.9)) == 2                    # IoU 0.82 is not above 0.9
PY
