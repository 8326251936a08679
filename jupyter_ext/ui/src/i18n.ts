/**
 * The UI's strings go through JupyterLab's translation bundle for this extension's
 * domain. Until the plugin hands over the application's translator (and in unit tests,
 * which load no JupyterLab), a bundle that only fills in `%1`-style arguments is used,
 * as JupyterLab's own null translator does.
 */
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';

export const DOMAIN = 'iota_container';

type Args = Array<string | number>;

function fill(message: string, args: Args): string {
  return message.replace(/%(\d+)/g, (whole, index: string) => {
    const value = args[Number(index) - 1];
    return value === undefined ? whole : String(value);
  });
}

const untranslated = {
  __: (message: string, ...args: Args) => fill(message, args),
  _n: (singular: string, plural: string, count: number, ...args: Args) =>
    fill(count === 1 ? singular : plural, [count, ...args])
};

let bundle: Pick<TranslationBundle, '__' | '_n'> = untranslated;

export function setTranslator(translator: ITranslator | null): void {
  bundle = translator ? translator.load(DOMAIN) : untranslated;
}

/** `trans.__('Run %1', name)`; `trans._n('%1 job', '%1 jobs', count)`. */
export const trans = {
  __: (message: string, ...args: Args): string => bundle.__(message, ...args),
  _n: (singular: string, plural: string, count: number, ...args: Args): string =>
    bundle._n(singular, plural, count, ...args)
};
