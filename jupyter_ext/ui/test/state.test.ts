import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  checkStep,
  imageReference,
  initialState,
  newRow,
  packageLines,
  rememberImageChoices,
  rowFromVariable,
  stepOfField,
  STEPS,
  toCreateJob,
  withoutErrorsOf,
  WizardState
} from '../src/wizard/state';

/** The browser's localStorage, as much of it as the wizard uses. */
class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

beforeEach(() => {
  (globalThis as { localStorage?: unknown }).localStorage = new MemoryStorage();
});

function filled(patch: Partial<WizardState> = {}): WizardState {
  return {
    ...initialState('analyses/temperature daily.ipynb'),
    registry: 'localhost:5000/',
    ...patch
  };
}

test('the name and repository come from the notebook file name', () => {
  const state = initialState('analyses/temperature daily.ipynb');
  assert.equal(state.name, 'temperature_daily');
  assert.equal(state.repositoryName, 'temperature-daily');
  assert.equal(state.listing, null);
  assert.deepEqual(checkStep(0, state), {});
});

test('the registry and backend chosen last time are remembered', () => {
  rememberImageChoices(filled({ registry: 'localhost:5000', backend: 'oci' }));
  const state = initialState('x.ipynb');
  assert.equal(state.registry, 'localhost:5000');
  assert.equal(state.backend, 'oci');
});

test('the image reference joins registry, repository and tag', () => {
  assert.equal(imageReference(filled({ repositoryName: 'analyses/t', tag: 'v1' })), 'localhost:5000/analyses/t:v1');
  assert.equal(imageReference(filled({ repositoryName: 'analyses/t', tag: '' })), 'localhost:5000/analyses/t');
});

test('step 1 refuses a bad name before the server sees it', () => {
  assert.deepEqual(Object.keys(checkStep(0, filled({ name: 'bad name!' }))), ['name']);
});

test('the image step checks the repository grammar itself', () => {
  const errors = checkStep(2, filled({ repositoryName: 'Analyses/Temperature' }));
  assert.match(errors['image.repository'], /lower case: analyses\/temperature/);
  assert.deepEqual(checkStep(2, filled({ repositoryName: 'analyses/temperature' })), {});
  assert.ok(checkStep(2, filled({ tag: '-bad' }))['image.tag']);
  assert.ok(checkStep(2, filled({ registry: ' ' }))['registry']);
});

test('variables need a name, and a double a number', () => {
  const state = filled({ variables: [{ ...newRow(), datasetType: 'double', defaultText: 'warm' }] });
  assert.deepEqual(Object.keys(checkStep(1, state)).sort(), ['variables.0.default', 'variables.0.name']);
});

test('the trigger step checks the schedule and the volume size', () => {
  assert.ok(checkStep(3, filled({ schedule: '' }))['trigger.schedule']);
  assert.deepEqual(checkStep(3, filled({ triggerKind: 'none', schedule: '' })), {});
  assert.ok(checkStep(3, filled({ volumeSizeInGB: '51' }))['resourceConfiguration.volumeSizeInGB']);
  assert.ok(checkStep(3, filled({ triggerKind: 'dataset' }))['trigger.dataset']);
});

test('the request carries the defaults as edited text, the trigger and the edited packages', () => {
  const threshold = rowFromVariable({
    name: 'threshold',
    type: 'float',
    datasetType: 'double',
    default: 27.5,
    defaultText: '27.5',
    description: 'alert above this',
    hint: null
  });
  const sites = rowFromVariable({
    name: 'sites',
    type: 'list',
    datasetType: 'string',
    default: ['north'],
    defaultText: '["north"]',
    description: '',
    hint: null
  });
  assert.equal(sites.defaultText, '["north"]');
  const request = toCreateJob(
    filled({
      variables: [{ ...threshold, defaultText: '30' }, sites, { ...newRow(), name: 'x', datasetType: 'double' }],
      repositoryName: 'analyses/t',
      tag: 'v1',
      packages: [
        { distribution: 'pandas', version: '3.1.1', modules: ['pandas'], requiredBy: [] },
        { distribution: 'tabulate', version: '', modules: [], requiredBy: [] }
      ],
      packagesEdited: true
    })
  );
  assert.deepEqual(
    request.variables.map(v => [v.name, v.type, v.datasetType, v.defaultText]),
    [
      ['threshold', 'float', 'double', '30'],
      ['sites', 'list', 'string', '["north"]'],
      ['x', 'str', 'double', '']
    ]
  );
  assert.ok(request.variables.every(v => !('default' in v)));
  assert.equal(request.image.repository, 'localhost:5000/analyses/t:v1');
  assert.deepEqual(request.image.packages, ['pandas==3.1.1', 'tabulate']);
  assert.deepEqual(request.trigger, { schedule: 'cron(0 12 * * ? *)' });
  assert.deepEqual(request.resourceConfiguration, { computeType: 'ACU_1', volumeSizeInGB: 2 });
  assert.equal(request.definitionPath, null);
  assert.equal(toCreateJob(filled()).image.packages, null);
  assert.equal(toCreateJob(filled({ triggerKind: 'none' })).trigger, null);
});

test('package rows become requirement lines, blank rows dropped', () => {
  assert.deepEqual(
    packageLines([
      { distribution: ' numpy ', version: ' 2.4.6 ', modules: [], requiredBy: [] },
      { distribution: '  ', version: '1', modules: [], requiredBy: [] }
    ]),
    ['numpy==2.4.6']
  );
});

test('a server error lands on the step holding its field', () => {
  const index = (id: string) => STEPS.findIndex(step => step.id === id);
  assert.equal(stepOfField('name'), index('name'));
  assert.equal(stepOfField('variables.2.default'), index('variables'));
  assert.equal(stepOfField('image.repository'), index('image'));
  assert.equal(stepOfField('image.requirements'), index('image'));
  assert.equal(stepOfField('registry'), index('image'));
  assert.equal(stepOfField('trigger.schedule'), index('trigger'));
  assert.equal(stepOfField(null), STEPS.length - 1);
  assert.equal(stepOfField('somewhere.else'), STEPS.length - 1);
});

test('editing a field clears its error, under the request field it is checked as', () => {
  const errors = { 'image.repository': 'lower case', 'image.tag': 'bad', name: 'missing' };
  assert.deepEqual(withoutErrorsOf(errors, ['repositoryName']), { 'image.tag': 'bad', name: 'missing' });
  assert.deepEqual(withoutErrorsOf(errors, ['name', 'tag']), { 'image.repository': 'lower case' });
  assert.deepEqual(withoutErrorsOf(errors, ['listing']), errors);
});
