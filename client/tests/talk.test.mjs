// Push to talk's pure parts: the remembered mode, the release silence, which keys
// are typing, and the hold shared by Space and the talk button.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_TALK_MODE, RELEASE_SILENCE_S, TALK_MODE_KEY, TalkHold, isTalkMode, isTextEntry,
  readTalkMode, releaseSilence, storeTalkMode,
} from '../talk.js';
import { MAX_FRAME_BYTES } from '../protocol.js';

/** A Map-backed stand-in for localStorage (pure logic: no browser here). */
function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => { items.set(k, String(v)); },
  };
}

const throwing = {
  getItem() { throw new Error('SecurityError'); },
  setItem() { throw new Error('QuotaExceededError'); },
};

test('the mode is hands-free until push to talk is stored', () => {
  const storage = memoryStorage();
  assert.equal(DEFAULT_TALK_MODE, 'handsfree');
  assert.equal(readTalkMode(storage), 'handsfree');
  assert.equal(storeTalkMode(storage, 'ptt'), true);
  assert.equal(storage.items.get(TALK_MODE_KEY), 'ptt');
  assert.equal(readTalkMode(storage), 'ptt');
  assert.equal(storeTalkMode(storage, 'handsfree'), true);
  assert.equal(readTalkMode(storage), 'handsfree');
});

test('an unknown stored value, no storage, or storage that throws give the default', () => {
  const storage = memoryStorage();
  storage.setItem(TALK_MODE_KEY, 'walkie-talkie');
  assert.equal(readTalkMode(storage), 'handsfree');
  assert.equal(readTalkMode(null), 'handsfree');
  assert.equal(readTalkMode(undefined), 'handsfree');
  assert.equal(readTalkMode(throwing), 'handsfree');
  assert.equal(storeTalkMode(throwing, 'ptt'), false);
  assert.equal(storeTalkMode(null, 'ptt'), false);
  assert.equal(storeTalkMode(storage, /** @type {any} */ ('loud')), false);
  assert.equal(storage.items.get(TALK_MODE_KEY), 'walkie-talkie');
});

test('isTalkMode accepts exactly the two modes', () => {
  assert.ok(isTalkMode('handsfree'));
  assert.ok(isTalkMode('ptt'));
  for (const v of ['', 'PTT', 'hands-free', null, undefined, 1, {}]) assert.equal(isTalkMode(v), false, String(v));
});

test('the release silence is zeros, whole samples, one frame the server accepts', () => {
  for (const rate of [8000, 16000, 44100, 48000]) {
    const buf = releaseSilence(rate);
    assert.equal(buf.byteLength, Math.round(rate * RELEASE_SILENCE_S) * 2);
    assert.equal(buf.byteLength % 2, 0);
    assert.ok(buf.byteLength <= MAX_FRAME_BYTES, `${rate}: ${buf.byteLength}`);
    assert.ok(new Int16Array(buf).every((s) => s === 0));
  }
  // Long enough to close the server VAD's segment: 4 silent 32 ms frames after up to
  // one frame still holding speech (server/audio/vad.py, StreamingVad.end_frames).
  assert.ok(RELEASE_SILENCE_S >= 5 * 0.032);
  // Short of the shortest silence after which the endpointer ends a turn by itself
  // (VIVA_ENDPOINT_SILENCE_MS, 500 by default): the release ends it.
  assert.ok(RELEASE_SILENCE_S < 0.5);
  assert.equal(releaseSilence(16000, 0).byteLength, 0);
});

test('Space types into text fields and selects, and is a shortcut elsewhere', () => {
  for (const target of [
    { tagName: 'TEXTAREA' }, { tagName: 'SELECT' }, { tagName: 'INPUT', type: 'text' },
    { tagName: 'input', type: 'search' }, { tagName: 'INPUT', type: 'number' }, { tagName: 'INPUT' },
    { tagName: 'DIV', isContentEditable: true },
  ]) assert.equal(isTextEntry(target), true, JSON.stringify(target));
  for (const target of [
    { tagName: 'BUTTON' }, { tagName: 'DIV' }, { tagName: 'BODY' }, { tagName: 'INPUT', type: 'checkbox' },
    { tagName: 'INPUT', type: 'radio' }, { tagName: 'INPUT', type: 'submit' }, { tagName: 'A' },
    null, undefined, 'TEXTAREA',
  ]) assert.equal(isTextEntry(target), false, JSON.stringify(target));
});

test('one hold: the first press starts it, the last release ends it', () => {
  const hold = new TalkHold();
  assert.equal(hold.held, false);
  assert.equal(hold.press('key:Space'), true);
  assert.equal(hold.press('key:Space'), false, 'a repeated press is the same hold');
  assert.equal(hold.press('pointer:1'), false, 'a second hand joins the hold');
  assert.equal(hold.release('key:Space'), false, 'the pointer still holds');
  assert.equal(hold.held, true);
  assert.equal(hold.release('pointer:1'), true);
  assert.equal(hold.held, false);
  assert.equal(hold.release('pointer:1'), false, 'lostpointercapture after pointerup ends nothing');
  assert.equal(hold.release('key:Enter'), false, 'a key never pressed ends nothing');
});

test('releaseAll says whether anything was held', () => {
  const hold = new TalkHold();
  assert.equal(hold.releaseAll(), false);
  hold.press('pointer:7');
  hold.press('key:Space');
  assert.equal(hold.releaseAll(), true);
  assert.equal(hold.held, false);
  assert.equal(hold.releaseAll(), false);
});
