/**
 * How a request comes to have a user: a Bearer token (then cookies are ignored and no CSRF
 * token is needed), or a session cookie (sessions in Redis; CSRF tokens on unsafe requests).
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { csrfSync } from 'csrf-sync';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Redis } from 'ioredis';
import type { Config } from '../../config';
import { AppError } from '../../lib/errors';
import { isApiRequest } from '../../lib/http/errors';
import type { CurrentUser } from './current-user';
import { authenticate, findActiveUser } from './accounts.service';
import { resolveToken } from './tokens.service';

const viaToken = (res: { locals: Record<string, unknown> }) => res.locals.authVia === 'token';

/** Runs a middleware only for requests that do not carry a Bearer token. */
function unlessToken(mw: RequestHandler): RequestHandler {
  return (req, res, next) => (viaToken(res) ? next() : mw(req, res, next));
}

export function bearerAuth(): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) return next();
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new AppError('UNAUTHENTICATED', { code: 'BAD_AUTHORIZATION_HEADER' });
    const user = await resolveToken(m[1]);
    if (!user) throw new AppError('UNAUTHENTICATED', { code: 'TOKEN_INVALID', messageKey: 'errors.tokenInvalid' });
    res.locals.authVia = 'token';
    res.locals.bearerToken = m[1];
    res.locals.currentUser = user;
    next();
  };
}

export function configurePassport(): passport.PassportStatic {
  const p = new passport.Passport();
  p.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password', session: true }, (emailAddress, password, done) => {
      authenticate(emailAddress, password).then(
        (user) => done(null, user ?? false),
        (err) => done(err),
      );
    }),
  );
  // The session keeps "<user id>:<session epoch>": a changed password bumps the epoch.
  p.serializeUser((user, done) => done(null, `${(user as CurrentUser).id}:${(user as CurrentUser).sessionEpoch}`));
  p.deserializeUser((key: string, done) => {
    const [id, epoch] = String(key).split(':');
    // A removed or disabled account, or a session from before a password change, is signed out.
    findActiveUser(id).then(
      (user) => done(null, user && String(user.sessionEpoch) === (epoch ?? '0') ? user : false),
      (err) => done(err),
    );
  });
  return p as unknown as passport.PassportStatic;
}

export const SESSION_COOKIE = 'tcr.sid';

export function sessionMiddlewares(config: Readonly<Config>, redis: Redis, pass: passport.PassportStatic) {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    // An API request carries no ambient authority unless its session is signed in, so only
    // then can it be forged; forms always need the token (that also stops login CSRF).
    skipCsrfProtection: (req) => isApiRequest(req.originalUrl) && !req.user,
    getTokenFromRequest: (req) => {
      const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof fromBody === 'string') return fromBody;
      const header = req.headers['x-csrf-token'];
      if (typeof header === 'string') return header;
      // Multipart forms are parsed after this check, so they carry the token in the URL.
      const fromQuery = req.query._csrf;
      return typeof fromQuery === 'string' && req.is('multipart/form-data') ? fromQuery : undefined;
    },
  });
  const sessions = session({
    name: SESSION_COOKIE,
    secret: config.sessionSecret,
    store: new RedisStore({ client: redis, prefix: `${config.queuePrefix}:sess:` }),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: config.trustProxy ? true : undefined,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, maxAge: config.sessionTtlMs },
  });
  const exposeUser: RequestHandler = (req, res, next) => {
    if (req.user) res.locals.currentUser = req.user;
    next();
  };
  /**
   * Pages with forms call csrf() for the session's token. It is made on first use, so
   * pages without forms (the public homepage) create no session at all.
   */
  const exposeCsrf: RequestHandler = (req, res, next) => {
    // A request with a Bearer token has no session, so no CSRF token (it needs none: the token
    // is no ambient authority); pages it asks for still render, with empty form tokens.
    res.locals.csrf = viaToken(res) ? () => '' : () => generateToken(req);
    next();
  };
  return {
    chain: [
      unlessToken(sessions),
      unlessToken(pass.initialize()),
      unlessToken(pass.session()),
      unlessToken(exposeUser),
      unlessToken(csrfSynchronisedProtection),
      exposeCsrf,
    ] as RequestHandler[],
    generateToken,
  };
}
