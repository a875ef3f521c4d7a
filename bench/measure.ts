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
 * What posting a message to a webview costs the extension host: VS Code (extHostWebviewMessaging.ts,
 * serializeWebviewMessage) serialises it as JSON with every ArrayBuffer, and every typed array's whole
 * underlying buffer, replaced by a reference (the buffer is sent as binary beside the JSON, not copied
 * here). Returns the bytes that would cross.
 */
export function serializeLikeVsCode(message: unknown): { json: string; buffers: ArrayBufferLike[]; bytes: number } {
  const buffers: ArrayBufferLike[] = [];
  const reference = (buffer: ArrayBufferLike) => {
    const index = buffers.indexOf(buffer);
    return index >= 0 ? index : buffers.push(buffer) - 1;
  };
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof ArrayBuffer) return { $$vscode_array_buffer_reference$$: true, index: reference(value) };
    if (ArrayBuffer.isView(value)) {
      return {
        $$vscode_array_buffer_reference$$: true, index: reference(value.buffer),
        view: { type: value.constructor.name, byteLength: value.byteLength, byteOffset: value.byteOffset },
      };
    }
    return value;
  });
  return { json, buffers, bytes: json.length + buffers.reduce((n, b) => n + b.byteLength, 0) };
}
