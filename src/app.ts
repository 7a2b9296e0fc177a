/**
 * Builds the Express application from its dependencies. Connects nothing and listens
 * nowhere: server.ts and the tests do that.
 */
import path from 'node:path';
import cookieParser from 'cookie-parser';
import type { RequestListener } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import { cstDate, cstDateTime } from './domain/time';
import { createI18n } from './i18n';
import { KeyLimiter } from './lib/rate-limit';
import type { AppDeps } from './lib/deps';
import { errorHandler, notFoundHandler } from './lib/http/errors';
import { languageMiddleware } from './lib/http/i18n';
import { requestLogger } from './lib/http/request-log';
import { securityHeaders } from './lib/http/security';
import { viewsDir } from './lib/paths';
import { healthRouter } from './modules/health/health.routes';
import { homeRouter } from './modules/home/home.routes';
import { accountsApi } from './modules/accounts/accounts.api';
import { accountsPages } from './modules/accounts/accounts.pages';
import { bearerAuth, configurePassport, sessionMiddlewares } from './modules/accounts/auth.middleware';
import { LoginLimiter } from './modules/accounts/login-limiter';
import { contractsApi } from './modules/contracts/contracts.api';
import { contractsPages } from './modules/contracts/contracts.pages';
import { contractListExportRoutes } from './modules/contracts/contracts.export';
import { relatedApi } from './modules/contracts/related.api';
import { relatedPages } from './modules/contracts/related.pages';
import { marketApi } from './modules/market/market.api';
import { marketPages } from './modules/market/market.pages';
import { reviewApi } from './modules/review/review.api';
import { changesApi } from './modules/changes/changes.api';
import { changesPages } from './modules/changes/changes.pages';
import { adminPages } from './modules/admin/admin.pages';
import { importsApi } from './modules/imports/imports.api';
import { importsPages } from './modules/imports/imports.pages';
import { notificationsPages } from './modules/notifications/notifications.pages';
import { certificatesPublic } from './modules/public/certificates';
import { guideRouter } from './modules/guide/guide.routes';
import { publicFastRoutes, publicRoutes } from './modules/public/public.routes';
import { PreparedAnswers } from './modules/public/prepared';
import { frontDoor } from './modules/public/front-door';
import { openDataFastRoutes, openDataPages } from './modules/public/open-data';
import { reviewPages } from './modules/review/review.pages';
import { statsPages } from './modules/stats/stats.pages';
import { planApi } from './modules/plan/plan.api';
import { planPages } from './modules/plan/plan.pages';
import { organizationsApi } from './modules/organizations/organizations.api';
import { organizationsPages } from './modules/organizations/organizations.pages';
import { dbStatsMiddleware } from './lib/db-stats';
import { openToAnyone } from './lib/http/authorize';

/** Moves one-time messages from the session into the page being rendered. */
const flashMessages: RequestHandler = (req, res, next) => {
  const s = req.session as { flash?: unknown[] } | undefined;
  res.locals.flash = [];
  if (s?.flash && req.method === 'GET') {
    res.locals.flash = s.flash;
    delete s.flash;
  }
  next();
};

// The package's exports map hides dist/, so find it beside the package's main file.
const chartJsPath = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');

/**
 * What a web process listens with: the front door (the anonymous public answers from prepared
 * bytes, before Express) in front of the app. Tests that need only the app use createApp.
 */
export function createWebHandler(deps: AppDeps): { app: Express; handler: RequestListener } {
  const { app, answers, security } = buildApp(deps);
  return { app, handler: frontDoor({ app, answers, hub: deps.turnover, securityHeaders: security }) };
}

export function createApp(deps: AppDeps): Express {
  return buildApp(deps).app;
}

