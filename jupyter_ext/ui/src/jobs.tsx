/** The sidebar of containerize and run jobs: each with its times, its log and its actions
 * (Run now, Open report, Cancel). Jobs live in the server, so the list outlives pages. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { FINISHED, IotaApi, Job, JobStatus } from './api';
import { duration, fullTime, relativeTime } from './format';
import { trans } from './i18n';
import { statusLine } from './phase';
import { JobProgress, statusLabel, useJob } from './progress';
import { ReportOpener } from './report';

const REFRESH_MS = 2000;
const GROUPS: JobStatus[] = ['running', 'queued', 'failed', 'succeeded', 'cancelled'];

function groupTitle(status: JobStatus, count: number): string {
  switch (status) {
    case 'running':
      return trans._n('Running (%1)', 'Running (%1)', count);
    case 'queued':
      return trans._n('Queued (%1)', 'Queued (%1)', count);
    case 'failed':
      return trans._n('Failed (%1)', 'Failed (%1)', count);
    case 'succeeded':
      return trans._n('Succeeded (%1)', 'Succeeded (%1)', count);
    default:
      return trans._n('Cancelled (%1)', 'Cancelled (%1)', count);
  }
}

function JobTimes(props: { job: Job }): JSX.Element {
  const { job } = props;
  const started = job.startedAt ?? job.createdAt;
  const took = duration(job.startedAt, job.endedAt);
  const text = FINISHED.has(job.status)
    ? took
      ? trans.__('%1 · took %2', relativeTime(started), took)
      : relativeTime(job.endedAt ?? started)
    : job.status === 'queued'
      ? trans.__('queued %1', relativeTime(job.createdAt))
      : trans.__('started %1 · %2 so far', relativeTime(started), took);
  return (
    <div
      className="iota-Help iota-JobTimes"
      data-testid="iota-job-time"
      title={trans.__('created %1', fullTime(job.createdAt))}
    >
      {text}
    </div>
  );
}

function JobLog(props: { api: IotaApi; job: Job }): JSX.Element {
  const view = useJob(props.api, props.job.id);
  return (
    <div className="iota-JobDetails" data-testid="iota-job-details">
      <JobProgress api={props.api} view={view} />
    </div>
  );
}

interface JobRowProps {
  api: IotaApi;
  job: Job;
  open: boolean;
  toggle: () => void;
  openReport: ReportOpener;
  started: (job: Job) => void;
}

function JobRow(props: JobRowProps): JSX.Element {
  const { api, job } = props;
  const [error, setError] = React.useState<string | null>(null);
  const [starting, setStarting] = React.useState(false);
  const canRun = job.datasetName !== null && (job.kind === 'run' || job.status === 'succeeded');
  const runNow = async () => {
    setError(null);
    setStarting(true);
    try {
      props.started(await api.runDataset(job.datasetName!));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setStarting(false);
    }
  };
  const cancel = async () => {
    setError(null);
    try {
      await api.cancelJob(job.id);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const what = job.kind === 'run' ? job.datasetName : job.notebook;
  return (
    <li data-testid="iota-job" data-job-id={job.id} data-status={job.status}>
      <div className="iota-JobSummary" title={what ?? job.id}>
        <span className={`iota-Status iota-Status-${job.status}`}>{statusLabel(job.status)}</span>{' '}
        <strong>{job.kind === 'run' ? trans.__('Run') : trans.__('Containerize')}</strong>{' '}
        <span className="iota-JobWhat">{what}</span>
      </div>
      <JobTimes job={job} />
      {job.status === 'running' && statusLine(job) && (
        <div className="iota-Help iota-JobStep">{statusLine(job)}</div>
      )}
      <div className="iota-JobActions">
        <button
          className="jp-Button jp-mod-styled jp-mod-reject"
          data-testid="iota-job-log-toggle"
          aria-expanded={props.open}
          onClick={props.toggle}
        >
          {props.open ? trans.__('Hide log') : trans.__('Log')}
        </button>
        {canRun && (
          <button
            className="jp-Button jp-mod-styled jp-mod-accept"
            data-testid="iota-job-run-now"
            disabled={starting}
            title={trans.__('Run dataset %1 once, now', job.datasetName ?? '')}
            onClick={() => void runNow()}
          >
            {trans.__('Run now')}
          </button>
        )}
        {job.kind === 'run' && job.status === 'succeeded' && (
          <button
            className="jp-Button jp-mod-styled"
            data-testid="iota-job-open-report"
            onClick={() => void props.openReport(job)}
          >
            {trans.__('Open report')}
          </button>
        )}
        {!FINISHED.has(job.status) && (
          <button
            className="jp-Button jp-mod-styled jp-mod-warn"
            data-testid="iota-job-cancel"
            onClick={() => void cancel()}
          >
            {trans.__('Cancel')}
          </button>
        )}
      </div>
      {error && (
        <div className="iota-FieldError" role="alert" data-testid="iota-job-action-error">
          {error}
        </div>
      )}
      {props.open && <JobLog api={api} job={job} />}
    </li>
  );
}

interface JobsListProps {
  api: IotaApi;
  openReport: ReportOpener;
  refresh: number;
  isVisible: () => boolean;
}

function JobsList(props: JobsListProps): JSX.Element {
  const { api } = props;
  const [jobs, setJobs] = React.useState<Job[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [open, setOpen] = React.useState<Set<string>>(new Set());
  const [reload, setReload] = React.useState(0);
  React.useEffect(() => {
    let stopped = false;
    let timer = 0;
    const load = async () => {
      try {
        if (!props.isVisible()) {
          return;
        }
        const answer = await api.jobs();
        if (!stopped) {
          setJobs(answer);
          setError(null);
        }
      } catch (failure) {
        if (!stopped) {
          setError((failure as Error).message);
        }
      } finally {
        if (!stopped) {
          timer = window.setTimeout(() => void load(), REFRESH_MS);
        }
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [api, props.refresh, reload]);
  const toggle = (id: string) =>
    setOpen(previous => {
      const next = new Set(previous);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  const started = (job: Job) => {
    setOpen(previous => new Set(previous).add(job.id));
    setReload(count => count + 1);
  };
  return (
    <div className="iota-Jobs" data-testid="iota-jobs">
      <div className="iota-JobsHeader">
        <h3>{trans.__('Containerize jobs')}</h3>
      </div>
      {error && <div className="iota-FieldError">{error}</div>}
      {jobs.length === 0 && !error && <div className="iota-Help">{trans.__('No jobs yet.')}</div>}
      {GROUPS.map(status => {
        const group = jobs.filter(job => job.status === status);
        if (!group.length) {
          return null;
        }
        return (
          <section key={status} data-testid={`iota-jobs-${status}`}>
            <h4>{groupTitle(status, group.length)}</h4>
            <ul className="iota-JobList">
              {group.map(job => (
                <JobRow
                  key={job.id}
                  api={api}
                  job={job}
                  open={open.has(job.id)}
                  toggle={() => toggle(job.id)}
                  openReport={props.openReport}
                  started={started}
                />
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

export class JobsPanel extends ReactWidget {
  constructor(
    private readonly api: IotaApi,
    private readonly openReport: ReportOpener
  ) {
    super();
    this.id = 'iota-container-jobs';
    this.addClass('iota-JobsPanel');
  }

  /** Reload now (after a job was started) rather than at the next tick. */
  refresh(): void {
    this._refresh += 1;
    this.update();
  }

  protected render(): JSX.Element {
    return (
      <JobsList
        api={this.api}
        openReport={this.openReport}
        refresh={this._refresh}
        isVisible={() => this.isVisible}
      />
    );
  }

  protected onAfterShow(): void {
    this.refresh();
  }

  private _refresh = 0;
}
