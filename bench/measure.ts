/** Helpers the benchmarks share. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * What posting a message to a webview costs the extension host: VS Code serialises it as JSON with every
 * ArrayBuffer (typed arrays included) replaced by a reference and sent as binary beside it. Returns
 * the bytes that would cross.
 */
export function serializeLikeVsCode(message: unknown): { json: string; buffers: ArrayBuffer[]; bytes: number } {
  const buffers: ArrayBuffer[] = [];
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value)) {
      const view = value as ArrayBufferView;
      buffers.push(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer);
      return { $$vscode_array_buffer_reference$$: buffers.length - 1, type: view.constructor.name };
    }
    return value;
  });
  return { json, buffers, bytes: json.length + buffers.reduce((n, b) => n + b.byteLength, 0) };
}
