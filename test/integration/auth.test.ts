/** Sign-in, sessions, rate limits, API tokens, members and password changes. */
import request from 'supertest';
import { ApiToken } from '../../src/modules/accounts/token.model';
import { User } from '../../src/modules/accounts/user.model';
import { AuditEntry } from '../../src/modules/audit/audit.model';
import { SESSION_COOKIE } from '../../src/modules/accounts/auth.middleware';
import { secondApp, startTestApp, uniqueName, type TestApp } from '../support/harness';
import { csrfFrom, makeBureauUser, PASSWORD, signedInAgent, signUpOrg, tokenFor } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' });
});
afterAll(async () => {
  await t.close();
});

const sessionId = (cookies: string[] | string | undefined) => {
  const list = Array.isArray(cookies) ? cookies : cookies ? [cookies] : [];
  const c = list.find((x) => x.startsWith(`${SESSION_COOKIE}=`));
  return c ? c.split(';')[0].split('=')[1] : null;
};

describe('signing in with the form', () => {
  it('signs in, rotating the session id, and lands on the contracts page', async () => {
    const org = await signUpOrg(t.app);
    const agent = request.agent(t.app);
    const page = await agent.get('/login').expect(200);
    const before = sessionId(page.headers['set-cookie']);
    expect(before).toBeTruthy();
    const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: org.email.toUpperCase(), password: PASSWORD }).expect(303);
    expect(res.headers.location).toBe('/contracts');
    const after = sessionId(res.headers['set-cookie']);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    const cookie = res.headers['set-cookie'] as unknown as string[];
    expect(cookie.find((c) => c.startsWith(SESSION_COOKIE))).toMatch(/HttpOnly/i);
    expect(cookie.find((c) => c.startsWith(SESSION_COOKIE))).toMatch(/SameSite=Lax/i);
    await agent.get('/organization').expect(200);
  });

  it('answers a wrong password and an unknown email with the same generic message', async () => {
    const org = await signUpOrg(t.app);
    for (const [email, password] of [[org.email, 'wrong-password-123'], ['nobody@nowhere.test', PASSWORD]]) {
      const agent = request.agent(t.app);
      const page = await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email, password }).expect(401);
      expect(res.text).toContain('邮箱或密码不正确');
      expect(res.text).toContain(`value="${email}"`);
    }
  });

  it('returns to the page asked for, but never off-site', async () => {
    const org = await signUpOrg(t.app);
    const agent = request.agent(t.app);
    const redirect = await agent.get('/account/password').expect(303);
    expect(redirect.headers.location).toBe('/login?next=%2Faccount%2Fpassword');
    const page = await agent.get(redirect.headers.location);
    expect(page.text).toContain('name="next" value="/account/password"');
    const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: org.email, password: PASSWORD, next: '/account/password' }).expect(303);
    expect(res.headers.location).toBe('/account/password');
    const page2 = await request.agent(t.app).get('/login');
    const evil = await request
      .agent(t.app)
      .post('/login')
      .set('Cookie', page2.headers['set-cookie'] as unknown as string[])
      .type('form')
      .send({ _csrf: csrfFrom(page2.text), email: org.email, password: PASSWORD, next: '//evil.example/' })
      .expect(303);
    expect(evil.headers.location).toBe('/contracts');
  });

  it('refuses a sign-in post without its CSRF token', async () => {
    const org = await signUpOrg(t.app);
    const agent = request.agent(t.app);
    await agent.get('/login');
    await agent.post('/login').type('form').send({ email: org.email, password: PASSWORD }).expect(403);
    expect((await User.findById(org.userId).lean())?.lastSignInAt).toBeNull();
  });

  it('signs out by destroying the session in Redis', async () => {
    const org = await signUpOrg(t.app);
    const agent = await signedInAgent(t.app, org.email);
    const page = await agent.get('/organization').expect(200);
    const sid = decodeURIComponent(sessionId(page.headers['set-cookie']) ?? '').replace(/^s:/, '').split('.')[0];
    expect(await t.redis.exists(`${t.config.queuePrefix}:sess:${sid}`)).toBe(1);
    await agent.post('/logout').type('form').send({ _csrf: csrfFrom(page.text) }).expect(303);
    expect(await t.redis.exists(`${t.config.queuePrefix}:sess:${sid}`)).toBe(0);
    await agent.get('/organization').expect(303);
  });

  it('records bureau sign-ins in the audit log', async () => {
    const reviewer = await makeBureauUser('reviewer');
    await signedInAgent(t.app, reviewer.email);
    const entry = await AuditEntry.findOne({ actorId: reviewer.id, action: 'auth.sign_in' }).lean();
    expect(entry).toMatchObject({ actorEmail: reviewer.email, actorRole: 'reviewer' });
  });
});

