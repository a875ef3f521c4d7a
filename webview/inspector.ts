/**
 * The webview's controller: queues host messages, folds them through the reducer once per animation
 * frame, re-renders, acknowledges what was painted (`rendered`), and keeps view settings and the last
 * run in VS Code's webview state so they survive hide/show.
 */
import type { HostMessage, Layer, WebviewMessage } from '../extension/protocol';
import { type SavedRun, type UiState, canSaveRun, defaultUi, loadRun, saveRun } from './persist';
import { type InspectorState, initialState, reduce } from './state';
import type { VsCodeApi } from './vscodeApi';

const KNOWN = new Set(['init', 'status', 'runStart', 'runData', 'runBatch', 'runDone', 'error', 'clear', 'focus']);
/** Hidden documents get no animation frames: fold messages on a timer then. */
const FALLBACK_MS = 250;
/**
 * The run is saved off the hot path: while it streams at most every SAVE_RUN_EVERY_MS, and never more
 * than SAVE_SHARE of the time (a save grows with the run: VS Code copies the whole state); soon after it ends.
 */
const SAVE_RUN_EVERY_MS = 3000;
const SAVE_SHARE = 0.02;
const SAVE_DONE_RUN_AFTER_MS = 300;

interface Saved {
  v: 2;
  ui: UiState;
  run: SavedRun | null;
}

export interface Snapshot {
  state: InspectorState;
  ui: UiState;
}

export interface FrameStats {
  /** Milliseconds spent folding messages and rendering, per frame that had messages. */
  workMs: number[];
}

export class Inspector {
  private snapshot: Snapshot;
  private queue: HostMessage[] = [];
  private frame = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();
  private acked = { runId: -1, seq: -1 };
  private savedRun: SavedRun | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long the last save took, ms. */
  private saveMs = 0;
  readonly stats: FrameStats = { workMs: [] };

  constructor(private readonly api: VsCodeApi, private readonly render: (commit: () => void) => void) {
    this.snapshot = { state: initialState, ui: defaultUi };
    const saved = api.getState() as Partial<Saved> | undefined;
    if (saved && saved.v === 2 && saved.ui) {
      let run = null;
      try {
        run = saved.run ? loadRun(saved.run) : null;
        this.savedRun = saved.run ?? null;
      } catch {
        // an old or damaged saved state: start empty
      }
      this.snapshot = { state: { ...initialState, run }, ui: { ...defaultUi, ...saved.ui } };
    }
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  post(message: WebviewMessage): void {
    this.api.postMessage(message);
  }

  /** A message event from the host; anything that is not a host message is ignored. */
  receive(data: unknown): void {
    if (typeof data !== 'object' || data === null || !KNOWN.has((data as { type?: unknown }).type as string)) return;
    this.queue.push(data as HostMessage);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush());
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), FALLBACK_MS);
  }

  /** Folds every queued message, renders once, and acknowledges. */
  flush(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.frame = 0;
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const started = performance.now();
    const batch = this.queue;
    this.queue = [];
    let { state, ui } = this.snapshot;
    const before = state.run;
    for (const m of batch) state = reduce(state, m);
    const init = lastInit(batch);
    // a host that restarted (window reload) knows no program or title: keep what the panel showed
    if (init) ui = { ...ui, layer: init.layer, ...(init.prompt ? { prompt: init.prompt } : {}), ...(init.prompt || !ui.title ? { title: init.title } : {}) };
    const focus = batch.filter((m): m is Extract<HostMessage, { type: 'focus' }> => m.type === 'focus').at(-1);
    if (focus) ui = { ...ui, focus: { target: focus.target, n: (ui.focus?.n ?? 0) + 1 } };
    if (state.run !== before && state.run?.runId !== before?.runId) ui = { ...ui, pinned: null, range: null };
    this.snapshot = { state, ui };
    this.emit();
    const run = state.run;
    if (run && (run.runId !== this.acked.runId || run.nextSeq - 1 > this.acked.seq)) {
      this.acked = { runId: run.runId, seq: run.nextSeq - 1 };
      this.post({ type: 'rendered', runId: run.runId, seq: run.nextSeq - 1, tokens: run.tokenCount });
    }
    this.stats.workMs.push(performance.now() - started);
    if (this.stats.workMs.length > 100_000) this.stats.workMs.splice(0, 50_000);
    this.scheduleSave();
  }

  setUi(change: Partial<UiState>): void {
    this.snapshot = { ...this.snapshot, ui: { ...this.snapshot.ui, ...change } };
    this.emit();
    this.persist();
  }

  selectLayer(layer: Layer): void {
    this.setUi({ layer });
    this.post({ type: 'selectLayer', layer });
  }

  pin(index: number | null): void {
    this.setUi({ pinned: index, range: null, heatmapScope: index === null ? this.snapshot.ui.heatmapScope : 'token' });
    const run = this.snapshot.state.run;
    if (run) this.post({ type: 'pinToken', runId: run.runId, index });
  }

  private emit(): void {
    this.render(() => {
      for (const l of this.listeners) l();
    });
  }

  /** Saves the run later (saving 20k tokens costs tens of ms, and VS Code copies the whole state on each save). */
  private scheduleSave(): void {
    const run = this.snapshot.state.run;
    if (!run || (this.savedRun?.runId === run.runId && this.savedRun.nextSeq === run.nextSeq)) return;
    const delay = run.summary !== null ? SAVE_DONE_RUN_AFTER_MS : Math.max(SAVE_RUN_EVERY_MS, this.saveMs / SAVE_SHARE);
    if (this.saveTimer !== undefined) {
      if (run.summary === null) return; // one is already due
      clearTimeout(this.saveTimer);
    }
    this.saveTimer = setTimeout(() => {
      this.saveNow();
      if (this.snapshot.state.run?.summary === null) this.scheduleSave();
    }, delay);
  }

  /** Saves now a run whose save is still due (the panel is being hidden or reloaded). */
  saveNow(): void {
    if (this.saveTimer === undefined) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const started = performance.now();
    const current = this.snapshot.state.run;
    this.savedRun = current && canSaveRun(current) ? saveRun(current) : null;
    this.persist();
    this.saveMs = performance.now() - started;
  }

  private persist(): void {
    const run = this.snapshot.state.run;
    if (!run || this.savedRun?.runId !== run.runId) this.savedRun = null; // never restore another run than the one shown
    this.api.setState({ v: 2, ui: this.snapshot.ui, run: this.savedRun } satisfies Saved);
  }
}

const lastInit = (batch: HostMessage[]) => batch.filter((m): m is Extract<HostMessage, { type: 'init' }> => m.type === 'init').at(-1);
