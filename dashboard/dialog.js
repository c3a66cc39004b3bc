/** An in-page confirmation (a modal <dialog>), resolved with true only for the confirm button. */
import { byTestId } from './dom.js';

export function confirmDialog({ title, body, confirmLabel }) {
  const dialog = byTestId('confirm-dialog');
  byTestId('confirm-title', dialog).textContent = title;
  byTestId('confirm-body', dialog).textContent = body;
  byTestId('confirm-ok', dialog).textContent = confirmLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    // The safe choice has the focus: Enter does not disconnect anyone by accident.
    byTestId('confirm-cancel', dialog).focus();
  });
}
