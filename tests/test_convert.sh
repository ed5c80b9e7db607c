#!/usr/bin/env bash
# test_convert.sh - scripts/convert-model: tfjs dequantisation, HWIO -> OIHW,
# the 4x4 kernel for TF's stride-2 'same' padding, batch-norm folding, and
# the files it writes (Darknet header, layer sizes, the SSD priors trailer).
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
check_fails rejects_bad_usage "$CONVERT" yolo a b
