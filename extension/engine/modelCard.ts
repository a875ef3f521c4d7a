/**
 * What MoE Lens knows about a loaded model, as data: its MoE layers (how each router was found and
 * which recipe reads it), dense layers, KV-cache bytes per token against the multi-head equivalent,
 * parameters total and active per token as far as the graph tells, the tokenizer's prompt format and
 * reasoning markers, and the execution provider. The CLI prints it; VS Code shows it as the model card.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { cacheValuesPerToken } from './config';
import type { LoadedModel } from './model';
import type { Pattern } from './moe/discover';
import { GraphIndex } from './moe/graphIndex';
import { activeParameters, countParameters, type ParameterCounts } from './moe/parameters';
import { decodeModel } from './onnxGraph';

export interface CardLayer {
  layer: number;
  /** P1/P2/P3 for routers found by structure; `contract` for MoE Lens's own routing outputs. */
  pattern: Pattern | 'contract';
  recipe: string;
  experts: number;
  k: number;
  normalize?: boolean;
  scaling?: number;
  /** Graph tensors read each step. */
  tensors: string[];
  sharedGate: boolean;
}

export interface ModelCard {
  name: string;
  dir: string;
  modelFile: string;
  modelBytes: number;
  externalData: string[];
  modelType: string;
  layers: number;
  moeLayers: CardLayer[];
  denseLayers: number[];
  /** For a graph without MoE layers: what was looked for. */
  searched?: string;
  notes: string[];
  kv: { kind: 'latent (MLA)' | 'grouped-query' | 'multi-head'; bytesPerTokenPerLayer: number; mhaEquivalentPerTokenPerLayer: number; ratio: number; dtype: string };
  parameters: (ParameterCounts & { activePerToken: number }) | undefined;
  prompt: string;
  reasoning: [string, string];
  vocab: number;
  provider: string;
  fallbacks: { provider: string; reason: string }[];
}

export async function modelCard(model: LoadedModel): Promise<ModelCard> {
  const { folder, layout, routers } = model;
  const { config } = folder;
  const plans = routers?.discovery.plans;
  const moeLayers: CardLayer[] = plans
    ? plans.map((p) => ({
      layer: p.layer, pattern: p.pattern, recipe: p.recipe, experts: p.experts, k: p.k, normalize: p.normalize, scaling: p.scaling,
      tensors: Object.entries(p.tensors).filter(([role]) => role !== 'sharedGate').map(([, t]) => t as string), sharedGate: p.tensors.sharedGate !== undefined,
    }))
    : layout.routedLayers.map((layer) => ({
      layer, pattern: 'contract' as const, recipe: 'routing outputs (ids, weights, scores)', experts: layout.routedExperts, k: layout.expertsPerToken,
      tensors: layout.packedRouting ? ['routing.packed'] : [`routing.${layer}.*`], sharedGate: false,
    }));
  const routed = new Set(moeLayers.map((l) => l.layer));
  const values = cacheValuesPerToken(config);
  const elementBytes = layout.caches[0]?.type === 'float16' ? 2 : 4;
  let parameters: ModelCard['parameters'];
  try {
    const counts = routers?.parameters ?? countParameters(new GraphIndex(decodeModel(await readFile(folder.modelPath)).graph ?? {}), new Set([layout.routedExperts]));
    parameters = { ...counts, activePerToken: activeParameters(counts, layout.routedExperts, layout.expertsPerToken) };
  } catch {
    parameters = undefined;
  }
  const siblings = await readdir(folder.dir).catch(() => [] as string[]);
  return {
    name: basename(folder.dir), dir: folder.dir, modelFile: relative(folder.dir, folder.modelPath), modelBytes: folder.modelBytes,
    externalData: siblings.filter((f) => /\.onnx[._]data$|\.onnx\.\d+$/.test(f) || f.endsWith('.onnx_data')),
    modelType: config.modelType, layers: config.numLayers,
    moeLayers, denseLayers: Array.from({ length: config.numLayers }, (_, i) => i).filter((i) => !routed.has(i)),
    ...(moeLayers.length === 0 && routers ? { searched: routers.discovery.searched } : {}),
    notes: routers?.discovery.notes ?? [],
    kv: {
      kind: layout.latentCache ? 'latent (MLA)' : config.numKeyValueHeads < config.numHeads ? 'grouped-query' : 'multi-head',
      bytesPerTokenPerLayer: values.actual * elementBytes, mhaEquivalentPerTokenPerLayer: values.mhaEquivalent * elementBytes,
      ratio: values.actual > 0 ? values.mhaEquivalent / values.actual : 0, dtype: layout.caches[0]?.type ?? 'float32',
    },
    parameters,
    prompt: folder.prompt.kind === 'chat' ? 'the model\'s chat template' : folder.prompt.kind === 'template' ? 'MoE Lens program template' : 'the text as it is',
    reasoning: [folder.thinkStart, folder.thinkEnd], vocab: layout.vocabSize,
    provider: model.provider, fallbacks: model.fallbacks.map((f) => ({ ...f })),
  };
}

const millions = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : `${(n / 1e6).toFixed(2)} M`);

/** The card as text, one fact per line (moe-lens inspect-model). */
export function formatModelCard(card: ModelCard): string {
  const lines = [
    `model: ${card.name} (${card.dir})`,
    `  file: ${card.modelFile}, ${(card.modelBytes / 2 ** 20).toFixed(1)} MiB${card.externalData.length ? `; external data: ${card.externalData.join(', ')}` : ''}`,
    `  type: ${card.modelType}, ${card.layers} layers, vocabulary ${card.vocab}; prompt: ${card.prompt}; reasoning: ${card.reasoning.join(' … ')}`,
    `  execution provider: ${card.provider}${card.fallbacks.map((f) => ` (fell back from ${f.provider}: ${f.reason})`).join('')}`,
  ];
  if (card.moeLayers.length === 0) {
    lines.push('MoE layers: none found — every layer runs as dense.', `  searched for: ${card.searched ?? 'the MoE Lens routing outputs'}`);
  } else {
    lines.push(`MoE layers: ${card.moeLayers.length} of ${card.layers}; dense layers: ${card.denseLayers.length ? card.denseLayers.join(', ') : 'none'}`);
    lines.push('  layer  pattern   recipe                  experts  k   normalise  scaling  shared gate  tensors exposed');
    for (const l of card.moeLayers) {
      lines.push(`  ${String(l.layer).padStart(5)}  ${l.pattern.padEnd(8)}  ${l.recipe.padEnd(22)}  ${String(l.experts).padStart(7)}  ${String(l.k).padStart(2)}  `
        + `${(l.normalize === undefined ? '–' : l.normalize ? 'yes' : 'no').padEnd(9)}  ${(l.scaling === undefined ? '–' : String(l.scaling)).padEnd(7)}  `
        + `${(l.sharedGate ? 'yes' : 'no').padEnd(11)}  ${l.tensors.join(', ')}`);
    }
  }
  for (const note of card.notes) lines.push(`  note: ${note}`);
  lines.push(`KV cache: ${card.kv.kind}, ${card.kv.dtype}, ${card.kv.bytesPerTokenPerLayer} B per token per layer; plain multi-head attention would hold `
    + `${card.kv.mhaEquivalentPerTokenPerLayer} B (${card.kv.ratio.toFixed(1)}×)`);
  if (card.parameters) {
    lines.push(`parameters (from the graph's initializers): ${millions(card.parameters.total)} in all, ${millions(card.parameters.routedExperts)} in routed experts, `
      + `${millions(card.parameters.activePerToken)} active per token`);
  }
  return lines.join('\n');
}
