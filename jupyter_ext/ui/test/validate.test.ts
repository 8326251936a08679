import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDescription, checkName, checkRepository, checkTag, MAX_DESCRIPTION, MAX_NAME } from '../src/validate';

test('a name of letters, digits, _ and - passes', () => {
  assert.equal(checkName('temperature-daily_2'), null);
  assert.equal(checkName('a'.repeat(MAX_NAME)), null);
});

test('a name error says what in this name is wrong, not the rule again', () => {
  assert.equal(checkName(''), 'name is missing: fill it in');
  assert.equal(checkName('temperature daily!'), '" ", "!" cannot be in a name');
  assert.equal(checkName('_daily'), '"_" cannot start a name');
  assert.equal(checkName('a'.repeat(MAX_NAME + 3)), `name is ${MAX_NAME + 3} characters long: remove 3`);
});

test('a description has a length limit', () => {
  assert.equal(checkDescription('x'.repeat(MAX_DESCRIPTION)), null);
  assert.match(checkDescription('x'.repeat(MAX_DESCRIPTION + 1))!, /remove 1$/);
});

test('repositories follow the reference grammar: lower case, components joined by /', () => {
  assert.equal(checkRepository('analyses/temperature'), null);
  assert.equal(checkRepository('a.b/c__d/e--f'), null);
  assert.equal(
    checkRepository('Analyses/Temperature'),
    'repository names are lower case: analyses/temperature, not Analyses/Temperature'
  );
  assert.match(checkRepository('analyses//temperature')!, /empty part/);
  assert.match(checkRepository('analyses/-temp')!, /"-temp"/);
  assert.match(checkRepository('')!, /missing/);
});

test('tags: up to 128 word characters, dots and dashes, not starting with . or -', () => {
  assert.equal(checkTag('v1.2-rc_3'), null);
  assert.equal(checkTag(''), null);
  assert.notEqual(checkTag('-v1'), null);
  assert.notEqual(checkTag('x'.repeat(129)), null);
});
