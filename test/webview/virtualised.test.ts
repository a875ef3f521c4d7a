/**
 * The token view in real Chromium with a 100k-token trace: it stays virtualised — the page holds the
 * rows in view, not one node per token — at the top, in the middle and at the end of the run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceMessages } from '../../extension/inspector/stream';
import { runSummary } from '../../extension/trace/figures';
import { extendTrace, reshapeTrace } from '../../bench/streams';
import { initMessage, inspectorSuite, lastSeq, settle } from './suite';

const TOKENS = 100_000;

describe('token view in Chromium, 100k tokens', () => {
  const suite = inspectorSuite();

  it('keeps the page to the rows in view with 100k tokens, wherever the view is scrolled', { timeout: 180_000 }, async () => {
    // the recorded run's reasoning repeated to 100k tokens; 2 MoE layers × 8 experts keep the routing small to post
    const trace = reshapeTrace(extendTrace(suite.rec.store, TOKENS), 2, 8, 2);
    assert.equal(trace.tokenCount, TOKENS);
    const page = await suite.open('dark', { width: 900, height: 700 });
    const messages = traceMessages(trace, 5, runSummary(trace));
    await page.post([initMessage('replay', 'all'), ...messages]);
    const ack = await page.rendered(5, lastSeq(messages));
    assert.equal(ack.tokens, TOKENS);

    const scroller = page.page.getByTestId('token-scroller');
    /** Token spans and elements in the page, and the token indices drawn. */
    type Census = { spans: number; nodes: number; min: number; max: number };
    const census = () => page.page.evaluate(`(() => {
      const spans = [...document.querySelectorAll('[data-t]')].map((s) => Number(s.getAttribute('data-t')));
      return { spans: spans.length, nodes: document.getElementsByTagName('*').length, min: Math.min(...spans), max: Math.max(...spans) };
    })()`) as Promise<Census>;
    const bounded = (c: Census, where: string) => {
      assert.ok(c.spans > 20 && c.spans < 3000, `${where}: ${c.spans} token spans in the page (of ${TOKENS})`);
      assert.ok(c.nodes < 15_000, `${where}: ${c.nodes} elements in the page`);
    };

    const opened = await census();
    bounded(opened, 'as opened');
    assert.equal(opened.max, TOKENS - 1, 'a replay opens on its last token');

    for (const [where, fraction] of [['at the top', 0], ['in the middle', 0.5], ['at the end', 1]] as const) {
      await scroller.evaluate((el, f) => { el.scrollTop = f * (el.scrollHeight - el.clientHeight); }, fraction);
      await settle(page);
      const c = await census();
      bounded(c, where);
      if (fraction === 0) assert.equal(c.min, 0, 'the first token is drawn at the top');
      else if (fraction === 1) assert.equal(c.max, TOKENS - 1, 'the last token is drawn at the end');
      else assert.ok(c.min > 0.3 * TOKENS && c.max < 0.7 * TOKENS, `the middle of the run is drawn in the middle (tokens ${c.min}–${c.max})`);
    }
    // the state VS Code copies on every save and keeps over a reload: bounded too (persist.ts drops scores, then whole runs)
    const stateChars = (await page.page.evaluate('window.__stateChars')) as number;
    assert.ok(stateChars < 16 * 2 ** 20, `the saved state is ${stateChars} characters`);
  });
});
