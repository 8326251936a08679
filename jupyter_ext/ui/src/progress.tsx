/** A job's live status: build and push bars, current step, log, and its result. */
import { copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { FINISHED, IotaApi, Job, JobStatus } from './api';
import { bytes } from './format';
import { trans } from './i18n';
import { jobBars, phaseSpans, pushCaption, shownPhase, spanText, statusLine } from './phase';

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

interface BarProps {
  testid: string;
  label: string;
  value: number | null;
  detail?: string;
  bytes?: number;
}

function Bar(props: BarProps): JSX.Element {
  return (
    <div className="iota-Bar">
      <span className="iota-BarLabel">{props.label}</span>
      {props.value === null ? (
        <progress data-testid={props.testid} />
      ) : (
        <progress data-testid={props.testid} value={props.value} max={1} />
      )}
      <span className="iota-Help" data-testid={`${props.testid}-detail`} data-bytes={props.bytes}>
        {props.detail ?? ''}
      </span>
    </div>
  );
}

/** The phases the job went through, each with how long it took. */
function PhaseTrail(props: { job: Job }): JSX.Element | null {
  const spans = phaseSpans(props.job);
  if (!spans.length) {
    return null;
  }
  return (
    <ol className="iota-Phases" data-testid="iota-job-phases">
      {spans.map((span, index) => (
        <li key={index} data-phase={span.phase} className={span.current ? 'iota-mod-current' : ''}>
          {span.seconds === null ? span.label : trans.__('%1 %2', span.label, spanText(span.seconds))}
        </li>
      ))}
    </ol>
  );
}

/** The job's log; while it runs and has said nothing yet, a line saying so rather than
 * an empty box. */
function JobLogBox(props: { job: Job; lines: string[] }): JSX.Element {
  const { job, lines } = props;
  const ref = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    ref.current?.scrollTo(0, ref.current.scrollHeight);
  }, [lines.length]);
  const placeholder = FINISHED.has(job.status)
    ? trans.__('No output.')
    : trans.__('Waiting for the first output…');
  return (
    <pre className="iota-Log" data-testid="iota-job-log" data-empty={lines.length === 0} ref={ref}>
      {lines.length ? lines.join('\n') : <span className="iota-LogPlaceholder">{placeholder}</span>}
    </pre>
  );
}

/** A long value (an image reference, a digest) on one line: cut with an ellipsis where
 * it does not fit, whole in its tooltip and in the clipboard. */
function OneLine(props: { testid: string; value: string }): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(props.value);
    setCopied(true);
  };
  return (
    <span className="iota-OneLine">
      <code className="iota-OneLineValue" data-testid={props.testid} title={props.value}>
        {props.value}
      </code>
      <button
        className="jp-Button jp-mod-minimal iota-Copy"
        data-testid={`${props.testid}-copy`}
        title={copied ? trans.__('Copied') : trans.__('Copy %1', props.value)}
        aria-label={trans.__('Copy')}
        onClick={() => void copy().catch(() => setCopied(false))}
      >
        <copyIcon.react tag="span" elementSize="small" />
      </button>
    </span>
  );
}

export function JobProgress(props: { api: IotaApi; view: JobView; showLog?: boolean }): JSX.Element {
  const { job, lines, error } = props.view;
  if (!job) {
    return <div data-testid="iota-job-loading">{error ?? trans.__('Waiting for the server…')}</div>;
  }
  const bars = jobBars(job);
  return (
    <div
      className="iota-Progress"
      data-testid="iota-job-progress"
      data-job-id={job.id}
      data-phase={shownPhase(job) ?? ''}
    >
      <div className="iota-Row">
        <span
          className={`iota-Status iota-Status-${job.status}`}
          data-testid="iota-job-status"
          data-status={job.status}
        >
          {statusLabel(job.status)}
        </span>
        <span className="iota-Step" data-testid="iota-job-step">
          {statusLine(job)}
        </span>
      </div>
      {job.kind === 'containerize' && (
        <>
          <Bar testid="iota-progress-build" label={trans.__('Build')} value={bars.build} />
          <Bar
            testid="iota-progress-push"
            label={trans.__('Push')}
            value={bars.push}
            detail={pushCaption(bars)}
            bytes={bars.pushed}
          />
          <PhaseTrail job={job} />
        </>
      )}
      {job.kind === 'run' && <Bar testid="iota-progress-run" label={trans.__('Run')} value={FINISHED.has(job.status) ? 1 : null} />}
      {job.error && (
        <div className="iota-FieldError" role="alert" data-testid="iota-job-error">
          {job.error}
        </div>
      )}
      {job.status === 'succeeded' && job.result && <JobResultView job={job} />}
      {props.showLog !== false && <JobLogBox job={job} lines={lines} />}
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
            <td>
              <OneLine testid="iota-result-image" value={result.image} />
            </td>
          </tr>
        )}
        {digest && (
          <tr>
            <th>{trans.__('Digest')}</th>
            <td>
              <OneLine testid="iota-result-digest" value={digest} />
            </td>
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
            <td data-testid="iota-result-uploaded" data-bytes={result.bytesUploaded}>
              {bytes(result.bytesUploaded)}
            </td>
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
