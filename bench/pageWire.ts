/**
 * For the page bench/webview.ts drives: the host's wire layout (extension/inspector/wire.ts), so that the
 * player posts each batch as the extension does — one runBatch, its columns in one buffer — and the panel
 * unpacks it as it does in VS Code.
 */
import { batchColumns, carriesScoreSums, toWire } from '../extension/inspector/wire';

Object.assign(globalThis, { __wire: { batchColumns, carriesScoreSums, toWire } });
