/**
 * Keeps the editor's expert colours across a window reload: the decorated tokens of the last run are
 * saved in the workspace's state with a hash of the document's text, and painted again when that
 * document shows with the same text (a changed document would put them on other code).
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { Layer } from '../protocol';
import type { DecoratedToken } from './decorations';

const KEY = 'moeLens.decorations';
/** Beyond this many tokens the colours are not kept (the state stays small). */
const MAX_TOKENS = 5000;

interface Saved {
  uri: string;
  textHash: string;
  layer: Layer;
  tokens: { index: number; text: string; start: number; end: number; routing: { layer: number; expertIds: number[]; weights: number[] }[] }[];
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

export function saveDecorations(state: vscode.Memento, document: vscode.TextDocument | undefined, layer: Layer, tokens: readonly DecoratedToken[]): void {
  if (!document || tokens.length === 0 || tokens.length > MAX_TOKENS) {
    void state.update(KEY, undefined);
    return;
  }
  const saved: Saved = {
    uri: document.uri.toString(), textHash: hash(document.getText()), layer,
    tokens: tokens.map((t) => ({
      index: t.index, text: t.text, start: document.offsetAt(t.range.start), end: document.offsetAt(t.range.end),
      routing: t.routing.map((r) => ({ layer: r.layer, expertIds: Array.from(r.expertIds), weights: Array.from(r.weights) })),
    })),
  };
  void state.update(KEY, saved);
}

export function forgetDecorations(state: vscode.Memento): void {
  void state.update(KEY, undefined);
}

/** The saved tokens for `document`, when it is the document they were made on and its text is unchanged. */
export function savedDecorations(state: vscode.Memento, document: vscode.TextDocument): { layer: Layer; tokens: DecoratedToken[] } | undefined {
  const saved = state.get<Saved>(KEY);
  if (!saved || saved.uri !== document.uri.toString() || saved.textHash !== hash(document.getText())) return undefined;
  return {
    layer: saved.layer,
    tokens: saved.tokens.map((t) => ({ index: t.index, text: t.text, range: new vscode.Range(document.positionAt(t.start), document.positionAt(t.end)), routing: t.routing })),
  };
}

export function savedUri(state: vscode.Memento): string | undefined {
  return state.get<Saved>(KEY)?.uri;
}
