import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Job, JobPhase } from '../src/api';
import {
  jobBars,
  phaseSpans,
  pushCaption,
  pushedBytes,
  shownPhase,
  spanText,
  statusLine
} from '../src/phase';

function job(fields: Partial<Job>): Job {
  return {
    id: 'j1',
    kind: 'containerize',
    notebook: 'analyses/t.ipynb',
    datasetName: 'temperature_daily',
    status: 'running',
    createdAt: '2026-12-01T11:00:00Z',
    startedAt: '2026-12-01T11:00:01Z',
    endedAt: null,
    step: null,
    phase: null,
    phases: [],
    transfers: {},
    result: null,
    error: null,
    ...fields
  };
}

function sent(phase: JobPhase, done: number, total: number) {
  return { phase, done, total };
}

test('the build bar moves until pushing starts, then is full', () => {
  assert.equal(jobBars(job({ status: 'queued' })).build, 0);
  assert.equal(jobBars(job({ phase: 'checking' })).build, null);
  assert.equal(jobBars(job({ phase: 'building' })).build, null);
  assert.equal(jobBars(job({ phase: 'pushing' })).build, 1);
  assert.equal(jobBars(job({ phase: 'building', status: 'failed' })).build, 0);
});

test('the push bar counts only the bytes pushed, not a base image pulled', () => {
  const pulling = job({ phase: 'building', transfers: { 'layer a': sent('building', 50, 100) } });
  assert.equal(jobBars(pulling).push, 0);
  assert.deepEqual(pushedBytes(pulling), { done: 0, total: 0 });
  const pushing = job({
    phase: 'pushing',
    transfers: { 'layer a': sent('building', 100, 100), 'layer b': sent('pushing', 30, 120) }
  });
  assert.equal(jobBars(pushing).push, 0.25);
  assert.equal(jobBars(pushing).pushed, 30);
  assert.equal(pushCaption(jobBars(pushing)), 'pushed 30 B of 120 B');
  assert.equal(jobBars(job({ phase: 'pushing' })).push, null); // nothing measured yet
  assert.equal(jobBars(job({ phase: 'registering' })).push, 1);
});

test('a job that succeeded is done, also one saved before phases existed', () => {
  const old = job({ status: 'succeeded', phase: null });
  assert.equal(shownPhase(old), 'done');
  assert.deepEqual([jobBars(old).build, jobBars(old).push], [1, 1]);
});

test('after success the status line says what was done, not the last step', () => {
  const done = job({
    status: 'succeeded',
    phase: 'done',
    step: 'writing t.dataset.yaml, registering dataset temperature_daily',
    result: {
      image: 'localhost:5000/analyses/t@sha256:ab',
      bytesUploaded: 2048,
      datasetName: 'temperature_daily'
    }
  });
  assert.equal(
    statusLine(done),
    'Done: pushed localhost:5000/analyses/t (2.0 KiB) and registered dataset temperature_daily'
  );
  assert.equal(statusLine(job({})), 'Starting…');
  assert.equal(statusLine(job({ phase: 'building' })), 'Building the image…');
  assert.equal(statusLine(job({ phase: 'building', step: 'Step 2/5' })), 'Step 2/5');
});

test('each phase entered, with how long it took', () => {
  const phases = [
    { phase: 'checking' as const, at: '2026-12-01T11:00:00.000Z' },
    { phase: 'building' as const, at: '2026-12-01T11:00:00.400Z' },
    { phase: 'pushing' as const, at: '2026-12-01T11:00:12.400Z' }
  ];
  const running = job({ phase: 'pushing', phases });
  const spans = phaseSpans(running, new Date('2026-12-01T11:00:13.300Z'));
  assert.deepEqual(
    spans.map(span => [span.label, spanText(span.seconds ?? 0), span.current]),
    [
      ['check', '0.4 s', false],
      ['build', '12 s', false],
      ['push', '0.9 s', true]
    ]
  );
  const done = job({
    status: 'succeeded',
    endedAt: '2026-12-01T11:00:14.000Z',
    phases: [...phases, { phase: 'done', at: '2026-12-01T11:00:13.900Z' }]
  });
  const last = phaseSpans(done).slice(-2);
  assert.deepEqual(last.map(span => [span.phase, span.seconds, span.current]), [
    ['pushing', 1.5, false],
    ['done', null, false]
  ]);
});
