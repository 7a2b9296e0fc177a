/**
 * Never a stack trace to a client: every page, asked for with an API token (no session) by
 * each role, in development and in production mode; and an error page that itself fails to
 * render ends in plain text rather than in Express's own handler.
 */
import type { Express } from 'express';
import request from 'supertest';
import { errorHandler } from '../../src/lib/http/errors';
import { testLogger, startTestApp, type TestApp } from '../support/harness';
import { makeBureauUser, readyDraft, tokenFor, verifiedApplicant } from '../support/fixtures';
import { routesOf } from '../support/routes';

/** What a stack trace or an internal error leaks. */
const LEAKS = /ReferenceError|TypeError|SyntaxError|\bat [\w.<>]+ \(|\/work\/|node_modules|\.ejs:\d|\.ts:\d|\.js:\d/;

/** Every GET page path the app routes (not the API), with its parameters filled in. */
function pagePaths(app: Express, id: string): string[] {
  const paths = routesOf(app)
    .filter((r) => r.method === 'GET' && !r.path.startsWith('/api'))
    .map((r) => r.path.replace(/:\w+/g, id));
  return [...new Set(paths)];
}

for (const mode of ['development', 'production'] as const) {
  describe(`in ${mode} mode`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ NODE_ENV: mode, SECURE_COOKIES: 'false' });
    });
    afterAll(async () => {
      await t.close();
    });

    it('answers every page asked for with an API token without a stack trace or a server error', async () => {
      const applicant = await verifiedApplicant(t.app);
      const id = await readyDraft(t.app, applicant.token);
      const tokens = {
        applicant: applicant.token,
        reviewer: await tokenFor(t.app, (await makeBureauUser('reviewer')).email),
        admin: await tokenFor(t.app, (await makeBureauUser('admin')).email),
      };
      const paths = pagePaths(t.app, id);
      expect(paths.length).toBeGreaterThan(20);
      const failures: string[] = [];
      for (const [role, token] of Object.entries(tokens)) {
        for (const path of paths) {
          const res = await request(t.app).get(path).set('Authorization', `Bearer ${token}`);
          const body = res.text ?? '';
          if (res.status >= 500 || LEAKS.test(body)) failures.push(`${role} ${path}: ${res.status} ${body.slice(0, 120)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  });
}

describe('the error handler', () => {
  const fakeRes = (render: (view: string, locals: unknown, cb: (err: Error | null, html?: string) => void) => void) => {
    const res = {
      headersSent: false,
      locals: {},
      statusCode: 200,
      body: '',
      contentType: '',
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      set() {
        return this;
      },
      type(t: string) {
        this.contentType = t;
        return this;
      },
      send(b: string) {
        this.body = b;
        return this;
      },
      render,
      destroy: jest.fn(),
    };
    return res;
  };
  const req = { originalUrl: '/contracts', method: 'GET', id: 'ref-1' };

  it('falls back to plain text when the error page itself fails to render', () => {
    const res = fakeRes((_v, _l, cb) => cb(new ReferenceError('csrf is not defined')));
    const next = jest.fn();
    errorHandler(testLogger)(new Error('boom at /work/main/src/x.ts:1'), req as never, res as never, next);
    expect(next).not.toHaveBeenCalled();
    expect(res.statusCode).toBe(500);
    expect(res.contentType).toMatch(/text\/plain/);
    expect(res.body).not.toMatch(LEAKS);
    expect(res.body).toContain('500');
  });

  it('falls back to plain text when rendering throws at once', () => {
    const res = fakeRes(() => {
      throw new TypeError('Cannot read properties of undefined');
    });
    const next = jest.fn();
    errorHandler(testLogger)(new Error('boom'), req as never, res as never, next);
    expect(next).not.toHaveBeenCalled();
    expect(res.body).not.toMatch(LEAKS);
  });

  it('cuts the connection, and calls no other handler, when the answer had already begun', () => {
    const res = { ...fakeRes(() => undefined), headersSent: true };
    const next = jest.fn();
    errorHandler(testLogger)(new Error('late'), req as never, res as never, next);
    expect(next).not.toHaveBeenCalled();
    expect(res.destroy).toHaveBeenCalled();
  });
});
