import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { traceToStream } from '../extension/inspector/stream';
import { type HostMessage, type StreamEvent, parseWebviewMessage } from '../extension/protocol';
import type { TraceStore } from '../extension/trace/store';
import { recordRun, replayOf } from './webview/record';

describe('inspector stream: live runs and replays become the same messages', () => {
  let live: HostMessage[];
  let store: TraceStore;
  before(async () => {
    ({ live, store } = await recordRun(7));
  });

  const eventsOf = (messages: HostMessage[]) => messages.flatMap((m) => (m.type === 'runEvents' ? m.events : []));
  const only = <T extends StreamEvent['type']>(events: StreamEvent[], type: T) => events.filter((e): e is Extract<StreamEvent, { type: T }> => e.type === type);

  it('numbers a run runStart, runEvents…, runDone from 0 under one run id, with plain-array payloads', () => {
    assert.equal(live[0].type, 'runStart');
    assert.equal(live.at(-1)?.type, 'runDone');
    live.forEach((m, i) => {
      assert.ok('runId' in m && m.runId === 7 && m.seq === i);
    });
    const token = only(eventsOf(live), 'token')[0];
    assert.ok(Array.isArray(token.routing[0].expertIds) && Array.isArray(token.routing[0].scores));
    assert.deepEqual(JSON.parse(JSON.stringify(live)), live, 'messages survive JSON cloning unchanged');
  });

  it('replays an exported and re-imported trace as the tokens, KV steps and reasoning steps the live run sent', () => {
    const replayed = replayOf(store, 8);
    assert.deepEqual(replayed.map((m) => m.type), ['runStart', 'runEvents', 'runDone']);
    const a = eventsOf(live);
    const b = eventsOf(replayed);
    assert.deepEqual(only(b, 'token'), only(a, 'token'));
    assert.deepEqual(only(b, 'kv'), only(a, 'kv'));
    const steps = (events: StreamEvent[]) => only(events, 'segment').filter((s) => s.event.type === 'step');
    assert.deepEqual(steps(b), steps(a));
    const enters = (events: StreamEvent[]) => only(events, 'segment').filter((s) => s.event.type === 'enter');
    assert.deepEqual(enters(b), enters(a));
    const liveDone = live.at(-1);
    const replayDone = replayed.at(-1);
    assert.ok(liveDone?.type === 'runDone' && replayDone?.type === 'runDone');
    assert.equal(replayDone.summary.reason, liveDone.summary.reason);
    assert.equal(replayDone.summary.generatedTokens, liveDone.summary.generatedTokens);
    assert.equal(traceToStream(store).events.length, a.length, 'no event lost or invented');
  });
});

describe('protocol: messages from the webview are validated', () => {
  const settings = { maxNewTokens: 100, temperature: 0, topK: 0, topP: 1, seed: 1 };
  it('accepts each well-formed message and copies only known fields', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'run', prompt: 'x = 1', settings: { ...settings, evil: true } }), { type: 'run', prompt: 'x = 1', settings });
    assert.deepEqual(parseWebviewMessage({ type: 'stop', runId: 3 }), { type: 'stop', runId: 3 });
    assert.deepEqual(parseWebviewMessage({ type: 'revealLine', runId: 3, line: 2 }), { type: 'revealLine', runId: 3, line: 2 });
    assert.deepEqual(parseWebviewMessage({ type: 'pinToken', runId: 3, index: null }), { type: 'pinToken', runId: 3, index: null });
    assert.deepEqual(parseWebviewMessage({ type: 'selectLayer', layer: 'all' }), { type: 'selectLayer', layer: 'all' });
  });
  it('rejects unknown types, wrong shapes and out-of-range values', () => {
    for (const bad of [null, 'ready', [], { type: 'eval' }, { type: 'run', prompt: '', settings }, { type: 'run', prompt: 'x', settings: { ...settings, topP: 2 } },
      { type: 'run', prompt: 'x', settings: { ...settings, temperature: Number.NaN } }, { type: 'run', prompt: 'x'.repeat(100_001), settings },
      { type: 'stop', runId: -1 }, { type: 'stop', runId: '1' }, { type: 'revealLine', runId: 1, line: 0 }, { type: 'pinToken', runId: 1, index: 1.5 },
      { type: 'selectLayer', layer: 'some' }, { type: '__proto__' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
