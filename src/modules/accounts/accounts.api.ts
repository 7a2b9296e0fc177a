/** The Accounts section of the JSON API (API.md). */
import { Router } from 'express';
import { cstIso } from '../../domain/time';
import { AppError } from '../../lib/errors';
import type { AppDeps } from '../../lib/deps';
import { authorize, requireUser } from '../../lib/http/authorize';
import { parseInput } from '../../lib/validation';
import { getOrganization, publicOrganization } from '../organizations/organizations.service';
import { authenticate, changePassword, createBureauUser, listBureauUsers, recordSignIn, setBureauUserDisabled, signInSchema } from './accounts.service';
import type { LoginLimiter } from './login-limiter';
import { issueToken, revokeToken } from './tokens.service';

export function accountsApi(deps: AppDeps, limiter: LoginLimiter): Router {
  const router = Router();

  /** POST /tokens: exchanges an email and password for an API token. */
  router.post('/tokens', async (req, res) => {
    const { email, password } = parseInput(signInSchema, req.body);
    const ip = req.ip ?? 'unknown';
    await limiter.check(email, ip);
    const user = await authenticate(email, password);
    if (!user) {
      await limiter.recordFailure(email, ip);
      throw new AppError('UNAUTHENTICATED', { code: 'INVALID_CREDENTIALS', messageKey: 'errors.invalidCredentials' });
    }
    await limiter.recordSuccess(email);
    await recordSignIn({ ...user, via: 'token' }, req.ip);
    const { token, expiresAt } = await issueToken(user.id, deps.config.apiTokenTtlMs);
    res.status(201).json({ token, expiresAt: cstIso(expiresAt) });
  });

  /** DELETE /tokens/current: revokes the token this request was made with. */
  router.delete('/tokens/current', async (_req, res) => {
    const token = res.locals.bearerToken as string | undefined;
    if (!token) throw new AppError('UNAUTHENTICATED');
    await revokeToken(token);
    res.status(204).end();
  });

  /** GET /me: the signed-in user and their organisation. */
  router.get('/me', async (_req, res) => {
    const user = requireUser(res);
    const org = await getOrganization(user.organizationId);
    res.json({
      user: { id: user.id, email: user.email, name: user.name, role: user.role, mustChangePassword: user.mustChangePassword, organizationManager: user.organizationManager },
      organization: org ? publicOrganization(org) : null,
    });
  });

  /** POST /me/password: changes the signed-in user's password. */
  router.post('/me/password', authorize('account.self'), async (req, res) => {
    await changePassword(requireUser(res), req.body);
    res.status(204).end();
  });

  /** GET /csrf-token: the token a cookie-authenticated client sends as X-CSRF-Token. */
  router.get('/csrf-token', (_req, res) => {
    const csrf = res.locals.csrf as (() => string) | undefined;
    res.set('Cache-Control', 'no-store').json({ token: csrf ? csrf() : null });
  });

  /** POST /users: a bureau admin creates a reviewer or admin account. */
  router.post('/users', authorize('users.manage'), async (req, res) => {
    const result = await createBureauUser(requireUser(res), req.body, req.ip);
    res.status(201).json(result);
  });

  /** POST /users/{id}/disable and /enable: an admin switches a bureau account off or on. */
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/users/:id/${action}`, authorize('users.manage'), async (req, res) => {
      await setBureauUserDisabled(requireUser(res), req.params.id as string, action === 'disable', req.ip);
      res.json({ disabled: action === 'disable' });
    });
  }

  /** GET /users: the bureau's accounts. */
  router.get('/users', authorize('users.manage'), async (_req, res) => {
    const users = await listBureauUsers();
    res.json({
      items: users.map((u) => ({ id: String(u._id), email: u.email, name: u.name, role: u.role, disabled: u.disabled, lastSignInAt: u.lastSignInAt ? cstIso(u.lastSignInAt) : null })),
    });
  });

  return router;
}
