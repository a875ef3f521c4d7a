export type Engine = typeof import('./engineModule');

let engine: Promise<Engine> | undefined;

/** Loads the engine (and with it onnxruntime-node) on first use. */
export function loadEngine(): Promise<Engine> {
  engine ??= import('./engineModule');
  return engine;
}

/** Whether onnxruntime-node is in this process's module cache (tests check activation leaves it out). */
export function onnxRuntimeLoaded(): boolean {
  return Object.keys(require.cache).some((path) => /[\\/]onnxruntime-(node|common)[\\/]/.test(path));
}
