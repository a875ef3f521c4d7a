import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelConfig, parseConfig } from './config';
import { ModelError } from './errors';
import { TextTokenizer } from './tokenizer';

/** A model folder per docs/model-contract.md, read and checked; the ONNX session is opened apart. */
export interface ModelFolder {
  dir: string;
  modelPath: string;
  modelBytes: number;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  /** How a user prompt is wrapped before tokenising; `{program}` marks the text. */
  promptTemplate: string;
  thinkStart: string;
  thinkEnd: string;
}

const FIX_FOLDER =
  'Point the model setting at a folder holding model.onnx, config.json, tokenizer.json and tokenizer_config.json, or clear it to use the bundled model';

async function readJson(dir: string, name: string): Promise<Record<string, unknown>> {
  const file = join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ModelError(file, 'is missing', FIX_FOLDER);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new ModelError(file, `is not valid JSON (${(e as Error).message})`, 'Restore the file from the model export');
  }
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ModelError(dir, 'model folder not found', FIX_FOLDER);
  const modelPath = join(dir, 'model.onnx');
  const modelInfo = await stat(modelPath).catch(() => undefined);
  if (!modelInfo?.isFile()) throw new ModelError(modelPath, 'is missing', FIX_FOLDER);
  if (modelInfo.size === 0) throw new ModelError(modelPath, 'is empty', 'Copy the model again or re-run training/export.py');
  const config = parseConfig(await readJson(dir, 'config.json'), join(dir, 'config.json'));
  const tokenizerJson = await readJson(dir, 'tokenizer.json');
  const tokenizerConfig = await readJson(dir, 'tokenizer_config.json');
  let tokenizer: TextTokenizer;
  try {
    tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new ModelError(join(dir, 'tokenizer.json'), `could not be loaded (${(e as Error).message})`,
      'Use the tokenizer.json saved with the model by the Hugging Face tokenizers library');
  }
  const str = (key: string, fallback: string) =>
    typeof tokenizerConfig[key] === 'string' ? (tokenizerConfig[key] as string) : fallback;
  return {
    dir,
    modelPath,
    modelBytes: modelInfo.size,
    config,
    tokenizer,
    promptTemplate: str('prompt_template', '{program}'),
    thinkStart: str('think_start_token', '<think>'),
    thinkEnd: str('think_end_token', '</think>'),
  };
}

/** The user's text in the model's prompt format; the text is inserted as is (never read as a replacement pattern like `$&`). */
export function formatPrompt(folder: Pick<ModelFolder, 'promptTemplate'>, text: string): string {
  const at = folder.promptTemplate.indexOf('{program}');
  return at < 0 ? folder.promptTemplate + text : folder.promptTemplate.slice(0, at) + text + folder.promptTemplate.slice(at + '{program}'.length);
}
