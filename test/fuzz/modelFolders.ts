/**
 * Damaged model folders under fuzz (slow: each input opens an onnxruntime session). A copy of the
 * bundled model gets a truncated or bit-flipped model.onnx, a config.json that disagrees with the
 * graph, or a tokenizer.json or tokenizer_config.json that does not load. loadModel must either load
 * it — and then a short run ends with a done event, never a throw — or refuse with a ModelError that
 * names a file of the folder and a fix.
 */
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { ModelError } from '../../extension/engine/errors';
import { loadModel } from '../../extension/engine/model';
import { run } from '../../extension/engine/run';
import { DEFAULT_SAMPLING } from '../../extension/trace/sampling';
import { BUNDLED } from '../helpers';
import { jsonOr, nastyJson, timedAsync } from './common';

export type FolderEdit =
  | { kind: 'truncateModel'; fraction: number }
  | { kind: 'flipModel'; flips: { at: number; bit: number }[] }
  | { kind: 'config'; key: string; snippet: string | undefined }
  | { kind: 'tokenizer'; mutation: 'truncate' | 'type' | 'noVocab' | 'merges' | 'notObject' | 'addedTokens' | 'preTokenizer'; at: number; snippet: string }
  | { kind: 'tokenizerConfig'; key: string; snippet: string };

const CONFIG_KEYS = ['num_hidden_layers', 'hidden_size', 'num_attention_heads', 'vocab_size', 'n_routed_experts', 'num_experts_per_tok',
  'first_k_dense_replace', 'kv_lora_rank', 'qk_rope_head_dim', 'qk_nope_head_dim', 'v_head_dim', 'max_position_embeddings', 'eos_token_id',
  'bos_token_id', 'pad_token_id', 'mlp_only_layers', 'decoder_sparse_step', 'num_key_value_heads', 'model_type', '__proto__'];
const configValue = fc.oneof(nastyJson, fc.constantFrom('0', '1', '2', '3', '5', '6', '8', '15', '17', '32', '64', '365', '1000', '100000000'));

