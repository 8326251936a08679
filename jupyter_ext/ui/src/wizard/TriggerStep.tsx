import * as React from 'react';
import { SchedulePreview } from '../api';
import { scheduleTime } from '../format';
import { trans } from '../i18n';
import { SelectField, TextField } from './fields';
import { StepProps } from './props';
import { TriggerKind } from './state';

const PREVIEW_DELAY_MS = 300;

function usePreview(props: StepProps): { preview: SchedulePreview | null; error: string | null } {
  const { api, state } = props;
  const [preview, setPreview] = React.useState<SchedulePreview | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const expression = state.schedule.trim();
  const active = state.triggerKind === 'schedule' && expression !== '';
  React.useEffect(() => {
    if (!active) {
      setPreview(null);
      setError(null);
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      api.schedulePreview(expression, 5).then(
        answer => current && (setPreview(answer), setError(null)),
        (failure: Error) => current && (setPreview(null), setError(failure.message))
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [api, expression, active]);
  return { preview, error };
}

export function TriggerStep(props: StepProps): JSX.Element {
  const { state, update, errors } = props;
  const { preview, error } = usePreview(props);
  return (
    <div data-testid="iota-step-trigger">
      <SelectField<TriggerKind>
        field="trigger.kind"
        label={trans.__('Run')}
        value={state.triggerKind}
        options={[
          ['schedule', trans.__('on a schedule')],
          ['dataset', trans.__('when another dataset gets new content')],
          ['none', trans.__('only when started by hand')]
        ]}
        onChange={triggerKind => update({ triggerKind })}
        error={errors['trigger']}
      />
      {state.triggerKind === 'schedule' && (
        <>
          <TextField
            field="trigger.schedule"
            label={trans.__('Schedule expression (UTC)')}
            value={state.schedule}
            placeholder={trans.__('%1 or %2', 'cron(0 12 * * ? *)', 'rate(1 day)')}
            onChange={schedule => update({ schedule })}
            error={errors['trigger.schedule'] ?? error ?? undefined}
          />
          {preview && (
            <div className="iota-Preview" data-testid="iota-schedule-preview">
              <div data-testid="iota-schedule-description">{preview.description}</div>
              <ol>
                {preview.next.map(moment => (
                  <li key={moment}>{scheduleTime(moment)}</li>
                ))}
              </ol>
            </div>
          )}
        </>
      )}
      {state.triggerKind === 'dataset' && (
        <TextField
          field="trigger.dataset"
          label={trans.__('Triggering dataset')}
          value={state.triggeringDataset}
          onChange={triggeringDataset => update({ triggeringDataset })}
          error={errors['trigger.dataset']}
        />
      )}
      <h4>{trans.__('Resources')}</h4>
      <div className="iota-Row">
        <SelectField
          field="resourceConfiguration.computeType"
          label={trans.__('Compute type')}
          value={state.computeType}
          options={[
            ['ACU_1', 'ACU_1 (4 vCPU, 16 GiB)'],
            ['ACU_2', 'ACU_2 (8 vCPU, 32 GiB)']
          ]}
          onChange={computeType => update({ computeType })}
          error={errors['resourceConfiguration.computeType']}
        />
        <TextField
          field="resourceConfiguration.volumeSizeInGB"
          label={trans.__('Volume size (GB, 1 to 50)')}
          type="number"
          value={state.volumeSizeInGB}
          onChange={volumeSizeInGB => update({ volumeSizeInGB })}
          error={errors['resourceConfiguration.volumeSizeInGB']}
        />
      </div>
    </div>
  );
}
