/** The signed-in person as every request handler sees them, however they authenticated. */
import type { Role, UserDoc } from './user.model';

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
