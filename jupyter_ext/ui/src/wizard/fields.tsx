/** Labelled inputs that show a field's error message beside them. */
import * as React from 'react';

export function FieldError(props: { field: string; message?: string }): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div className="iota-FieldError" role="alert" data-testid={`error-${props.field}`}>
      {props.message}
    </div>
  );
}

interface TextFieldProps {
  field: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  placeholder?: string;
  help?: string;
  multiline?: boolean;
  type?: string;
  maxLength?: number;
}

export function TextField(props: TextFieldProps): JSX.Element {
  const id = `iota-field-${props.field.replace(/\./g, '-')}`;
  const common = {
    id,
    'data-testid': `field-${props.field}`,
    className: `jp-mod-styled iota-Input${props.error ? ' iota-mod-invalid' : ''}`,
    value: props.value,
    placeholder: props.placeholder,
    'aria-invalid': Boolean(props.error),
    onChange: (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      props.onChange(event.target.value)
  };
  return (
    <div className="iota-Field">
      <label htmlFor={id}>{props.label}</label>
      {props.multiline ? <textarea rows={3} {...common} /> : <input type={props.type ?? 'text'} {...common} />}
      {props.help && <div className="iota-Help">{props.help}</div>}
      <FieldError field={props.field} message={props.error} />
    </div>
  );
}

interface SelectFieldProps<T extends string> {
  field: string;
  label: string;
  value: T;
  options: ReadonlyArray<readonly [T, string]>;
  onChange: (value: T) => void;
  error?: string;
}

export function SelectField<T extends string>(props: SelectFieldProps<T>): JSX.Element {
  const id = `iota-field-${props.field.replace(/\./g, '-')}`;
  return (
    <div className="iota-Field">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        data-testid={`field-${props.field}`}
        className="jp-mod-styled iota-Input"
        value={props.value}
        onChange={event => props.onChange(event.target.value as T)}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <FieldError field={props.field} message={props.error} />
    </div>
  );
}
