/** The model card: what MoE Lens found in the loaded model, as a read-only Markdown preview. */
import * as vscode from 'vscode';
import type { ModelCard } from '../engine/modelCard';
import { loadEngine } from './engineLoader';
import type { ModelSession } from './modelSession';
import { showError } from './notify';

const SCHEME = 'moe-lens-card';
const cards = new Map<string, string>();
let registered: vscode.Disposable | undefined;

const escape = (s: string) => s.replace(/[\\`*_{}[\]()#+!|<>]/g, '\\$&');

export function cardMarkdown(card: ModelCard): string {
  const lines = [
    `# ${escape(card.name)}`, '',
    `\`${escape(card.dir)}\` · ${escape(card.modelFile)}, ${(card.modelBytes / 2 ** 20).toFixed(1)} MiB${card.externalData.length ? ` + external data ${card.externalData.map(escape).join(', ')}` : ''}`, '',
    `| | |`, `|---|---|`,
    `| model type | ${escape(card.modelType)} |`,
    `| layers | ${card.layers} (${card.moeLayers.length} MoE, ${card.denseLayers.length} dense) |`,
    `| execution provider | ${card.provider}${card.fallbacks.map((f) => ` (fell back from ${f.provider}: ${escape(f.reason)})`).join('')} |`,
    `| KV cache | ${card.kv.kind}, ${card.kv.dtype}: ${card.kv.bytesPerTokenPerLayer} B per token per layer; multi-head attention would hold ${card.kv.mhaEquivalentPerTokenPerLayer} B (${card.kv.ratio.toFixed(1)}×) |`,
    ...(card.parameters ? [`| parameters | ${(card.parameters.total / 1e6).toFixed(2)} M in all, ${(card.parameters.routedExperts / 1e6).toFixed(2)} M in routed experts, **${(card.parameters.activePerToken / 1e6).toFixed(2)} M active per token** (from the graph's initializers) |`] : []),
    `| prompt | ${card.prompt}; reasoning between \`${escape(card.reasoning[0])}\` and \`${escape(card.reasoning[1])}\` |`, '',
  ];
  if (card.moeLayers.length === 0) {
    lines.push('## No MoE layers found', '', 'Every layer runs as dense: the run shows tokens, the KV cache and reasoning, but no routing.', '', `Searched for: ${escape(card.searched ?? '')}`);
  } else {
    lines.push('## MoE layers', '', '| layer | pattern | recipe | experts | top-k | normalised | scaling | shared gate | tensors read |', '|---|---|---|---|---|---|---|---|---|');
    for (const l of card.moeLayers) {
      lines.push(`| ${l.layer} | ${l.pattern} | ${escape(l.recipe)} | ${l.experts} | ${l.k} | ${l.normalize === undefined ? '–' : l.normalize ? 'yes' : 'no'} | ${l.scaling ?? '–'} | ${l.sharedGate ? 'yes' : 'no'} | ${l.tensors.map((t) => `\`${escape(t)}\``).join(', ')} |`);
    }
    if (card.denseLayers.length) lines.push('', `Dense layers: ${card.denseLayers.join(', ')}.`);
  }
  for (const note of card.notes) lines.push('', `> ${escape(note)}`);
  lines.push('', '_P1: a fused onnxruntime MoE op fed router logits; P2: a fused op fed a selection built in the graph; P3: a router decomposed into MatMul, Softmax/Sigmoid and TopK. See docs/models.md._');
  return lines.join('\n');
}

/** Loads the model of the current settings (if needed) and opens its card beside the editor. */
export async function showModelCard(session: ModelSession): Promise<string | undefined> {
  registered ??= vscode.workspace.registerTextDocumentContentProvider(SCHEME, { provideTextDocumentContent: (uri) => cards.get(uri.path) ?? '' });
  try {
    const model = await session.get();
    const engine = await loadEngine();
    const markdown = cardMarkdown(await engine.modelCard(model));
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${model.folder.dir.split(/[\\/]/).filter(Boolean).at(-1) ?? 'model'}.md` });
    cards.set(uri.path, markdown);
    await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
    return markdown;
  } catch (e) {
    void showError(`MoE Lens: no model card: ${(e as Error).message}`);
    return undefined;
  }
}
