/** Istanbul coverage data: one statement per source line the bundles' source maps name. */
export interface LineCoverage {
  path: string;
  statementMap: Record<
    string,
    { start: { line: number; column: number }; end: { line: number; column: number } }
  >;
  s: Record<string, number>;
  fnMap: Record<string, never>;
  f: Record<string, never>;
  branchMap: Record<string, never>;
  b: Record<string, never>;
}
export function bundleCoverage(tempDirectory: string, root: string): Record<string, LineCoverage>;
