#!/usr/bin/env node
// yolo-oracle.mjs - raw head outputs of YOLOv8n-face from ONNX Runtime, the
// reference the engine's YOLO layers must reproduce (within 1e-4).
//
//   node scripts/yolo-oracle.mjs ORT_DIR HEADS.onnx PREFIX...
//   node scripts/yolo-oracle.mjs ORT_DIR HEADS.onnx --serve
//
// ORT_DIR holds node_modules/onnxruntime-node (the pinned npm package of
// scripts/onnxruntime/, installed by the Makefile into .cache/onnxruntime).
// HEADS.onnx is the model cut after its three head concats with a free
// input size (`scripts/convert-model yolo-heads`). One thread, CPU.
//
// For each PREFIX, reads PREFIX.ppm and writes PREFIX.s8.f32, PREFIX.s16.f32,
// PREFIX.s32.f32. With --serve, reads one PREFIX per line on stdin and
// answers one JSON line {"prefix", "ms"} per run on stdout (for
// scripts/yolo-explore: one process, the model loaded once).
//
// The oracle under .cache/oracle/yolo/ (made by `make oracle`), per demo
// photo N = 1..6 and input size S = 640, 1024 (longer side), PREFIX =
// sampleN-S:
//   PREFIX.ppm         the network input: binary PPM (P6, 8-bit RGB), the
//                      photo decoded by cv2, resized so its longer side is S
//                      (cv2 INTER_AREA), padded with zeros at the right and
//                      bottom to multiples of 32 (scripts/yolo-reference
//                      input). The network reads these bytes / 255 as RGB
//                      planes; the C parity test reads the same file.
//   PREFIX.s8.f32      the head at stride 8: raw little-endian float32, no
//   PREFIX.s16.f32     header, channel-major 65 x (H/s) x (W/s) for the
//   PREFIX.s32.f32     input's W x H: channels 0-15, 16-31, 32-47, 48-63
//                      the DFL bins of the left, top, right, bottom sides,
//                      64 the face logit (before the sigmoid).
//   PREFIX.input.json  {photo, photo_width, photo_height, size, scale}:
//                      scale = input px per photo px.
//   PREFIX.json        the above plus, from scripts/yolo-reference decode
//                      (a decoder written apart from the engine):
//                      input_width, input_height, heads [{stride, file,
//                      shape}], thresh (0.25), nms_iou (0.45),
//                      candidate_thresh (0.05), candidates: every box with
//                      score > 0.05 before NMS, boxes: score > thresh after
//                      NMS; each {x, y, w, h, score} in input pixels
//                      (top-left corner, size), highest score first.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { readPpm } from './ppm.mjs';

const STRIDES = [8, 16, 32];
const HEAD_CHANNELS = 65;

// The photo as the network's input: 3 planes of floats in 0..1.
function readInput(file) {
  const { width: w, height: h, rgb } = readPpm(file);
  if (w % 32 || h % 32) throw new Error(`${file}: ${w}x${h} is not a multiple of 32`);
  const planes = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++)
    for (let c = 0; c < 3; c++) planes[c * w * h + i] = rgb[i * 3 + c] / 255;
  return { w, h, planes };
}

async function run(ort, session, prefix) {
  const { w, h, planes } = readInput(`${prefix}.ppm`);
  const input = new ort.Tensor('float32', planes, [1, 3, h, w]);
  const t0 = process.hrtime.bigint();
  const out = await session.run({ [session.inputNames[0]]: input });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const s of STRIDES) {
    const t = out[`head${s}`];
    const want = [1, HEAD_CHANNELS, h / s, w / s];
    if (t.dims.join() !== want.join()) throw new Error(`head${s}: dims ${t.dims}, expected ${want}`);
    const file = `${prefix}.s${s}.f32`;
    fs.writeFileSync(`${file}.tmp`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.renameSync(`${file}.tmp`, file);
  }
  return ms;
}

async function main() {
  const [ortDir, model, ...prefixes] = process.argv.slice(2);
  if (!ortDir || !model || prefixes.length === 0) {
    console.error('usage: yolo-oracle.mjs ORT_DIR HEADS.onnx PREFIX... | --serve');
    process.exit(2);
  }
  const require = createRequire(path.resolve(ortDir, 'node_modules') + '/');
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  if (prefixes[0] !== '--serve') {
    for (const p of prefixes) await run(ort, session, p);
    return;
  }
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const prefix = line.trim();
    if (!prefix) continue;
    const ms = await run(ort, session, prefix);
    process.stdout.write(JSON.stringify({ prefix, ms }) + '\n');
  }
}

main().catch((e) => { console.error(`yolo-oracle: ${e.message}`); process.exit(1); });