describe('the sign-in rate limit', () => {
  it('answers 429 once an account has failed too often, even with the right password', async () => {
    const org = await signUpOrg(t.app);
    for (let i = 0; i < 3; i++) {
      await request(t.app).post('/api/v1/tokens').set('X-Forwarded-For', `10.0.0.${i}`).send({ email: org.email, password: 'wrong-password-123' }).expect(401);
    }
    const blocked = await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: PASSWORD }).expect(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The page form is limited by the same counter.
    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: org.email, password: PASSWORD }).expect(429);
    expect(res.text).toContain('尝试次数过多');
  });

  it('answers 429 once an address has failed too often across accounts', async () => {
    // An app of its own (own key prefix) so this address's failures count from zero.
    const limited = await secondApp(t, { queuePrefix: uniqueName('ip'), loginLimits: { ...t.config.loginLimits, perAccount: 100, perIp: 8, blockSeconds: 60 } });
    try {
      for (let i = 0; i < 8; i++) {
        await request(limited.app).post('/api/v1/tokens').send({ email: `victim${i}@x.test`, password: 'wrong-password-123' }).expect(401);
      }
      await request(limited.app).post('/api/v1/tokens').send({ email: 'someone-else@x.test', password: 'whatever-123456' }).expect(429);
    } finally {
      await limited.close();
    }
  });

  it('holds across processes: a second app instance sees the same counters', async () => {
    const org = await signUpOrg(t.app);
    const other = await secondApp(t);
    try {
      for (let i = 0; i < 3; i++) await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: 'wrong-password-123' }).expect(401);
      await request(other.app).post('/api/v1/tokens').send({ email: org.email, password: PASSWORD }).expect(429);
    } finally {
      await other.close();
    }
  });
});


