/**
 * The token stream: prompt, reasoning and answer as rows of token spans, coloured by the top-1 expert
 * of the selected layer (or, for all layers, one thin stripe per MoE layer under each token).
 * Virtualised: rows have a fixed height and only those in view (plus a margin) are in the DOM.
 */
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Layer } from '../../extension/protocol';
import { SEGMENT_NAMES, Segment } from '../../extension/trace/types';
import type { ExpertColor } from '../../extension/inspector/palette';
import type { RunData } from '../state';
import { routingOf, topExpert } from '../stats';
import { quotedToken, visibleToken } from '../text';
import { LineLayout, type StepMark, lineOf } from './lines';
import { HoverCard } from './HoverCard';

const ROW_PX = 22;
const GUTTER_PX = 64;
const STRIPE_PX = 3;
const OVERSCAN = 12;

export interface TokenStreamProps {
  run: RunData;
  layer: Layer;
  palette: ExpertColor[];
  pinned: number | null;
  range: [number, number] | null;
  /** The token the keyboard is on. */
  active: number | null;
  /** Lines of the program the run came from (0: none to reveal): `L<n>` links only to lines that exist. */
  programLines: number;
  /** Changes when the host asks for the list to take the focus. */
  focus: number;
  reasoningCollapsed: boolean;
  onToggleReasoning(): void;
  onActive(index: number | null): void;
  onPin(index: number | null): void;
  onRange(range: [number, number]): void;
  onRevealLine(line: number): void;
}

/** What a screen reader says for the active token: its text and its routing in every MoE layer. */
function describe(run: RunData, t: number): string {
  const layers = run.routing.map((_, l) => `layer ${run.meta.model.moeLayers[l]}: ${routingOf(run, l, t).map((r) => `expert ${r.expert} ${r.weight.toFixed(2)}`).join(', ')}`);
  return `token ${t} of ${run.tokenCount}, ${quotedToken(run.texts[t])}, ${SEGMENT_NAMES[run.segments[t]]}. ${layers.join('; ')}`;
}

