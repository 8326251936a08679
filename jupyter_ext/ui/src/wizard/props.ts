import { IotaApi } from '../api';
import { FieldErrors } from '../validate';
import { WizardState } from './state';

export interface StepProps {
  api: IotaApi;
  state: WizardState;
  update: (patch: Partial<WizardState>) => void;
  errors: FieldErrors;
}
