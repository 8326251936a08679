/** Shows a run's HTML report: a tab in JupyterLab, a modal window in Notebook 7. */
import { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { IotaApi, Job } from './api';
import { Modal } from './modal';

export type ReportOpener = (job: Job) => Promise<void>;

function reportFrame(html: string): Widget {
  const widget = new Widget();
  widget.addClass('iota-Report');
  const frame = document.createElement('iframe');
  // The report holds the notebook's outputs: scripts run, but in an opaque origin that
  // cannot reach this page, its cookies or its XSRF token.
  frame.setAttribute('sandbox', 'allow-scripts allow-popups');
  frame.dataset.testid = 'iota-report-frame';
  frame.srcdoc = html;
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
      await showErrorMessage('No report', (error as Error).message);
      return;
    }
    const title = `${job.datasetName ?? 'dataset'} report`;
    const frame = reportFrame(html);
    if (labShell) {
      const widget = new MainAreaWidget({ content: frame });
      widget.id = `iota-report-${job.id}`;
      widget.title.label = title;
      widget.title.closable = true;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    } else {
      new Modal({ title, body: frame, id: `iota-report-${job.id}`, className: 'iota-ReportModal' }).open();
    }
  };
}
