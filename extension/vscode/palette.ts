// The inspector's palette, so an expert has the same colour in the editor as in the panel. The file
// is pure (no DOM, no imports); it belongs in a module both sides share (see the closing note).
import { expertPalette } from '../../webview/palette';

/** The expert's colour as `#rrggbbaa`, translucent so the code under a decoration stays readable. */
export function expertColor(expert: number, alpha = 0.4): string {
  const { background } = expertPalette(expert + 1)[expert];
  return background + Math.round(alpha * 255).toString(16).padStart(2, '0');
}
