/** The sidebar listing containerize and run jobs, with their status and logs. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { FINISHED, IotaApi, Job, JobStatus } from './api';
import { JobProgress, useJob } from './progress';
import { ReportOpener } from './report';
import { RunNow } from './runNow';

const REFRESH_MS = 2000;
const GROUPS: JobStatus[] = ['running', 'queued', 'failed', 'succeeded', 'cancelled'];

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

function JobDetails(props: { api: IotaApi; job: Job; openReport: ReportOpener }): JSX.Element {
  const view = useJob(props.api, props.job.id);
  const job = view.job ?? props.job;
  return (
    <div className="iota-JobDetails" data-testid="iota-job-details">
      <JobProgress api={props.api} view={view} />
      {!FINISHED.has(job.status) && (
        <button
          className="jp-Button jp-mod-styled jp-mod-warn"
          data-testid="iota-job-cancel"
          onClick={() => void props.api.cancelJob(job.id)}
        >
          Cancel
        </button>
      )}
      {job.kind === 'containerize' && job.status === 'succeeded' && job.datasetName && (
        <RunNow api={props.api} dataset={job.datasetName} openReport={props.openReport} />
      )}
      {job.kind === 'run' && job.status === 'succeeded' && (
        <button
          className="jp-Button jp-mod-styled"
          data-testid="iota-open-report"
          onClick={() => void props.openReport(job)}
        >
          Open report
        </button>
      )}
    </div>
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
  const [open, setOpen] = React.useState<string | null>(null);
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
  }, [api, props.refresh]);
  return (
    <div className="iota-Jobs" data-testid="iota-jobs">
      <div className="iota-JobsHeader">
        <h3>Containerize jobs</h3>
      </div>
      {error && <div className="iota-FieldError">{error}</div>}
      {jobs.length === 0 && !error && <div className="iota-Help">No jobs yet.</div>}
      {GROUPS.map(status => {
        const group = jobs.filter(job => job.status === status);
        if (!group.length) {
          return null;
        }
        return (
          <section key={status} data-testid={`iota-jobs-${status}`}>
            <h4>
              {status} ({group.length})
            </h4>
            <ul className="iota-JobList">
              {group.map(job => (
                <li key={job.id} data-testid="iota-job" data-job-id={job.id} data-status={job.status}>
                  <button
                    className="iota-JobSummary"
                    onClick={() => setOpen(open === job.id ? null : job.id)}
                    title={job.notebook ?? job.datasetName ?? job.id}
                  >
                    <span className={`iota-Status iota-Status-${job.status}`}>{job.status}</span>{' '}
                    <strong>{job.kind === 'run' ? 'run' : 'containerize'}</strong>{' '}
                    {job.kind === 'run' ? job.datasetName : job.notebook}
                    <span className="iota-Help"> {when(job.createdAt)}</span>
                  </button>
                  {job.status === 'running' && job.step && (
                    <div className="iota-Help iota-JobStep">{job.step}</div>
                  )}
                  {open === job.id && <JobDetails api={api} job={job} openReport={props.openReport} />}
                </li>
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