function buildApp(deps: AppDeps): { app: Express; answers: PreparedAnswers; security: RequestHandler } {
  const { config, logger } = deps;
  const i18n = deps.i18n ?? createI18n();
  const app = express();
  const answers = new PreparedAnswers({
    turnover: deps.turnover,
    targetFen: config.turnoverTargetFen,
    render: (view, locals) => new Promise((resolve, reject) => app.render(view, locals, (err, html) => (err ? reject(err) : resolve(html)))),
    translator: (lang) => i18n.getFixedT(lang),
  });
  const security = securityHeaders({ hsts: config.secureCookies });

  app.disable('x-powered-by');
  if (config.trustProxy) app.set('trust proxy', /^\d+$/.test(config.trustProxy) ? Number(config.trustProxy) : config.trustProxy);
  app.set('view engine', 'ejs');
  app.set('views', viewsDir());
  if (config.isProduction) app.set('view cache', true);

  app.locals.agency = config.agency;
  app.locals.remedies = config.remedies;
  app.locals.publicUrl = config.publicUrl;
  app.locals.fmtDate = (d: Date | null | undefined) => (d ? cstDate(d) : '');
  app.locals.fmtDateTime = (d: Date | null | undefined) => (d ? cstDateTime(d) : '');

  if (config.dbCommandStatsFile) app.use(dbStatsMiddleware());
  app.use(requestLogger(logger));
  app.use(security);
  // Chart.js comes from its npm package, never a CDN.
  app.get('/static/vendor/chart.umd.min.js', openToAnyone('a static script'), (_req, res) => {
    res.set('Cache-Control', config.isProduction ? 'public, max-age=604800' : 'no-cache');
    res.sendFile(chartJsPath);
  });
  app.use('/static', express.static(path.join(viewsDir(), 'static'), { maxAge: config.isProduction ? '7d' : 0, index: false }));
  app.use(healthRouter(deps));
  app.use('/api/v1', healthRouter(deps));

  app.use(cookieParser());
  app.use(languageMiddleware(i18n));
  app.use((req, res, next) => {
    res.locals.currentPath = req.originalUrl;
    next();
  });
  // What the public crowd hits comes before sessions and body parsing.
  app.use(publicFastRoutes(deps, answers));
  app.use(openDataFastRoutes(deps));
  // Compressed bodies (gzip, deflate, br) are inflated as they arrive and the limit counts the
  // inflated bytes, so a small compressed body cannot become a large one (request-bodies.test).
  app.use(express.json({ limit: '256kb' }));
  // Nested form fields (buyers[0][name]) need qs, but never deep: `depth` bounds the nesting.
  const formOptions = { extended: true, limit: '256kb', parameterLimit: 500, depth: 4 };
  app.use(express.urlencoded(formOptions));

  const pass = configurePassport();
  const limiter = new LoginLimiter(deps.redis, config.loginLimits, config.queuePrefix);
  const signupLimiter = new KeyLimiter(deps.redis, `${config.queuePrefix}:signup-ip`, config.signupPerIpPerHour, 3600, 'SIGN_UP_RATE_LIMITED');
  app.use(bearerAuth());
  app.use(sessionMiddlewares(config, deps.redis, pass).chain);
  app.use(flashMessages);

  app.use('/api/v1', accountsApi(deps, limiter));
  // Before contractsApi: it answers POST /contracts with `fromListing` (a draft from a market listing) and passes the rest on.
  app.use('/api/v1', marketApi(deps));
  app.use('/api/v1', organizationsApi(signupLimiter, { queues: deps.queues, logger: deps.logger }));
  app.use('/api/v1', contractsApi(deps));
  app.use('/api/v1', reviewApi(deps));
  app.use('/api/v1', changesApi(deps));
  app.use('/api/v1', relatedApi());
  app.use('/api/v1', importsApi(deps));
  app.use('/api/v1', planApi(deps));

  app.use(publicRoutes(deps));
  app.use(openDataPages(deps));
  app.use(planPages(deps));
  app.use(homeRouter(deps));
  app.use(accountsPages(pass, limiter));
  app.use(organizationsPages(signupLimiter, { queues: deps.queues, logger: deps.logger }));
  app.use(contractListExportRoutes()); // before /contracts/:id
  app.use(contractsPages(deps));
  app.use(relatedPages());
  app.use(marketPages(deps));
  app.use(reviewPages(deps));
  app.use(changesPages(deps));
  app.use(notificationsPages());
  app.use(adminPages(deps));
  app.use(importsPages(deps));
  app.use(statsPages(deps));
  app.use(certificatesPublic());
  app.use(guideRouter(config));

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return { app, answers, security };
}
