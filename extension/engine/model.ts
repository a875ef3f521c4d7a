import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { type GraphLayout, readLayout } from './graph';
import { type ModelFolder, readModelFolder } from './modelDir';
import { type ProviderFallback, type ProviderPreference, openSession } from './providers';

export interface LoadedModel {
  folder: ModelFolder;
  session: ort.InferenceSession;
  layout: GraphLayout;
  provider: string;
  fallbacks: ProviderFallback[];
}

export interface LoadOptions {
  providers?: ProviderPreference;
  log?: (line: string) => void;
}

/** Reads, opens and checks a model folder; every failure is a ModelError naming file and fix. */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const folder = await readModelFolder(dir);
  const { session, provider, fallbacks } = await openSession(folder.modelPath, options.providers ?? 'auto', folder.modelBytes, options.log);
  try {
    const layout = readLayout(session, folder.config, folder.modelPath, join(dir, 'config.json'));
    return { folder, session, layout, provider, fallbacks };
  } catch (e) {
    await session.release();
    throw e;
  }
}
