/**
 * The token stream: prompt, reasoning and answer as rows of token spans, coloured by the top-1 expert
 * of the selected layer (or, for all layers, one thin stripe per MoE layer under each token).
 * Virtualised: rows have a fixed height and only those in view (plus a margin) are in the DOM.
 */
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Layer } from '../../extension/protocol';
import { type ReasoningStep, SEGMENT_NAMES, Segment } from '../../extension/trace/types';
import type { ExpertColor } from '../../extension/inspector/palette';
import type { RunData } from '../state';
import { routingOf, topExpert } from '../stats';
import { quotedToken, visibleToken } from '../text';
import { HoverCard } from './HoverCard';

const ROW_PX = 22;
const STRIPE_PX = 3;
const OVERSCAN = 12;

type Line = { kind: 'header'; segment: Segment; row: number; tokens: number; steps: number } | { kind: 'row'; row: number; step: { index: number; step: ReasoningStep } | null };

export interface TokenStreamProps {
  run: RunData;
  layer: Layer;
  palette: ExpertColor[];
  pinned: number | null;
  range: [number, number] | null;
  reasoningCollapsed: boolean;
  onToggleReasoning(): void;
  onPin(index: number | null): void;
  onRange(range: [number, number]): void;
  onRevealLine(line: number): void;
}

function buildLines(run: RunData, collapsed: boolean): Line[] {
  const lines: Line[] = [];
  const stepAt = new Map<number, { index: number; step: ReasoningStep }>();
  run.steps.forEach((step, index) => stepAt.set(step.start, { index, step }));
  let segment = -1;
  for (let r = 0; r < run.rowCount; r++) {
    const start = run.rowStarts[r];
    const s = run.segments[start] as Segment;
    if (s !== segment) {
      segment = s;
      lines.push({ kind: 'header', segment: s, row: r, tokens: run.tokensBySegment[s], steps: s === Segment.Reasoning ? run.steps.length : 0 });
    }
    if (s === Segment.Reasoning && collapsed) continue;
    lines.push({ kind: 'row', row: r, step: stepAt.get(start) ?? null });
  }
  return lines;
}

export function TokenStream(p: TokenStreamProps) {
  const { run } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const [hover, setHover] = useState<{ t: number; x: number; y: number } | null>(null);
  const follow = useRef(true);
  const stripes = p.layer === 'all' ? run.routing.length : 0;
  const rowPx = ROW_PX + stripes * STRIPE_PX;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const lines = useMemo(() => buildLines(run, p.reasoningCollapsed), [run.runId, run.rowCount, run.steps, run.segments, p.reasoningCollapsed, run.tokenCount]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // keep following the stream while the view is at the bottom
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && follow.current && run.summary === null) el.scrollTop = el.scrollHeight;
  }, [lines.length, run.summary]);

  const first = Math.max(0, Math.floor(view.top / rowPx) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((view.top + view.height) / rowPx) + OVERSCAN);
  const rowEnd = (r: number) => (r + 1 < run.rowCount ? run.rowStarts[r + 1] : run.tokenCount);
  const layerIndex = p.layer === 'all' ? -1 : p.layer;

  const tokenAt = (target: EventTarget | null): number | null => {
    const el = (target as HTMLElement | null)?.closest?.('[data-t]');
    return el ? Number(el.getAttribute('data-t')) : null;
  };

  return (
    <section className="panel tokens" aria-label="Token stream">
      <div
        ref={scroller}
        className="scroller"
        data-testid="token-scroller"
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowPx * 2;
          setView({ top: el.scrollTop, height: el.clientHeight });
        }}
        onMouseOver={(e) => {
          const t = tokenAt(e.target);
          if (t === null) setHover(null);
          else if (hover?.t !== t) setHover({ t, x: e.clientX, y: e.clientY });
        }}
        onMouseLeave={() => setHover(null)}
        onClick={(e) => {
          const t = tokenAt(e.target);
          if (t === null) return;
          if (e.shiftKey && p.pinned !== null) p.onRange([Math.min(p.pinned, t), Math.max(p.pinned, t)]);
          else p.onPin(p.pinned === t ? null : t);
        }}
      >
        <div className="spacer" style={{ height: lines.length * rowPx }}>
          {lines.slice(first, last).map((line, i) => {
            const top = (first + i) * rowPx;
            if (line.kind === 'header') return <Header key={`h${line.row}`} top={top} line={line} collapsed={p.reasoningCollapsed} onToggle={p.onToggleReasoning} />;
            const start = run.rowStarts[line.row];
            const end = rowEnd(line.row);
            const pinnedHere = p.pinned !== null && p.pinned >= start && p.pinned < end ? p.pinned : -1;
            const inRange = p.range && p.range[0] < end && p.range[1] >= start ? p.range : null;
            return (
              <Row key={`r${start}`} run={run} top={top} start={start} end={end} layerIndex={layerIndex} palette={p.palette} pinned={pinnedHere}
                range={inRange} step={line.step} onRevealLine={p.onRevealLine} />
            );
          })}
        </div>
      </div>
      {hover && <HoverCard run={run} t={hover.t} x={hover.x} y={hover.y} palette={p.palette} />}
    </section>
  );
}