describe('API tokens', () => {
  it('creates a token, uses it, and revokes it', async () => {
    const org = await signUpOrg(t.app);
    const res = await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: PASSWORD }).expect(201);
    expect(res.body).toEqual({ token: expect.stringMatching(/^tcr_/), expiresAt: expect.stringMatching(/\+08:00$/) });
    expect(await ApiToken.countDocuments({ _id: res.body.token })).toBe(0);
    const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${res.body.token}`).expect(200);
    expect(me.body.user).toMatchObject({ id: org.userId, email: org.email, role: 'applicant' });
    expect(me.body.organization).toMatchObject({ id: org.orgId, status: 'pending', uscc: org.uscc });
    await request(t.app).delete('/api/v1/tokens/current').set('Authorization', `Bearer ${res.body.token}`).expect(204);
    const after = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${res.body.token}`).expect(401);
    expect(after.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong password with 401 and an operator payload with 422', async () => {
    const org = await signUpOrg(t.app);
    await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: 'nope-nope-nope' }).expect(401);
    const op = await request(t.app).post('/api/v1/tokens').send({ email: { $ne: null }, password: { $ne: null } }).expect(422);
    expect(op.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['email', 'password']);
    await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: ['x'] }).expect(422);
    await request(t.app).post('/api/v1/tokens').send({ email: org.email, password: 'p'.repeat(5000) }).expect(422);
  });

  it('expires tokens', async () => {
    const org = await signUpOrg(t.app);
    const token = await tokenFor(t.app, org.email);
    await ApiToken.updateMany({ userId: org.userId }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`).expect(401);
    expect(await ApiToken.countDocuments({ userId: org.userId })).toBe(0);
  });

  it('ignores cookies and needs no CSRF token with a Bearer token', async () => {
    const admin = await makeBureauUser('admin');
    const org = await signUpOrg(t.app);
    const adminAgent = await signedInAgent(t.app, admin.email);
    const applicantToken = await tokenFor(t.app, org.email);
    // The admin's session cookie rides along, but the token decides who this is.
    const me = await adminAgent.get('/api/v1/me').set('Authorization', `Bearer ${applicantToken}`).expect(200);
    expect(me.body.user.role).toBe('applicant');
    await adminAgent.post('/api/v1/users').set('Authorization', `Bearer ${applicantToken}`).send({ email: 'x@y.test', name: 'x', password: PASSWORD, role: 'admin' }).expect(403);
    // An admin token creates users without any CSRF token.
    const adminToken = await tokenFor(t.app, admin.email);
    await request(t.app).post('/api/v1/users').set('Authorization', `Bearer ${adminToken}`).send({ email: 'new-reviewer@bureau.test', name: '新审核员', password: PASSWORD, role: 'reviewer' }).expect(201);
  });

  it('needs the CSRF token for cookie-authenticated unsafe API requests', async () => {
    const admin = await makeBureauUser('admin');
    const agent = await signedInAgent(t.app, admin.email);
    const body = { email: 'csrf-check@bureau.test', name: 'x', password: PASSWORD, role: 'reviewer' };
    const refused = await agent.post('/api/v1/users').send(body).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'CSRF_INVALID' });
    expect(await User.countDocuments({ email: body.email })).toBe(0);
    const { token } = (await agent.get('/api/v1/csrf-token').expect(200)).body;
    await agent.post('/api/v1/users').set('X-CSRF-Token', token).send(body).expect(201);
  });

  it('answers a malformed Authorization header with 401', async () => {
    await request(t.app).get('/api/v1/me').set('Authorization', 'Basic abc').expect(401);
    await request(t.app).get('/api/v1/me').set('Authorization', 'Bearer tcr_nope').expect(401);
  });
});

describe('ending sessions', () => {
  it('ends the other sessions of an account whose password changes, keeping the one that changed it', async () => {
    const org = await signUpOrg(t.app);
    const here = await signedInAgent(t.app, org.email);
    const elsewhere = await signedInAgent(t.app, org.email);
    await elsewhere.get('/organization').expect(200);
    const page = await here.get('/account/password').expect(200);
    await here.post('/account/password').type('form').send({ _csrf: csrfFrom(page.text), currentPassword: PASSWORD, newPassword: 'Brand-New-Secret-42', confirmPassword: 'Brand-New-Secret-42' }).expect(303);
    await here.get('/organization').expect(200);
    expect((await elsewhere.get('/organization').expect(303)).headers.location).toMatch(/^\/login/);
  });

  it('lets an admin disable and re-enable a bureau account, which ends its sessions and tokens', async () => {
    const admin = await makeBureauUser('admin');
    const reviewer = await makeBureauUser('reviewer');
    const adminToken = await tokenFor(t.app, admin.email);
    const reviewerAgent = await signedInAgent(t.app, reviewer.email);
    const reviewerToken = await tokenFor(t.app, reviewer.email);
    await request(t.app).post(`/api/v1/users/${reviewer.id}/disable`).set('Authorization', `Bearer ${reviewerToken}`).expect(403);
    await request(t.app).post(`/api/v1/users/${admin.id}/disable`).set('Authorization', `Bearer ${adminToken}`).expect(409);
    const org = await signUpOrg(t.app);
    await request(t.app).post(`/api/v1/users/${org.userId}/disable`).set('Authorization', `Bearer ${adminToken}`).expect(404);
    await request(t.app).post(`/api/v1/users/${reviewer.id}/disable`).set('Authorization', `Bearer ${adminToken}`).expect(200);
    await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${reviewerToken}`).expect(401);
    expect((await reviewerAgent.get('/review').expect(303)).headers.location).toMatch(/^\/login/);
    await request(t.app).post('/api/v1/tokens').send({ email: reviewer.email, password: PASSWORD }).expect(401);
    expect(await AuditEntry.countDocuments({ action: 'user.disabled', targetId: reviewer.id })).toBe(1);
    await request(t.app).post(`/api/v1/users/${reviewer.id}/enable`).set('Authorization', `Bearer ${adminToken}`).expect(200);
    await request(t.app).post('/api/v1/tokens').send({ email: reviewer.email, password: PASSWORD }).expect(201);
  });
});

