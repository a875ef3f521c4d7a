/**
 * The bundled model's runs checked against the program they were given: its own prompt template wraps
 * a program of the language it was trained on, so each reasoning step is right or wrong. Other models
 * (chat templates, raw prompts) get no check. Imports no onnxruntime: the extension host calls it
 * without loading the engine bundle.
 */
import { checkProgramRun, type TraceChecks } from '../trace/checks';
import type { TraceStore } from '../trace/store';
import type { ModelFolder } from './modelDir';

/** The checks for a finished run of `program` through the model in `folder`, or undefined when there is nothing to check. */
export function checkRun(folder: ModelFolder, store: TraceStore, program: string): TraceChecks | undefined {
  if (folder.prompt.kind !== 'template' || store.done?.reason === 'error') return undefined;
  return checkProgramRun(store, program, { thinkStart: folder.thinkStart, thinkEnd: folder.thinkEnd, eosTokenIds: folder.config.eosTokenIds });
}
