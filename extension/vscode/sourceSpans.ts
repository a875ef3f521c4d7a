/**
 * Where each prompt token came from in the user's document. The prompt is the model's prompt format
 * around the selected text (formatPrompt); a token span (offsets in the prompt) maps back to the
 * document only for the part inside the selection. No `vscode` import: unit-tested in node.
 */
export interface PromptSource {
  /** Offset in the prompt where the selected text starts (the template's prefix length). */
  promptStart: number;
  /** Length of the selected text. */
  length: number;
  /** Offset of the selection in the document. */
  documentStart: number;
}

/** The selection's place in the prompt ([start, end), from the engine's textRange) tied to its place in the document. */
export function promptSource(range: readonly [number, number] | undefined, documentStart: number): PromptSource | undefined {
  return range ? { promptStart: range[0], length: range[1] - range[0], documentStart } : undefined;
}

/**
 * Document offsets [start, end) for a prompt span, clipped to the selection; undefined when the token
 * lies wholly in the template (a special token, the newlines around the program).
 */
export function documentSpan(span: readonly [number, number], source: PromptSource): [number, number] | undefined {
  const start = Math.max(span[0], source.promptStart) - source.promptStart;
  const end = Math.min(span[1], source.promptStart + source.length) - source.promptStart;
  if (end <= start) return undefined;
  return [source.documentStart + start, source.documentStart + end];
}