export function TokenStream(p: TokenStreamProps) {
  const { run } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 800, charPx: 8 });
  const [hover, setHover] = useState<{ t: number; x: number; y: number } | null>(null);
  /** Whether the view follows the stream (it is at the bottom, and the user has not moved away). */
  const [follow, setFollowState] = useState(true);
  // the list scrolls itself on every streamed frame, and its scroll handler says whether it follows: setting
  // the same value again still made React render the list, for nothing, on ~6 frames in 10; only a change is set
  const followed = useRef(true);
  const setFollow = (f: boolean) => {
    if (followed.current === f) return;
    followed.current = f;
    setFollowState(f);
  };
  const stripes = p.layer === 'all' ? run.routing.length : 0;
  const rowPx = ROW_PX + stripes * STRIPE_PX;
  const columns = Math.max(8, Math.floor((view.width - GUTTER_PX - 16) / view.charPx));
  // one layout per panel, kept across renders: it lays out only what a new frame appended
  const [layout] = useState(() => new LineLayout());
  // rows are laid out append-only: their count and the segments' identity say when they changed
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const lines = useMemo(() => layout.layout(run, p.reasoningCollapsed, columns), [run.runId, run.rowCount, run.steps, run.segments, run.checks, p.reasoningCollapsed, run.tokenCount, columns]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => {
      const ctx = document.createElement('canvas').getContext('2d');
      if (ctx) ctx.font = getComputedStyle(el).font;
      const charPx = ctx ? ctx.measureText('0123456789').width / 10 : 8;
      setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth, charPx: charPx > 0 ? charPx : 8 });
    };
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (p.focus > 0) scroller.current?.focus();
  }, [p.focus]);

  // Keep following the stream while the view is at the bottom. The rows at the bottom are rendered in the
  // frame that appends them (from the known geometry, OVERSCAN rows past the view), and the scroll moves at
  // the start of the next frame, before anything has changed the layout again: set right after a commit, it
  // made the browser lay the page out twice per frame (a third of a streamed frame's time).
  const total = lines.length * rowPx;
  const streaming = run.summary === null;
  /** The run this view has seen streaming. */
  const streamed = useRef(-1);
  /** Where the view last scrolled itself to: above it, the user has scrolled away (their scroll event may not have been handled yet). */
  const scrolledTo = useRef(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (streaming && streamed.current !== run.runId) {
      streamed.current = run.runId;
      scrolledTo.current = el.scrollTop;
    } else if (!streaming) {
      // a run that ended, or arrived ended (a replay whose start and end the page folded into one frame, maybe
      // before the scroller was laid out): while the view follows, its last rows stay in view — when the run
      // ends, and when the scroller gets or changes its size — and the view's position comes from the layout
      if (follow && el.clientHeight > 0 && el.scrollTop + el.clientHeight < el.scrollHeight - 1) {
        el.scrollTop = total;
        setView((v) => ({ ...v, top: el.scrollTop }));
      }
      return;
    }
    if (!follow) return;
    const frame = requestAnimationFrame(() => {
      if (el.scrollTop < scrolledTo.current - 1) return;
      el.scrollTop = total;
      scrolledTo.current = el.scrollTop;
    });
    return () => cancelAnimationFrame(frame);
  }, [total, follow, streaming, run.runId, view.height]); // the height too: a panel that shrinks leaves the newest rows below it

  // following the stream, or an ended run the view keeps at its end: the rows at the bottom, from the geometry
  // (a replay's first frame draws its end rows before the scroll has moved there)
  const top = follow ? Math.max(0, total - view.height) : view.top;
  const first = Math.max(0, Math.floor(top / rowPx) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((top + view.height) / rowPx) + OVERSCAN);
  const layerIndex = p.layer === 'all' ? -1 : p.layer;
  const active = p.active !== null && p.active < run.tokenCount ? p.active : null;

  const tokenAt = (target: EventTarget | null): number | null => {
    const el = (target as HTMLElement | null)?.closest?.('[data-t]');
    return el ? Number(el.getAttribute('data-t')) : null;
  };

  /** Moves the keyboard to token t, scrolling its row into view (only rows in view are rendered). */
  const moveTo = (t: number) => {
    const clamped = Math.max(0, Math.min(run.tokenCount - 1, t));
    const i = lineOf(lines, clamped);
    const el = scroller.current;
    if (i >= 0 && el) {
      const top = i * rowPx;
      if (top < el.scrollTop) el.scrollTop = top;
      else if (top + rowPx > el.scrollTop + el.clientHeight) el.scrollTop = top + rowPx - el.clientHeight;
      setFollow(false);
    }
    p.onActive(clamped);
  };

  /** The token in the row `delta` rows away, at about the same position. */
  const rowMove = (t: number, delta: number) => {
    const i = lineOf(lines, t);
    if (i < 0) return t;
    const line = lines[i];
    const offset = line.kind === 'row' ? t - line.start : 0;
    let j = i;
    for (let n = Math.abs(delta); n > 0;) {
      j += Math.sign(delta);
      if (j < 0 || j >= lines.length) return t;
      if (lines[j].kind === 'row') n--;
    }
    const target = lines[j];
    if (target.kind !== 'row') return t;
    return Math.min(target.start + offset, target.end - 1);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (run.tokenCount === 0) return;
    const t = active ?? p.pinned ?? 0;
    const page = Math.max(1, Math.floor(view.height / rowPx) - 1);
    const keys: Record<string, () => void> = {
      ArrowRight: () => moveTo(active === null ? t : t + 1),
      ArrowLeft: () => moveTo(active === null ? t : t - 1),
      ArrowDown: () => moveTo(rowMove(t, 1)),
      ArrowUp: () => moveTo(rowMove(t, -1)),
      PageDown: () => moveTo(rowMove(t, page)),
      PageUp: () => moveTo(rowMove(t, -page)),
      Home: () => moveTo(0),
      End: () => moveTo(run.tokenCount - 1),
      Enter: () => {
        if (e.shiftKey && p.pinned !== null) p.onRange([Math.min(p.pinned, t), Math.max(p.pinned, t)]);
        else p.onPin(p.pinned === t ? null : t);
      },
      ' ': () => p.onPin(p.pinned === t ? null : t),
      Escape: () => p.onPin(null),
      l: () => {
        const step = run.steps.find((s) => t >= s.start && t < s.end);
        if (step?.line !== undefined && step.line <= p.programLines) p.onRevealLine(step.line);
      },
    };
    const action = keys[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  };

  return (
    <section className="panel tokens" aria-label="Token stream">
      <div
        ref={scroller}
        className="scroller"
        data-testid="token-scroller"
        role="listbox"
        tabIndex={0}
        aria-label="Tokens. Arrow keys move, Enter pins a token (Shift+Enter: a range from the pinned one), Escape unpins, L reveals the program line of a reasoning step."
        aria-activedescendant={active !== null && lineOf(lines, active) >= first && lineOf(lines, active) < last ? `tok-${active}` : undefined}
        onFocus={() => { if (active === null && run.tokenCount > 0) p.onActive(p.pinned ?? 0); }}
        onKeyDown={onKeyDown}
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollTop + el.clientHeight >= total - rowPx * 2;
          setFollow(atBottom);
          // at the bottom, a scroll above where the view put itself is the browser's (the panel grew), not the user's
          if (atBottom) scrolledTo.current = Math.min(scrolledTo.current, el.scrollTop);
          // while it follows the stream, the view's rows come from the geometry, not from the scroll position
          if (atBottom && streaming) return;
          setView((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { ...v, top: el.scrollTop, height: el.clientHeight }));
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
          p.onActive(t);
          if (e.shiftKey && p.pinned !== null) p.onRange([Math.min(p.pinned, t), Math.max(p.pinned, t)]);
          else p.onPin(p.pinned === t ? null : t);
        }}
      >
        <div className="spacer" role="presentation" style={{ height: total }}>
          {lines.slice(first, last).map((line, i) => {
            const top = (first + i) * rowPx;
            if (line.kind === 'header') return <Header key={`h${line.key}`} top={top} run={run} segment={line.segment} collapsed={p.reasoningCollapsed} onToggle={p.onToggleReasoning} />;
            const { start, end } = line;
            const pinnedHere = p.pinned !== null && p.pinned >= start && p.pinned < end ? p.pinned : -1;
            const activeHere = active !== null && active >= start && active < end ? active : -1;
            const inRange = p.range && p.range[0] < end && p.range[1] >= start ? p.range : null;
            return (
              <Row key={`r${start}`} run={run} top={top} start={start} end={end} layerIndex={layerIndex} palette={p.palette} pinned={pinnedHere} active={activeHere}
                range={inRange} step={line.step} programLines={p.programLines} onRevealLine={p.onRevealLine} />
            );
          })}
        </div>
      </div>
      <div className="sr-only" aria-live="polite" data-testid="token-announce">{active !== null ? describe(run, active) : ''}</div>
      {hover && <HoverCard run={run} t={hover.t} x={hover.x} y={hover.y} palette={p.palette} />}
    </section>
  );
}

