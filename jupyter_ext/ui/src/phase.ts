/** What a job's progress shows, from its phase and byte counts (never from its log's
 * wording); pure, so unit tests can give it any job. */
import { FINISHED, Job, JobPhase } from './api';
import { bytes } from './format';
import { trans } from './i18n';

const ORDER: JobPhase[] = ['checking', 'building', 'pushing', 'registering', 'done'];

/** A bar's value: a fraction from 0 to 1, or null while it moves with no known end. */
export type BarValue = number | null;

export interface JobBars {
  build: BarValue;
  push: BarValue;
  /** Bytes sent while pushing, and of how many: the result's bytesUploaded once done. */
  pushed: number;
  toPush: number;
}

/** The phase as shown: a job that succeeded is done, whatever it last said (jobs saved
 * before phases existed have none). */
export function shownPhase(job: Job): JobPhase | null {
  return job.status === 'succeeded' ? 'done' : job.phase;
}

export function pushedBytes(job: Job): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const transfer of Object.values(job.transfers)) {
    if (transfer.phase === 'pushing') {
      done += transfer.done;
      total += transfer.total ?? transfer.done;
    }
  }
  return { done, total };
}

export function jobBars(job: Job): JobBars {
  const phase = shownPhase(job);
  const reached = phase === null ? -1 : ORDER.indexOf(phase);
  const pushing = ORDER.indexOf('pushing');
  const stopped = FINISHED.has(job.status);
  const { done, total } = pushedBytes(job);
  // A bar that cannot move any more stops where it was instead of running on.
  const build = reached >= pushing ? 1 : job.status === 'queued' || stopped ? 0 : null;
  let push: BarValue = 0;
  if (reached > pushing) {
    push = 1;
  } else if (reached === pushing) {
    push = total ? Math.min(1, done / total) : stopped ? 0 : null;
  }
  return { build, push, pushed: done, toPush: total };
}

/** A phase's short name, and what the job does in it. Strings are looked up when shown:
 * the translator is set after this module loads. */
function phaseWords(phase: JobPhase): { name: string; doing: string } {
  switch (phase) {
    case 'checking':
      return { name: trans.__('check'), doing: trans.__('Checking the notebook and its packages…') };
    case 'building':
      return { name: trans.__('build'), doing: trans.__('Building the image…') };
    case 'pushing':
      return { name: trans.__('push'), doing: trans.__('Pushing the image…') };
    case 'registering':
      return {
        name: trans.__('register'),
        doing: trans.__('Writing and registering the dataset definition…')
      };
    default:
      return { name: trans.__('done'), doing: '' };
  }
}

/** The line beside the status: what the job is doing, or once it succeeded what it did
 * (not the last thing it said on its way). */
export function statusLine(job: Job): string {
  const result = job.result;
  if (job.status === 'succeeded' && result) {
    if (job.kind === 'run') {
      return trans.__('Done: version %1 %2', result.version ?? '', result.status ?? '');
    }
    const image = (result.image ?? '').split('@')[0];
    const uploaded = bytes(result.bytesUploaded ?? 0);
    return result.datasetName
      ? trans.__('Done: pushed %1 (%2) and registered dataset %3', image, uploaded, result.datasetName)
      : trans.__('Done: pushed %1 (%2)', image, uploaded);
  }
  if (job.status === 'queued') {
    return trans.__('Waiting for the jobs before it…');
  }
  if (job.step) {
    return job.step;
  }
  if (job.phase) {
    return phaseWords(job.phase).doing;
  }
  return job.status === 'running' ? trans.__('Starting…') : '';
}

/** The push bar's caption: the bytes pushed of those to push, in the unit the result's
 * "Uploaded" uses, so that the two read the same once the job is done. */
export function pushCaption(bars: JobBars): string {
  return bars.toPush ? trans.__('pushed %1 of %2', bytes(bars.pushed), bytes(bars.toPush)) : '';
}

export interface PhaseSpan {
  phase: JobPhase;
  label: string;
  /** How long it took, or has taken so far; null for `done`, which takes no time. */
  seconds: number | null;
  current: boolean;
}

/** The phases a job went through, in order, each with how long it took: the next phase's
 * start, else the job's end, else now. */
export function phaseSpans(job: Job, now: Date = new Date()): PhaseSpan[] {
  const end = job.endedAt ? new Date(job.endedAt).getTime() : now.getTime();
  return job.phases.map((entered, index) => {
    const next = job.phases[index + 1];
    const until = next ? new Date(next.at).getTime() : end;
    const seconds = Math.max(0, (until - new Date(entered.at).getTime()) / 1000);
    return {
      phase: entered.phase,
      label: phaseWords(entered.phase).name,
      seconds: entered.phase === 'done' || Number.isNaN(seconds) ? null : seconds,
      current: !next && !FINISHED.has(job.status)
    };
  });
}

/** "0.4 s" under ten seconds, "12 s" above. */
export function spanText(seconds: number): string {
  return seconds < 10 ? trans.__('%1 s', seconds.toFixed(1)) : trans.__('%1 s', Math.round(seconds));
}
