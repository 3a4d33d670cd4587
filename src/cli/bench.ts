export async function runBench(_o: unknown): Promise<number> {
  throw new Error('not yet');
}
