/**
 * Everything that needs onnxruntime-node, behind one dynamic import (engineLoader.ts), so activating
 * the extension never loads the native runtime.
 */
export { loadModel, type LoadedModel } from '../engine/model';
export { checkRun } from '../engine/checkRun';
export { formatPrompt, readModelFolder, textRange } from '../engine/modelDir';
export { modelCard } from '../engine/modelCard';
export { probeProviders } from '../engine/providers';
export { run, type EngineEvent } from '../engine/run';
