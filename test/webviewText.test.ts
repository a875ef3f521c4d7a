import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { contrastRatio, expertPalette, hexToOklab } from '../extension/inspector/palette';
import { MAX_TOKEN_CHARS, visibleToken } from '../webview/text';
import { ROOT } from './helpers';

describe('webview palette', () => {
  for (const n of [16, 64, 128]) {
    it(`${n} experts get distinct colours, far enough apart, each with legible text`, () => {
      const p = expertPalette(n);
      assert.equal(new Set(p.map((c) => c.background)).size, n);
      const lab = p.map((c) => hexToOklab(c.background));
      let min = Infinity;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) min = Math.min(min, Math.hypot(lab[i][0] - lab[j][0], lab[i][1] - lab[j][1], lab[i][2] - lab[j][2]));
      // OKLab distance; about 0.02 is a just-noticeable difference
      assert.ok(min >= (n <= 64 ? 0.06 : 0.04), `closest pair ${min.toFixed(3)}`);
      for (const c of p) assert.ok(contrastRatio(c.background, c.foreground) >= 4.5, `${c.background} on ${c.foreground}`);
    });
  }
  it('is stable: expert e has the same colour whatever the expert count', () => {
    assert.deepEqual(expertPalette(64).slice(0, 16), expertPalette(16));
    assert.deepEqual(expertPalette(64, '#ffffff').slice(0, 16), expertPalette(16, '#ffffff'));
  });
  // the panel backgrounds of VS Code's Dark+, Light+, High Contrast and High Contrast Light themes
  for (const [theme, background] of [['dark', '#1e1e1e'], ['light', '#ffffff'], ['high contrast', '#000000'], ['high contrast light', '#ffffff']]) {
    it(`keeps 3:1 contrast against the ${theme} theme's background, distinct and legible, for 16 and 64 experts`, () => {
      for (const n of [16, 64]) {
        const p = expertPalette(n, background);
        assert.equal(new Set(p.map((c) => c.background)).size, n, `${n} distinct colours`);
        for (const c of p) {
          assert.ok(contrastRatio(c.background, background) >= 3, `${c.background} on ${background}: ${contrastRatio(c.background, background).toFixed(2)}`);
          assert.ok(contrastRatio(c.background, c.foreground) >= 4.5, `text on ${c.background}`);
        }
        const lab = p.map((c) => hexToOklab(c.background));
        let min = Infinity;
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) min = Math.min(min, Math.hypot(lab[i][0] - lab[j][0], lab[i][1] - lab[j][1], lab[i][2] - lab[j][2]));
        assert.ok(min >= (n <= 16 ? 0.1 : 0.045), `${n} experts on ${background}: closest pair ${min.toFixed(3)}`);
      }
    });
  }
});

describe('webview token text', () => {
  it('shows bidi, control and invisible characters as escapes, newline and tab as symbols', () => {
    assert.equal(visibleToken('\u202Eabc'), '\\u202Eabc');
    assert.equal(visibleToken('a\u0000\u001b[1m'), 'a\\u0000\\u001B[1m');
    assert.equal(visibleToken('\u2066x\u2069\u200b\ufeff'), '\\u2066x\\u2069\\u200B\\uFEFF');
    assert.equal(visibleToken('x = 1\n\t'), 'x = 1↵→');
    assert.equal(visibleToken('<script>alert(1)</script>'), '<script>alert(1)</script>', 'markup stays text (React renders it as a text node)');
  });
  it('cuts very long tokens and says how much is hidden', () => {
    const shown = visibleToken('y'.repeat(10_000));
    assert.equal(shown, `${'y'.repeat(MAX_TOKEN_CHARS)}… (+${10_000 - MAX_TOKEN_CHARS} chars)`);
  });
  it('no webview source renders raw HTML', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (/\.tsx?$/.test(e.name)) files.push(join(dir, e.name));
      }
    };
    walk(join(ROOT, 'webview'));
    assert.ok(files.length > 5);
    for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, f);
  });
});
