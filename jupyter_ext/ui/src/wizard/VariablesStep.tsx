import * as React from 'react';
import { trans } from '../i18n';
import { DatasetType } from '../api';
import { FieldError } from './fields';
import { StepProps } from './props';
import { newRow, VariableRow } from './state';

function datasetTypes(): ReadonlyArray<readonly [DatasetType, string]> {
  return [
    ['string', trans.__('string')],
    ['double', trans.__('double')],
    ['outputFileUri', trans.__('output file URI')],
    ['datasetContentVersion', trans.__('dataset content version')]
  ];
}

export interface VariablesStepProps extends StepProps {
  loading: boolean;
  loadError: string | null;
}

export function VariablesStep(props: VariablesStepProps): JSX.Element {
  const { state, update, errors } = props;
  const setRow = (index: number, patch: Partial<VariableRow>) =>
    update({
      variables: state.variables.map((row, i) => (i === index ? { ...row, ...patch } : row))
    });
  const removeRow = (index: number) =>
    update({ variables: state.variables.filter((_, i) => i !== index) });
  const cell = (index: number, key: 'name' | 'defaultText' | 'description') => {
    const field = `variables.${index}.${key === 'defaultText' ? 'default' : key}`;
    return (
      <td>
        <input
          className={`jp-mod-styled iota-Input${errors[field] ? ' iota-mod-invalid' : ''}`}
          data-testid={`field-${field}`}
          aria-label={trans.__('%1 of variable %2', key === 'defaultText' ? 'default' : key, index + 1)}
          value={state.variables[index][key]}
          onChange={event => setRow(index, { [key]: event.target.value })}
        />
        <FieldError field={field} message={errors[field]} />
      </td>
    );
  };
  return (
    <div data-testid="iota-step-variables">
      <p className="iota-Help">
        {trans.__(
          'What a run can set. Detected from the cell tagged parameters, or else the first plain assignment of each name; edit them, or add your own.'
        )}
      </p>
      {props.loading && <div data-testid="iota-variables-loading">{trans.__('Reading the notebook…')}</div>}
      {props.loadError && (
        <div className="iota-FieldError" role="alert" data-testid="error-variables-load">
          {props.loadError}
        </div>
      )}
      <FieldError field="variables" message={errors['variables']} />
      <table className="iota-Table" data-testid="iota-variables-table">
        <thead>
          <tr>
            <th>{trans.__('Name')}</th>
            <th>{trans.__('Type')}</th>
            <th>{trans.__('Default')}</th>
            <th>{trans.__('Description')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {state.variables.map((row, index) => {
            const typeField = `variables.${index}.datasetType`;
            return (
              <tr key={index} data-testid="iota-variable-row">
                {cell(index, 'name')}
                <td>
                  <select
                    className="jp-mod-styled iota-Input"
                    data-testid={`field-${typeField}`}
                    aria-label={trans.__('type of variable %1', index + 1)}
                    value={row.datasetType}
                    onChange={event =>
                      setRow(index, { datasetType: event.target.value as DatasetType })
                    }
                  >
                    {datasetTypes().map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                  <div className="iota-Help">
                    {row.detected ? trans.__('python %1', row.type) : trans.__('added')}
                    {row.hint && row.hint !== row.datasetType ? trans.__(' · looks like %1', row.hint) : ''}
                  </div>
                  <FieldError field={typeField} message={errors[typeField]} />
                  <FieldError field={`variables.${index}`} message={errors[`variables.${index}`]} />
                </td>
                {cell(index, 'defaultText')}
                {cell(index, 'description')}
                <td>
                  <button
                    className="jp-Button jp-mod-styled jp-mod-reject"
                    data-testid={`iota-variable-remove-${index}`}
                    title={trans.__('Remove this variable')}
                    onClick={() => removeRow(index)}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {!props.loading && state.variables.length === 0 && (
        <div className="iota-Help">{trans.__('No variables: the notebook runs as it is.')}</div>
      )}
      <button
        className="jp-Button jp-mod-styled"
        data-testid="iota-variable-add"
        onClick={() => update({ variables: [...state.variables, newRow()] })}
      >
        {trans.__('Add a variable')}
      </button>
    </div>
  );
}
