import * as React from 'react';
import { trans } from '../i18n';
import { FieldError, TextField } from './fields';
import { StepProps } from './props';
import { imageReference } from './state';

export function ReviewStep({ state, update, errors }: StepProps): JSX.Element {
  const folder = state.notebook.includes('/') ? state.notebook.replace(/\/[^/]*$/, '/') : '';
  const trigger =
    state.triggerKind === 'schedule'
      ? trans.__('schedule %1', state.schedule)
      : state.triggerKind === 'dataset'
        ? trans.__('new content of %1', state.triggeringDataset)
        : trans.__('by hand only');
  const rows: Array<[string, React.ReactNode]> = [
    [trans.__('Notebook'), state.notebook],
    [trans.__('Name'), state.name],
    [trans.__('Dataset'), state.name.replace(/-/g, '_')],
    [trans.__('Description'), state.description || '—'],
    [
      trans.__('Variables'),
      state.variables.length
        ? state.variables.map(v => `${v.name} (${v.datasetType}) = ${v.defaultText}`).join(', ')
        : trans.__('none')
    ],
    [trans.__('Image'), imageReference(state)],
    [trans.__('Backend'), state.backend || trans.__('default')],
    [trans.__('Base image'), state.base || trans.__('default')],
    [trans.__('Requirements'), state.requirements || trans.__('none')],
    [
      trans.__('Packages'),
      state.requirements
        ? trans.__('from the requirements file')
        : (state.packages ?? []).map(row => `${row.distribution}${row.version ? '==' + row.version : ''}`).join(', ') ||
          trans.__('none beyond the base')
    ],
    [trans.__('Trigger'), trigger],
    [trans.__('Resources'), trans.__('%1, %2 GB', state.computeType, state.volumeSizeInGB)]
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
        label={trans.__('Write the dataset definition to')}
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
