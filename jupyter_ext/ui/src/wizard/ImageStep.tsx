import * as React from 'react';
import { ApiError, Repository } from '../api';
import { trans } from '../i18n';
import { FieldError, SelectField, TextField } from './fields';
import { PackagesField } from './PackagesField';
import { StepProps } from './props';
import { imageReference, RepositoryListing } from './state';

const ECR_HOST = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** The repository part of a listed repository's URI, relative to the registry. */
function repositoryName(registry: string, repository: Repository): string {
  const prefix = `${registry.replace(/\/+$/, '')}/`;
  return repository.uri.startsWith(prefix) ? repository.uri.slice(prefix.length) : repository.name;
}

export function ImageStep({ api, state, update, errors }: StepProps): JSX.Element {
  const listing: RepositoryListing | null = state.listing;
  const setListing = (next: RepositoryListing | null) => update({ listing: next });
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
        label={trans.__('Registry')}
        value={state.registry}
        placeholder={trans.__('%1 or %2', '123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'localhost:5000')}
        onChange={value => {
          update({ registry: value });
          setListing(null);
        }}
        error={shown['registry']}
        help={trans.__('Amazon ECR, or any OCI registry.')}
      />
      <div className="iota-Row">
        <button
          className="jp-Button jp-mod-styled jp-mod-reject"
          data-testid="iota-repositories-list"
          disabled={!registry || busy}
          onClick={() => void list(false)}
        >
          {trans.__('List repositories')}
        </button>
        {busy && <span className="iota-Help">…</span>}
      </div>
      {listing && listing.registry === registry && (
        <div className="iota-Repositories" data-testid="iota-repositories">
          {listing.repositories.length === 0 && (
            <div className="iota-Help">{trans.__('No repositories yet.')}</div>
          )}
          {listing.repositories.length > 0 && (
            <ul role="listbox" aria-label={trans.__('Repositories')} className="jp-mod-styled">
              {listing.repositories.map(repository => {
                const name = repositoryName(registry, repository);
                const chosen = state.repositoryName === name;
                return (
                  <li key={repository.uri} role="option" aria-selected={chosen}>
                    <button
                      type="button"
                      className={`iota-RepositoryOption${chosen ? ' iota-mod-selected' : ''}`}
                      data-testid={`iota-repository-${name}`}
                      title={repository.uri}
                      onClick={() => update({ repositoryName: name })}
                    >
                      {name}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {listing.nextToken && (
            <button
              className="jp-Button jp-mod-styled jp-mod-reject"
              data-testid="iota-repositories-more"
              disabled={busy}
              onClick={() => void list(true)}
            >
              {trans.__('More')}
            </button>
          )}
        </div>
      )}
      <div className="iota-Row">
        <TextField
          field="image.repository"
          label={trans.__('Repository')}
          value={state.repositoryName}
          placeholder="analyses/temperature"
          onChange={repositoryName => update({ repositoryName })}
          error={shown['image.repository']}
        />
        <TextField
          field="image.tag"
          label={trans.__('Tag')}
          value={state.tag}
          onChange={tag => update({ tag })}
          error={shown['image.tag']}
        />
      </div>
      <div className="iota-Row">
        <label className="iota-Check">
          <input
            type="checkbox"
            data-testid="field-image.createRepository"
            checked={state.createRepository}
            onChange={event => update({ createRepository: event.target.checked })}
          />
          {trans.__('Create the repository when it is missing')}
        </label>
        {isEcr && (
          <button
            className="jp-Button jp-mod-styled"
            data-testid="iota-repository-create"
            disabled={busy || !state.repositoryName.trim()}
            onClick={() => void create()}
          >
            {trans.__('Create it now')}
          </button>
        )}
      </div>
      {created && <div className="iota-Help" data-testid="iota-repository-created">{trans.__('Created %1', created)}</div>}
      <div className="iota-Help iota-ImageReference" data-testid="iota-image-reference">
        {trans.__('Pushes')} <code>{imageReference(state) || '…'}</code>
      </div>
      <TextField
        field="image.base"
        label={trans.__('Base image (optional)')}
        value={state.base}
        placeholder={trans.__('default: $IOTA_BASE_IMAGE, or iota-container/base beside the target')}
        onChange={base => update({ base })}
        error={shown['image.base']}
      />
      <PackagesField api={api} state={state} update={update} errors={shown} />
      <TextField
        field="image.requirements"
        label={trans.__('Requirements file instead (optional, relative to the server root)')}
        value={state.requirements}
        placeholder="analyses/requirements.txt"
        onChange={requirements => update({ requirements })}
        error={shown['image.requirements']}
      />
      <SelectField
        field="image.backend"
        label={trans.__('Build backend')}
        value={state.backend}
        options={[
          ['', trans.__('default (docker when an engine answers, else oci)')],
          ['oci', trans.__('oci: append a layer in the registry, no engine')],
          ['docker', trans.__('docker: build and push through the Docker engine')]
        ]}
        onChange={backend => update({ backend })}
        error={shown['image.backend']}
      />
      <FieldError field="image" message={shown['image']} />
    </div>
  );
}
