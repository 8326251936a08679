import * as React from 'react';
import { trans } from '../i18n';
import { MAX_DESCRIPTION, MAX_NAME } from '../validate';
import { TextField } from './fields';
import { StepProps } from './props';

export function NameStep({ state, update, errors }: StepProps): JSX.Element {
  return (
    <div data-testid="iota-step-name">
      <p className="iota-Help">
        {trans.__(
          'The notebook becomes an image and a container dataset that runs it, on a schedule or when another dataset changes.'
        )}
      </p>
      <TextField
        field="name"
        label={trans.__('Name')}
        value={state.name}
        onChange={name => update({ name })}
        error={errors['name']}
        help={trans.__(
          'At most %1 characters: a letter or digit, then letters, digits, _ or -. The dataset is named after it (- becomes _).',
          MAX_NAME
        )}
      />
      <TextField
        field="description"
        label={trans.__('Description')}
        value={state.description}
        multiline
        onChange={description => update({ description })}
        error={errors['description']}
        help={trans.__('%1 / %2 characters', state.description.length, MAX_DESCRIPTION)}
      />
      {errors['notebook'] && (
        <div className="iota-FieldError" role="alert" data-testid="error-notebook">
          {errors['notebook']}
        </div>
      )}
    </div>
  );
}
