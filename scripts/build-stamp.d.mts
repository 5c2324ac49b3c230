export function sourceHash(root: string): string;
export const stampFile: string;
export function buildProblem(root: string): string | undefined;
