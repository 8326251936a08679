/**
 * JupyterLab 4 / Notebook 7 plugin: a "Containerize" toolbar button and command that
 * open the wizard for the current notebook, and a sidebar of containerize and run jobs.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';
import { buildIcon, ReactWidget } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';
import * as React from 'react';
import { IotaApi } from './api';
import { setTranslator, trans } from './i18n';
import { JobsPanel } from './jobs';
import { Modal } from './modal';
import { ReportOpener, reportOpener } from './report';
import { Wizard } from './wizard/Wizard';

const COMMAND_CONTAINERIZE = 'iota-container:containerize';
const COMMAND_JOBS = 'iota-container:show-jobs';
const WIZARD_ID = 'iota-containerize-wizard';

let openedWizard: Modal | null = null;

class ContainerizeButton
  implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel>
{
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'iota-ContainerizeButton',
      icon: buildIcon,
      label: trans.__('Containerize'),
      tooltip: trans.__('Containerize this notebook as a container dataset'),
      onClick: () => {
        void this.app.commands.execute(COMMAND_CONTAINERIZE, { path: panel.context.path });
      }
    });
    button.node.dataset.testid = 'iota-containerize-button';
    panel.toolbar.insertItem(10, 'iotaContainerize', button);
    return button;
  }
}

async function openWizard(
  api: IotaApi,
  panel: NotebookPanel,
  openReport: ReportOpener,
  reportInTab: boolean,
  jobs: JobsPanel
): Promise<void> {
  // The server reads the notebook from disk: what the user sees is what gets built.
  if (panel.context.model.dirty && !panel.context.model.readOnly) {
    await panel.context.save();
  }
  openedWizard?.dispose();
  const body = ReactWidget.create(
    React.createElement(Wizard, {
      api,
      notebook: panel.context.path,
      // A report opens in a tab of its own: the wizard would cover it.
      openReport: async job => {
        if (reportInTab) {
          openedWizard?.dispose();
        }
        await openReport(job);
      },
      onJobStarted: () => jobs.refresh()
    })
  );
  openedWizard = new Modal({
    title: trans.__('Containerize %1', panel.context.path),
    body,
    id: WIZARD_ID
  });
  openedWizard.open();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'iota-container-jupyter:plugin',
  description: 'Containerize a notebook as a container dataset, and run it.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILabShell, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    labShell: ILabShell | null,
    translator: ITranslator | null
  ) => {
    setTranslator(translator);
    const api = new IotaApi();
    const openReport = reportOpener(app, api, labShell);
    const jobs = new JobsPanel(api, openReport);
    jobs.title.icon = buildIcon;
    jobs.title.caption = trans.__('Containerize jobs');
    app.shell.add(jobs, 'left', { rank: 900 });

    const panelFor = (path: unknown): NotebookPanel | null => {
      if (typeof path === 'string' && path) {
        return tracker.find(panel => panel.context.path === path) ?? null;
      }
      return tracker.currentWidget;
    };
    app.commands.addCommand(COMMAND_CONTAINERIZE, {
      label: trans.__('Containerize Notebook…'),
      caption: trans.__('Build an image from the notebook, push it and write its dataset definition'),
      icon: buildIcon,
      isEnabled: () => tracker.currentWidget !== null,
      execute: async args => {
        const panel = panelFor(args['path']);
        if (panel) {
          await openWizard(api, panel, openReport, labShell !== null, jobs);
        }
      }
    });
    app.commands.addCommand(COMMAND_JOBS, {
      label: trans.__('Show Containerize Jobs'),
      execute: () => app.shell.activateById(jobs.id)
    });
    if (palette) {
      palette.addItem({ command: COMMAND_CONTAINERIZE, category: trans.__('Containerize') });
      palette.addItem({ command: COMMAND_JOBS, category: trans.__('Containerize') });
    }
    app.docRegistry.addWidgetExtension('Notebook', new ContainerizeButton(app));
  }
};

export default plugin;
