/** Organisation sign-up through the API and the page, with the credit-code rules. */
import request from 'supertest';
import { Organization } from '../../src/modules/organizations/organization.model';
import { User } from '../../src/modules/accounts/user.model';
import { secondApp, startTestApp, uniqueName, type TestApp } from '../support/harness';
import { csrfFrom, makeUscc, PASSWORD, signUpBody, withWrongCheck } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('POST /api/v1/organizations', () => {
  it('signs up an organisation with a valid code as pending, with a hashed password', async () => {
    const body = signUpBody();
    const res = await request(t.app).post('/api/v1/organizations').send(body).expect(201);
    expect(res.body).toEqual({ organization: { id: expect.any(String), status: 'pending' }, user: { id: expect.any(String) } });
    const org = await Organization.findById(res.body.organization.id).lean();
    expect(org).toMatchObject({ name: body.organization.name, uscc: body.organization.uscc, status: 'pending', usccCheckFailed: false, regionCode: '630102' });
    const user = await User.findById(res.body.user.id).lean();
    expect(user).toMatchObject({ email: body.admin.email, role: 'applicant', organizationManager: true });
    expect(user!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(user)).not.toContain(PASSWORD);
  });

  it.each([
    ['too short', '91630100MA7ABCDE'],
    ['forbidden letters', '91630100MA7ABCDOZ1'],
    ['not a string', 916301001234567890],
  ])('refuses a malformed code (%s) with 422', async (_label, uscc) => {
    const body = signUpBody() as { organization: Record<string, unknown> };
    body.organization.uscc = uscc;
    const res = await request(t.app).post('/api/v1/organizations').send(body).expect(422);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('organization.uscc');
    expect(await Organization.countDocuments({ uscc: String(uscc) })).toBe(0);
  });

  it('explains a failed check character, then accepts it once confirmed and flags it', async () => {
    const { code, expected } = withWrongCheck(makeUscc());
    const body = signUpBody({ uscc: code });
    const refused = await request(t.app).post('/api/v1/organizations').set('Accept-Language', 'en').send(body).expect(422);
    expect(refused.body.error.reason).toBe('USCC_CHECK_FAILED');
    expect(refused.body.error.details).toEqual([{ path: 'organization.uscc', message: expect.stringContaining(`should be "${expected}"`) }]);
    expect(refused.body.error.usccCheck).toEqual({ expected, confirmWith: 'confirmUsccCheck' });
    expect(await Organization.countDocuments({ uscc: code })).toBe(0);

    const accepted = await request(t.app).post('/api/v1/organizations').send({ ...body, confirmUsccCheck: true }).expect(201);
    const org = await Organization.findById(accepted.body.organization.id).lean();
    expect(org?.usccCheckFailed).toBe(true);
  });

  it('answers 409 for a taken code or email without saying who holds it', async () => {
    const first = signUpBody();
    await request(t.app).post('/api/v1/organizations').send(first).expect(201);
    const sameCode = await request(t.app).post('/api/v1/organizations').send(signUpBody({ uscc: first.organization.uscc })).expect(409);
    expect(sameCode.body.error).toMatchObject({ code: 'CONFLICT', reason: 'USCC_TAKEN' });
    expect(JSON.stringify(sameCode.body)).not.toContain(first.organization.name);
    const sameEmail = await request(t.app).post('/api/v1/organizations').send(signUpBody({ email: first.admin.email.toUpperCase() })).expect(409);
    expect(sameEmail.body.error.reason).toBe('EMAIL_TAKEN');
    // The refused sign-up left no organisation behind.
    expect(await Organization.countDocuments({ name: first.organization.name })).toBe(1);
  });

  it.each([
    ['too short', 'short-pass1', 'validation'],
    ['common', 'password1234', 'common'],
  ])('refuses a %s password', async (_label, password) => {
    const res = await request(t.app).post('/api/v1/organizations').send(signUpBody({ password })).expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('admin.password');
  });

  it('lists every problem at once', async () => {
    const res = await request(t.app)
      .post('/api/v1/organizations')
      .send({ organization: { name: '', uscc: 'x', nature: '999', regionCode: '000000' }, admin: { name: '', email: 'not-an-email', password: '' } })
      .expect(422);
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['admin.email', 'admin.name', 'admin.password', 'organization.name', 'organization.nature', 'organization.regionCode', 'organization.uscc']);
  });

  it.each([
    ['an operator in place of a string', { organization: { name: { $ne: null }, uscc: { $gt: '' } } }],
    ['an array body', [1, 2, 3]],
    ['deep nesting', JSON.parse('{"organization":'.repeat(60) + '{}' + '}'.repeat(60))],
    ['prototype keys', JSON.parse('{"__proto__": {"role": "admin"}, "constructor": {"prototype": {"x": 1}}}')],
  ])('answers %s with 422 and stores nothing', async (_label, body) => {
    const before = await Organization.countDocuments();
    const res = await request(t.app).post('/api/v1/organizations').send(body);
    expect([400, 422]).toContain(res.status);
    expect(await Organization.countDocuments()).toBe(before);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });
});

