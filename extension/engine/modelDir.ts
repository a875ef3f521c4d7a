import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { type ModelConfig, parseConfig } from './config';
import { ModelError } from './errors';
import { TextTokenizer } from './tokenizer';

/** Graph names an onnxruntime-genai `genai_config.json` may rename (its `%d` templates for the caches). */
export interface GraphNames {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  logits: string;
  /** `past_key_values.%d.key` style templates, paired by position with the present ones. */
  pastTemplates: string[];
  presentTemplates: string[];
}

/** A model folder — ours (docs/model-contract.md) or an export as Optimum, transformers.js or onnxruntime-genai ship them. */
export interface ModelFolder {
  dir: string;
  modelPath: string;
  modelBytes: number;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  /**
   * How text becomes the model's prompt: MoE Lens's own `{program}` template, the model's chat template
   * (rendered with the text as the user's message), or the text as it is.
   */
  prompt: { kind: 'template'; template: string } | { kind: 'chat'; template: Template; source: string; specials: Record<string, string> } | { kind: 'raw' };
  /** Reasoning markers: `<think>`…`</think>`, or gpt-oss's analysis channel. */
  thinkStart: string;
  thinkEnd: string;
  names: GraphNames;
  /** The folder's genai_config.json, when it has one (onnxruntime-genai's builder writes it). */
  genai: boolean;
}

const FIX_FOLDER = 'Point the model setting at a folder holding model.onnx (or onnx/model.onnx, or the file genai_config.json names), '
  + 'config.json and tokenizer.json, or clear it to use the bundled model';

async function readJson(dir: string, name: string, required = true): Promise<Record<string, unknown> | undefined> {
  const file = join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    if (!required) return undefined;
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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
/** A special token in tokenizer_config.json: a string, or `{ "content": … }`. */
const tokenText = (v: unknown) => str(v) ?? (isObject(v) ? str(v.content) : undefined);

/** The decoder graph: the file genai_config.json names, model.onnx, or where Optimum and transformers.js put it. */
async function findModelFile(dir: string, genai: Record<string, unknown> | undefined): Promise<string> {
  const decoder = isObject(genai?.model) && isObject(genai.model.decoder) ? genai.model.decoder : undefined;
  const named = str(decoder?.filename);
  const candidates = [...(named ? [named] : []), 'model.onnx', join('onnx', 'model.onnx'), 'decoder_model_merged.onnx', join('onnx', 'decoder_model_merged.onnx')];
  for (const name of candidates) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) return join(dir, name);
  }
  return join(dir, candidates[0]);
}

function graphNames(genai: Record<string, unknown> | undefined): GraphNames {
  const decoder = isObject(genai?.model) && isObject(genai.model.decoder) ? genai.model.decoder : {};
  const inputs = isObject(decoder.inputs) ? decoder.inputs : {};
  const outputs = isObject(decoder.outputs) ? decoder.outputs : {};
  const pastTemplates = [str(inputs.past_key_names), str(inputs.past_value_names)].filter((s): s is string => !!s);
  const presentTemplates = [str(outputs.present_key_names), str(outputs.present_value_names)].filter((s): s is string => !!s);
  return {
    inputIds: str(inputs.input_ids) ?? 'input_ids',
    attentionMask: str(inputs.attention_mask) ?? 'attention_mask',
    positionIds: str(inputs.position_ids) ?? 'position_ids',
    logits: str(outputs.logits) ?? 'logits',
    pastTemplates: pastTemplates.length === presentTemplates.length ? pastTemplates : [],
    presentTemplates: pastTemplates.length === presentTemplates.length ? presentTemplates : [],
  };
}

/** The chat template: tokenizer_config.json's (a string, or a list with a "default"), or chat_template.jinja beside it. */
async function chatTemplateOf(dir: string, tokenizerConfig: Record<string, unknown>): Promise<string | undefined> {
  const t = tokenizerConfig.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter(isObject);
    return str((named.find((x) => x.name === 'default') ?? named[0])?.template);
  }
  return readFile(join(dir, 'chat_template.jinja'), 'utf8').catch(() => undefined);
}

