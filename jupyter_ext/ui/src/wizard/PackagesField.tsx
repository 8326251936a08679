/** The image's packages: what the notebook's imports need in its kernel, editable. */
import * as React from 'react';
import { FieldError } from './fields';
import { StepProps } from './props';
import { PackageRow, packageRows } from './state';

export function PackagesField({ api, state, update, errors }: StepProps): JSX.Element {
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [adding, setAdding] = React.useState({ distribution: '', version: '' });
  const rows = state.packages;

  React.useEffect(() => {
    if (rows !== null) {
      return;
    }
    let current = true;
    api.requirements(state.notebook).then(
      found => {
        if (current) {
          update({ packages: packageRows(found.distributions), packageProblems: found.problems });
        }
      },
      (error: Error) => current && setLoadError(error.message)
    );
    return () => {
      current = false;
    };
  }, [api, state.notebook, rows === null]);

  const edit = (next: PackageRow[]) => update({ packages: next, packagesEdited: true });
  const setVersion = (index: number, version: string) =>
    edit((rows ?? []).map((row, i) => (i === index ? { ...row, version } : row)));
  const remove = (index: number) => edit((rows ?? []).filter((_, i) => i !== index));
  const add = () => {
    const distribution = adding.distribution.trim();
    if (!distribution) {
      return;
    }
    const row = { distribution, version: adding.version.trim(), modules: [], requiredBy: [] };
    edit([...(rows ?? []).filter(r => r.distribution !== distribution), row]);
    setAdding({ distribution: '', version: '' });
  };

  const problems = errors['image.packages'] ? [] : state.packageProblems;
  return (
    <div className="iota-Field" data-testid="iota-packages">
      <label>Packages the image adds to the base</label>
      {rows === null && !loadError && <div className="iota-Help">Reading the notebook's imports…</div>}
      {loadError && <FieldError field="image.packages.load" message={loadError} />}
      {rows !== null && (
        <table className="iota-Packages">
          <thead>
            <tr>
              <th>Distribution</th>
              <th>Version</th>
              <th>Imported as</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={4} className="iota-Help">
                  None: the notebook imports only what the base image has.
                </td>
              </tr>
            )}
            {rows.map((row, index) => (
              <tr key={row.distribution} data-testid={`iota-package-${row.distribution}`}>
                <td>{row.distribution}</td>
                <td>
                  <input
                    className="jp-mod-styled iota-Input"
                    aria-label={`version of ${row.distribution}`}
                    data-testid={`iota-package-version-${row.distribution}`}
                    value={row.version}
                    onChange={event => setVersion(index, event.target.value)}
                  />
                  <FieldError field={`image.packages.${index}`} message={errors[`image.packages.${index}`]} />
                </td>
                <td className="iota-Help">
                  {row.modules.join(', ') || (row.requiredBy.length ? `for ${row.requiredBy.join(', ')}` : '')}
                </td>
                <td>
                  <button
                    className="jp-Button jp-mod-styled"
                    data-testid={`iota-package-remove-${row.distribution}`}
                    onClick={() => remove(index)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
            <tr>
              <td>
                <input
                  className="jp-mod-styled iota-Input"
                  placeholder="distribution"
                  data-testid="iota-package-add-name"
                  value={adding.distribution}
                  onChange={event => setAdding({ ...adding, distribution: event.target.value })}
                />
              </td>
              <td>
                <input
                  className="jp-mod-styled iota-Input"
                  placeholder="version (optional)"
                  data-testid="iota-package-add-version"
                  value={adding.version}
                  onChange={event => setAdding({ ...adding, version: event.target.value })}
                />
              </td>
              <td />
              <td>
                <button
                  className="jp-Button jp-mod-styled"
                  data-testid="iota-package-add"
                  disabled={!adding.distribution.trim()}
                  onClick={add}
                >
                  Add
                </button>
              </td>
            </tr>
          </tbody>
        </table>
      )}
      {problems.map(problem => (
        <FieldError key={problem} field="image.packages.detected" message={problem} />
      ))}
      <FieldError field="image.packages" message={errors['image.packages']} />
    </div>
  );
}
