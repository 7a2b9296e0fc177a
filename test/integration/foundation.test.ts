/**
 * The skeleton against the real services: database round trip, the HTTP error shapes,
 * pages in both languages, health probes.
 */
import request from 'supertest';
import { User } from '../../src/modules/accounts/user.model';
import { ensureBootstrapAdmin } from '../../src/modules/accounts/bootstrap';
import { verifyPassword } from '../../src/modules/accounts/password';
import { startTestApp, type TestApp } from '../support/harness';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('database', () => {
  it('round-trips a document through a Mongoose model', async () => {
    const created = await User.create({ email: 'Round.Trip@Example.org', name: '张三', role: 'reviewer', passwordHash: 'x' });
    const found = await User.findById(created._id).lean();
    expect(found).toMatchObject({ email: 'round.trip@example.org', name: '张三', role: 'reviewer', disabled: false });
    expect(found?.createdAt).toBeInstanceOf(Date);
  });

  it('enforces the unique email index', async () => {
    await User.create({ email: 'dup@example.org', name: 'A', role: 'reviewer', passwordHash: 'x' });
    await expect(User.create({ email: 'DUP@example.org', name: 'B', role: 'reviewer', passwordHash: 'x' })).rejects.toMatchObject({ code: 11000 });
  });

  it('creates the bootstrap admin once, with a hashed password', async () => {
    const first = await ensureBootstrapAdmin(t.config);
    const second = await ensureBootstrapAdmin(t.config);
    expect(first).toMatchObject({ created: true, email: 'admin@bureau.test' });
    expect(second.created).toBe(false);
    const admins = await User.find({ role: 'admin' }).lean();
    expect(admins).toHaveLength(1);
    expect(admins[0].passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(admins[0].passwordHash, 'bootstrap-admin-pass')).toBe(true);
  });

  it('generates a password for the bootstrap admin when none is configured', async () => {
    await User.deleteMany({ role: 'admin' });
    const res = await ensureBootstrapAdmin({ bootstrapAdmin: { email: 'gen@bureau.test', password: undefined } });
    expect(res.generatedPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const admin = await User.findOne({ email: 'gen@bureau.test' }).lean();
    expect(admin?.mustChangePassword).toBe(true);
    expect(await verifyPassword(admin!.passwordHash, res.generatedPassword!)).toBe(true);
  });
});

describe('HTTP basics', () => {
  it('serves the homepage in Chinese by default, with security headers', async () => {
    const res = await request(t.app).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('<html lang="zh-CN">');
    expect(res.text).toContain('技术合同登记系统');
    expect(res.text).toContain('1,000,000,000.00');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('switches to English and back through /lang', async () => {
    const agent = request.agent(t.app);
    const sw = await agent.get('/lang/en?next=/').expect(303);
    expect(sw.headers.location).toBe('/');
    const en = await agent.get('/').expect(200);
    expect(en.text).toContain('<html lang="en">');
    expect(en.text).toContain('Technology Contract Registry');
    await agent.get('/lang/zh-CN').expect(303);
    expect((await agent.get('/').expect(200)).text).toContain('<html lang="zh-CN">');
  });

  it('never redirects off-site after a language switch', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const res = await request(t.app).get(`/lang/en?next=${encodeURIComponent(next)}`).expect(303);
      expect(res.headers.location).toBe('/');
    }
  });

  it('keeps pages in Chinese whatever the browser language, until English is chosen', async () => {
    const res = await request(t.app).get('/').set('Accept-Language', 'en-GB,en;q=0.9').expect(200);
    expect(res.text).toContain('<html lang="zh-CN">');
  });

  it('answers API errors in the language an API client asks for', async () => {
    const en = await request(t.app).get('/api/v1/nothing').set('Accept-Language', 'en').expect(404);
    expect(en.body.error.message).toBe('The page or record you asked for does not exist.');
    const zh = await request(t.app).get('/api/v1/nothing').expect(404);
    expect(zh.body.error.message).toBe('找不到您要访问的页面或记录。');
  });

  it('answers an unknown page with the HTML 404 page', async () => {
    const res = await request(t.app).get('/no/such/page').set('Accept', 'text/html').expect(404);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('找不到您要访问的页面或记录');
    expect(res.text).toContain('class="error-status">404<');
  });

  it('answers an unknown API route with the JSON error shape', async () => {
    const res = await request(t.app).get('/api/v1/no-such-thing').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), details: [] } });
  });

  it('answers malformed JSON with 400 BAD_REQUEST and no stack trace', async () => {
    const res = await request(t.app).post('/api/v1/anything').set('Content-Type', 'application/json').send('{"a": ').expect(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('answers an oversized JSON body with 413', async () => {
    const big = JSON.stringify({ x: 'a'.repeat(300 * 1024) });
    const res = await request(t.app).post('/api/v1/anything').set('Content-Type', 'application/json').send(big).expect(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('serves its stylesheet locally', async () => {
    const res = await request(t.app).get('/static/css/app.css').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/css/);
  });
});

describe('health', () => {
  it('GET /healthz answers 200', async () => {
    expect((await request(t.app).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 with both services up, also under /api/v1', async () => {
    const res = await request(t.app).get('/readyz').expect(200);
    expect(res.body).toEqual({ status: 'ready', mongo: 'up', redis: 'up' });
    await request(t.app).get('/api/v1/readyz').expect(200);
  });
});
