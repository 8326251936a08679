import * as React from 'react';
import { ApiError, Repository } from '../api';
import { FieldError, SelectField, TextField } from './fields';
import { PackagesField } from './PackagesField';
import { StepProps } from './props';
import { imageReference } from './state';

const ECR_HOST = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

interface Listing {
  registry: string;
  repositories: Repository[];
  nextToken: string | null;
}

/** The repository part of a listed repository's URI, relative to the registry. */
function repositoryName(registry: string, repository: Repository): string {
  const prefix = `${registry.replace(/\/+$/, '')}/`;
  return repository.uri.startsWith(prefix) ? repository.uri.slice(prefix.length) : repository.name;
}

export function ImageStep({ api, state, update, errors }: StepProps): JSX.Element {
  const [listing, setListing] = React.useState<Listing | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [localErrors, setLocalErrors] = React.useState<Record<string, string>>({});
  const [created, setCreated] = React.useState<string | null>(null);
  const registry = state.registry.trim();
  const isEcr = ECR_HOST.test(registry);

  const fail = (error: unknown, field: string) => {
    const message = error instanceof Error ? error.message : String(error);
    const target = error instanceof ApiError && error.field === 'name' ? 'image.repository' : field;
    setLocalErrors({ [target]: message });
  };

  const list = async (more: boolean) => {
    setBusy(true);
    setLocalErrors({});
    try {
      const page = await api.repositories(registry, more ? listing?.nextToken ?? null : null);
      setListing({
        registry,
        repositories: more && listing ? [...listing.repositories, ...page.repositories] : page.repositories,
        nextToken: page.nextToken
      });
    } catch (error) {
      fail(error, 'registry');
    } finally {
      setBusy(false);
    }
  };

  const create = async () => {
    setBusy(true);
    setLocalErrors({});
    try {
      const repository = await api.createRepository(registry, state.repositoryName.trim());
      setCreated(repository.uri);
      update({ repositoryName: repositoryName(registry, repository) });
    } catch (error) {
      fail(error, 'image.repository');
    } finally {
      setBusy(false);
    }
  };

  const shown = { ...errors, ...localErrors };
  return (
    <div data-testid="iota-step-image">
      <TextField
        field="registry"
        label="Registry"
        value={state.registry}
        placeholder="123456789012.dkr.ecr.eu-west-1.amazonaws.com or localhost:5000"
        onChange={value => {
          update({ registry: value });
          setListing(null);
        }}
        error={shown['registry']}
        help="Amazon ECR, or any OCI registry."
      />
      <div className="iota-Row">
        <button
          className="jp-Button jp-mod-styled"
          data-testid="iota-repositories-list"
          disabled={!registry || busy}
          onClick={() => void list(false)}
        >
          List repositories
        </button>
        {busy && <span className="iota-Help">…</span>}
      </div>
      {listing && listing.registry === registry && (
        <div className="iota-Repositories" data-testid="iota-repositories">
          {listing.repositories.length === 0 && <div className="iota-Help">No repositories yet.</div>}
          <ul>
            {listing.repositories.map(repository => {
              const name = repositoryName(registry, repository);
              return (
                <li key={repository.uri}>
                  <label>
                    <input
                      type="radio"
                      name="iota-repository"
                      data-testid={`iota-repository-${name}`}
                      checked={state.repositoryName === name}
                      onChange={() => update({ repositoryName: name })}
                    />
                    {name}
                  </label>
                </li>
              );
            })}
          </ul>
          {listing.nextToken && (
            <button
              className="jp-Button jp-mod-styled"
              data-testid="iota-repositories-more"
              disabled={busy}
              onClick={() => void list(true)}
            >
              More
            </button>
          )}
        </div>
      )}
      <div className="iota-Row">
        <TextField
          field="image.repository"
          label="Repository"
          value={state.repositoryName}
          placeholder="analyses/temperature"
          onChange={repositoryName => update({ repositoryName })}
          error={shown['image.repository']}
        />
        <TextField field="image.tag" label="Tag" value={state.tag} onChange={tag => update({ tag })} />
      </div>
      <div className="iota-Row">
        <label className="iota-Check">
          <input
            type="checkbox"
            data-testid="field-image.createRepository"
            checked={state.createRepository}
            onChange={event => update({ createRepository: event.target.checked })}
          />
          Create the repository when it is missing
        </label>
        {isEcr && (
          <button
            className="jp-Button jp-mod-styled"
            data-testid="iota-repository-create"
            disabled={busy || !state.repositoryName.trim()}
            onClick={() => void create()}
          >
            Create it now
          </button>
        )}
      </div>
      {created && <div className="iota-Help" data-testid="iota-repository-created">Created {created}</div>}
      <div className="iota-Help" data-testid="iota-image-reference">
        Pushes <code>{imageReference(state) || '…'}</code>
      </div>
      <TextField
        field="image.base"
        label="Base image (optional)"
        value={state.base}
        placeholder="default: $IOTA_BASE_IMAGE, or iota-container/base beside the target"
        onChange={base => update({ base })}
        error={shown['image.base']}
      />
      <PackagesField api={api} state={state} update={update} errors={shown} />
      <TextField
        field="image.requirements"
        label="Requirements file instead (optional, relative to the server root)"
        value={state.requirements}
        placeholder="analyses/requirements.txt"
        onChange={requirements => update({ requirements })}
        error={shown['image.requirements']}
      />
      <SelectField
        field="image.backend"
        label="Build backend"
        value={state.backend}
        options={[
          ['', 'default (docker when an engine answers, else oci)'],
          ['oci', 'oci: append a layer in the registry, no engine'],
          ['docker', 'docker: build and push through the Docker engine']
        ]}
        onChange={backend => update({ backend })}
        error={shown['image.backend']}
      />
      <FieldError field="image" message={shown['image']} />
    </div>
  );
}
