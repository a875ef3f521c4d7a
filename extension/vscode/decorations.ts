import * as vscode from 'vscode';
import type { Layer } from '../protocol';
import { topExpertAt } from '../trace/figures';
import { forgetDecorations, saveDecorations, savedDecorations, savedUri } from './decorationMemory';
import { expertColor } from './palette';
import { type PromptSource, documentSpan } from './sourceSpans';

/** One MoE layer's choice for one token: its k experts and their gate weights. */
export interface TokenRouting {
  layer: number;
  expertIds: ArrayLike<number>;
  weights: ArrayLike<number>;
}

export interface DecoratedToken {
  index: number;
  text: string;
  range: vscode.Range;
  routing: TokenRouting[];
}

/** What the decorations show right now (the test API reads it; the editor API cannot be asked). */
export interface DecorationSnapshot {
  uri: string;
  layer: Layer;
  /** Per decorated token: its range and the expert that coloured it. */
  ranges: { index: number; range: [number, number, number, number]; expert: number; hover: string }[];
  /** The token pinned in the inspector, if its source is decorated. */
  pinned?: number;
}

/**
 * Paints the source range of each prompt token in the selection, coloured by its top expert at the
 * selected layer, with a hover listing its routing in every MoE layer. One decoration type per expert,
 * made on first use; a new run or `clear()` removes them all.
 */
export class SourceDecorations implements vscode.Disposable {
  private readonly types = new Map<number, vscode.TextEditorDecorationType>();
  private readonly pinType = vscode.window.createTextEditorDecorationType({
    borderWidth: '1px', borderStyle: 'solid', borderColor: new vscode.ThemeColor('editor.foreground'),
  });
  private tokens: DecoratedToken[] = [];
  private document: vscode.TextDocument | undefined;
  private source: PromptSource | undefined;
  private layer: Layer = 0;
  private snapshotValue: DecorationSnapshot | undefined;
  private readonly disposables: vscode.Disposable[] = [this.pinType];

