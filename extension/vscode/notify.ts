import * as vscode from 'vscode';

/** Error notifications shown, newest last (the test API reads them; VS Code cannot be asked). */
export const shownErrors: string[] = [];

export async function showError(message: string, ...actions: string[]): Promise<string | undefined> {
  shownErrors.push(message);
  if (shownErrors.length > 50) shownErrors.shift();
  return vscode.window.showErrorMessage(message, ...actions);
}