describe('the sign-up page', () => {
  it('keeps what was typed and shows errors beside the fields and in a summary', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get('/signup').expect(200);
    const res = await agent
      .post('/signup')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), name: '青海高原<b>研究所</b>', uscc: 'ABC', nature: '021', regionProvince: '630000', adminName: '李四', adminEmail: 'li@x.test', password: PASSWORD, passwordConfirm: 'different-password-1' })
      .expect(422);
    expect(res.text).toContain('value="青海高原&lt;b&gt;研究所&lt;/b&gt;"');
    expect(res.text).not.toContain('<b>研究所</b>');
    expect(res.text).toContain('value="li@x.test"');
    expect(res.text).toContain('class="error-summary"');
    expect(res.text).toContain('统一社会信用代码应为 18 位');
    expect(res.text).toContain('两次输入的密码不一致');
    expect(res.text).toContain('请选择所在行政区划（至少到地级市）');
    // Passwords are never sent back.
    expect(res.text).not.toContain(PASSWORD);
    // The province stays chosen and its cities are offered.
    expect(res.text).toMatch(/<option value="630000" selected>/);
    expect(res.text).toContain('<option value="630100">西宁市</option>');
  });

  it('offers the next level of regions without JavaScript', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get('/signup').expect(200);
    const res = await agent.post('/signup').type('form').send({ _csrf: csrfFrom(page.text), regionProvince: '630000', regionCity: '630100', refreshRegion: '1', name: '保留的名称' }).expect(200);
    expect(res.text).toContain('<option value="630102">城东区</option>');
    expect(res.text).toContain('value="保留的名称"');
    expect(res.text).not.toContain('class="error-summary"');
  });

  it('asks to confirm a failed check character, then signs up and signs in', async () => {
    const { code, expected } = withWrongCheck(makeUscc());
    const agent = request.agent(t.app);
    const page = await agent.get('/signup').expect(200);
    const form = { _csrf: csrfFrom(page.text), name: '西宁早期试点企业', uscc: code, nature: '150', regionProvince: '630000', regionCity: '630100', regionDistrict: '630103', adminName: '赵六', adminEmail: `${code.toLowerCase()}@x.test`, password: PASSWORD, passwordConfirm: PASSWORD };
    const first = await agent.post('/signup').type('form').send(form).expect(422);
    expect(first.text).toContain(`最后一位应为“${expected}”`);
    expect(first.text).toContain('name="confirmUsccCheck"');
    const second = await agent.post('/signup').type('form').send({ ...form, _csrf: csrfFrom(first.text), confirmUsccCheck: 'on' }).expect(303);
    expect(second.headers.location).toBe('/organization');
    const mine = await agent.get('/organization').expect(200);
    expect(mine.text).toContain('西宁早期试点企业');
    expect(mine.text).toContain('待核验');
    expect(mine.text).toContain('注册成功');
    expect((await Organization.findOne({ uscc: code }).lean())?.regionCode).toBe('630103');
  });

  it('refuses a form post without its CSRF token and changes nothing', async () => {
    const agent = request.agent(t.app);
    await agent.get('/signup').expect(200);
    const uscc = makeUscc();
    const res = await agent
      .post('/signup')
      .type('form')
      .send({ name: '无令牌机构', uscc, nature: '150', regionProvince: '630000', adminName: 'x', adminEmail: 'nocsrf@x.test', password: PASSWORD, passwordConfirm: PASSWORD })
      .expect(403);
    expect(res.text).toContain('页面已过期');
    expect(await Organization.countDocuments({ uscc })).toBe(0);
    expect(await User.countDocuments({ email: 'nocsrf@x.test' })).toBe(0);
  });
});

describe('the sign-up rate limit', () => {
  it('answers 429 once an address has signed up too often in an hour', async () => {
    const limited = await secondApp(t, { signupPerIpPerHour: 2, queuePrefix: uniqueName('su') });
    try {
      await request(limited.app).post('/api/v1/organizations').send(signUpBody()).expect(201);
      await request(limited.app).post('/api/v1/organizations').send({}).expect(422);
      const res = await request(limited.app).post('/api/v1/organizations').send(signUpBody()).expect(429);
      expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', reason: 'SIGN_UP_RATE_LIMITED' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});


describe('GET /api/v1/regions', () => {
  it('lists provinces, then the children of a region', async () => {
    const provinces = await request(t.app).get('/api/v1/regions').expect(200);
    expect(provinces.body.items).toContainEqual({ code: '630000', name: '青海省', nameEn: 'Qinghai', level: 'province' });
    const xining = await request(t.app).get('/api/v1/regions?parent=630100').expect(200);
    expect(xining.body.items).toContainEqual({ code: '630102', name: '城东区', nameEn: 'Chengdong District', level: 'district' });
    await request(t.app).get('/api/v1/regions?parent=999999').expect(404);
  });
});
