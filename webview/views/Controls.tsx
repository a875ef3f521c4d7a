/** Run controls (live mode): prompt, sampling settings, run and stop. */
import { memo, useEffect, useRef, useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import VscodeTextarea from '@vscode-elements/react-elements/dist/components/VscodeTextarea.js';
import VscodeTextfield from '@vscode-elements/react-elements/dist/components/VscodeTextfield.js';
import { SAMPLING_RANGES, type SamplingSettings, samplingFieldProblem } from '../../extension/trace/sampling';

export interface ControlsProps {
  prompt: string;
  settings: SamplingSettings;
  running: boolean;
  disabled: boolean;
  /** Changes when the host asks for the prompt box to take the focus (Run Prompt…). */
  focus: number;
  onChange(prompt: string, settings: SamplingSettings): void;
  onRun(): void;
  onStop(): void;
}

const valueOf = (e: Event) => (e.target as HTMLInputElement).value;

/** One sampling setting, checked against the same ranges as the host and the settings schema. */
function NumberField(p: { label: string; field: keyof SamplingSettings; value: number; step: number; onValue(v: number): void }) {
  const [text, setText] = useState(String(p.value));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const range = SAMPLING_RANGES[p.field];
  return (
    <label className="field" title={problem ?? range.meaning}>
      <span>{p.label}</span>
      <VscodeTextfield type="number" value={text} min={range.min} max={range.max} step={p.step} invalid={problem !== undefined} aria-label={p.label}
        onInput={(e) => {
          const raw = valueOf(e);
          setText(raw);
          const v = raw.trim() === '' ? Number.NaN : Number(raw);
          const why = samplingFieldProblem(p.field, v);
          setProblem(why);
          if (!why) p.onValue(v);
        }} />
    </label>
  );
}

/** Memoised: a streaming run re-renders the panel every frame, and the text fields are web components that re-validate on every update. */
export const Controls = memo(function Controls(p: ControlsProps) {
  const set = (change: Partial<SamplingSettings>) => p.onChange(p.prompt, { ...p.settings, ...change });
  const box = useRef<React.ComponentRef<typeof VscodeTextarea>>(null);
  useEffect(() => {
    if (p.focus > 0) box.current?.focus();
  }, [p.focus]);
  return (
    <section className="panel controls" aria-label="Run controls">
      <label className="field prompt">
        <span>Prompt</span>
        <VscodeTextarea ref={box} value={p.prompt} rows={4} resize="vertical" aria-label="Prompt: a program for the model (Ctrl+Enter runs it)" data-testid="prompt"
          onInput={(e) => p.onChange(valueOf(e), p.settings)}
          onKeyDown={(e) => {
            if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && !p.running && !p.disabled && p.prompt.trim() !== '') p.onRun();
          }} />
      </label>
      <div className="settings">
        <NumberField label="Max tokens" field="maxNewTokens" value={p.settings.maxNewTokens} step={1} onValue={(v) => set({ maxNewTokens: v })} />
        <NumberField label="Temperature" field="temperature" value={p.settings.temperature} step={0.1} onValue={(v) => set({ temperature: v })} />
        <NumberField label="Top-k" field="topK" value={p.settings.topK} step={1} onValue={(v) => set({ topK: v })} />
        <NumberField label="Top-p" field="topP" value={p.settings.topP} step={0.05} onValue={(v) => set({ topP: v })} />
        <NumberField label="Seed" field="seed" value={p.settings.seed} step={1} onValue={(v) => set({ seed: v })} />
        <div className="buttons">
          <VscodeButton data-testid="run" disabled={p.disabled || p.running || p.prompt.trim() === ''} onClick={p.onRun}>Run</VscodeButton>
          <VscodeButton data-testid="stop" secondary disabled={!p.running} onClick={p.onStop}>Stop</VscodeButton>
        </div>
      </div>
    </section>
  );
});
