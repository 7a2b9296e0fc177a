/** Passwords are judged by a strength estimator (zxcvbn), and the answer says why one is weak. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/harness';
import { csrfFrom, PASSWORD, signUpBody, signUpOrg, tokenFor } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const signUp = (password: string, lang = 'zh-CN') => request(t.app).post('/api/v1/organizations').set('Accept-Language', lang).send(signUpBody({ password }));

it.each([
  ['abcdabcdabcd', '像“abcabcabc”这样重复的片段很容易被猜到；请换一个。'],
  ['aaaaaaaaaaab', '这个密码和常用密码很像；请换一个。'],
  ['Password123!', '这个密码和常用密码很像；请换一个。'],
  ['xiaoming2026', '拼音姓名、常用拼音词加数字很容易被猜到；请加上更多不相关的内容。'],
])('refuses %s and says why', async (password, message) => {
  const res = await signUp(password).expect(422);
  expect(res.body.error.details).toEqual([{ path: 'admin.password', message }]);
});

it('refuses weak passwords built from pinyin and dates, and says so in English too', async () => {
  const res = await signUp('woaini520520', 'en').expect(422);
  expect(res.body.error.details[0].path).toBe('admin.password');
  expect(res.body.error.details[0].message).toMatch(/easy to guess|common/);
});

it('accepts a long, uncommon password', async () => {
  await signUp('Correct-Horse-Battery-9').expect(201);
  await signUp('高原-锂电-2026-试验').expect(201);
});

it('checks a changed password the same way, on the page as well', async () => {
  const org = await signUpOrg(t.app);
  const token = await tokenFor(t.app, org.email);
  const res = await request(t.app)
    .post('/api/v1/me/password')
    .set('Authorization', `Bearer ${token}`)
    .send({ currentPassword: PASSWORD, newPassword: 'abcdabcdabcd' })
    .expect(422);
  expect(res.body.error.details).toEqual([{ path: 'newPassword', message: '像“abcabcabc”这样重复的片段很容易被猜到；请换一个。' }]);

  const agent = request.agent(t.app);
  const page = await agent.get('/signup').expect(200);
  const form = await agent
    .post('/signup')
    .type('form')
    .send({ _csrf: csrfFrom(page.text), ...pageFields(signUpBody({ password: 'abcdabcdabcd' })) })
    .expect(422);
  expect(form.text).toContain('像“abcabcabc”这样重复的片段很容易被猜到；请换一个。');
});

/** The sign-up page's fields for the same values. */
function pageFields(body: ReturnType<typeof signUpBody>): Record<string, string> {
  const { organization: o, admin: a } = body;
  return {
    name: o.name, uscc: o.uscc, nature: o.nature, regionProvince: '630000', regionCity: '630100', regionDistrict: o.regionCode, address: o.address,
    adminName: a.name, adminEmail: a.email, password: a.password, passwordConfirm: a.password,
  };
}
