/**
 * What a user should know before reading a run of the bundled model on their input: it was trained on
 * one small program language, so on anything else its routing is real but its answer means nothing.
 * Pure: the extension and the CLI both say it.
 */
import { parseProgram } from './interpreter';

/**
 * The note for `text` run through a model whose prompt format is MoE Lens's own program template
 * (`ownTemplate`), or undefined when there is nothing to say: other models take any text.
 */
export function inputNotice(text: string, ownTemplate: boolean): string | undefined {
  if (!ownTemplate) return undefined;
  const parsed = parseProgram(text);
  if (parsed.ok) return undefined;
  const { line, message } = parsed.refusal;
  return `This selection is not a program in the bundled model's language (line ${line}: ${message}). The routing `
    + 'still shows how the model processes these tokens, but its reasoning and answer mean nothing here: it was '
    + 'trained only on small programs of assignments, arithmetic, if, for and print.';
}
