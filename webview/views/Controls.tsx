/** Run controls (live mode): prompt, sampling settings, run and stop. */
import { useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import VscodeTextarea from '@vscode-elements/react-elements/dist/components/VscodeTextarea.js';
import VscodeTextfield from '@vscode-elements/react-elements/dist/components/VscodeTextfield.js';
import type { SamplingSettings } from '../../extension/trace/types';

export interface ControlsProps {
  prompt: string;
  settings: SamplingSettings;
  running: boolean;
  disabled: boolean;
  onChange(prompt: string, settings: SamplingSettings): void;
  onRun(): void;
  onStop(): void;
}

const valueOf = (e: Event) => (e.target as HTMLInputElement).value;

function NumberField(p: { label: string; value: number; min: number; max: number; step: number; integer: boolean; onValue(v: number): void }) {
  const [text, setText] = useState(String(p.value));
  const [invalid, setInvalid] = useState(false);
  return (
    <label className="field">
      <span>{p.label}</span>
      <VscodeTextfield type="number" value={text} min={p.min} max={p.max} step={p.step} invalid={invalid} aria-label={p.label}
        onInput={(e) => {
          const raw = valueOf(e);
          setText(raw);
          const v = Number(raw);
          const ok = raw.trim() !== '' && Number.isFinite(v) && v >= p.min && v <= p.max && (!p.integer || Number.isInteger(v));
          setInvalid(!ok);
          if (ok) p.onValue(v);
        }} />
    </label>
  );
}

export function Controls(p: ControlsProps) {
  const set = (change: Partial<SamplingSettings>) => p.onChange(p.prompt, { ...p.settings, ...change });
  return (
    <section className="panel controls" aria-label="Run controls">
      <label className="field prompt">
        <span>Prompt</span>
        <VscodeTextarea value={p.prompt} rows={4} resize="vertical" aria-label="Prompt" data-testid="prompt" onInput={(e) => p.onChange(valueOf(e), p.settings)} />
      </label>
      <div className="settings">
        <NumberField label="Max tokens" value={p.settings.maxNewTokens} min={1} max={100_000} step={1} integer onValue={(v) => set({ maxNewTokens: v })} />
        <NumberField label="Temperature" value={p.settings.temperature} min={0} max={100} step={0.1} integer={false} onValue={(v) => set({ temperature: v })} />
        <NumberField label="Seed" value={p.settings.seed} min={0} max={2 ** 32 - 1} step={1} integer onValue={(v) => set({ seed: v })} />
        <div className="buttons">
          <VscodeButton data-testid="run" disabled={p.disabled || p.running || p.prompt.trim() === ''} onClick={p.onRun}>Run</VscodeButton>
          <VscodeButton data-testid="stop" secondary disabled={!p.running} onClick={p.onStop}>Stop</VscodeButton>
        </div>
      </div>
    </section>
  );
}