function reasoningMarkers(config: ModelConfig, tokenizer: TextTokenizer, tokenizerConfig: Record<string, unknown>): [string, string] {
  const start = str(tokenizerConfig.think_start_token);
  const end = str(tokenizerConfig.think_end_token);
  if (start && end) return [start, end];
  // gpt-oss (harmony format): the analysis channel is the reasoning, up to its <|end|>
  if (config.modelType === 'gpt_oss' || tokenizer.tokenId('<|channel|>') !== undefined) return ['<|channel|>analysis<|message|>', '<|end|>'];
  return ['<think>', '</think>'];
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ModelError(dir, 'model folder not found', FIX_FOLDER);
  const genai = await readJson(dir, 'genai_config.json', false);
  const modelPath = await findModelFile(dir, genai);
  const modelInfo = await stat(modelPath).catch(() => undefined);
  if (!modelInfo?.isFile()) throw new ModelError(modelPath, 'is missing', FIX_FOLDER);
  if (modelInfo.size === 0) throw new ModelError(modelPath, 'is empty', 'Copy the model again or re-export it');
  const generation = (await readJson(dir, 'generation_config.json', false)) ?? {};
  const config = parseConfig(await readJson(dir, 'config.json'), join(dir, 'config.json'), generation);
  const tokenizerJson = (await readJson(dir, 'tokenizer.json')) as Record<string, unknown>;
  const tokenizerConfig = (await readJson(dir, 'tokenizer_config.json', false)) ?? {};
  let tokenizer: TextTokenizer;
  try {
    tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new ModelError(join(dir, 'tokenizer.json'), `could not be loaded (${(e as Error).message})`,
      'Use the tokenizer.json saved with the model by the Hugging Face tokenizers library');
  }
  const ownTemplate = str(tokenizerConfig.prompt_template);
  const chat = ownTemplate ? undefined : await chatTemplateOf(dir, tokenizerConfig);
  let prompt: ModelFolder['prompt'] = { kind: 'raw' };
  if (ownTemplate) prompt = { kind: 'template', template: ownTemplate };
  else if (chat) {
    try {
      const specials: Record<string, string> = {};
      for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
        const text = tokenText(tokenizerConfig[key]);
        if (text) specials[key] = text;
      }
      prompt = { kind: 'chat', template: new Template(chat), source: chat, specials };
    } catch (e) {
      throw new ModelError(join(dir, 'tokenizer_config.json'), `has a chat_template that does not parse (${(e as Error).message})`,
        'Fix the template, or remove it to send prompts as they are');
    }
  }
  const [thinkStart, thinkEnd] = reasoningMarkers(config, tokenizer, tokenizerConfig);
  return { dir, modelPath, modelBytes: modelInfo.size, config, tokenizer, prompt, thinkStart, thinkEnd, names: graphNames(genai), genai: genai !== undefined };
}

/**
 * The user's text in the model's prompt format. MoE Lens's own template takes it in place of
 * `{program}` (inserted as written, never read as a replacement pattern like `$&`); a chat template
 * gets it as the user's message, with the generation prompt; otherwise it goes as it is.
 */
export function formatPrompt(folder: Pick<ModelFolder, 'prompt'>, text: string): string {
  const p = folder.prompt;
  if (p.kind === 'template') {
    const at = p.template.indexOf('{program}');
    return at < 0 ? p.template + text : p.template.slice(0, at) + text + p.template.slice(at + '{program}'.length);
  }
  if (p.kind === 'chat') return p.template.render({ messages: [{ role: 'user', content: text }], add_generation_prompt: true, ...p.specials });
  return text;
}

/** Where the text sits in formatPrompt's result, for mapping token spans back to the source: [start, end), or undefined. */
export function textRange(folder: Pick<ModelFolder, 'prompt'>, text: string): [number, number] | undefined {
  const prompt = formatPrompt(folder, text);
  if (folder.prompt.kind === 'raw') return [0, text.length];
  if (folder.prompt.kind === 'template') {
    const at = folder.prompt.template.indexOf('{program}');
    return at < 0 ? [prompt.length - text.length, prompt.length] : [at, at + text.length];
  }
  const at = prompt.lastIndexOf(text);
  return at < 0 ? undefined : [at, at + text.length];
}
