/** The signed-in person as every request handler sees them, however they authenticated. */
import { sharedCache } from '../../lib/shared-cache';
import { User, type Role, type UserDoc } from './user.model';

export interface CurrentUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
  organizationManager: boolean;
  mustChangePassword: boolean;
  sessionEpoch: number;
  via: 'session' | 'token';
}

export function toCurrentUser(u: UserDoc, via: CurrentUser['via']): CurrentUser {
  return {
    id: String(u._id),
    email: u.email,
    name: u.name,
    role: u.role as Role,
    organizationId: u.organizationId ? String(u.organizationId) : null,
    organizationManager: Boolean(u.organizationManager),
    mustChangePassword: Boolean(u.mustChangePassword),
    sessionEpoch: u.sessionEpoch ?? 0,
    via,
  };
}

/**
 * A user who may act (exists, not disabled), from the request cache or the database.
 * `mark` is the cache generation taken before the caller's first read.
 */
export async function activeUser(id: string, mark: number): Promise<CurrentUser | null> {
  return sharedCache.through(
    'user',
    id,
    async () => {
      const user = await User.findById(id).lean();
      return user && !user.disabled ? toCurrentUser(user, 'session') : null;
    },
    mark,
  );
}
