import * as vscode from 'vscode';
import type { LoadedModel } from './engineModule';
import { loadEngine } from './engineLoader';
import { runHostAction } from './hostActions';
import { routingSummary } from './routingSummary';
import { type ModelChoice, modelChoice, providerPreference } from './settings';

/** The user cancelled loading the model (the progress notification's Cancel). */
export class LoadCancelled extends Error {
  constructor() {
    super('loading the model was cancelled');
    this.name = 'LoadCancelled';
  }
}

export interface ModelState {
  state: 'unloaded' | 'loading' | 'ready' | 'error';
  model?: string;
  provider?: string;
  message?: string;
  /** How the routing is read, per layer group: "P2 softmax_topk: layers 1–3" (status bar tooltip, inspector header). */
  routing?: string;
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

  /** `cacheDir`: where the router search of third-party models is cached (the extension's global storage). */
  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel, private readonly cacheDir?: string) {
    this.disposables.push(
      // only a change of what would be loaded unloads: a run may already have loaded the new choice
      vscode.workspace.onDidChangeConfiguration((e) => {
        if ((e.affectsConfiguration('moeLens.modelPath') || e.affectsConfiguration('moeLens.executionProviders')) && this.current?.key !== this.key()) void this.unload();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        if (this.current?.key !== this.key()) void this.unload();
      }),
    );
  }

  get state(): ModelState {
    return this.stateValue;
  }

  /** What the current settings would load. */
  private key(): string {
    return JSON.stringify([modelChoice(this.extensionUri).dir, providerPreference()]);
  }

  /** The model for the current settings, loading it (with progress) if needed. Throws a ModelError on failure. */
  async get(): Promise<LoadedModel> {
    const choice = modelChoice(this.extensionUri);
    const providers = providerPreference();
    const key = this.key();
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
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens: loading ${name}…`, cancellable: true },
        async (_progress, token) => {
          const engine = await loadEngine();
          const loading = engine.loadModel(choice.dir, { providers, log: (line) => this.log.info(line), cacheDir: this.cacheDir });
          // onnxruntime cannot stop a session half-made: a cancelled load is released when it is done
          const cancelled = new Promise<never>((_, reject) => token.onCancellationRequested(() => {
            void loading.then((m) => m.session.release(), () => undefined);
            reject(new LoadCancelled());
          }));
          return Promise.race([loading, cancelled]);
        },
      );
      for (const f of model.fallbacks) this.log.warn(`fell back from ${f.provider}: ${f.reason}`);
      const routers = model.routers;
      if (routers) {
        const plans = routers.discovery.plans;
        this.log.info(plans.length > 0
          ? `routers found in ${plans.length} layers (${[...new Set(plans.map((p) => `${p.pattern} ${p.recipe}`))].join(', ')})${routers.fromCache ? ', from the cache' : ''}: ${routers.cacheFile}`
          : `no MoE layers found; searched for ${routers.discovery.searched}`);
      }
      if (model.fallbacks.length > 0 && providers !== 'auto') {
        const reasons = model.fallbacks.map((f) => `${f.provider} could not start (${f.reason})`).join('; ');
        void vscode.window.showWarningMessage(`MoE Lens: ${reasons}. Running on ${model.provider}.`, 'Show Log', 'Use CPU').then((choice) => {
          if (choice === 'Show Log') this.log.show(true);
          if (choice === 'Use CPU') void runHostAction('useCpu', this.log);
        });
      }
      this.log.info(`model ${model.folder.dir} ready on ${model.provider} in ${(performance.now() - started).toFixed(0)} ms`);
      this.setState({ state: 'ready', model: modelName(model), provider: model.provider, routing: routingSummary(model) });
      return model;
    } catch (e) {
      if (e instanceof LoadCancelled) {
        this.log.info('loading the model was cancelled');
        this.setState({ state: 'unloaded' });
        throw e;
      }
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
