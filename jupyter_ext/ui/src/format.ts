/** Times and sizes as people read them; pure, so unit tests can pin "now". */
import { trans } from './i18n';

/** "just now", "5 min ago", "3 h ago", then the date ("1 Dec, 11:04"). */
export function relativeTime(iso: string | null, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const then = new Date(iso);
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) {
    return iso;
  }
  if (seconds < 45) {
    return trans.__('just now');
  }
  if (seconds < 45 * 60) {
    return trans.__('%1 min ago', Math.max(1, Math.round(seconds / 60)));
  }
  if (seconds < 20 * 3600) {
    return trans.__('%1 h ago', Math.round(seconds / 3600));
  }
  return then.toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/** "42 s", "3 min 5 s", "2 h 10 min": how long a job took (or has been running). */
export function duration(startIso: string | null, endIso: string | null, now: Date = new Date()): string {
  if (!startIso) {
    return '';
  }
  const end = endIso ? new Date(endIso) : now;
  const total = Math.max(0, Math.round((end.getTime() - new Date(startIso).getTime()) / 1000));
  if (Number.isNaN(total)) {
    return '';
  }
  if (total < 60) {
    return trans.__('%1 s', total);
  }
  if (total < 3600) {
    return trans.__('%1 min %2 s', Math.floor(total / 60), total % 60);
  }
  return trans.__('%1 h %2 min', Math.floor(total / 3600), Math.floor((total % 3600) / 60));
}

/** A full local timestamp for a tooltip: "1 December 2026, 11:04:37". */
export function fullTime(iso: string | null): string {
  return iso
    ? new Date(iso).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'medium' })
    : '';
}

export function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** A scheduled run, in UTC as schedule expressions are: "Dec 2, 2026, 12:00:00 PM UTC". */
export function scheduleTime(iso: string): string {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) {
    return iso;
  }
  const text = moment.toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium',
    timeZone: 'UTC'
  });
  return trans.__('%1 UTC', text);
}
