import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type Layer, type WebviewMessage, assertNever } from '../protocol';
import { inputNotice } from '../programs/notice';
import { RunChannel } from '../inspector/stream';
import type { TraceStore } from '../trace/store';
import { decodeTokensPerSecond } from '../trace/figures';
import type { SamplingSettings } from '../trace/sampling';
import type { SourceDecorations } from './decorations';
import { loadEngine } from './engineLoader';
import { InspectorPanel } from './inspectorPanel';
import type { InspectorView } from './inspectorView';
import { LoadCancelled, type ModelSession } from './modelSession';
import { LOAD_FAILED_ACTIONS, runHostAction } from './hostActions';
import { showError } from './notify';
import { defaultLayer, samplingSettings } from './settings';
import { type PromptSource, promptSource } from './sourceSpans';
import type { StatusBar } from './statusBar';

/** What Run Prompt… offers in the panel's prompt box when nothing was run yet: a program of the bundled model's language. */
export const DEFAULT_PROGRAM = 'x = 3\ny = x * 4\nprint(y)';

/** Where a run's program came from in a document, for decorations and reveal-line. */
interface ProgramOrigin {
  document: vscode.TextDocument;
  /** Document offset of the program's first character. */
  start: number;
  /** Document line of the program's first line (program line 1). */
  firstLine: number;
}

export interface RunRecord {
  runId: number;
  store?: TraceStore;
  done?: { reason: string; message?: string; generatedTokens: number };
}

/**
 * Runs programs through the model and streams them into the inspector panel, the source decorations
 * and the status bar. One run at a time: a new run stops the previous one.
 */
