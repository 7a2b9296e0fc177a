/** The Accounts section of the JSON API (API.md). */
import { Router } from 'express';
import { cstIso } from '../../domain/time';
import { AppError } from '../../lib/errors';
import type { AppDeps } from '../../lib/deps';
import { authorize, requireUser, openToAnyone } from '../../lib/http/authorize';
import { parseInput } from '../../lib/validation';
import { authenticate, changePassword, createBureauUser, listBureauUsers, recordSignIn, setBureauUserDisabled, signInSchema } from './accounts.service';
import { isWrongCurrentPassword, type LoginLimiter } from './login-limiter';
import { issueToken, revokeToken } from './tokens.service';

export function accountsApi(deps: AppDeps, limiter: LoginLimiter): Router {
  const router = Router();

  /** POST /tokens: exchanges an email and password for an API token. */
  router.post('/tokens', openToAnyone('signing in for a token'), async (req, res) => {
    const { email, password } = parseInput(signInSchema, req.body);
    // Counted before the password is checked (429 once a limit is reached), given back on success.
    const user = await limiter.attempt(email, req.ip, () => authenticate(email, password));
    if (!user) throw new AppError('UNAUTHENTICATED', { code: 'INVALID_CREDENTIALS', messageKey: 'errors.invalidCredentials' });
    await recordSignIn({ ...user, via: 'token' }, req.ip);
    const { token, expiresAt } = await issueToken(user.id, deps.config.apiTokenTtlMs);
    res.status(201).json({ token, expiresAt: cstIso(expiresAt) });
  });

  /** DELETE /tokens/current: revokes the token this request was made with. */
  router.delete('/tokens/current', authorize('account.self'), async (_req, res) => {
    const token = res.locals.bearerToken as string | undefined;
    if (!token) throw new AppError('UNAUTHENTICATED');
    await revokeToken(token);
    res.status(204).end();
  });

  /** POST /me/password: changes the signed-in user's password (the current one is checked under the sign-in limits). */
  router.post('/me/password', authorize('account.self'), async (req, res) => {
    const user = requireUser(res);
    await limiter.attempt(user.email, req.ip, () => changePassword(user, req.body), { countsAsFailure: isWrongCurrentPassword });
    res.status(204).end();
  });

  /** GET /csrf-token: the token a cookie-authenticated client sends as X-CSRF-Token. */
  router.get('/csrf-token', openToAnyone('a form token for the session'), (_req, res) => {
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
