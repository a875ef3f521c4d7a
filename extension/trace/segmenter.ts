import { type ReasoningStep, Segment } from './types';

export interface SegmenterOptions {
  thinkStart: string;
  thinkEnd: string;
  /** The prompt already opened the reasoning (templates that end with the start tag). */
  startsInReasoning?: boolean;
}

export type SegmentEvent =
  /** Tokens from `token` on are in `segment`. */
  | { type: 'enter'; segment: Segment; token: number }
  /** Tokens [start, end) turned out to be in `segment` (they were reported provisionally). */
  | { type: 'relabel'; start: number; end: number; segment: Segment }
  | { type: 'step'; step: ReasoningStep };

/**
 * Splits generated text into reasoning and answer as it streams, and the reasoning into steps (one
 * per line, with the program line it names as `L<n>:`). Tags may arrive split across tokens. Only a
 * start tag at the very beginning (after whitespace) opens the reasoning and only the first end tag
 * after it closes it, so tag-like text elsewhere stays text. Tokens that spell a tag belong to the
 * reasoning.
 */
export class Segmenter {
  private state: 'start' | 'reasoning' | 'answer';
  /**
   * Text received and not yet assigned (at the start: everything until the opening is decided). Only this
   * tail is kept: appending to and searching the whole generated text would cost each token O(length).
   */
  private text = '';
  /** First token seen while undecided at the start. */
  private pendingFrom = -1;
  private lineStart = -1;
  private line = '';
  private lastToken = -1;
  readonly steps: ReasoningStep[] = [];

  constructor(private readonly options: SegmenterOptions) {
    this.state = options.startsInReasoning ? 'reasoning' : 'start';
  }

  /** Feeds the text of generated token `index`; returns its segment (maybe provisional) and events. */
  push(piece: string, index: number): { segment: Segment; events: SegmentEvent[] } {
    const events: SegmentEvent[] = [];
    this.lastToken = index;
    this.text += piece;
    if (this.state === 'start') this.decideStart(index, events);
    if (this.state === 'reasoning') {
      const closed = this.scanReasoning(index, events);
      if (closed) return { segment: Segment.Reasoning, events };
    }
    if (this.state === 'answer') this.text = '';
    return { segment: this.state === 'reasoning' ? Segment.Reasoning : Segment.Answer, events };
  }

  /** Ends the stream: closes an open step and says whether the reasoning was left open. */
  finish(): { unterminatedReasoning: boolean; events: SegmentEvent[] } {
    const events: SegmentEvent[] = [];
    if (this.state === 'reasoning') {
      this.consume(this.text.length, this.lastToken, events);
      this.closeLine(this.lastToken + 1, events);
    }
    return { unterminatedReasoning: this.state === 'reasoning', events };
  }

  private decideStart(index: number, events: SegmentEvent[]): void {
    const { thinkStart } = this.options;
    if (this.pendingFrom < 0) this.pendingFrom = index;
    const trimmed = this.text.trimStart();
    if (thinkStart.startsWith(trimmed) && trimmed.length < thinkStart.length) return; // may still become the tag
    const from = this.pendingFrom;
    if (trimmed.startsWith(thinkStart)) {
      this.state = 'reasoning';
      this.text = trimmed.slice(thinkStart.length);
      if (from < index) events.push({ type: 'relabel', start: from, end: index, segment: Segment.Reasoning });
      events.push({ type: 'enter', segment: Segment.Reasoning, token: from });
    } else {
      this.state = 'answer';
      events.push({ type: 'enter', segment: Segment.Answer, token: from });
    }
  }

  /** Returns true when this token closed the reasoning. */
  private scanReasoning(index: number, events: SegmentEvent[]): boolean {
    const { thinkEnd } = this.options;
    const at = this.text.indexOf(thinkEnd);
    if (at >= 0) {
      this.consume(at, index, events);
      this.closeLine(index + 1, events);
      this.state = 'answer';
      this.text = '';
      events.push({ type: 'enter', segment: Segment.Answer, token: index + 1 });
      return true;
    }
    let hold = 0; // the tail might be the beginning of the end tag (only a tail starting with its first character is looked at)
    const text = this.text;
    for (let n = Math.min(thinkEnd.length - 1, text.length); n > 0; n--) {
      if (text.charCodeAt(text.length - n) === thinkEnd.charCodeAt(0) && thinkEnd.startsWith(text.slice(text.length - n))) {
        hold = n;
        break;
      }
    }
    this.consume(this.text.length - hold, index, events);
    return false;
  }

  /** Assigns the first `until` characters of the tail to the reasoning, line by line. */
  private consume(until: number, index: number, events: SegmentEvent[]): void {
    const text = this.text;
    for (let from = 0; from < until;) {
      const newline = text.indexOf('\n', from);
      const end = newline < 0 || newline >= until ? until : newline;
      if (end > from) {
        if (this.lineStart < 0) this.lineStart = index;
        this.line += text.slice(from, end);
      }
      if (end === newline) this.closeLine(index + 1, events);
      from = end === newline ? end + 1 : end;
    }
    this.text = text.slice(until);
  }

  private closeLine(end: number, events: SegmentEvent[]): void {
    if (this.lineStart >= 0 && this.line.trim()) {
      const m = /^\s*L(\d{1,9}):/.exec(this.line); // longer numbers are not program lines
      const step: ReasoningStep = m ? { start: this.lineStart, end, line: Number(m[1]) } : { start: this.lineStart, end };
      this.steps.push(step);
      events.push({ type: 'step', step });
    }
    this.lineStart = -1;
    this.line = '';
  }
}
