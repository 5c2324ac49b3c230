/** p-values as people read them: 3 significant digits, tiny ones as < 0.0001. */
export function pText(p: number): string {
  return p < 1e-4 ? "< 0.0001" : `= ${Number(p.toPrecision(3))}`;
}
