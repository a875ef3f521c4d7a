/** The inspector webview's entry: wires VS Code's API and window messages to the React app. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { Inspector } from './inspector';
import { vscodeApi } from './vscodeApi';

const root = createRoot(document.getElementById('root') as HTMLElement);
const inspector = new Inspector(vscodeApi(), (commit) => flushSync(commit));
window.addEventListener('message', (e: MessageEvent) => inspector.receive(e.data));
// a panel that is hidden (and not retained) or reloaded saves a run whose save was still waiting on its timer
window.addEventListener('pagehide', () => inspector.saveNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') inspector.saveNow();
});
root.render(<App inspector={inspector} />);
// expose frame statistics for the benchmark (read-only numbers, no control surface)
(window as unknown as { __moeLensStats?: unknown }).__moeLensStats = inspector.stats;
inspector.post({ type: 'ready' });
