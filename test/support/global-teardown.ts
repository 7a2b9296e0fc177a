import fs from 'node:fs';
import type { ManagedService } from '../../scripts/local-services';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __testServices?: { services: ManagedService[]; dir: string } }).__testServices;
  if (!state) return;
  await Promise.all(state.services.map((s) => s.stop()));
  fs.rmSync(state.dir, { recursive: true, force: true });
}
