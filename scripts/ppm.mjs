// ppm.mjs - reads the binary 8-bit PPM (P6) files the oracles take: the
// photos `make oracle` writes for face-api-oracle.mjs and yolo-oracle.mjs.
import fs from 'node:fs';

// { width, height, rgb } of FILE; rgb is width * height * 3 bytes.
export function readPpm(file) {
  const data = fs.readFileSync(file);
  const fields = [];
  let pos = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(data[pos]))) pos++;
    if (data[pos] === 0x23) { while (data[pos] !== 0x0a) pos++; continue; }
    const start = pos;
    while (!/\s/.test(String.fromCharCode(data[pos]))) pos++;
    fields.push(data.toString('latin1', start, pos));
  }
  pos++;
  if (fields[0] !== 'P6' || fields[3] !== '255') throw new Error(`${file}: not an 8-bit binary PPM`);
  const width = Number(fields[1]);
  const height = Number(fields[2]);
  const rgb = data.subarray(pos, pos + width * height * 3);
  if (rgb.length !== width * height * 3) throw new Error(`${file}: truncated`);
  return { width, height, rgb };
}
