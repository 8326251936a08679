/** The wizard's editable state and its translation into a CreateJob request. */
import { CreateJob, EditedVariable, Pin, Repository, Variable } from '../api';
import { trans } from '../i18n';
import { checkDescription, checkName, checkRepository, checkTag, FieldErrors } from '../validate';

/** A variable row as edited: the default is text, as the server gave it and reads it back. */
export interface VariableRow extends EditedVariable {
  detected: boolean;
}

/** A package of the image as edited: detected ones carry the modules they provide. */
export interface PackageRow {
  distribution: string;
  version: string;
  modules: string[];
  requiredBy: string[];
}

export type TriggerKind = 'none' | 'schedule' | 'dataset';

/** Repositories listed from a registry: kept in the wizard's state, so going back to the
 * image step (after a refusal, say) still shows them. */
export interface RepositoryListing {
  registry: string;
  repositories: Repository[];
  nextToken: string | null;
}

export interface WizardState {
  notebook: string;
  name: string;
  description: string;
  variables: VariableRow[];
  registry: string;
  listing: RepositoryListing | null;
  repositoryName: string;
  tag: string;
  base: string;
  requirements: string;
  /** Detected packages (null until the server answered), and whether they were edited. */
  packages: PackageRow[] | null;
  packagesEdited: boolean;
  packageProblems: string[];
  backend: '' | 'oci' | 'docker';
  createRepository: boolean;
  triggerKind: TriggerKind;
  schedule: string;
  triggeringDataset: string;
  computeType: 'ACU_1' | 'ACU_2';
  volumeSizeInGB: string;
  definitionPath: string;
}

export const STEPS = [
  { id: 'name', title: 'Name', fields: ['name', 'description', 'notebook'] },
  { id: 'variables', title: 'Variables', fields: ['variables'] },
  { id: 'image', title: 'Image', fields: ['image', 'registry'] },
  { id: 'trigger', title: 'Trigger', fields: ['trigger', 'resourceConfiguration'] },
  { id: 'review', title: 'Review', fields: ['definitionPath', 'overwrite'] }
] as const;

const REMEMBERED = 'iota-container:last-image';

export function initialState(notebook: string): WizardState {
  const stem = notebook.split('/').pop()!.replace(/\.ipynb$/, '');
  const name = stem.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  const remembered = JSON.parse(localStorage.getItem(REMEMBERED) ?? '{}') as {
    registry?: string;
    backend?: WizardState['backend'];
  };
  return {
    notebook,
    name: name.slice(0, 128),
    description: '',
    variables: [],
    registry: remembered.registry ?? '',
    listing: null,
    repositoryName: name.toLowerCase().replace(/_/g, '-'),
    tag: 'latest',
    base: '',
    requirements: '',
    packages: null,
    packagesEdited: false,
    packageProblems: [],
    backend: remembered.backend ?? '',
    createRepository: true,
    triggerKind: 'schedule',
    schedule: 'cron(0 12 * * ? *)',
    triggeringDataset: '',
    computeType: 'ACU_1',
    volumeSizeInGB: '2',
    definitionPath: ''
  };
}

export function rememberImageChoices(state: WizardState): void {
  localStorage.setItem(
    REMEMBERED,
    JSON.stringify({ registry: state.registry, backend: state.backend })
  );
}

export function rowFromVariable(variable: Variable): VariableRow {
  return {
    name: variable.name,
    type: variable.type,
    datasetType: variable.datasetType,
    defaultText: variable.defaultText,
    description: variable.description,
    hint: variable.hint ?? null,
    detected: true
  };
}

export function newRow(): VariableRow {
  return {
    name: '',
    type: 'str',
    datasetType: 'string',
    defaultText: '',
    description: '',
    hint: null,
    detected: false
  };
}

/** `registry/repository:tag`, the image the job pushes. */
export function imageReference(state: WizardState): string {
  const registry = state.registry.trim().replace(/\/+$/, '');
  const repository = state.repositoryName.trim();
  const tag = state.tag.trim();
  const path = [registry, repository].filter(Boolean).join('/');
  return tag && path ? `${path}:${tag}` : path;
}

