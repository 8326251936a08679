import * as React from 'react';
import { MAX_DESCRIPTION, MAX_NAME } from '../validate';
import { TextField } from './fields';
import { StepProps } from './props';

export function NameStep({ state, update, errors }: StepProps): JSX.Element {
  return (
    <div data-testid="iota-step-name">
      <p className="iota-Help">
        Containerize <code>{state.notebook}</code> as a container dataset.
      </p>
      <TextField
        field="name"
        label="Name"
        value={state.name}
        onChange={name => update({ name })}
        error={errors['name']}
        help={`At most ${MAX_NAME} characters: a letter or digit, then letters, digits, _ or -. The dataset is named after it (- becomes _).`}
      />
      <TextField
        field="description"
        label="Description"
        value={state.description}
        multiline
        onChange={description => update({ description })}
        error={errors['description']}
        help={`${state.description.length} / ${MAX_DESCRIPTION} characters`}
      />
      {errors['notebook'] && (
        <div className="iota-FieldError" role="alert" data-testid="error-notebook">
          {errors['notebook']}
        </div>
      )}
    </div>
  );
}
