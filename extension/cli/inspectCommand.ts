import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../engine/model';
import { formatModelCard, modelCard } from '../engine/modelCard';
import { BUNDLED_MODEL, providersOption } from './options';

export const INSPECT_USAGE = `moe-lens inspect-model [DIR] [--ep LIST] [--json]
  loads a model folder and prints what MoE Lens found in it: per MoE layer the graph pattern, the routing
  recipe, experts, k and the tensors it exposes; dense layers; KV-cache bytes; parameters total and active`;

export async function inspectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { ep: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false } },
  });
  const dir = resolve(positionals[0] ?? BUNDLED_MODEL);
  const model = await loadModel(dir, { providers: providersOption(values.ep), log: (l) => console.error(l) });
  try {
    const card = await modelCard(model);
    console.log(values.json ? JSON.stringify(card, null, 2) : formatModelCard(card));
    return 0;
  } finally {
    await model.session.release();
  }
}