  /** `state`: the workspace's memento, where the last run's colours are kept across a window reload. */
  constructor(private readonly state?: vscode.Memento) {
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => {
        if (!this.document) this.restore();
        this.paint();
      }),
      // the token ranges describe the text that was run; once it changes they would point at other code
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document && e.contentChanges.length > 0) this.clear();
      }),
    );
    this.restore();
  }

  /** Paints the colours saved before a reload, when their document shows with the text they were made on. */
  private restore(): void {
    if (!this.state) return;
    const uri = savedUri(this.state);
    const editor = uri ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri) : undefined;
    const saved = editor ? savedDecorations(this.state, editor.document) : undefined;
    if (!editor || !saved) return;
    this.document = editor.document;
    this.layer = saved.layer;
    this.tokens = saved.tokens;
    this.paint();
  }

  /** Starts a new run's decorations on `document` (undefined: the prompt has no source document). */
  begin(document: vscode.TextDocument | undefined, source: PromptSource | undefined, layer: Layer): void {
    this.clear();
    this.document = document;
    this.source = source;
    this.layer = layer;
  }

  /**
   * Adds a prompt token; repainting waits for `paint()` (once per batch). Only the token's visible
   * characters are painted: a token that is all whitespace (indentation) is not, and a word's leading
   * space is left out.
   */
  addToken(index: number, text: string, span: readonly [number, number] | null, routing: TokenRouting[]): void {
    if (!this.document || !this.source || !span) return;
    const offsets = documentSpan(span, this.source);
    if (!offsets) return;
    const covered = this.document.getText(new vscode.Range(this.document.positionAt(offsets[0]), this.document.positionAt(offsets[1])));
    const lead = covered.length - covered.trimStart().length;
    const trail = covered.length - covered.trimEnd().length;
    if (lead === covered.length) return;
    const range = new vscode.Range(this.document.positionAt(offsets[0] + lead), this.document.positionAt(offsets[1] - trail));
    this.tokens.push({ index, text, range, routing });
  }

  setLayer(layer: Layer): void {
    this.layer = layer;
    this.paint();
  }

  pin(index: number | null): vscode.Range | undefined {
    const token = index === null ? undefined : this.tokens.find((t) => t.index === index);
    for (const editor of this.editors()) editor.setDecorations(this.pinType, token ? [token.range] : []);
    if (this.snapshotValue) this.snapshotValue = { ...this.snapshotValue, ...(token ? { pinned: token.index } : { pinned: undefined }) };
    return token?.range;
  }

  private editors(): readonly vscode.TextEditor[] {
    const uri = this.document?.uri.toString();
    return uri ? vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === uri) : [];
  }

  /** The expert that colours a token: top-1 at the selected layer (`all`: the first MoE layer). */
  private expertOf(token: DecoratedToken): number {
    const routing = this.layer === 'all' ? token.routing[0] : token.routing.find((r) => r.layer === this.layer) ?? token.routing[0];
    return routing ? topExpertAt(routing.expertIds, routing.weights, 0, routing.expertIds.length) : -1;
  }

  paint(): void {
    if (!this.document) return;
    const byExpert = new Map<number, vscode.DecorationOptions[]>();
    const ranges: DecorationSnapshot['ranges'] = [];
    for (const token of this.tokens) {
      const expert = this.expertOf(token);
      if (expert < 0) continue;
      const hover = hoverText(token, this.layer);
      const list = byExpert.get(expert) ?? [];
      const markdown = new vscode.MarkdownString(hover);
      markdown.supportHtml = true; // the expert swatches: <span style="color:…">
      list.push({ range: token.range, hoverMessage: markdown });
      byExpert.set(expert, list);
      const r = token.range;
      ranges.push({ index: token.index, range: [r.start.line, r.start.character, r.end.line, r.end.character], expert, hover });
    }
    for (const expert of byExpert.keys()) if (!this.types.has(expert)) this.types.set(expert, decorationType(expert));
    for (const editor of this.editors()) {
      for (const [expert, type] of this.types) editor.setDecorations(type, byExpert.get(expert) ?? []);
    }
    this.snapshotValue = { uri: this.document.uri.toString(), layer: this.layer, ranges };
    if (this.state) saveDecorations(this.state, this.document, this.layer, this.tokens);
  }

  get snapshot(): DecorationSnapshot | undefined {
    return this.snapshotValue;
  }

  /** Removes the colours from the editor (and forgets them, unless the window is only closing). */
  clear(forget = true): void {
    for (const editor of this.editors()) {
      for (const type of this.types.values()) editor.setDecorations(type, []);
      editor.setDecorations(this.pinType, []);
    }
    this.tokens = [];
    this.document = undefined;
    this.source = undefined;
    this.snapshotValue = undefined;
    if (forget && this.state) forgetDecorations(this.state);
  }

  dispose(): void {
    this.clear(false); // deactivation (a reload, too): the saved colours come back with the window
    for (const type of this.types.values()) type.dispose();
    this.types.clear();
    for (const d of this.disposables) d.dispose();
  }
}

function decorationType(expert: number): vscode.TextEditorDecorationType {
  return vscode.window.createTextEditorDecorationType({
    backgroundColor: expertColor(expert),
    borderRadius: '2px',
    overviewRulerColor: expertColor(expert, 0.8),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
}

function hoverText(token: DecoratedToken, layer: Layer): string {
  const lines = [`**MoE Lens** · token ${token.index} \`${JSON.stringify(token.text).slice(1, -1).replace(/`/g, "'")}\``, '',
    '| layer | experts, heaviest gate weight first |', '|---|---|'];
  for (const r of token.routing) {
    const order = Array.from(r.expertIds, (id, i) => ({ id, weight: r.weights[i] })).filter((x) => x.id >= 0).sort((a, b) => b.weight - a.weight);
    const experts = order.map((x) => `<span style="color:${expertColor(x.id, 1).slice(0, 7)};">■</span> E${x.id} ${x.weight.toFixed(2)}`).join(' · ');
    lines.push(`| ${r.layer === layer ? `**${r.layer}**` : r.layer} | ${experts} |`);
  }
  return lines.join('\n');
}
