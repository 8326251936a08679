import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, duration, relativeTime, scheduleTime } from '../src/format';

const NOW = new Date('2026-12-01T11:00:00Z');

test('recent times read relative to now', () => {
  assert.equal(relativeTime('2026-12-01T10:59:50Z', NOW), 'just now');
  assert.equal(relativeTime('2026-12-01T10:55:00Z', NOW), '5 min ago');
  assert.equal(relativeTime('2026-12-01T08:00:00Z', NOW), '3 h ago');
  assert.equal(relativeTime(null, NOW), '');
  assert.equal(relativeTime('not a time', NOW), 'not a time');
  assert.doesNotMatch(relativeTime('2026-11-01T08:00:00Z', NOW), /ago/);
});

test('durations in the largest two units', () => {
  assert.equal(duration('2026-12-01T10:59:18Z', '2026-12-01T11:00:00Z'), '42 s');
  assert.equal(duration('2026-12-01T10:56:55Z', '2026-12-01T11:00:00Z'), '3 min 5 s');
  assert.equal(duration('2026-12-01T08:50:00Z', '2026-12-01T11:00:00Z'), '2 h 10 min');
  assert.equal(duration('2026-12-01T10:59:00Z', null, NOW), '1 min 0 s');
  assert.equal(duration(null, null, NOW), '');
});

test('a schedule preview reads in UTC, in one format', () => {
  const text = scheduleTime('2026-12-02T12:00:00Z');
  assert.match(text, /12:00:00/);
  assert.match(text, /2026/);
  assert.match(text, / UTC$/);
  assert.doesNotMatch(text, /GMT|here/);
});

test('sizes in binary units', () => {
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(5 * 1024 * 1024), '5.0 MiB');
});
