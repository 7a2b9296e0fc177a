/** Placeholder replaced below. */
export function hasFerretV1Data(_dataDir: string): boolean {
  return false;
}
export async function migrateFromFerretV1(_o: { dataDir: string; targetUri: string; say: (m: string) => void }): Promise<void> {}
