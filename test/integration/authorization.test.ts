/**
 * Every protected route against every role that must not reach it (table-driven), and the
 * bureau's verification of organisations.
 */
import request from 'supertest';
import { Organization } from '../../src/modules/organizations/organization.model';
import { AuditEntry } from '../../src/modules/audit/audit.model';
import { startTestApp, type TestApp } from '../support/harness';
import { routesOf } from '../support/routes';
import { csrfFrom, makeBureauUser, PASSWORD, signedInAgent, signUpOrg, tokenFor } from '../support/fixtures';

let t: TestApp;
const tokens: Record<string, string> = {};
let otherOrg: { orgId: string; userId: string };

beforeAll(async () => {
  t = await startTestApp();
  tokens.applicant = await tokenFor(t.app, (await signUpOrg(t.app)).email);
  otherOrg = await signUpOrg(t.app);
  const reviewer = await makeBureauUser('reviewer');
  const admin = await makeBureauUser('admin');
  tokens.reviewer = await tokenFor(t.app, reviewer.email);
  tokens.admin = await tokenFor(t.app, admin.email);
});
afterAll(async () => {
  await t.close();
});

type Who = 'anonymous' | 'applicant' | 'reviewer' | 'admin';
interface RouteCase {
  method: 'get' | 'post' | 'delete';
  path: () => string;
  body?: object;
  /** What each role that must not reach the route gets. */
  denied: Partial<Record<Who, number>>;
}

const ROUTES: RouteCase[] = [
  { method: 'get', path: () => '/api/v1/me', denied: { anonymous: 401 } },
  { method: 'get', path: () => '/api/v1/organizations?status=pending', denied: { anonymous: 401, applicant: 403 } },
  { method: 'get', path: () => `/api/v1/organizations/${otherOrg.orgId}`, denied: { anonymous: 401, applicant: 404 } },
  { method: 'post', path: () => `/api/v1/organizations/${otherOrg.orgId}/verify`, denied: { anonymous: 401, applicant: 403, reviewer: 403 } },
  { method: 'post', path: () => `/api/v1/organizations/${otherOrg.orgId}/reject`, body: { reason: 'x' }, denied: { anonymous: 401, applicant: 403, reviewer: 403 } },
  { method: 'post', path: () => '/api/v1/users', body: { email: 'z@z.test', name: 'z', password: PASSWORD, role: 'admin' }, denied: { anonymous: 401, applicant: 403, reviewer: 403 } },
  { method: 'get', path: () => '/api/v1/users', denied: { anonymous: 401, applicant: 403, reviewer: 403 } },
  { method: 'get', path: () => '/api/v1/organization/members', denied: { anonymous: 401, reviewer: 403, admin: 403 } },
  { method: 'post', path: () => '/api/v1/organization/members', body: { name: 'x', email: 'q@q.test', password: PASSWORD }, denied: { anonymous: 401, reviewer: 403, admin: 403 } },
  { method: 'delete', path: () => `/api/v1/organization/members/${otherOrg.userId}`, denied: { anonymous: 401, reviewer: 403, admin: 403, applicant: 404 } },
  { method: 'post', path: () => '/api/v1/me/password', body: { currentPassword: 'x', newPassword: 'y' }, denied: { anonymous: 401 } },
  { method: 'delete', path: () => '/api/v1/tokens/current', denied: { anonymous: 401 } },
];

const cases = ROUTES.flatMap((r) => (Object.entries(r.denied) as [Who, number][]).map(([who, status]) => ({ ...r, who, status })));

