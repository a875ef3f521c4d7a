import * as vscode from 'vscode';
import type { LoadedModel } from './engineModule';
import { loadEngine } from './engineLoader';
import { type ModelChoice, modelChoice, providerPreference } from './settings';

export interface ModelState {
  state: 'unloaded' | 'loading' | 'ready' | 'error';
  model?: string;
  provider?: string;
  message?: string;
}

/**
 * The loaded model, shared by every run. Loads lazily with a progress notification, logs the folder,
 * the provider and each fallback with its reason, and reloads when the model or provider settings change.
 */
export class ModelSession implements vscode.Disposable {
  private current: { key: string; model: Promise<LoadedModel>; choice: ModelChoice } | undefined;
  private readonly changed = new vscode.EventEmitter<ModelState>();
  readonly onDidChange = this.changed.event;
  private stateValue: ModelState = { state: 'unloaded' };
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('moeLens.modelPath') || e.affectsConfiguration('moeLens.executionProviders')) void this.unload();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.unload()),
    );
  }

  get state(): ModelState {
    return this.stateValue;
  }

  /** The model for the current settings, loading it (with progress) if needed. Throws a ModelError on failure. */
  async get(): Promise<LoadedModel> {
    const choice = modelChoice(this.extensionUri);
    const providers = providerPreference();
    const key = JSON.stringify([choice.dir, providers]);
    if (this.current?.key !== key) {
      await this.unload();
      this.current = { key, choice, model: this.load(choice, providers) };
    }
    const pending = this.current;
    try {
      return await pending.model;
    } catch (e) {
      if (this.current === pending) this.current = undefined; // try again next time
      throw e;
    }
  }

  private async load(choice: ModelChoice, providers: 'auto' | string[]): Promise<LoadedModel> {
    const name = choice.origin === 'bundled' ? 'bundled model' : choice.dir;
    if (choice.ignoredWorkspaceDir) {
      this.log.warn(`workspace setting moeLens.modelPath = ${choice.ignoredWorkspaceDir} ignored: the workspace is not trusted; using the ${choice.origin} model`);
    }
    this.setState({ state: 'loading', model: name });
    this.log.info(`loading ${choice.origin} model from ${choice.dir} (execution providers: ${providers === 'auto' ? 'auto' : providers.join(', ')})`);
    const started = performance.now();
    try {
      const model = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens: loading ${name}…` },
        async () => {
          const engine = await loadEngine();
          return engine.loadModel(choice.dir, { providers, log: (line) => this.log.info(line) });
        },
      );
      for (const f of model.fallbacks) this.log.warn(`fell back from ${f.provider}: ${f.reason}`);
      this.log.info(`model ${model.folder.dir} ready on ${model.provider} in ${(performance.now() - started).toFixed(0)} ms`);
      this.setState({ state: 'ready', model: modelName(model), provider: model.provider });
      return model;
    } catch (e) {
      const message = (e as Error).message;
      this.log.error(`model could not be loaded: ${message}`);
      this.setState({ state: 'error', model: name, message });
      throw e;
    }
  }

  private setState(state: ModelState): void {
    this.stateValue = state;
    this.changed.fire(state);
  }

  /** Called before the session is released (the run controller stops its run there). */
  beforeUnload: () => Promise<void> = async () => {};

  async unload(): Promise<void> {
    if (this.current) await this.beforeUnload();
    const previous = this.current;
    this.current = undefined;
    if (this.stateValue.state !== 'unloaded') this.setState({ state: 'unloaded' });
    const model = await previous?.model.catch(() => undefined);
    await model?.session.release();
  }

  dispose(): void {
    void this.unload();
    for (const d of this.disposables) d.dispose();
  }
}

export function modelName(model: LoadedModel): string {
  return model.folder.dir.split(/[\\/]/).filter(Boolean).at(-1) ?? model.folder.dir;
}
