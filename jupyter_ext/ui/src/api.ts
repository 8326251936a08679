/**
 * Client of the server extension's REST API (docs/jupyter-api.md), under
 * `{baseUrl}iota-container/api/`. Requests go through ServerConnection so the
 * server's token and XSRF header travel with them.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { trans } from './i18n';

export type DatasetType =
  | 'double'
  | 'string'
  | 'outputFileUri'
  | 'datasetContentVersion';

/** A variable as the server sends it (docs/jupyter-api.md). */
export interface Variable {
  name: string;
  type: string;
  datasetType: DatasetType;
  default: unknown;
  /** The default as text to edit; the server encodes it and decodes it back. */
  defaultText: string;
  description: string;
  hint?: string | null;
}

/** A variable as the wizard sends it: the server decodes `defaultText` by `type`. */
export interface EditedVariable {
  name: string;
  type: string;
  datasetType: DatasetType;
  defaultText: string;
  description: string;
  hint: string | null;
}

/** One distribution of the lock: what `iota-container requirements --json` lists. */
export interface Pin {
  distribution: string;
  version: string;
  modules: string[];
  required_by?: string[];
}

export interface ModuleSource {
  module: string;
  provider: 'stdlib' | 'base' | 'local' | 'distribution' | 'missing';
  optional: boolean;
  cells: number[];
  distributions?: string[];
  path?: string;
  fix?: string;
}

/** GET requirements: what the notebook imports and what provides each module. */
export interface Requirements {
  notebook: string;
  kernel: string;
  python_version: string;
  distributions: Pin[];
  modules: ModuleSource[];
  local_files: { path: string; size: number; reason: string }[];
  problems: string[];
  notes: string[];
}

export interface ImageOptions {
  repository: string;
  base: string | null;
  requirements: string | null;
  /** Requirement lines as edited; null: what the notebook's imports need. */
  packages: string[] | null;
  backend: 'oci' | 'docker' | null;
  createRepository: boolean;
}

export type Trigger = { schedule: string } | { dataset: string } | null;

export interface ResourceConfiguration {
  computeType: 'ACU_1' | 'ACU_2';
  volumeSizeInGB: number;
}

export interface CreateJob {
  notebook: string;
  name: string;
  description: string;
  variables: EditedVariable[];
  image: ImageOptions;
  trigger: Trigger;
  resourceConfiguration: ResourceConfiguration;
  definitionPath?: string | null;
}

export type JobStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

/** Where a containerize job is (the server's image.spec.PHASES, in order). */
export type JobPhase = 'checking' | 'building' | 'pushing' | 'registering' | 'done';

export interface PhaseEntered {
  phase: JobPhase;
  at: string;
}

export interface Transfer {
  /** The phase the bytes moved in: a base image pulled while building is not pushed. */
  phase: JobPhase | null;
  done: number;
  total: number | null;
}

export interface JobResult {
  image?: string;
  definition?: string;
  bytesUploaded?: number;
  datasetName?: string;
  version?: string;
  status?: string;
  reportUrl?: string;
}

export interface Job {
  id: string;
  kind: 'containerize' | 'run';
  notebook: string | null;
  datasetName: string | null;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  step: string | null;
  phase: JobPhase | null;
  phases: PhaseEntered[];
  transfers: Record<string, Transfer>;
  result: JobResult | null;
  error: string | null;
}

export interface Repository {
  name: string;
  uri: string;
}

export interface RepositoryPage {
  registry: string;
  repositories: Repository[];
  nextToken: string | null;
}

export interface SchedulePreview {
  expression: string;
  description: string;
  next: string[];
}

export interface LogPage {
  lines: string[];
  next: number;
}

export const FINISHED: ReadonlySet<JobStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled'
]);

/** An answer other than 2xx; `field` names the request field a 400 is about. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const API_PATH = 'iota-container/api';

function query(params: Record<string, string | number | null | undefined>): string {
  const pairs = Object.entries(params).filter(
    (pair): pair is [string, string | number] =>
      pair[1] !== null && pair[1] !== undefined && pair[1] !== ''
  );
  return pairs.length
    ? '?' +
        pairs
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
    : '';
}

async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { message?: string; field?: string | null };
    return new ApiError(
      response.status,
      body.message || `${response.status} ${response.statusText}`,
      body.field ?? null
    );
  } catch {
    return new ApiError(response.status, text || `${response.status} ${response.statusText}`);
  }
}

export class IotaApi {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** The absolute URL of an API path, e.g. for a report link. */
  url(endpoint: string): string {
    return URLExt.join(this.settings.baseUrl, API_PATH, endpoint);
  }

  async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    const headers = init.body ? { 'Content-Type': 'application/json' } : undefined;
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.url(endpoint),
        { ...init, headers },
        this.settings
      );
    } catch (error) {
      throw new ApiError(0, trans.__('the server did not answer: %1', String(error)));
    }
    if (!response.ok) {
      throw await errorFrom(response);
    }
    return (await response.json()) as T;
  }

  /** A text answer (the HTML report). */
  async text(endpoint: string): Promise<string> {
    const response = await ServerConnection.makeRequest(this.url(endpoint), {}, this.settings);
    if (!response.ok) {
      throw await errorFrom(response);
    }
    return response.text();
  }

  private post<T>(endpoint: string, body: unknown): Promise<T> {
    return this.request<T>(endpoint, { method: 'POST', body: JSON.stringify(body) });
  }

  async variables(notebook: string): Promise<Variable[]> {
    const answer = await this.request<{ variables: Variable[] }>(
      `variables${query({ path: notebook })}`
    );
    return answer.variables;
  }

  requirements(notebook: string): Promise<Requirements> {
    return this.request(`requirements${query({ path: notebook })}`);
  }

  schedulePreview(expression: string, count = 5): Promise<SchedulePreview> {
    return this.request(`schedule/preview${query({ expression, count })}`);
  }

  repositories(
    registry: string,
    nextToken: string | null = null,
    maxResults = 20
  ): Promise<RepositoryPage> {
    return this.request(`repositories${query({ registry, nextToken, maxResults })}`);
  }

  createRepository(registry: string, name: string): Promise<Repository> {
    return this.post('repositories', { registry, name });
  }

  createJob(request: CreateJob): Promise<Job> {
    return this.post('jobs', request);
  }

  async jobs(): Promise<Job[]> {
    return (await this.request<{ jobs: Job[] }>('jobs')).jobs;
  }

  job(id: string): Promise<Job> {
    return this.request(`jobs/${encodeURIComponent(id)}`);
  }

  cancelJob(id: string): Promise<Job> {
    return this.post(`jobs/${encodeURIComponent(id)}/cancel`, {});
  }

  log(id: string, since: number): Promise<LogPage> {
    return this.request(`jobs/${encodeURIComponent(id)}/log${query({ since })}`);
  }

  runDataset(name: string): Promise<Job> {
    return this.post(`datasets/${encodeURIComponent(name)}/runs`, {});
  }

  /** The HTML report of a succeeded run job (reportUrl names an API path, with or
   * without the server's base URL in front). */
  report(job: Job): Promise<string> {
    const path = job.result?.reportUrl ?? '';
    const at = path.indexOf(`${API_PATH}/`);
    if (at < 0) {
      return Promise.reject(new ApiError(0, `run ${job.id} has no report`));
    }
    return this.text(path.slice(at + API_PATH.length + 1));
  }
}
