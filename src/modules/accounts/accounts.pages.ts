/** Account pages: sign in, sign out, change password, and the admins' bureau accounts page. */
import { Router, type Request, type Response } from 'express';
import type passport from 'passport';
import type { TFunction } from 'i18next';
import { AppError } from '../../lib/errors';
import { authorize, requireUser, openToAnyone } from '../../lib/http/authorize';
import { emptyForm, flash, isFormError, pickFields, renderFormError } from '../../lib/http/forms';
import { safeLocalPath } from '../home/home.routes';
import { changePassword, createBureauUser, listBureauUsers, recordSignIn, setBureauUserDisabled, signInSchema } from './accounts.service';
import type { CurrentUser } from './current-user';
import { SESSION_COOKIE } from './auth.middleware';
import { isWrongCurrentPassword, type LoginLimiter } from './login-limiter';

/** Where each role starts after signing in. */
export function landingPath(user: CurrentUser): string {
  if (user.mustChangePassword) return '/account/password';
  return user.role === 'applicant' ? '/contracts' : '/review';
}

/** Signs the user into the session; passport regenerates the session id first. */
export function logIn(req: Request, user: CurrentUser): Promise<void> {
  return new Promise((resolve, reject) => req.logIn(user, (err) => (err ? reject(err) : resolve())));
}

function authenticateLocal(pass: passport.PassportStatic, req: Request, res: Response): Promise<CurrentUser | null> {
  return new Promise((resolve, reject) => {
    pass.authenticate('local', { session: false }, (err: unknown, user: CurrentUser | false) => (err ? reject(err) : resolve(user || null)))(req, res, reject);
  });
}

export function accountsPages(pass: passport.PassportStatic, limiter: LoginLimiter): Router {
  const router = Router();

  /** GET /login: the sign-in form. */
  router.get('/login', openToAnyone('the sign-in form'), (req, res) => {
    const user = res.locals.currentUser as CurrentUser | undefined;
    if (user) return res.redirect(303, landingPath(user));
    res.render('account/login', { form: emptyForm({ next: safeLocalPath(req.query.next, '') }) });
  });

  /** POST /login: signs in, rate limited per account and per address. */
  router.post('/login', openToAnyone('signing in'), async (req, res) => {
    const values = pickFields(req.body, ['email', 'next']);
    try {
      const parsed = signInSchema.safeParse(req.body);
      if (!parsed.success) throw new AppError('UNAUTHENTICATED', { code: 'INVALID_CREDENTIALS', messageKey: 'errors.invalidCredentials' });
      // Counted before the password is checked (429 once a limit is reached), given back on success.
      const user = await limiter.attempt(parsed.data.email, req.ip, () => authenticateLocal(pass, req, res));
      if (!user) throw new AppError('UNAUTHENTICATED', { code: 'INVALID_CREDENTIALS', messageKey: 'errors.invalidCredentials' });
      await logIn(req, user);
      await recordSignIn(user, req.ip);
      res.redirect(303, user.mustChangePassword ? '/account/password' : safeLocalPath(values.next, landingPath(user)));
    } catch (err) {
      if (isFormError(err)) return renderFormError(res, 'account/login', err, values);
      throw err;
    }
  });

  /** POST /logout: ends the session (destroyed in Redis, cookie cleared). */
  router.post('/logout', openToAnyone('signing out ends whatever session there is'), async (req, res) => {
    await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie(SESSION_COOKIE);
    res.redirect(303, '/');
  });

  /** GET /account/password: the change-password form. */
  router.get('/account/password', authorize('account.self'), (_req, res) => {
    res.render('account/password', { form: emptyForm() });
  });

  /** POST /account/password: changes the password and rotates the session. */
  router.post('/account/password', authorize('account.self'), async (req, res) => {
    const user = requireUser(res);
    const t = res.locals.t as TFunction;
    try {
      const body = pickFields(req.body, ['currentPassword', 'newPassword', 'confirmPassword']);
      if (body.newPassword !== body.confirmPassword) {
        throw new AppError('VALIDATION_FAILED', { details: [{ path: 'confirmPassword', message: 'validation.passwordMismatch' }] });
      }
      // The current password is checked under the sign-in limits: a session alone must not allow guessing it.
      const sessionEpoch = await limiter.attempt(user.email, req.ip, () => changePassword(user, body), { countsAsFailure: isWrongCurrentPassword });
      // This session carries on (under a new id); the account's other sessions end.
      await logIn(req, { ...user, mustChangePassword: false, sessionEpoch });
      flash(req, 'success', t('account.passwordChanged'));
      res.redirect(303, landingPath({ ...user, mustChangePassword: false }));
    } catch (err) {
      if (isFormError(err)) return renderFormError(res, 'account/password', err, {});
      throw err;
    }
  });

  /** GET /admin/users: bureau accounts, and the form to add one. */
  router.get('/admin/users', authorize('users.manage'), async (_req, res) => {
    res.render('admin/users', { users: await listBureauUsers(), form: emptyForm({ role: 'reviewer' }) });
  });

  /** POST /admin/users: creates a reviewer or admin account. */
  router.post('/admin/users', authorize('users.manage'), async (req, res) => {
    const values = pickFields(req.body, ['email', 'name', 'password', 'role']);
    const t = res.locals.t as TFunction;
    try {
      await createBureauUser(requireUser(res), values, req.ip);
      flash(req, 'success', t('admin.userCreated', { email: values.email }));
      res.redirect(303, '/admin/users');
    } catch (err) {
      if (isFormError(err)) return renderFormError(res, 'admin/users', err, values, { users: await listBureauUsers() });
      throw err;
    }
  });

  /** POST /admin/users/:id/disable and /enable: an admin switches a bureau account off or on. */
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/admin/users/:id/${action}`, authorize('users.manage'), async (req, res) => {
      const t = res.locals.t as TFunction;
      try {
        await setBureauUserDisabled(requireUser(res), req.params.id as string, action === 'disable', req.ip);
        flash(req, 'success', t(action === 'disable' ? 'admin.userDisabled' : 'admin.userEnabled'));
      } catch (err) {
        if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
        flash(req, 'error', t(err.messageKey));
      }
      res.redirect(303, '/admin/users');
    });
  }

  return router;
}
