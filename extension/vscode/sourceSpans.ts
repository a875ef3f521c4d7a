/**
 * Where each prompt token came from in the user's document. The prompt is the model's template with
 * the selected text in place of `{program}`; a token span (offsets in the prompt) maps back to the
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

/**
 * Where the program sits in the prompt `template.replace('{program}', program)` (formatPrompt): after
 * the template's prefix. Undefined when the template has no `{program}` slot.
 */
export function promptSource(template: string, programLength: number, documentStart: number): PromptSource | undefined {
  const at = template.indexOf('{program}');
  return at < 0 ? undefined : { promptStart: at, length: programLength, documentStart };
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
