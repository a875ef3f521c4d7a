// The inspector's palette, so an expert has the same colour in the editor as in the panel.
import { expertPalette } from '../inspector/palette';

/** The expert's colour as `#rrggbbaa`, translucent so the code under a decoration stays readable. */
export function expertColor(expert: number, alpha = 0.4): string {
  const { background } = expertPalette(expert + 1)[expert];
  return background + Math.round(alpha * 255).toString(16).padStart(2, '0');
}
