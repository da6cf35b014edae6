// Unit tests of the evidence highlighting helpers: `node --test client/tests/`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { evidenceRanges, evidenceWords } from '../render.js';

const points = [
  { id: 'bias', text: 'Bias ...', covered: true, evidence: 'Bias is when the model is too simple' },
  { id: 'variance', text: 'Variance ...', covered: true, evidence: 'Variance is when it overfits.' },
  { id: 'noise', text: 'Noise ...', covered: false, evidence: null },
];

test('evidence ranges are the quoted slices, in order, covered points only', () => {
  const text = 'Bias is when the model is too simple and underfits. Variance is when it overfits.';
  const ranges = evidenceRanges(text, points);
  assert.deepEqual(ranges.map((r) => [r.id, text.slice(r.start, r.end)]), [
    ['bias', 'Bias is when the model is too simple'],
    ['variance', 'Variance is when it overfits.'],
  ]);
});

test('a quote that is not in the text marks nothing', () => {
  assert.deepEqual(evidenceRanges('something else entirely', points), []);
});

test('timed words of the evidence are marked with their key point', () => {
  const words = 'Bias is when the model is too simple, and underfits.'.split(' ').map((word) => ({ word }));
  const marks = evidenceWords(words, points);
  assert.deepEqual(marks.map((m) => (m ? m.id : null)),
    ['bias', 'bias', 'bias', 'bias', 'bias', 'bias', 'bias', 'bias', null, null]);
});
