/** The containerize wizard: five steps of input, then the job's live progress. */
import * as React from 'react';
import { ApiError, IotaApi } from '../api';
import { trans } from '../i18n';
import { JobProgress, useJob } from '../progress';
import { ReportOpener } from '../report';
import { RunNow } from '../runNow';
import { FieldErrors } from '../validate';
import { ImageStep } from './ImageStep';
import { NameStep } from './NameStep';
import { ReviewStep } from './ReviewStep';
import {
  checkStep,
  initialState,
  rememberImageChoices,
  rowFromVariable,
  stepOfField,
  STEPS,
  toCreateJob,
  withoutErrorsOf,
  WizardState
} from './state';
import { TriggerStep } from './TriggerStep';
import { VariablesStep } from './VariablesStep';

export interface WizardProps {
  api: IotaApi;
  notebook: string;
  openReport: ReportOpener;
  onJobStarted?: () => void;
}

const PROGRESS_STEP = STEPS.length;

function stepTitles(): string[] {
  return [
    trans.__('Name'),
    trans.__('Variables'),
    trans.__('Image'),
    trans.__('Trigger'),
    trans.__('Review'),
    trans.__('Progress')
  ];
}

/** Fields a step shows an error beside; an error about any other field is shown below. */
const SHOWN_FIELD = new RegExp(
  '^(name|description|notebook|registry|image|trigger|definitionPath|overwrite|variables' +
    '|variables\\.\\d+(\\.(name|default|description|datasetType))?' +
    '|image\\.(repository|tag|base|requirements|backend|packages)|image\\.packages\\.\\d+' +
    '|trigger\\.(schedule|dataset)' +
    '|resourceConfiguration\\.(computeType|volumeSizeInGB))$'
);

export function Wizard(props: WizardProps): JSX.Element {
  const { api } = props;
  const [state, setState] = React.useState<WizardState>(() => initialState(props.notebook));
  const [step, setStep] = React.useState(0);
  const [errors, setErrors] = React.useState<FieldErrors>({});
  const [loading, setLoading] = React.useState(true);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [submitting, setSubmitting] = React.useState(false);
  const [jobId, setJobId] = React.useState<string | null>(null);
  const view = useJob(api, jobId);

  React.useEffect(() => {
    let current = true;
    api.variables(props.notebook).then(
      variables => {
        if (current) {
          setState(previous => ({ ...previous, variables: variables.map(rowFromVariable) }));
          setLoading(false);
        }
      },
      (error: Error) => {
        if (current) {
          setLoadError(error.message);
          setLoading(false);
        }
      }
    );
    return () => {
      current = false;
    };
  }, [api, props.notebook]);

  const update = (patch: Partial<WizardState>) => {
    setState(previous => ({ ...previous, ...patch }));
    setErrors(previous => withoutErrorsOf(previous, Object.keys(patch)));
  };

  const next = () => {
    const found = checkStep(step, state);
    setErrors(found);
    if (Object.keys(found).length === 0) {
      setStep(step + 1);
    }
  };

  const submit = async () => {
    for (let index = 0; index < STEPS.length - 1; index++) {
      const found = checkStep(index, state);
      if (Object.keys(found).length) {
        setErrors(found);
        setStep(index);
        return;
      }
    }
    setSubmitting(true);
    setErrors({});
    try {
      const job = await api.createJob(toCreateJob(state));
      rememberImageChoices(state);
      setJobId(job.id);
      setStep(PROGRESS_STEP);
      props.onJobStarted?.();
    } catch (error) {
      const field = error instanceof ApiError ? error.field : null;
      setErrors({ [field ?? '']: (error as Error).message });
      setStep(error instanceof ApiError && error.status === 409 ? STEPS.length - 1 : stepOfField(field));
    } finally {
      setSubmitting(false);
    }
  };

  const stepProps = { api, state, update, errors };
  const stepId = step < PROGRESS_STEP ? STEPS[step].id : 'progress';
  const unplaced = Object.fromEntries(
    Object.entries(errors).filter(([field]) => field !== '' && !SHOWN_FIELD.test(field))
  );
  return (
    <div className="iota-Wizard" data-testid="iota-wizard" data-step={stepId}>
      <ol className="iota-Steps" data-testid="iota-wizard-steps">
        {stepTitles().map((title, index) => (
          <li
            key={title}
            className={index === step ? 'iota-mod-current' : index < step ? 'iota-mod-done' : ''}
          >
            {title}
          </li>
        ))}
      </ol>
      <div className="iota-StepBody">
        {step === 0 && <NameStep {...stepProps} />}
        {step === 1 && <VariablesStep {...stepProps} loading={loading} loadError={loadError} />}
        {step === 2 && <ImageStep {...stepProps} />}
        {step === 3 && <TriggerStep {...stepProps} />}
        {step === 4 && <ReviewStep {...stepProps} />}
        {step === PROGRESS_STEP && (
          <div data-testid="iota-step-progress">
            <JobProgress api={api} view={view} />
            {view.job?.status === 'succeeded' && view.job.datasetName && (
              <RunNow api={api} dataset={view.job.datasetName} openReport={props.openReport} />
            )}
            <p className="iota-Help">
              {trans.__(
                'The job goes on in the server if you close this window; the Containerize jobs panel lists it with its log.'
              )}
            </p>
          </div>
        )}
        {Object.entries(unplaced).map(([field, message]) => (
          <div key={field} className="iota-FieldError" role="alert" data-testid={`error-${field}`}>
            {field}: {message}
          </div>
        ))}
      </div>
      {step < PROGRESS_STEP && (
        <div className="iota-Nav">
          {step > 0 && (
            <button
              className="jp-Button jp-mod-styled jp-mod-reject"
              data-testid="iota-wizard-back"
              disabled={submitting}
              onClick={() => {
                setErrors({});
                setStep(step - 1);
              }}
            >
              {trans.__('Back')}
            </button>
          )}
          {step < STEPS.length - 1 ? (
            <button
              className="jp-Button jp-mod-styled jp-mod-accept"
              data-testid="iota-wizard-next"
              onClick={next}
            >
              {trans.__('Next')}
            </button>
          ) : (
            <button
              className="jp-Button jp-mod-styled jp-mod-accept"
              data-testid="iota-wizard-submit"
              disabled={submitting}
              onClick={() => void submit()}
            >
              {submitting ? trans.__('Starting…') : trans.__('Containerize')}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
