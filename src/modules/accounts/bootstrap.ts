/** Creates the first bureau admin at start-up when no admin exists yet. */
import type { Config } from '../../config';
import { isDuplicateKey } from '../../lib/errors';
import { generatePassword, hashPassword } from './password';
import { User } from './user.model';

export interface BootstrapResult {
  created: boolean;
  email: string;
  /** Set only when the password was generated here: it must be shown once, then forgotten. */
  generatedPassword?: string;
}

export async function ensureBootstrapAdmin(config: Pick<Config, 'bootstrapAdmin'>): Promise<BootstrapResult> {
  const { email, password } = config.bootstrapAdmin;
  if (await User.exists({ role: 'admin' })) return { created: false, email };
  const chosen = password ?? generatePassword();
  try {
    await User.create({ email, name: '科技局管理员', role: 'admin', passwordHash: await hashPassword(chosen), mustChangePassword: !password });
  } catch (err) {
    // Another process created it first (unique email index): nothing to do.
    if (isDuplicateKey(err)) return { created: false, email };
    throw err;
  }
  return { created: true, email, generatedPassword: password ? undefined : chosen };
}
