import * as vscode from 'vscode';
import type { ModelState } from './modelSession';

/** Model, provider in use, and tokens/s while a run streams; click opens the inspector. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('moeLens.status', vscode.StatusBarAlignment.Right, 100);
  private model: ModelState = { state: 'unloaded' };
  private tokensPerSecond: number | undefined;

  constructor() {
    this.item.name = 'MoE Lens';
    this.item.command = 'moeLens.openInspector';
    this.render();
    this.item.show();
  }

  setModel(state: ModelState): void {
    this.model = state;
    this.render();
  }

  /** Tokens/s of the run in progress; undefined when none runs. */
  setSpeed(tokensPerSecond: number | undefined): void {
    this.tokensPerSecond = tokensPerSecond;
    this.render();
  }

  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const { state, model, provider, message, routing } = this.model;
    const icon = state === 'loading' ? '$(loading~spin)' : state === 'error' ? '$(error)' : '$(symbol-class)';
    const parts = [model ?? 'MoE Lens'];
    if (provider) parts.push(provider);
    if (this.tokensPerSecond !== undefined) parts.push(`${this.tokensPerSecond.toFixed(0)} tok/s`);
    this.item.text = `${icon} ${parts.join(' · ')}`;
    this.item.tooltip = state === 'unloaded' ? 'MoE Lens: the model loads on first use. Click to open the inspector.'
      : state === 'error' ? `MoE Lens: ${message ?? 'the model could not be loaded'}`
      : `MoE Lens: model ${model ?? ''}${provider ? ` on ${provider}` : ''}${state === 'loading' ? ' (loading)' : ''}${routing ? `\nrouting read from ${routing}` : ''}`;
  }

  dispose(): void {
    this.item.dispose();
  }
}
