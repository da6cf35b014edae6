// Unit tests of the review page's word marks: `node --test client/tests/`.
// The marks come from the server (server/lexicon.py); the page only reads them.
import test from 'node:test';
import assert from 'node:assert/strict';
import { markWords, wordAt } from '../marks.js';

const sent = [
  { word: ' Um,', start: 0.1, end: 0.35, probability: 0.9, marks: ['filler'], pause_before_s: null },
  { word: ' I', start: 0.5, end: 0.6, probability: 0.9, marks: ['hedge'], pause_before_s: null },
  { word: ' think', start: 0.6, end: 0.9, probability: 0.9, marks: ['hedge'], pause_before_s: null },
  { word: ' the', start: 2.6, end: 2.7, probability: 0.9, marks: [], pause_before_s: 1.6 },
  { word: ' the', start: 2.8, end: 2.9, probability: 0.9, marks: ['repeat'], pause_before_s: null },
  { word: ' bias.', start: 2.9, end: 3.3, probability: 0.9, marks: [], pause_before_s: null },
];

test('the marks drawn are the ones the server sent, word for word', () => {
  const words = markWords(sent);
  assert.deepEqual(words.map((w) => w.word), ['Um,', 'I', 'think', 'the', 'the', 'bias.']);
  assert.deepEqual(words.map((w) => w.marks), [['filler'], ['hedge'], ['hedge'], [], ['repeat'], []]);
  assert.deepEqual(words.map((w) => [w.filler, w.hedge, w.repeat]), [
    [true, false, false], [false, true, false], [false, true, false],
    [false, false, false], [false, false, true], [false, false, false]]);
  assert.deepEqual(words.map((w) => w.pauseBefore), [null, null, null, 1.6, null, null]);
});

test('words the server did not mark are drawn plain: the page has no word list', () => {
  const words = markWords([{ word: 'um', start: 0, end: 0.2 }, { word: 'maybe', start: 0.3, end: 0.5, marks: null }]);
  assert.deepEqual(words.map((w) => [w.marks, w.filler, w.hedge, w.pauseBefore]),
    [[[], false, false, null], [[], false, false, null]]);
});

test('only marks the page knows become classes', () => {
  const [w] = markWords([{ word: 'x', start: 0, end: 1, marks: ['filler', 'evil onclick', 'evidence'] }]);
  assert.deepEqual(w.marks, ['filler']);
});

test('the word being spoken at a time', () => {
  const words = markWords(sent);
  assert.equal(wordAt(words, 0.2), 0);
  assert.equal(wordAt(words, 0.7), 2);
  assert.equal(wordAt(words, 1.8), -1); // in the pause
  assert.equal(wordAt(words, 0.0), -1);
});
