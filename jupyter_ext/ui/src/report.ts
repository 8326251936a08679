/** Shows a run's HTML report: a tab in JupyterLab, a modal window in Notebook 7. */
import { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { html5Icon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { IotaApi, Job } from './api';
import { trans } from './i18n';
import { Modal } from './modal';

export type ReportOpener = (job: Job) => Promise<void>;

/** Code and outputs wrap in the report: a long URI (an output file's, say) stays readable
 * instead of running off the tab's edge. */
const WRAP_LONG_LINES =
  '<style data-iota-wrap>pre, code, .jp-OutputArea-output, .highlight pre ' +
  '{ white-space: pre-wrap !important; overflow-wrap: anywhere; }</style>';

export function withWrappedLines(html: string): string {
  const head = html.search(/<\/head>/i);
  return head < 0 ? WRAP_LONG_LINES + html : html.slice(0, head) + WRAP_LONG_LINES + html.slice(head);
}

function reportFrame(html: string): Widget {
  const widget = new Widget();
  widget.addClass('iota-Report');
  const frame = document.createElement('iframe');
  // The report holds the notebook's outputs: scripts run, but in an opaque origin that
  // cannot reach this page, its cookies or its XSRF token.
  frame.setAttribute('sandbox', 'allow-scripts allow-popups');
  frame.dataset.testid = 'iota-report-frame';
  frame.srcdoc = withWrappedLines(html);
  widget.node.append(frame);
  return widget;
}

export function reportOpener(
  app: JupyterFrontEnd,
  api: IotaApi,
  labShell: ILabShell | null
): ReportOpener {
  return async (job: Job) => {
    let html: string;
    try {
      html = await api.report(job);
    } catch (error) {
      await showErrorMessage(trans.__('No report'), (error as Error).message);
      return;
    }
    const title = trans.__('%1 report', job.datasetName ?? trans.__('dataset'));
    const frame = reportFrame(html);
    if (labShell) {
      const widget = new MainAreaWidget({ content: frame });
      widget.id = `iota-report-${job.id}`;
      widget.title.label = title;
      widget.title.icon = html5Icon;
      widget.title.caption = trans.__('HTML report of dataset %1', job.datasetName ?? '');
      widget.title.closable = true;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    } else {
      new Modal({ title, body: frame, id: `iota-report-${job.id}`, className: 'iota-ReportModal' }).open();
    }
  };
}
