/** A job's live status: build and push bars, current step, log, and its result. */
import * as React from 'react';
import { FINISHED, IotaApi, Job, JobStatus } from './api';
import { bytes } from './format';
import { trans } from './i18n';

const POLL_MS = 700;

export interface JobView {
  job: Job | null;
  lines: string[];
  error: string | null;
}

/** Polls a job and its log until it finishes (and once more for the last lines). */
export function useJob(api: IotaApi, id: string | null): JobView {
  const [view, setView] = React.useState<JobView>({ job: null, lines: [], error: null });
  React.useEffect(() => {
    if (!id) {
      return;
    }
    let stopped = false;
    let since = 0;
    let lines: string[] = [];
    let timer = 0;
    const poll = async () => {
      try {
        const job = await api.job(id);
        const page = await api.log(id, since);
        since = page.next;
        lines = page.lines.length ? [...lines, ...page.lines] : lines;
        if (stopped) {
          return;
        }
        setView({ job, lines, error: null });
        if (!FINISHED.has(job.status)) {
          timer = window.setTimeout(() => void poll(), POLL_MS);
        }
      } catch (error) {
        if (!stopped) {
          setView(previous => ({ ...previous, error: (error as Error).message }));
          timer = window.setTimeout(() => void poll(), POLL_MS * 3);
        }
      }
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [api, id]);
  return view;
}

type Phase = 'queued' | 'building' | 'pushing' | 'writing' | 'done';

function phaseOf(job: Job, lines: string[]): Phase {
  if (job.status === 'succeeded') {
    return 'done';
  }
  if (lines.some(line => /writing the dataset definition|registering dataset/i.test(line))) {
    return 'writing';
  }
  if (lines.some(line => /\bpush/i.test(line)) || Object.keys(job.transfers).length) {
    return 'pushing';
  }
  return job.status === 'queued' ? 'queued' : 'building';
}

/** A job's status as shown; the data-status attribute keeps the API's word. */
export function statusLabel(status: JobStatus): string {
  switch (status) {
    case 'queued':
      return trans.__('queued');
    case 'running':
      return trans.__('running');
    case 'succeeded':
      return trans.__('succeeded');
    case 'failed':
      return trans.__('failed');
    default:
      return trans.__('cancelled');
  }
}

function Bar(props: { testid: string; label: string; value: number | null; detail?: string }): JSX.Element {
  return (
    <div className="iota-Bar">
      <span className="iota-BarLabel">{props.label}</span>
      {props.value === null ? (
        <progress data-testid={props.testid} />
      ) : (
        <progress data-testid={props.testid} value={props.value} max={1} />
      )}
      <span className="iota-Help">{props.detail ?? ''}</span>
    </div>
  );
}

export function JobProgress(props: { api: IotaApi; view: JobView; showLog?: boolean }): JSX.Element {
  const { job, lines, error } = props.view;
  const logRef = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    logRef.current?.scrollTo(0, logRef.current.scrollHeight);
  }, [lines.length]);
  if (!job) {
    return <div data-testid="iota-job-loading">{error ?? trans.__('Waiting for the server…')}</div>;
  }
  const phase = phaseOf(job, lines);
  const transfers = Object.values(job.transfers);
  const done = transfers.reduce((sum, t) => sum + t.done, 0);
  const total = transfers.reduce((sum, t) => sum + (t.total ?? t.done), 0);
  const failed = job.status === 'failed' || job.status === 'cancelled';
  const building = phase === 'building' ? (failed ? 0 : null) : phase === 'queued' ? 0 : 1;
  const pushing =
    phase === 'writing' || phase === 'done'
      ? 1
      : phase === 'pushing'
        ? total
          ? done / total
          : failed
            ? 0
            : null
        : 0;
  return (
    <div className="iota-Progress" data-testid="iota-job-progress" data-job-id={job.id}>
      <div className="iota-Row">
        <span
          className={`iota-Status iota-Status-${job.status}`}
          data-testid="iota-job-status"
          data-status={job.status}
        >
          {statusLabel(job.status)}
        </span>
        <span className="iota-Step" data-testid="iota-job-step">
          {job.step ?? ''}
        </span>
      </div>
      {job.kind === 'containerize' && (
        <>
          <Bar testid="iota-progress-build" label={trans.__('Build')} value={building} />
          <Bar
            testid="iota-progress-push"
            label={trans.__('Push')}
            value={pushing}
            detail={total ? trans.__('%1 of %2', bytes(done), bytes(total)) : ''}
          />
        </>
      )}
      {job.kind === 'run' && <Bar testid="iota-progress-run" label={trans.__('Run')} value={FINISHED.has(job.status) ? 1 : null} />}
      {job.error && (
        <div className="iota-FieldError" role="alert" data-testid="iota-job-error">
          {job.error}
        </div>
      )}
      {job.status === 'succeeded' && job.result && <JobResultView job={job} />}
      {props.showLog !== false && (
        <pre className="iota-Log" data-testid="iota-job-log" ref={logRef}>
          {lines.join('\n')}
        </pre>
      )}
    </div>
  );
}

function JobResultView({ job }: { job: Job }): JSX.Element {
  const result = job.result!;
  const digest = result.image?.split('@')[1];
  return (
    <table className="iota-Table iota-Result" data-testid="iota-job-result">
      <tbody>
        {result.image && (
          <tr>
            <th>{trans.__('Image')}</th>
            <td data-testid="iota-result-image">{result.image}</td>
          </tr>
        )}
        {digest && (
          <tr>
            <th>{trans.__('Digest')}</th>
            <td data-testid="iota-result-digest">{digest}</td>
          </tr>
        )}
        {result.definition && (
          <tr>
            <th>{trans.__('Definition')}</th>
            <td data-testid="iota-result-definition">{result.definition}</td>
          </tr>
        )}
        {result.bytesUploaded !== undefined && (
          <tr>
            <th>{trans.__('Uploaded')}</th>
            <td>{bytes(result.bytesUploaded)}</td>
          </tr>
        )}
        {result.status && (
          <tr>
            <th>{trans.__('Run')}</th>
            <td data-testid="iota-result-run-status">
              {result.status} {result.version ?? ''}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
