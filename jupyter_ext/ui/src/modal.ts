/**
 * A modal window over the page holding one widget, styled as a JupyterLab dialog. Unlike
 * apputils' Dialog it has no Enter-means-OK handling, which a multi-field form needs.
 */
import { Widget } from '@lumino/widgets';
import { trans } from './i18n';

export class Modal extends Widget {
  constructor(options: { title: string; body: Widget; id: string; className?: string }) {
    super();
    this.id = options.id;
    this.addClass('jp-Dialog');
    this.addClass('iota-Modal');
    if (options.className) {
      this.addClass(options.className);
    }
    const content = document.createElement('div');
    content.className = 'jp-Dialog-content iota-ModalContent';
    const header = document.createElement('div');
    header.className = 'jp-Dialog-header iota-ModalHeader';
    const title = document.createElement('span');
    title.className = 'iota-ModalTitle';
    title.textContent = options.title;
    const close = document.createElement('button');
    close.className = 'jp-Button jp-mod-styled jp-mod-reject iota-ModalClose';
    close.title = trans.__('Close (a job already started goes on)');
    close.textContent = '✕';
    close.dataset.testid = 'iota-modal-close';
    close.addEventListener('click', () => this.dispose());
    header.append(title, close);
    content.append(header);
    this.node.append(content);
    this._body = options.body;
    this._content = content;
  }

  open(): void {
    // Below the application's menu bar (in Notebook 7 that sits under a header too).
    const bars = document.querySelectorAll(
      '#jp-top-panel, #jp-menu-panel, #top-panel-wrapper, #menu-panel-wrapper'
    );
    const bottom = Math.max(0, ...Array.from(bars, bar => bar.getBoundingClientRect().bottom));
    if (bottom > 0) {
      this.node.style.paddingTop = `${Math.round(bottom) + 16}px`;
    }
    Widget.attach(this, document.body);
    this._body.addClass('iota-ModalBody');
    Widget.attach(this._body, this._content);
    document.addEventListener('keydown', this._onKey, true);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    document.removeEventListener('keydown', this._onKey, true);
    this._body.dispose();
    if (this.isAttached) {
      Widget.detach(this);
    }
    super.dispose();
  }

  private _onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      this.dispose();
    }
  };

  private _body: Widget;
  private _content: HTMLElement;
}
