/** "Run now": one run of a dataset through the engine, then its HTML report. */
import * as React from 'react';
import { IotaApi, Job } from './api';
import { trans } from './i18n';
import { JobProgress, useJob } from './progress';
import { ReportOpener } from './report';

export function RunNow(props: { api: IotaApi; dataset: string; openReport: ReportOpener }): JSX.Element {
  const { api, dataset, openReport } = props;
  const [runId, setRunId] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const view = useJob(api, runId);
  const opened = React.useRef<string | null>(null);
  React.useEffect(() => {
    const job: Job | null = view.job;
    if (job && job.status === 'succeeded' && opened.current !== job.id) {
      opened.current = job.id;
      void openReport(job);
    }
  }, [view.job, openReport]);
  const start = async () => {
    setError(null);
    try {
      setRunId((await api.runDataset(dataset)).id);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const running = view.job !== null && !['succeeded', 'failed', 'cancelled'].includes(view.job.status);
  return (
    <div className="iota-RunNow" data-testid="iota-run-now-section">
      <button
        className="jp-Button jp-mod-styled jp-mod-accept"
        data-testid="iota-run-now"
        disabled={running}
        onClick={() => void start()}
      >
        {trans.__('Run now')}
      </button>
      {view.job?.status === 'succeeded' && (
        <button
          className="jp-Button jp-mod-styled"
          data-testid="iota-open-report"
          onClick={() => void openReport(view.job!)}
        >
          {trans.__('Open report')}
        </button>
      )}
      {error && (
        <div className="iota-FieldError" role="alert" data-testid="iota-run-now-error">
          {error}
        </div>
      )}
      {runId && <JobProgress api={api} view={view} showLog={false} />}
    </div>
  );
}