export const arbFolderEdit: fc.Arbitrary<FolderEdit> = fc.oneof(
  fc.record({ kind: fc.constant('truncateModel' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) }),
  fc.record({ kind: fc.constant('flipModel' as const), flips: fc.array(fc.record({ at: fc.nat(), bit: fc.nat(7) }), { minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('config' as const), key: fc.constantFrom(...CONFIG_KEYS), snippet: fc.option(configValue, { nil: undefined, freq: 6 }) }),
  fc.record({ kind: fc.constant('tokenizer' as const), mutation: fc.constantFrom('truncate', 'type', 'noVocab', 'merges', 'notObject', 'addedTokens', 'preTokenizer'),
    at: fc.nat(), snippet: nastyJson }),
  fc.record({ kind: fc.constant('tokenizerConfig' as const), key: fc.constantFrom('prompt_template', 'chat_template', 'think_start_token', 'think_end_token', 'eos_token', 'added_tokens_decoder'), snippet: nastyJson }),
);

const SENTINEL = '"\u0001sentinel\u0001"';


async function editJson(file: string, edit: (v: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(file, JSON.stringify(value));
}

async function setKey(file: string, key: string, snippet: string | undefined): Promise<void> {
  const text = await readFile(file, 'utf8');
  const value = JSON.parse(text) as Record<string, unknown>;
  if (snippet === undefined) {
    delete value[key];
    await writeFile(file, JSON.stringify(value));
    return;
  }
  Object.defineProperty(value, key, { value: '\u0001sentinel\u0001', enumerable: true, configurable: true, writable: true });
  await writeFile(file, JSON.stringify(value).replace(SENTINEL, () => snippet));
}

export async function applyFolderEdit(dir: string, edit: FolderEdit): Promise<void> {
  const model = join(dir, 'model.onnx');
  const tokenizer = join(dir, 'tokenizer.json');
  switch (edit.kind) {
    case 'truncateModel': {
      const bytes = await readFile(model);
      await truncate(model, Math.floor(edit.fraction * bytes.length));
      return;
    }
    case 'flipModel': {
      const bytes = await readFile(model);
      for (const { at, bit } of edit.flips) bytes[at % bytes.length] ^= 1 << bit;
      await writeFile(model, bytes);
      return;
    }
    case 'config':
      return setKey(join(dir, 'config.json'), edit.key, edit.snippet);
    case 'tokenizerConfig':
      return setKey(join(dir, 'tokenizer_config.json'), edit.key, edit.snippet);
    case 'tokenizer': {
      if (edit.mutation === 'truncate') {
        const text = await readFile(tokenizer, 'utf8');
        await writeFile(tokenizer, text.slice(0, edit.at % text.length));
      } else if (edit.mutation === 'notObject') await writeFile(tokenizer, edit.snippet);
      else if (edit.mutation === 'preTokenizer') await setKey(tokenizer, 'pre_tokenizer', edit.snippet);
      else if (edit.mutation === 'addedTokens') await setKey(tokenizer, 'added_tokens', edit.snippet);
      else {
        await editJson(tokenizer, (t) => {
          const m = t.model as Record<string, unknown>;
          if (edit.mutation === 'type') m.type = ['WordPiece', 'Unigram', 'WordLevel', 'Nope', ''][edit.at % 5];
          else if (edit.mutation === 'noVocab') delete m.vocab;
          else m.merges = edit.at % 2 ? JSON.parse(jsonOr(edit.snippet)) : (m.merges as unknown[]).map((x, i) => (i % 7 === 3 ? JSON.parse(jsonOr(edit.snippet)) : x));
        });
      }
    }
  }
}


export interface FolderStats {
  loaded: number;
  refused: number;
  /** Folders that loaded but whose run ended in an error: its message. */
  runErrors: string[];
}

/** Loads a damaged copy: a ModelError naming a file of the folder, or a model that runs to a done event. */
export async function checkFolder(edit: FolderEdit, root: string, stats: FolderStats): Promise<void> {
  const dir = await mkdtemp(join(root, 'folder-'));
  try {
    await cp(BUNDLED, dir, { recursive: true });
    await applyFolderEdit(dir, edit);
    // edits that leave no loadable file: these must be refused, naming that file
    const mustRefuse = edit.kind === 'truncateModel' ? 'model.onnx'
      : edit.kind === 'tokenizer' && (edit.mutation === 'truncate' || edit.mutation === 'notObject' || edit.mutation === 'noVocab') ? 'tokenizer.json' : undefined;
    let model;
    try {
      model = await timedAsync(() => loadModel(dir, { cacheDir: join(root, 'graphs'), sessionOptions: { intraOpNumThreads: 1 } }), 30_000);
    } catch (e) {
      if (!(e instanceof ModelError)) throw new Error(`loadModel threw something other than ModelError: ${(e as Error)?.stack ?? String(e)}`, { cause: e });
      if (!e.file.startsWith(dir) || e.problem.length === 0 || e.fix.length === 0) throw new Error(`a ModelError that names no file of the folder or no fix: ${e.message}`, { cause: e });
      if (mustRefuse && !e.file.endsWith(mustRefuse)) throw new Error(`expected an error naming ${mustRefuse}, got: ${e.message}`, { cause: e });
      stats.refused++;
      return;
    }
    if (mustRefuse) {
      await model.session.release();
      throw new Error(`a folder with a damaged ${mustRefuse} loaded`);
    }
    try {
      const events = run(model, { prompt: model.folder.tokenizer ? 'x = 1\nprint(x)' : '', settings: { ...DEFAULT_SAMPLING, maxNewTokens: 3 } });
      let next = await events.next();
      while (!next.done) next = await events.next();
      const done = next.value.done;
      if (!done) throw new Error('a run ended without a done reason');
      stats.loaded++;
      if (done.reason === 'error') stats.runErrors.push(`${edit.kind}${'key' in edit ? ` ${edit.key}` : ''}: ${done.message}`);
    } finally {
      await model.session.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function folderProperty(root: string, stats: FolderStats): fc.IAsyncProperty<[FolderEdit]> {
  return fc.asyncProperty(arbFolderEdit, (edit) => checkFolder(edit, root, stats));
}

export const makeFolderRoot = () => mkdtemp(join(tmpdir(), 'moe-lens-fuzz-'));
