import * as React from 'react';
import { FieldError, TextField } from './fields';
import { StepProps } from './props';
import { imageReference } from './state';

export function ReviewStep({ state, update, errors }: StepProps): JSX.Element {
  const folder = state.notebook.includes('/') ? state.notebook.replace(/\/[^/]*$/, '/') : '';
  const trigger =
    state.triggerKind === 'schedule'
      ? `schedule ${state.schedule}`
      : state.triggerKind === 'dataset'
        ? `new content of ${state.triggeringDataset}`
        : 'by hand only';
  const rows: Array<[string, React.ReactNode]> = [
    ['Notebook', state.notebook],
    ['Name', state.name],
    ['Dataset', state.name.replace(/-/g, '_')],
    ['Description', state.description || '—'],
    [
      'Variables',
      state.variables.length
        ? state.variables.map(v => `${v.name} (${v.datasetType}) = ${v.defaultText}`).join(', ')
        : 'none'
    ],
    ['Image', imageReference(state)],
    ['Backend', state.backend || 'default'],
    ['Base image', state.base || 'default'],
    ['Requirements', state.requirements || 'none'],
    [
      'Packages',
      state.requirements
        ? 'from the requirements file'
        : (state.packages ?? []).map(row => `${row.distribution}${row.version ? '==' + row.version : ''}`).join(', ') ||
          'none beyond the base'
    ],
    ['Trigger', trigger],
    ['Resources', `${state.computeType}, ${state.volumeSizeInGB} GB`]
  ];
  return (
    <div data-testid="iota-step-review">
      <table className="iota-Table iota-Review" data-testid="iota-review">
        <tbody>
          {rows.map(([label, value]) => (
            <tr key={label}>
              <th>{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <TextField
        field="definitionPath"
        label="Write the dataset definition to"
        value={state.definitionPath}
        placeholder={`${folder}${state.name}.dataset.yaml`}
        onChange={definitionPath => update({ definitionPath })}
        error={errors['definitionPath']}
      />
      <FieldError field="overwrite" message={errors['overwrite']} />
      <FieldError field="request" message={errors['']} />
    </div>
  );
}
