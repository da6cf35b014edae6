// Unit tests of the client's pure audio code: `node --test client/tests/`.
// The browser-only parts (getUserMedia, AudioContext) are covered by browser tests.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Resampler, FrameBuilder } from '../mic-worklet.js';
import { pcm16leToFloat32 } from '../audio.js';
import { buildWsUrl } from '../ws.js';

/**
 * Gain in dB of a sine of `freq` Hz pushed through a resampler in 128-sample blocks.
 * @param {number} inRate
 * @param {number} freq
 * @returns {{db: number, count: number}}
 */
function sineGainDb(inRate, freq) {
  const r = new Resampler(inRate, 16000);
  /** @type {number[]} */ const out = [];
  const n = inRate; // one second
  for (let s = 0; s < n; s += 128) {
    const block = new Float32Array(Math.min(128, n - s));
    for (let i = 0; i < block.length; i++) block[i] = 0.5 * Math.sin((2 * Math.PI * freq * (s + i)) / inRate);
    r.push(block, (x) => out.push(x));
  }
  const mid = out.slice(2000, out.length - 2000);
  const rms = Math.sqrt(mid.reduce((a, x) => a + x * x, 0) / mid.length);
  return { db: 20 * Math.log10(rms / (0.5 / Math.SQRT2)), count: out.length };
}

for (const rate of [48000, 44100, 96000, 22050]) {
  test(`resampler ${rate} -> 16000 keeps speech and removes aliases`, () => {
    for (const f of [200, 1000, 3000]) {
      const { db } = sineGainDb(rate, f);
      assert.ok(Math.abs(db) < 0.5, `${f} Hz passband gain ${db.toFixed(2)} dB`);
    }
    for (const f of [9000, 10000].filter((x) => x < rate / 2)) {
      const { db } = sineGainDb(rate, f);
      assert.ok(db < -60, `${f} Hz would alias: ${db.toFixed(1)} dB`);
    }
    const { count } = sineGainDb(rate, 440);
    assert.ok(Math.abs(count - 16000) < 40, `one second gives ${count} samples`);
  });
}

test('resampler is a passthrough at equal rates', () => {
  const r = new Resampler(16000, 16000);
  /** @type {number[]} */ const out = [];
  r.push(new Float32Array([0.1, -0.2, 0.3]), (x) => out.push(x));
  assert.deepEqual(out.map((x) => Math.round(x * 10) / 10), [0.1, -0.2, 0.3]);
});

test('frame builder emits 320-sample PCM16 little-endian frames, clipped', () => {
  /** @type {ArrayBuffer[]} */ const frames = [];
  const fb = new FrameBuilder(320, (pcm) => frames.push(pcm));
  for (let i = 0; i < 700; i++) fb.add(i === 0 ? 2 : i === 1 ? -2 : i === 2 ? 0.5 : 0);
  assert.equal(frames.length, 2);
  assert.equal(frames[0].byteLength, 640);
  const v = new DataView(frames[0]);
  assert.equal(v.getInt16(0, true), 32767);
  assert.equal(v.getInt16(2, true), -32768);
  assert.equal(v.getInt16(4, true), 16384);
  assert.deepEqual([...new Uint8Array(frames[0], 4, 2)], [0x00, 0x40]);
});

test('pcm16leToFloat32 decodes little-endian', () => {
  const buf = new Uint8Array([0x00, 0x40, 0x00, 0x80, 0xff, 0x7f]).buffer;
  const f = pcm16leToFloat32(buf);
  assert.equal(f.length, 3);
  assert.equal(f[0], 0.5);
  assert.equal(f[1], -1);
  assert.ok(Math.abs(f[2] - 32767 / 32768) < 1e-9);
});

test('websocket url follows the page scheme and carries the key', () => {
  assert.equal(buildWsUrl({ protocol: 'http:', host: 'localhost:8000', search: '' }), 'ws://localhost:8000/ws');
  assert.equal(buildWsUrl({ protocol: 'https:', host: 'viva.example', search: '?key=a%20b&autostart=1' }), 'wss://viva.example/ws?key=a%20b');
});