it.each(cases.map((c) => [`${c.who} ${c.method.toUpperCase()} ${c.path.toString().replace(/^\(\) => /, '')}`, c]))('%s is refused', async (_name, c) => {
  const before = await Organization.find().select({ status: 1 }).lean();
  let req = request(t.app)[c.method](c.path());
  if (c.who !== 'anonymous') req = req.set('Authorization', `Bearer ${tokens[c.who]}`);
  const res = await (c.body ? req.send(c.body) : req);
  expect(res.status).toBe(c.status);
  expect(res.body.error.code).toBe({ 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' }[c.status as 401 | 403 | 404]);
  // Nothing changed.
  expect(await Organization.find().select({ status: 1 }).lean()).toEqual(before);
});

describe('every route declares its policy', () => {
  it('names a policy, or says it is open to anyone and why, on every route of the API and the pages', () => {
    const routes = routesOf(t.app);
    expect(routes.length).toBeGreaterThan(60);
    const undeclared = routes.filter((r) => r.policies.length === 0).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
  });

  it('lets an applicant read only their own organisation, and the bureau any', async () => {
    const a = await signUpOrg(t.app, { verified: true });
    const b = await signUpOrg(t.app, { verified: true });
    const tokenA = await tokenFor(t.app, a.email);
    await request(t.app).get(`/api/v1/organizations/${a.orgId}`).set('Authorization', `Bearer ${tokenA}`).expect(200);
    await request(t.app).get(`/api/v1/organizations/${b.orgId}`).set('Authorization', `Bearer ${tokenA}`).expect(404);
    await request(t.app).get(`/api/v1/organizations/${b.orgId}`).expect(401);
    const reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
    await request(t.app).get(`/api/v1/organizations/${b.orgId}`).set('Authorization', `Bearer ${reviewer}`).expect(200);
  });
});

describe('pages are guarded by the same layer', () => {
  it.each([
    ['/organization', 'reviewer', 403],
    ['/admin/organizations', 'applicant', 403],
    ['/admin/users', 'reviewer', 403],
    ['/admin/users', 'applicant', 403],
  ] as const)('%s as %s answers %i', async (path, role, status) => {
    const email = role === 'applicant' ? (await signUpOrg(t.app)).email : (await makeBureauUser(role)).email;
    const agent = await signedInAgent(t.app, email);
    const res = await agent.get(path).expect(status);
    expect(res.text).toContain('您没有执行此操作的权限');
  });

  it('sends anonymous visitors to sign in', async () => {
    for (const path of ['/organization', '/admin/organizations', '/admin/users', '/account/password']) {
      const res = await request(t.app).get(path).expect(303);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });
});

describe('verifying organisations', () => {
  it('shows pending organisations with their credit-code warnings to the bureau', async () => {
    const flagged = await Organization.create({ name: '警示机构', uscc: '91630100MA7ABCDEF0', nature: '150', regionCode: '630100', usccCheckFailed: true });
    const list = await request(t.app).get('/api/v1/organizations?status=pending').set('Authorization', `Bearer ${tokens.reviewer}`).expect(200);
    expect(list.body.items).toContainEqual(expect.objectContaining({ id: String(flagged._id), usccCheckFailed: true, status: 'pending' }));
    expect(list.body.items.every((o: { status: string }) => o.status === 'pending')).toBe(true);
    await request(t.app).get('/api/v1/organizations?status=bogus').set('Authorization', `Bearer ${tokens.reviewer}`).expect(422);
  });

  it('verifies once: a second decision answers 409 with the current state', async () => {
    const org = await signUpOrg(t.app);
    const ok = await request(t.app).post(`/api/v1/organizations/${org.orgId}/verify`).set('Authorization', `Bearer ${tokens.admin}`).expect(200);
    expect(ok.body).toEqual({ status: 'verified' });
    const again = await request(t.app).post(`/api/v1/organizations/${org.orgId}/verify`).set('Authorization', `Bearer ${tokens.admin}`).expect(409);
    expect(again.body.error.current).toEqual({ status: 'verified' });
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set('Authorization', `Bearer ${tokens.admin}`).send({ reason: 'late' }).expect(409);
    const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${await tokenFor(t.app, org.email)}`).expect(200);
    expect(me.body.organization.status).toBe('verified');
    expect(await AuditEntry.countDocuments({ action: 'organization.verified', targetId: org.orgId })).toBe(1);
  });

  it('lets exactly one of two simultaneous decisions win', async () => {
    const org = await signUpOrg(t.app);
    const results = await Promise.all([
      request(t.app).post(`/api/v1/organizations/${org.orgId}/verify`).set('Authorization', `Bearer ${tokens.admin}`),
      request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set('Authorization', `Bearer ${tokens.admin}`).send({ reason: '资料不符' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const doc = await Organization.findById(org.orgId).lean();
    expect(doc!.history.filter((h) => h.action === 'verified' || h.action === 'rejected')).toHaveLength(1);
  });

  it('rejects with a required reason, which the organisation then sees', async () => {
    const org = await signUpOrg(t.app);
    const missing = await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set('Authorization', `Bearer ${tokens.admin}`).send({}).expect(422);
    expect(missing.body.error.details[0].path).toBe('reason');
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set('Authorization', `Bearer ${tokens.admin}`).send({ reason: '营业执照名称与填报名称不符' }).expect(200);
    const agent = await signedInAgent(t.app, org.email);
    const page = await agent.get('/organization').expect(200);
    expect(page.text).toContain('未通过');
    expect(page.text).toContain('营业执照名称与填报名称不符');
  });

  it('answers 404 for an unknown organisation', async () => {
    await request(t.app).post('/api/v1/organizations/6b08f00195ee022ff617a8e0/verify').set('Authorization', `Bearer ${tokens.admin}`).expect(404);
    await request(t.app).post('/api/v1/organizations/nonsense/verify').set('Authorization', `Bearer ${tokens.admin}`).expect(404);
  });

  it('works through the admin page with CSRF-protected buttons', async () => {
    const org = await signUpOrg(t.app);
    const admin = await makeBureauUser('admin');
    const agent = await signedInAgent(t.app, admin.email);
    const page = await agent.get('/admin/organizations').expect(200);
    expect(page.text).toContain(org.uscc);
    await agent.post(`/admin/organizations/${org.orgId}/verify`).type('form').send({}).expect(403);
    const done = await agent.post(`/admin/organizations/${org.orgId}/verify`).type('form').send({ _csrf: csrfFrom(page.text) }).expect(303);
    expect(done.headers.location).toBe('/admin/organizations');
    expect((await agent.get('/admin/organizations').expect(200)).text).toContain('机构已核验通过');
    expect((await Organization.findById(org.orgId).lean())?.status).toBe('verified');
  });
});

describe('bureau accounts', () => {
  it('lets an admin create a reviewer, who must change the password at first sign-in', async () => {
    const res = await request(t.app).post('/api/v1/users').set('Authorization', `Bearer ${tokens.admin}`).send({ email: 'Reviewer.New@Bureau.test', name: '新审核员', password: 'Reviewer-Initial-1', role: 'reviewer' }).expect(201);
    expect(res.body).toEqual({ id: expect.any(String) });
    const dup = await request(t.app).post('/api/v1/users').set('Authorization', `Bearer ${tokens.admin}`).send({ email: 'reviewer.new@bureau.test', name: 'x', password: 'Reviewer-Initial-1', role: 'admin' }).expect(409);
    expect(dup.body.error.reason).toBe('EMAIL_TAKEN');
    const bad = await request(t.app).post('/api/v1/users').set('Authorization', `Bearer ${tokens.admin}`).send({ email: 'a@b.test', name: 'x', password: 'Reviewer-Initial-1', role: 'applicant' }).expect(422);
    expect(bad.body.error.details[0].path).toBe('role');
    const agent = request.agent(t.app);
    const login = await agent.get('/login');
    const signedIn = await agent.post('/login').type('form').send({ _csrf: csrfFrom(login.text), email: 'reviewer.new@bureau.test', password: 'Reviewer-Initial-1' }).expect(303);
    expect(signedIn.headers.location).toBe('/account/password');
  });
});