/** Checks done in the browser, step by step; the server repeats them all. */
export function checkStep(step: number, state: WizardState): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string | null) => {
    if (message) {
      errors[field] = message;
    }
  };
  if (step === 0) {
    add('name', checkName(state.name));
    add('description', checkDescription(state.description));
  } else if (step === 1) {
    state.variables.forEach((row, index) => {
      if (!row.name.trim()) {
        add(`variables.${index}.name`, trans.__('the variable needs a name'));
      }
      if (row.datasetType === 'double' && Number.isNaN(Number(row.defaultText))) {
        add(`variables.${index}.default`, trans.__('%1 is not a number', JSON.stringify(row.defaultText)));
      }
    });
  } else if (step === 2) {
    if (!state.registry.trim()) {
      add(
        'registry',
        trans.__('registry is missing: e.g. %1 or %2', '123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'localhost:5000')
      );
    }
    add('image.repository', checkRepository(state.repositoryName.trim()));
    add('image.tag', checkTag(state.tag.trim()));
  } else if (step === 3) {
    if (state.triggerKind === 'schedule' && !state.schedule.trim()) {
      add(
        'trigger.schedule',
        trans.__('schedule expression is missing: e.g. %1 or %2', 'cron(0 12 * * ? *)', 'rate(1 day)')
      );
    }
    if (state.triggerKind === 'dataset' && !state.triggeringDataset.trim()) {
      add('trigger.dataset', trans.__('name the dataset whose new content triggers this one'));
    }
    const size = Number(state.volumeSizeInGB);
    if (!Number.isInteger(size) || size < 1 || size > 50) {
      add('resourceConfiguration.volumeSizeInGB', trans.__('volume size must be a whole number from 1 to 50 GB'));
    }
  }
  return errors;
}

export function toCreateJob(state: WizardState): CreateJob {
  return {
    notebook: state.notebook,
    name: state.name.trim(),
    description: state.description,
    // The server reads each default's text by the variable's type: the wizard keeps text.
    variables: state.variables.map(row => ({
      name: row.name.trim(),
      type: row.type,
      datasetType: row.datasetType,
      defaultText: row.defaultText,
      description: row.description,
      hint: row.hint
    })),
    image: {
      repository: imageReference(state),
      base: state.base.trim() || null,
      requirements: state.requirements.trim() || null,
      packages: state.packagesEdited ? packageLines(state.packages ?? []) : null,
      backend: state.backend || null,
      createRepository: state.createRepository
    },
    trigger:
      state.triggerKind === 'schedule'
        ? { schedule: state.schedule.trim() }
        : state.triggerKind === 'dataset'
          ? { dataset: state.triggeringDataset.trim() }
          : null,
    resourceConfiguration: {
      computeType: state.computeType,
      volumeSizeInGB: Number(state.volumeSizeInGB)
    },
    definitionPath: state.definitionPath.trim() || null
  };
}

/** Detected pins as rows of the packages table. */
export function packageRows(pins: Pin[]): PackageRow[] {
  return pins.map(pin => ({
    distribution: pin.distribution,
    version: pin.version,
    modules: pin.modules,
    requiredBy: pin.required_by ?? []
  }));
}

/** Rows as requirement lines: `name==version`, or the name alone when no version is set. */
export function packageLines(rows: PackageRow[]): string[] {
  return rows
    .filter(row => row.distribution.trim())
    .map(row =>
      row.version.trim() ? `${row.distribution.trim()}==${row.version.trim()}` : row.distribution.trim()
    );
}

/** The wizard step whose fields hold `field` (the review step when none does). */
export function stepOfField(field: string | null): number {
  if (!field) {
    return STEPS.length - 1;
  }
  const index = STEPS.findIndex(step =>
    step.fields.some(prefix => field === prefix || field.startsWith(`${prefix}.`))
  );
  return index < 0 ? STEPS.length - 1 : index;
}

/** The request field each edited state key is checked as (the others have their own name). */
const FIELD_OF_KEY: Partial<Record<keyof WizardState, string>> = {
  repositoryName: 'image.repository',
  tag: 'image.tag',
  base: 'image.base',
  requirements: 'image.requirements',
  backend: 'image.backend',
  schedule: 'trigger.schedule',
  triggeringDataset: 'trigger.dataset',
  computeType: 'resourceConfiguration.computeType',
  volumeSizeInGB: 'resourceConfiguration.volumeSizeInGB'
};

/** The errors left once the fields behind `keys` were edited: an edit clears its error. */
export function withoutErrorsOf(errors: FieldErrors, keys: string[]): FieldErrors {
  const edited = new Set(keys.flatMap(key => [key, FIELD_OF_KEY[key as keyof WizardState] ?? key]));
  return Object.fromEntries(Object.entries(errors).filter(([field]) => !edited.has(field)));
}