describe('members and initial passwords', () => {
  it('lets the first member add a colleague who must change the password, then remove them', async () => {
    const org = await signUpOrg(t.app);
    const managerToken = await tokenFor(t.app, org.email);
    const added = await request(t.app)
      .post('/api/v1/organization/members')
      .set('Authorization', `Bearer ${managerToken}`)
      .send({ name: '同事', email: 'colleague-' + org.email, password: 'Initial-Pass-2026' })
      .expect(201);

    // The colleague signs in and is sent to change the password first.
    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const login = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: 'colleague-' + org.email, password: 'Initial-Pass-2026' }).expect(303);
    expect(login.headers.location).toBe('/account/password');
    expect((await agent.get('/organization').expect(303)).headers.location).toBe('/account/password');
    const colleagueToken = await tokenFor(t.app, 'colleague-' + org.email, 'Initial-Pass-2026');
    const blocked = await request(t.app).get('/api/v1/organization/members').set('Authorization', `Bearer ${colleagueToken}`).expect(403);
    expect(blocked.body.error.reason).toBe('PASSWORD_CHANGE_REQUIRED');

    const pwPage = await agent.get('/account/password').expect(200);
    const mismatch = await agent.post('/account/password').type('form').send({ _csrf: csrfFrom(pwPage.text), currentPassword: 'Initial-Pass-2026', newPassword: 'My-Own-Secret-77', confirmPassword: 'other' }).expect(422);
    expect(mismatch.text).toContain('两次输入的密码不一致');
    await agent.post('/account/password').type('form').send({ _csrf: csrfFrom(mismatch.text), currentPassword: 'Initial-Pass-2026', newPassword: 'My-Own-Secret-77', confirmPassword: 'My-Own-Secret-77' }).expect(303);
    await agent.get('/organization').expect(200);
    // Changing the password ended the tokens issued before.
    await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${colleagueToken}`).expect(401);

    // A colleague is not the manager: cannot add members.
    const t2 = await tokenFor(t.app, 'colleague-' + org.email, 'My-Own-Secret-77');
    const notManager = await request(t.app).post('/api/v1/organization/members').set('Authorization', `Bearer ${t2}`).send({ name: 'x', email: 'x-' + org.email, password: PASSWORD }).expect(403);
    expect(notManager.body.error.reason).toBe('NOT_ORGANIZATION_MANAGER');

    // The manager removes the colleague: their token and session stop working.
    await request(t.app).delete(`/api/v1/organization/members/${added.body.id}`).set('Authorization', `Bearer ${managerToken}`).expect(204);
    await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${t2}`).expect(401);
    expect((await agent.get('/organization').expect(303)).headers.location).toMatch(/^\/login/);
    await request(t.app).post('/api/v1/tokens').send({ email: 'colleague-' + org.email, password: 'My-Own-Secret-77' }).expect(401);
  });

  it("answers 404 for another organisation's member and refuses removing oneself", async () => {
    const a = await signUpOrg(t.app);
    const b = await signUpOrg(t.app);
    const tokenA = await tokenFor(t.app, a.email);
    await request(t.app).delete(`/api/v1/organization/members/${b.userId}`).set('Authorization', `Bearer ${tokenA}`).expect(404);
    expect((await User.findById(b.userId).lean())?.disabled).toBe(false);
    await request(t.app).delete(`/api/v1/organization/members/${a.userId}`).set('Authorization', `Bearer ${tokenA}`).expect(409);
    await request(t.app).delete('/api/v1/organization/members/not-an-id').set('Authorization', `Bearer ${tokenA}`).expect(404);
  });

  it('refuses a wrong current password and a common new one', async () => {
    const org = await signUpOrg(t.app);
    const token = await tokenFor(t.app, org.email);
    const wrong = await request(t.app).post('/api/v1/me/password').set('Authorization', `Bearer ${token}`).send({ currentPassword: 'nope', newPassword: 'Another-Good-One-1' }).expect(422);
    expect(wrong.body.error.details[0].path).toBe('currentPassword');
    const common = await request(t.app).post('/api/v1/me/password').set('Authorization', `Bearer ${token}`).send({ currentPassword: PASSWORD, newPassword: 'qwertyuiop123' }).expect(422);
    expect(common.body.error.details[0].path).toBe('newPassword');
  });
});