export class RunController implements vscode.Disposable {
  private view: InspectorView | undefined;
  private nextRunId = 1;
  private active: { runId: number; abort: AbortController; done: Promise<void> } | undefined;
  /** Where the current run's program came from, when it came from a document. */
  origin: ProgramOrigin | undefined;
  private program = '';
  private layer: Layer | undefined;
  lastRun: RunRecord | undefined;
  private readonly messages = new vscode.EventEmitter<{ from: 'inspector' | 'traceEditor'; message: WebviewMessage }>();
  readonly onWebviewMessage = this.messages.event;
  private readonly progress = new vscode.EventEmitter<{ runId: number; generatedTokens: number }>();
  /** After each decode step of a run. */
  readonly onDidDecode = this.progress.event;
  private readonly disposables: vscode.Disposable[] = [this.messages, this.progress];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    readonly modelSession: ModelSession,
    private readonly decorations: SourceDecorations,
    private readonly statusBar: StatusBar,
  ) {
    modelSession.beforeUnload = () => this.stop();
    this.disposables.push(modelSession.onDidChange((state) => {
      statusBar.setModel(state);
      if (state.state !== 'unloaded') this.view?.post({ type: 'status', state: state.state === 'ready' ? (this.active ? 'running' : 'idle') : state.state, model: state.model, provider: state.provider, message: state.message, routing: state.routing });
    }));
  }

  /** Reports a trace editor's webview message to listeners (the test API). */
  relay(message: WebviewMessage): void {
    this.messages.fire({ from: 'traceEditor', message });
  }

  /** Shows the inspector (creating it beside the editor if needed). */
  show(preserveFocus = true): InspectorView {
    if (this.view) {
      this.view.panel.reveal(undefined, preserveFocus);
      return this.view;
    }
    return this.adopt(InspectorPanel.create(this.extensionUri, this.log, preserveFocus));
  }

  /** Takes over a panel restored by the serializer. */
  adopt(view: InspectorView): InspectorView {
    this.view?.dispose();
    this.view = view;
    view.onMessage((m) => this.onMessage(m));
    view.onDidDispose(() => {
      if (this.view !== view) return;
      this.view = undefined;
      void this.stop(); // nobody is watching
    });
    this.postInit();
    return view;
  }

  /** Shows the inspector and moves the keyboard into it: the token list, or the prompt box (Run Prompt…). */
  focus(target: 'tokens' | 'prompt'): void {
    const view = this.show(false);
    if (target === 'prompt' && !this.program) {
      this.program = DEFAULT_PROGRAM;
      this.postInit();
    }
    view.post({ type: 'focus', target });
  }

  /** Removes the expert colours from the editor (the run stays in the inspector). */
  clearHighlights(): void {
    this.decorations.clear();
  }

  get hasPanel(): boolean {
    return this.view !== undefined;
  }

  private postInit(): void {
    const s = this.modelSession.state;
    this.view?.post({
      type: 'init', protocol: PROTOCOL_VERSION, mode: 'live', defaults: samplingSettings(), layer: this.currentLayer(),
      prompt: this.program, title: this.origin ? vscode.workspace.asRelativePath(this.origin.document.uri) : InspectorPanel.title,
    });
    if (s.state !== 'unloaded') this.view?.post({ type: 'status', state: s.state === 'ready' ? 'idle' : s.state, model: s.model, provider: s.provider, message: s.message, routing: s.routing });
  }

  private currentLayer(): Layer {
    return this.layer ?? defaultLayer();
  }

  /** The selection (or the whole file when nothing is selected) as the prompt. */
  async inspectSelection(editor: vscode.TextEditor): Promise<RunRecord | undefined> {
    const { document, selection } = editor;
    const range = selection.isEmpty ? new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)) : selection;
    const program = document.getText(range);
    if (!program.trim()) {
      void showError('MoE Lens: the selection is empty. Select some code (or open a file with code) and run Inspect Selection again.');
      return undefined;
    }
    return this.runProgram(program, { document, start: document.offsetAt(range.start), firstLine: range.start.line });
  }

  /** Runs `program` (wrapped in the model's prompt format) and resolves when the run has ended. */
  async runProgram(program: string, origin?: ProgramOrigin, settings: SamplingSettings = samplingSettings((m) => this.log.warn(m))): Promise<RunRecord | undefined> {
    await this.stop();
    this.program = program;
    this.origin = origin;
    this.show(true);
    this.postInit();
    let model;
    try {
      model = await this.modelSession.get();
    } catch (e) {
      if (e instanceof LoadCancelled) {
        this.view?.post({ type: 'clear' });
        return undefined;
      }
      // the run shown belongs to a model that is no longer loaded: the panel drops it and offers a way back
      const message = `MoE Lens could not load the model: ${(e as Error).message}`;
      this.view?.post({ type: 'clear' });
      this.view?.post({ type: 'error', message });
      void showError(message, ...Object.keys(LOAD_FAILED_ACTIONS)).then((choice) => {
        if (choice) void runHostAction(LOAD_FAILED_ACTIONS[choice], this.log);
      });
      return undefined;
    }
    const engine = await loadEngine();
    const runId = this.nextRunId++;
    const abort = new AbortController();
    const record: RunRecord = { runId };
    this.lastRun = record;
    const layers = model.layout.routedLayers;
    if (this.layer === undefined || (this.layer !== 'all' && !layers.includes(this.layer))) this.layer = defaultLayer(layers);
    const source: PromptSource | undefined = origin ? promptSource(engine.textRange(model.folder, program), origin.start) : undefined;
    this.decorations.begin(origin?.document, source, this.layer);
    const view = this.view;
    const channel = new RunChannel(runId, (m) => view?.post(m));
    const prompt = engine.formatPrompt(model.folder, program);
    const found = model.routers?.discovery;
    const noRouters = found && found.plans.length === 0
      ? `No MoE layers found in this model's graph (searched for ${found.searched}): its tokens are shown without routing.` : undefined;
    const notice = [noRouters, inputNotice(program, model.folder.prompt.kind === 'template')].filter(Boolean).join(' ') || undefined;
    this.log.info(`run ${runId}: ${prompt.length} prompt characters, ${JSON.stringify(settings)}`);
    let lastSpeedUpdate = 0;
    const done = (async () => {
      const events = engine.run(model, { prompt, settings, signal: abort.signal, batchMs: () => channel.currentIntervalMs });
      this.statusBar.setSpeed(0);
      view?.post({ type: 'status', state: 'running', model: this.modelSession.state.model, provider: model.provider, routing: this.modelSession.state.routing });
      for (;;) {
        const next = await events.next();
        if (next.done) {
          record.store = next.value;
          break;
        }
        const e = next.value;
        if (e.type === 'start') {
          record.store = e.store;
          channel.start(e.store, 'live', notice);
        } else if (e.type === 'step' && record.store) {
          channel.step(e.segments);
          const store = record.store;
          if (e.phase === 'prefill') {
            this.decorateTokens(store, e.firstToken, e.firstToken + e.tokenCount);
            this.decorations.paint();
          } else {
            this.progress.fire({ runId, generatedTokens: e.step });
            const now = performance.now();
            if (now - lastSpeedUpdate > 250) {
              lastSpeedUpdate = now;
              this.statusBar.setSpeed(decodeTokensPerSecond(store.stepRunMs()));
            }
          }
        } else if (e.type === 'done') {
          const { type: _, ...summary } = e;
          // the bundled model's programs run: its reasoning is right or wrong, step by step
          if (record.store) record.store.checks = engine.checkRun(model.folder, record.store, program);
          channel.done(summary);
          record.done = { reason: e.reason, generatedTokens: e.generatedTokens, ...(e.message ? { message: e.message } : {}) };
          this.log.info(`run ${runId} done: ${e.reason}, ${e.generatedTokens} tokens, ${e.decodeTokensPerSecond.toFixed(0)} tok/s${e.message ? ` (${e.message})` : ''}`);
          if (e.reason === 'error') void showError(`MoE Lens: the run failed: ${e.message ?? 'unknown error'}`);
        }
      }
    })().catch((e: unknown) => {
      this.log.error(`run ${runId} failed: ${(e as Error).stack ?? e}`);
      view?.post({ type: 'error', message: `The run failed: ${(e as Error).message}` });
    }).finally(() => {
      this.decorations.paint();
      this.statusBar.setSpeed(undefined);
      if (this.active?.runId === runId) this.active = undefined;
      view?.post({ type: 'status', state: 'idle', model: this.modelSession.state.model, provider: model.provider, routing: this.modelSession.state.routing });
    });
    this.active = { runId, abort, done };
    await done;
    return record;
  }

  /** Prompt tokens [from, to) of a run onto their source ranges in the editor. */
  private decorateTokens(store: TraceStore, from: number, to: number): void {
    const k = store.meta.model.expertsPerToken;
    const spans = store.sourceSpans();
    const texts = store.tokenTexts();
    const layers = store.meta.model.moeLayers.map((_, l) => store.routing(l));
    for (let t = from; t < to; t++) {
      if (spans[2 * t] < 0) continue;
      const routing = layers.map((r) => ({ layer: r.layer, expertIds: r.expertIds.subarray(t * k, (t + 1) * k), weights: r.weights.subarray(t * k, (t + 1) * k) }));
      this.decorations.addToken(t, texts[t], [spans[2 * t], spans[2 * t + 1]], routing);
    }
  }

  /** Stops the run in progress (within one decode step) and waits for it to end. */
  async stop(runId?: number): Promise<void> {
    const active = this.active;
    if (!active || (runId !== undefined && active.runId !== runId)) return;
    active.abort.abort();
    await active.done;
  }

  private onMessage(message: WebviewMessage): void {
    this.messages.fire({ from: 'inspector', message });
    switch (message.type) {
      case 'ready':
      case 'rendered':
        return;
      case 'run':
        void this.runProgram(message.prompt, undefined, message.settings);
        return;
      case 'stop':
        void this.stop(message.runId);
        return;
      case 'revealLine':
        void this.revealLine(message.line);
        return;
      case 'pinToken': {
        const range = this.decorations.pin(message.index);
        const editor = this.origin && vscode.window.visibleTextEditors.find((e) => e.document === this.origin?.document);
        if (range && editor) editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
        return;
      }
      case 'selectLayer':
        this.layer = message.layer;
        this.decorations.setLayer(message.layer);
        return;
      case 'export':
        void vscode.commands.executeCommand('moeLens.exportTrace');
        return;
      case 'action':
        void runHostAction(message.action, this.log);
        return;
      default:
        assertNever(message);
    }
  }

  /** Shows program line `line` (1-based) of the run's source in the editor beside the inspector. */
  async revealLine(line: number): Promise<vscode.Range | undefined> {
    if (!this.origin) return undefined;
    const { document, firstLine } = this.origin;
    const target = Math.min(document.lineCount - 1, firstLine + line - 1);
    const range = document.lineAt(target).range;
    const column = vscode.window.visibleTextEditors.find((e) => e.document === document)?.viewColumn ?? vscode.ViewColumn.One;
    const editor = await vscode.window.showTextDocument(document, { viewColumn: column, preserveFocus: false });
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return range;
  }

  dispose(): void {
    this.active?.abort.abort();
    this.view?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
