/** The one line that says how a loaded model's routing is read (pure: no vscode, no engine at run time). */
import type { LoadedModel } from './engineModule';

/** Layer numbers as ranges: [1, 2, 3, 5] → "1–3, 5". */
export function layerRanges(layers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++;
    parts.push(j > i ? `${layers[i]}–${layers[j]}` : `${layers[i]}`);
    i = j;
  }
  return parts.join(', ');
}

/** How a loaded model's routing is read, one group per pattern and recipe. */
export function routingSummary(model: Pick<LoadedModel, 'routers' | 'layout'>): string {
  const plans = model.routers?.discovery.plans;
  if (plans) {
    if (plans.length === 0) return 'no MoE layers found';
    const groups = new Map<string, number[]>();
    for (const p of plans) {
      const key = `${p.pattern} ${p.recipe}`;
      groups.set(key, [...(groups.get(key) ?? []), p.layer]);
    }
    return [...groups].map(([key, layers]) => `${key}: layer${layers.length > 1 ? 's' : ''} ${layerRanges(layers)}`).join('; ');
  }
  const layers = model.layout.routedLayers;
  if (layers.length === 0) return 'no routing outputs';
  return `routing outputs${model.layout.packedRouting ? ' (packed)' : ''}: layer${layers.length > 1 ? 's' : ''} ${layerRanges(layers)}`;
}
