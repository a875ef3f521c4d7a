/** What the user must know before reading the run: errors, a provider that fell back, input the model cannot make sense of. */
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import type { HostAction } from '../../extension/protocol';
import type { InspectorState, RunData } from '../state';

export function Notices(p: { state: InspectorState; run: RunData | null; onAction(action: HostAction): void }) {
  const { state, run } = p;
  const loadFailed = state.status?.state === 'error' ? state.status.message : undefined;
  const error = state.error ?? loadFailed ?? (run?.summary?.reason === 'error' ? run.summary.message : undefined);
  const fallbacks = run && run.mode === 'live' ? run.meta.fallbacks : [];
  return (
    <>
      {error && (
        <div className="banner error" role="alert" data-testid="banner">
          <span className="text">{error}</span>
          {loadFailed && (
            <span className="actions">
              <VscodeButton data-testid="use-bundled" onClick={() => p.onAction('useBundledModel')}>Use bundled model</VscodeButton>
              <VscodeButton secondary onClick={() => p.onAction('openSettings')}>Open Settings</VscodeButton>
              <VscodeButton secondary onClick={() => p.onAction('showLog')}>Show Log</VscodeButton>
            </span>
          )}
        </div>
      )}
      {fallbacks.length > 0 && (
        <div className="banner warning" role="status" data-testid="fallback-warning" data-provider={run?.meta.provider}>
          <span className="text">
            {fallbacks.map((f) => `${f.provider} could not start: ${f.reason}`).join('\n')}
            {`\nThis run used ${run?.meta.provider}.`}
          </span>
          <span className="actions">
            <VscodeButton secondary onClick={() => p.onAction('showLog')}>Show Log</VscodeButton>
            <VscodeButton secondary data-testid="use-cpu" onClick={() => p.onAction('useCpu')}>Use CPU</VscodeButton>
          </span>
        </div>
      )}
      {run?.notice && <div className="banner note" role="note" data-testid="input-notice"><span className="text">{run.notice}</span></div>}
      {run && run.missedMessages > 0 && <div className="banner error" role="alert">{run.missedMessages} stream messages never arrived; some tokens may be missing.</div>}
    </>
  );
}