function Header(p: { top: number; line: Extract<Line, { kind: 'header' }>; collapsed: boolean; onToggle(): void }) {
  const name = SEGMENT_NAMES[p.line.segment];
  if (p.line.segment !== Segment.Reasoning) {
    return (
      <div className={`line header seg-${name}`} style={{ transform: `translateY(${p.top}px)` }} data-segment={name}>
        {name} · {p.line.tokens} tokens
      </div>
    );
  }
  return (
    <div className={`line header seg-${name}`} style={{ transform: `translateY(${p.top}px)` }} data-segment={name}>
      <button type="button" className="toggle" aria-expanded={!p.collapsed} data-testid="reasoning-toggle" onClick={p.onToggle}>
        {p.collapsed ? '▸' : '▾'} reasoning · {p.line.steps} steps · {p.line.tokens} tokens
      </button>
    </div>
  );
}

interface RowProps {
  run: RunData;
  top: number;
  start: number;
  end: number;
  layerIndex: number;
  palette: ExpertColor[];
  pinned: number;
  range: [number, number] | null;
  step: { index: number; step: ReasoningStep } | null;
  onRevealLine(line: number): void;
}

/** A finished row never changes (columns are append-only), so it re-renders only when its inputs do. */
const Row = memo(function Row(p: RowProps) {
  const { run } = p;
  const segment = SEGMENT_NAMES[run.segments[p.start]];
  const spans = [];
  for (let t = p.start; t < p.end; t++) spans.push(<Token key={t} run={run} t={t} layerIndex={p.layerIndex} palette={p.palette} pinned={p.pinned === t} inRange={!!p.range && t >= p.range[0] && t <= p.range[1]} />);
  const step = p.step;
  return (
    <div className={`line row seg-${segment}`} style={{ transform: `translateY(${p.top}px)` }} data-row={p.start}>
      <span className="gutter">
        {step && <span className="step-no">{step.index + 1}</span>}
        {step?.step.line !== undefined && (
          <button type="button" className="line-link" data-line={step.step.line} title={`Reveal program line ${step.step.line}`} onClick={() => p.onRevealLine(step.step.line as number)}>
            L{step.step.line}
          </button>
        )}
      </span>
      {spans}
    </div>
  );
}, (a, b) => a.start === b.start && a.end === b.end && a.top === b.top && a.layerIndex === b.layerIndex && a.palette === b.palette && a.pinned === b.pinned
  && a.range?.[0] === b.range?.[0] && a.range?.[1] === b.range?.[1] && a.step?.step === b.step?.step && a.run.segments === b.run.segments && a.run.runId === b.run.runId);

function Token(p: { run: RunData; t: number; layerIndex: number; palette: ExpertColor[]; pinned: boolean; inRange: boolean }) {
  const { run, t } = p;
  const text = visibleToken(run.texts[t]);
  const cls = `tok${p.pinned ? ' pinned' : ''}${p.inRange ? ' in-range' : ''}`;
  if (p.layerIndex >= 0) {
    const e = topExpert(run, p.layerIndex, t);
    const color = p.palette[e];
    const routes = routingOf(run, p.layerIndex, t).map((r) => `E${r.expert} ${r.weight.toFixed(2)}`).join(', ');
    const label = `token ${t} ${quotedToken(run.texts[t])} · layer ${run.meta.model.moeLayers[p.layerIndex]}: ${routes}`;
    return (
      <span className={cls} data-t={t} data-expert={e} title={label} aria-label={label}
        style={color ? { backgroundColor: color.background, color: color.foreground } : undefined}>
        {text}
      </span>
    );
  }
  const tops = run.routing.map((_, l) => topExpert(run, l, t));
  const label = `token ${t} ${quotedToken(run.texts[t])} · top experts by layer: ${tops.map((e, l) => `L${run.meta.model.moeLayers[l]} E${e}`).join(', ')}`;
  return (
    <span className={`${cls} tok-all`} data-t={t} data-experts={tops.join(',')} title={label} aria-label={label}>
      <span className="txt">{text}</span>
      {tops.map((e, l) => (
        <span key={l} className="stripe" data-layer={run.meta.model.moeLayers[l]} data-expert={e} style={{ backgroundColor: p.palette[e]?.background }} />
      ))}
    </span>
  );
}
