/** The trace model shared by the engine, the exporters and (as plain data) the webview. */
import type { SamplingSettings } from './sampling';

export const TRACE_FORMAT = 'moe-lens-trace';
export const TRACE_VERSION = 1;

export const Segment = { Prompt: 0, Reasoning: 1, Answer: 2 } as const;
export type Segment = (typeof Segment)[keyof typeof Segment];
export const SEGMENT_NAMES = ['prompt', 'reasoning', 'answer'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

export type DoneReason = 'eos' | 'max_tokens' | 'context_full' | 'aborted' | 'error';
export const DONE_REASONS: readonly DoneReason[] = ['eos', 'max_tokens', 'context_full', 'aborted', 'error'];


/** What produced a trace; everything a reader needs to interpret the columns. */
export interface TraceMeta {
  createdAt: string;
  model: {
    name: string;
    modelType: string;
    numLayers: number;
    /** Layers with routing, ascending; routing columns follow this order. */
    moeLayers: number[];
    nRoutedExperts: number;
    expertsPerToken: number;
    /** Cache bytes one token adds per layer: what the graph holds, and plain MHA for the same heads. */
    kvBytesPerToken: number;
    kvBytesPerTokenMhaEquivalent: number;
  };
  provider: string;
  fallbacks: { provider: string; reason: string }[];
  settings: SamplingSettings;
  prompt: string;
}

/** A reasoning step: tokens [start, end) of one line of the chain of thought. */
export interface ReasoningStep {
  start: number;
  end: number;
  /** The program line it refers to (`L<n>:`), when it names one. */
  line?: number;
}

export interface TraceDone {
  reason: DoneReason;
  /** The reasoning was opened and never closed. */
  unterminatedReasoning: boolean;
  message?: string;
}