function Header(p: { top: number; run: RunData; segment: Segment; collapsed: boolean; onToggle(): void }) {
  const name = SEGMENT_NAMES[p.segment];
  const tokens = p.run.tokensBySegment[p.segment];
  if (p.segment !== Segment.Reasoning) {
    return (
      <div className={`line header seg-${name}`} style={{ transform: `translateY(${p.top}px)` }} data-segment={name}>
        {name} · {tokens} tokens
      </div>
    );
  }
  return (
    <div className={`line header seg-${name}`} style={{ transform: `translateY(${p.top}px)` }} data-segment={name}>
      <button type="button" className="toggle" aria-expanded={!p.collapsed} data-testid="reasoning-toggle" onClick={p.onToggle}>
        {p.collapsed ? '▸' : '▾'} reasoning · {p.run.steps.length} steps · {tokens} tokens
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
  active: number;
  range: [number, number] | null;
  step: StepMark | null;
  programLines: number;
  onRevealLine(line: number): void;
}

/** A finished row never changes (columns are append-only), so it re-renders only when its inputs do. */
const Row = memo(function Row(p: RowProps) {
  const { run } = p;
  const segment = SEGMENT_NAMES[run.segments[p.start]];
  const spans = [];
  for (let t = p.start; t < p.end; t++) {
    spans.push(<Token key={t} run={run} t={t} layerIndex={p.layerIndex} palette={p.palette} pinned={p.pinned === t} active={p.active === t}
      inRange={!!p.range && t >= p.range[0] && t <= p.range[1]} />);
  }
  const step = p.step;
  const line = step?.step.line;
  return (
    <div className={`line row seg-${segment}`} role="presentation" style={{ transform: `translateY(${p.top}px)` }} data-row={p.start}>
      <span className="gutter" aria-hidden="true">
        {step && (
          <span className={`step-no${step.verdict ? (step.verdict.ok ? ' right' : ' wrong') : ''}`} title={step.verdict?.title} data-verdict={step.verdict ? String(step.verdict.ok) : undefined}>
            {step.index + 1}{step.verdict && !step.verdict.ok && <span className="sr-only"> {step.verdict.title}</span>}
          </span>
        )}
        {line !== undefined && (line <= p.programLines ? (
          <button type="button" tabIndex={-1} className="line-link" data-line={line} title={`Reveal program line ${line}`} onClick={() => p.onRevealLine(line)}>
            L{line}
          </button>
        ) : (
          <span className="line-missing" data-line={line} title={p.programLines > 0 ? `The program has ${p.programLines} lines: there is no line ${line}` : 'No program to reveal lines in'}>L{line}</span>
        ))}
      </span>
      {spans}
    </div>
  );
}, (a, b) => a.start === b.start && a.end === b.end && a.top === b.top && a.layerIndex === b.layerIndex && a.palette === b.palette && a.pinned === b.pinned
  && a.active === b.active && a.programLines === b.programLines
  && a.range?.[0] === b.range?.[0] && a.range?.[1] === b.range?.[1] && a.step?.step === b.step?.step && a.step?.verdict === b.step?.verdict && a.run.segments === b.run.segments && a.run.runId === b.run.runId);

interface TokenProps {
  run: RunData;
  t: number;
  layerIndex: number;
  palette: ExpertColor[];
  pinned: boolean;
  active: boolean;
  inRange: boolean;
}

/** A token's text and routing never change once it arrived: the row that grows re-renders only its new tokens. */
const Token = memo(function Token(p: TokenProps) {
  const { run, t } = p;
  const text = visibleToken(run.texts[t]);
  const cls = `tok${p.pinned ? ' pinned' : ''}${p.active ? ' active' : ''}${p.inRange ? ' in-range' : ''}`;
  if (p.layerIndex >= 0) {
    const e = topExpert(run, p.layerIndex, t);
    const color = p.palette[e];
    const routes = routingOf(run, p.layerIndex, t).map((r) => `E${r.expert} ${r.weight.toFixed(2)}`).join(', ');
    const label = `token ${t} ${quotedToken(run.texts[t])} · layer ${run.meta.model.moeLayers[p.layerIndex]}: ${routes}`;
    return (
      <span className={cls} id={`tok-${t}`} role="option" aria-selected={p.pinned} data-t={t} data-expert={e} title={label} aria-label={label}
        style={color ? { backgroundColor: color.background, color: color.foreground } : undefined}>
        {text}
      </span>
    );
  }
  const tops = run.routing.map((_, l) => topExpert(run, l, t));
  const label = `token ${t} ${quotedToken(run.texts[t])} · top experts by layer: ${tops.map((e, l) => `L${run.meta.model.moeLayers[l]} E${e}`).join(', ')}`;
  return (
    <span className={`${cls} tok-all`} id={`tok-${t}`} role="option" aria-selected={p.pinned} data-t={t} data-experts={tops.join(',')} title={label} aria-label={label}>
      <span className="txt">{text}</span>
      {tops.map((e, l) => (
        <span key={l} className="stripe" data-layer={run.meta.model.moeLayers[l]} data-expert={e} style={{ backgroundColor: p.palette[e]?.background }} />
      ))}
    </span>
  );
}, (a, b) => a.t === b.t && a.layerIndex === b.layerIndex && a.palette === b.palette && a.pinned === b.pinned && a.active === b.active
  && a.inRange === b.inRange && a.run.runId === b.run.runId && a.run.texts[a.t] === b.run.texts[b.t]);
