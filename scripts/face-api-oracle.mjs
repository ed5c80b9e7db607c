#!/usr/bin/env node
// face-api-oracle.mjs - reference detections from face-api itself, for the
// parity tests of the C detector (tests/test_parity.c).
//
//   node scripts/face-api-oracle.mjs FACE_API_PACKAGE_DIR PHOTO.ppm OUT.json
//
// The photo arrives as a binary PPM (P6) decoded by cv2 (see the Makefile's
// oracle rule), so the C side and this script start from the same RGB pixels.
// Both then build the model's square input canvas the same way: the longer
// side is scaled to the input size N by area averaging (bilinear when
// enlarging), placed top-left, the rest is zero. face-api gets that canvas as
// a float tensor of exactly N x N, so its own resize is the identity and the
// comparison isolates the network and the decoding. Runs on tfjs' pure-JS CPU
// backend (~16 s per photo for both models).
//
// Output JSON: { width, height, ssd: {...}, tiny: {...} }, per model:
//   input (N), tw/th (size of the image inside the canvas), faces: [{x, y, w,
//   h, score}] in photo pixels (face-api's locateFaces, score > MIN_SCORE),
//   and raw network outputs: ssd.scores[5118] + ssd.boxes[5118][4] (ymin,
//   xmin, ymax, xmax, canvas-relative, before clipping), tiny.raw (the
//   13x13x25 output tensor, HWC order).
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { readPpm } from './ppm.mjs';

const MIN_SCORE = 0.2;
const SSD_SIZE = 512;
const TINY_SIZE = 416;

// The one shim: tfjs' Node platform code builds `new util.TextEncoder()` from
// a bundled `require('util')` that the browser bundle stubs as {}. Lend it the
// real constructor while the module evaluates, then give the stub the real
// util module for later calls.
async function loadFaceApi(pkg) {
  Object.defineProperty(Object.prototype, 'TextEncoder',
    { value: util.TextEncoder, configurable: true, writable: true });
  let faceapi;
  try {
    faceapi = await import(path.resolve(pkg, 'dist/face-api.esm.js'));
  } finally {
    delete Object.prototype.TextEncoder;
  }
  const platform = faceapi.tf.env().platform;
  if (platform && platform.util) Object.assign(platform.util, util);
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  return faceapi;
}

function loadWeights(faceapi, pkg, name) {
  const dir = path.resolve(pkg, 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}-weights_manifest.json`)));
  const specs = [];
  const buffers = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return faceapi.tf.io.decodeWeights(ab, specs);
}

// Weights of an area-averaging (or, when enlarging, bilinear) resize along
// one axis: for each destination index, the source indices and weights.
// Mirrors resize_weights() in src/detect/canvas.c.
function resizeWeights(src, dst) {
  const f = src / dst;
  const taps = [];
  for (let i = 0; i < dst; i++) {
    const list = [];
    if (f >= 1) {
      const a = i * f;
      const b = (i + 1) * f;
      for (let j = Math.floor(a); j < Math.min(src, Math.ceil(b)); j++) {
        const w = (Math.min(b, j + 1) - Math.max(a, j)) / f;
        if (w > 0) list.push([j, w]);
      }
    } else {
      let x = (i + 0.5) * f - 0.5;
      if (x < 0) x = 0;
      let j = Math.floor(x);
      if (j >= src - 1) { j = src - 1; x = j; }
      const t = x - j;
      list.push([j, 1 - t]);
      if (t > 0) list.push([j + 1, t]);
    }
    taps.push(list);
  }
  return taps;
}

// The N x N x 3 float canvas: photo scaled so its longer side is N, top-left.
function canvas(img, n) {
  const scale = n / Math.max(img.width, img.height);
  const tw = Math.min(n, Math.max(1, Math.round(img.width * scale)));
  const th = Math.min(n, Math.max(1, Math.round(img.height * scale)));
  const hx = resizeWeights(img.width, tw);
  const hy = resizeWeights(img.height, th);
  const rows = new Float64Array(img.height * tw * 3);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < tw; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [j, w] of hx[x]) s += w * img.rgb[(y * img.width + j) * 3 + c];
        rows[(y * tw + x) * 3 + c] = s;
      }
  const out = new Float32Array(n * n * 3);
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [j, w] of hy[y]) s += w * rows[(j * tw + x) * 3 + c];
        out[(y * n + x) * 3 + c] = s;
      }
  return { data: out, tw, th };
}

function facesInPhoto(dets, n, tw, th, img) {
  return dets.map((d) => {
    const b = d.relativeBox;
    const sx = (n * img.width) / tw;
    const sy = (n * img.height) / th;
    return { x: b.x * sx, y: b.y * sy, w: b.width * sx, h: b.height * sy, score: d.score };
  });
}

async function runSsd(faceapi, pkg, img) {
  const net = faceapi.nets.ssdMobilenetv1;
  if (!net.isLoaded) net.loadFromWeightMap(loadWeights(faceapi, pkg, 'ssd_mobilenetv1_model'));
  const cv = canvas(img, SSD_SIZE);
  const input = faceapi.tf.tensor3d(cv.data, [SSD_SIZE, SSD_SIZE, 3], 'float32');
  const raw = await net.forward(input);
  const scores = Array.from(raw.scores[0].dataSync());
  const boxes = raw.boxes[0].arraySync();
  raw.scores.forEach((t) => t.dispose());
  raw.boxes.forEach((t) => t.dispose());
  const dets = await net.locateFaces(input, { minConfidence: MIN_SCORE, maxResults: 1000 });
  input.dispose();
  return { input: SSD_SIZE, tw: cv.tw, th: cv.th,
    faces: facesInPhoto(dets, SSD_SIZE, cv.tw, cv.th, img), scores, boxes };
}

async function runTiny(faceapi, pkg, img) {
  const net = faceapi.nets.tinyFaceDetector;
  if (!net.isLoaded) net.loadFromWeightMap(loadWeights(faceapi, pkg, 'tiny_face_detector_model'));
  const cv = canvas(img, TINY_SIZE);
  const input = faceapi.tf.tensor3d(cv.data, [TINY_SIZE, TINY_SIZE, 3], 'float32');
  const out = await net.forward(input, TINY_SIZE);
  const raw = Array.from(out.dataSync());
  out.dispose();
  const dets = await net.locateFaces(input, { inputSize: TINY_SIZE, scoreThreshold: MIN_SCORE });
  input.dispose();
  return { input: TINY_SIZE, tw: cv.tw, th: cv.th,
    faces: facesInPhoto(dets, TINY_SIZE, cv.tw, cv.th, img), raw };
}

async function main() {
  const [pkg, photo, outFile] = process.argv.slice(2);
  if (!outFile) {
    console.error('usage: face-api-oracle.mjs FACE_API_PACKAGE_DIR PHOTO.ppm OUT.json');
    process.exit(2);
  }
  const faceapi = await loadFaceApi(pkg);
  const img = readPpm(photo);
  const result = { width: img.width, height: img.height,
    ssd: await runSsd(faceapi, pkg, img), tiny: await runTiny(faceapi, pkg, img) };
  fs.writeFileSync(`${outFile}.tmp`, JSON.stringify(result));
  fs.renameSync(`${outFile}.tmp`, outFile);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
