import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { type GraphLayout, readLayout } from './graph';
import { NO_ROUTING, type RoutingReader, contractReader } from './routing';
import { type ModelFolder, readModelFolder } from './modelDir';
import { type ProviderFallback, type ProviderPreference, openSession } from './providers';

export interface LoadedModel {
  folder: ModelFolder;
  session: ort.InferenceSession;
  layout: GraphLayout;
  /** How each call's routing is read from the graph's outputs. */
  routing: RoutingReader;
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
    const routing = layout.routedLayers.length > 0
      ? contractReader(layout.routedLayers, layout.expertsPerToken, layout.routedExperts, layout.packedRouting)
      : NO_ROUTING;
    return { folder, session, layout, routing, provider, fallbacks };
  } catch (e) {
    await session.release();
    throw e;
  }
}
