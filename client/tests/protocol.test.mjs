// The client against its generated protocol module (client/protocol.js, written by
// `python -m server.protocol_js`): `node --test client/tests/`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as protocol from '../protocol.js';
import { KIND_LABELS, kindLabel } from '../render.js';
import { CAPTURE_RATE, FRAME_SAMPLES } from '../audio.js';

const CLIENT_DIR = new URL('../', import.meta.url);
const sources = readdirSync(CLIENT_DIR)
  .filter((name) => name.endsWith('.js') && name !== 'protocol.js')
  .map((name) => ({ name, text: readFileSync(new URL(name, CLIENT_DIR), 'utf8') }));

/** The frozen name -> value objects of protocol.js (ServerType, ErrorCode, ...). */
const NAMED = Object.entries(protocol).filter(([, value]) => value && typeof value === 'object' && value !== protocol.MESSAGES);

test('every protocol name the client uses exists in protocol.js', () => {
  const pattern = new RegExp(`\\b(${NAMED.map(([name]) => name).join('|')})\\.([A-Z][A-Z0-9_]*)\\b`, 'g');
  let uses = 0;
  for (const { name, text } of sources) {
    for (const [, object, key] of text.matchAll(pattern)) {
      uses++;
      assert.ok(Object.hasOwn(protocol[object], key), `${name}: ${object}.${key} is not in protocol.js`);
    }
  }
  assert.ok(uses > 20, `only ${uses} uses found: the pattern is broken`);
});

test('the named values and MESSAGES agree, and cannot be changed', () => {
  assert.deepEqual(Object.values(protocol.ServerType), Object.keys(protocol.MESSAGES.server));
  assert.deepEqual(Object.values(protocol.ClientType), Object.keys(protocol.MESSAGES.client));
  assert.deepEqual(Object.values(protocol.Command), protocol.MESSAGES.client.command.enums.name);
  assert.deepEqual(Object.values(protocol.ErrorCode), protocol.MESSAGES.server.error.enums.code);
  assert.ok(Object.isFrozen(protocol.ServerType) && Object.isFrozen(protocol.MESSAGES.client.start.ranges.num_questions));
});

test('every agent kind has a label, and an unknown kind shows as itself', () => {
  assert.deepEqual(Object.keys(KIND_LABELS).sort(), Object.values(protocol.AgentKind).sort());
  assert.equal(kindLabel(protocol.AgentKind.FOLLOWUP), 'follow-up');
  assert.equal(kindLabel('aside'), 'aside');
  assert.equal(kindLabel('toString'), 'toString');
});

test('microphone frames fit the protocol', () => {
  assert.ok(CAPTURE_RATE >= protocol.MIN_SAMPLE_RATE && CAPTURE_RATE <= protocol.MAX_SAMPLE_RATE);
  assert.equal(CAPTURE_RATE, protocol.MESSAGES.client.start.defaults.sample_rate);
  assert.ok(Number.isInteger(FRAME_SAMPLES) && FRAME_SAMPLES * 2 <= protocol.MAX_FRAME_BYTES);
});
