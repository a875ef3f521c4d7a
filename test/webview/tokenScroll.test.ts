/**
 * The token view in real Chromium while a run streams: it follows the newest token, shows the last one
 * when the run ends, and leaves the view where the user scrolled, also when the scroll lands right after
 * a frame the stream drew (the view scrolls itself a frame late, to spare the browser a second layout).
 * The summary above it keeps up: redrawn with the charts while the run streams, at once when it ends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostMessage } from '../../extension/protocol';
import { messagesScript } from './harness';
import { replayOf } from './record';
import { initMessage, inspectorSuite, lastSeq, settle } from './suite';

describe('token view in Chromium, following a streaming run', () => {
  const suite = inspectorSuite();

  it('follows a streaming run to its newest token, to the last one when it ends, and stays where the user scrolled', async () => {
    // a short panel, so that the run is several screens long
    const page = await suite.open('dark', { width: 700, height: 480 });
    const [start, ...rest] = suite.rec.live;
    const data = rest.filter((m) => m.type === 'runData');
    const done = rest.filter((m) => m.type !== 'runData');
    assert.ok(start.type === 'runStart' && data.length > 20 && done.length === 1 && done[0].type === 'runDone', 'the recording starts, streams in several batches, then ends');
    /** The newest token in the DOM, whether its span is inside the scroller's view, and where the view is. */
    const newest = () => page.page.getByTestId('token-scroller').evaluate((el) => {
      const spans = [...el.querySelectorAll('[data-t]')];
      const last = spans.reduce((a, b) => (Number(b.getAttribute('data-t')) > Number(a.getAttribute('data-t')) ? b : a));
      const view = el.getBoundingClientRect();
      const box = last.getBoundingClientRect();
      return { t: Number(last.getAttribute('data-t')), inView: box.top >= view.top && box.bottom <= view.bottom, scrollTop: el.scrollTop, bottomGap: el.scrollHeight - el.scrollTop - el.clientHeight };
    });
    /** The summary's token count and its `ended` line's reason. */
    const summary = () => page.page.getByTestId('summary').evaluate((el) => ({
      tokens: Number(/(\d+) tokens \(/.exec(el.textContent ?? '')?.[1] ?? -1),
      ended: el.querySelector('[data-testid="ended"]')?.getAttribute('data-reason'),
    }));
    const half = Math.floor(data.length / 2);
    await page.post([initMessage('live', 1), start, ...data.slice(0, half)]);
    const ack = await page.rendered(1, lastSeq(data.slice(0, half)));
    await settle(page);
    const mid = await newest();
    assert.equal(mid.t, ack.tokens - 1, 'the newest token is rendered');
    assert.ok(mid.inView && mid.scrollTop > 0, `the view followed the stream to its newest token: ${JSON.stringify(mid)}`);

    // the panel grows (a header line unwraps, the user drags the sash): the browser pulls the scroll position up
    // to the new bottom, which is not the user scrolling away: the view still follows
    await page.page.setViewportSize({ width: 700, height: 520 });
    await settle(page);
    await page.post(data.slice(half, half + 4));
    const later = await page.rendered(1, lastSeq(data.slice(half, half + 4)));
    assert.ok(later.tokens > ack.tokens);
    // the summary's figures are redrawn with the charts while a run streams (every 250 ms), not every frame
    await page.page.getByTestId('facts').getByText(`${later.tokens} tokens (`).waitFor({ timeout: 2000 }).catch(() => undefined);
    assert.deepEqual(await summary(), { tokens: later.tokens, ended: 'running' }, 'the streaming run\'s summary caught up with its tokens');
    await settle(page);
    const grown = await newest();
    assert.ok(grown.inView && grown.bottomGap <= 1, `the view still follows after the panel grew: ${JSON.stringify(grown)}`);
    // and when it shrinks (a header line wraps) with no token arriving after it, the newest token stays in view
    await page.page.setViewportSize({ width: 700, height: 480 });
    await settle(page);
    const shrunk = await newest();
    assert.ok(shrunk.inView && shrunk.bottomGap <= 1, `the view still shows the newest token after the panel shrank: ${JSON.stringify(shrunk)}`);

    await page.post([...data.slice(half + 4), ...done]);
    await page.rendered(1, lastSeq(done));
    const reason = done[0].type === 'runDone' ? done[0].summary.reason : '';
    assert.deepEqual(await summary(), { tokens: suite.rec.store.tokenCount, ended: reason }, 'the summary shows the run\'s end in the frame that drew it');
    await settle(page);
    const end = await newest();
    assert.equal(end.t, suite.rec.store.tokenCount - 1);
    assert.ok(end.inView && end.bottomGap <= 1, `the ended run shows its last token: ${JSON.stringify(end)}`);

    // a new run, scrolled away from by the user while it streams: the view stays where the user put it
    const again = data.map((m, i) => ({ ...m, runId: 2, seq: i + 1 }) as HostMessage);
    await page.post([{ ...start, runId: 2 } as HostMessage, ...again.slice(0, half)]);
    await page.rendered(2, half);
    await settle(page);
    // the user scrolls up right after a frame that drew a batch: before the view has handled the scroll
    const batch = again.slice(half, half + 8);
    const away = (await page.page.evaluate(`new Promise((resolve) => {
      const el = document.querySelector('[data-testid="token-scroller"]');
      ${messagesScript(batch)}.forEach((m) => window.postMessage(m, '*'));
      requestAnimationFrame(() => setTimeout(() => {
        el.scrollTop = 0;
        resolve(el.scrollHeight - el.clientHeight);
      }, 0));
    })`)) as number;
    assert.ok(away > 200, `the run is taller than the view when the user scrolls up (${away} px more)`);
    await settle(page);
    assert.equal(await page.page.getByTestId('token-scroller').evaluate((el) => el.scrollTop), 0, 'the view stayed at the top while the batch was drawn');
    await page.post(again.slice(half + 8));
    await page.rendered(2, again.length);
    await settle(page);
    assert.equal(await page.page.getByTestId('token-scroller').evaluate((el) => el.scrollTop), 0, 'the view stayed at the top');
    await page.page.locator('[data-t="0"]').waitFor();
  });

  it('opens a replay on its last token, also when the whole trace lands in one frame', async () => {
    const page = await suite.open('dark', { width: 700, height: 480 });
    const messages = replayOf(suite.rec.store, 9);
    // start, data and end in one task: the page folds them into one frame, so it never sees the run streaming
    await page.post([initMessage('replay', 'all'), ...messages]);
    await page.rendered(9, lastSeq(messages));
    await settle(page);
    const view = await page.page.getByTestId('token-scroller').evaluate((el) => {
      const spans = [...el.querySelectorAll('[data-t]')].map((s) => Number(s.getAttribute('data-t')));
      return { max: Math.max(...spans), scrollTop: el.scrollTop, bottomGap: el.scrollHeight - el.scrollTop - el.clientHeight };
    });
    assert.equal(view.max, suite.rec.store.tokenCount - 1, `the last token is drawn: ${JSON.stringify(view)}`);
    assert.ok(view.scrollTop > 0 && view.bottomGap <= 1, `the view is at the end of the run: ${JSON.stringify(view)}`);
  });
});
