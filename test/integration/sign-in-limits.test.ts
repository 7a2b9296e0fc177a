/**
 * Sign-in limits cannot be outrun: every password check is counted before it is made, so
 * parallel attempts get at most the limit's number of checks (401) and the rest a 429
 * with Retry-After. An office behind one address is slowed, never locked out.
 */
import request from 'supertest';
import type { Express } from 'express';
import type { Config } from '../../src/config';
import { secondApp, startTestApp, uniqueName, type TestApp } from '../support/harness';
import { csrfFrom, PASSWORD, signUpBody, signUpOrg } from '../support/fixtures';

const LIMIT = 4;
const WRONG = 'wrong-password-123';

let t: TestApp;
beforeAll(async () => {
  // X-Forwarded-For from the loopback proxy (supertest) gives each test its own addresses.
  t = await startTestApp({ TRUST_PROXY: 'loopback', LOGIN_MAX_FAILURES_PER_ACCOUNT: String(LIMIT), LOGIN_MAX_FAILURES_PER_IP: '1000' });
});
afterAll(async () => {
  await t.close();
});

let lastOctets = 0;
const freshAddress = () => `203.0.${Math.floor(++lastOctets / 250)}.${(lastOctets % 250) + 1}`;

const tokenAttempt = (app: Express, email: string, password: string, address: string) =>
  request(app).post('/api/v1/tokens').set('X-Forwarded-For', address).send({ email, password });

/** A browser at `address` with the sign-in form open. */
async function signInForm(app: Express, address: string) {
  const agent = request.agent(app);
  const page = await agent.get('/login').set('X-Forwarded-For', address).expect(200);
  const csrf = csrfFrom(page.text);
  return (email: string, password: string) => agent.post('/login').set('X-Forwarded-For', address).type('form').send({ _csrf: csrf, email, password });
}

function tally(responses: { status: number }[]) {
  return { checked: responses.filter((r) => r.status === 401).length, limited: responses.filter((r) => r.status === 429).length };
}

function expectRetryAfter(res: { status: number; headers: Record<string, string> }) {
  expect(res.status).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
}

/** An app of its own (own key prefix, so counters start from zero) with other limits. */
function appWith(limits: Partial<Config['loginLimits']>, over: Partial<Config> = {}) {
  return secondApp(t, { queuePrefix: uniqueName('lim'), loginLimits: { ...t.config.loginLimits, ...limits }, ...over });
}

describe('parallel attempts on one account', () => {
  it('checks at most the limit of 20 parallel wrong passwords through the API', async () => {
    const org = await signUpOrg(t.app);
    const address = freshAddress();
    const answers = await Promise.all(Array.from({ length: 20 }, () => tokenAttempt(t.app, org.email, WRONG, address)));
    expect(tally(answers)).toEqual({ checked: LIMIT, limited: 20 - LIMIT });
    for (const res of answers.filter((r) => r.status === 429)) {
      expectRetryAfter(res);
      expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', reason: 'SIGN_IN_RATE_LIMITED', retryAfter: Number(res.headers['retry-after']) });
    }
    // Counted before checking: even the right password now waits.
    expectRetryAfter(await tokenAttempt(t.app, org.email, PASSWORD, address));
  });

  it('checks at most the limit of 20 parallel wrong passwords through the sign-in page', async () => {
    const org = await signUpOrg(t.app);
    const address = freshAddress();
    const forms = await Promise.all(Array.from({ length: 20 }, () => signInForm(t.app, address)));
    const answers = await Promise.all(forms.map((submit) => submit(org.email, WRONG)));
    expect(tally(answers)).toEqual({ checked: LIMIT, limited: 20 - LIMIT });
    for (const res of answers.filter((r) => r.status === 429)) {
      expectRetryAfter(res);
      expect(res.text).toMatch(/尝试次数过多，请在 \d+(秒钟|分钟)后再试。/);
    }
  });

  it('checks at most the limit when the attempts come from 20 different addresses', async () => {
    const org = await signUpOrg(t.app);
    const answers = await Promise.all(Array.from({ length: 20 }, () => tokenAttempt(t.app, org.email, WRONG, freshAddress())));
    expect(tally(answers)).toEqual({ checked: LIMIT, limited: 20 - LIMIT });
    answers.filter((r) => r.status === 429).forEach(expectRetryAfter);
  });

  it('says how long to wait, in the header and in words (Chinese by default, English)', async () => {
    const org = await signUpOrg(t.app);
    const address = freshAddress();
    for (let i = 0; i < LIMIT; i++) await tokenAttempt(t.app, org.email, WRONG, address).expect(401);
    // The attempt that reaches the limit starts the first wait: LOGIN_FIRST_DELAY_SECONDS (60).
    const first = await tokenAttempt(t.app, org.email, WRONG, address).expect(429);
    expect(first.headers['retry-after']).toBe('60');
    expect(first.body.error.message).toBe('尝试次数过多，请在 60秒钟后再试。');
    const page = await (await signInForm(t.app, address))(org.email, PASSWORD);
    expectRetryAfter(page);
    expect(page.text).toMatch(/请在 \d+秒钟后再试/);

    const agent = request.agent(t.app);
    await agent.get('/lang/en').expect(303);
    const form = await agent.get('/login').set('X-Forwarded-For', address);
    const en = await agent.post('/login').set('X-Forwarded-For', address).type('form').send({ _csrf: csrfFrom(form.text), email: org.email, password: PASSWORD });
    expectRetryAfter(en);
    expect(en.text).toMatch(/Too many attempts; please try again in \d+ seconds?\./);
  });
});

describe('one address, many accounts', () => {
  it('checks at most the per-address limit of 20 parallel attempts on different accounts', async () => {
    const limited = await appWith({ perAccount: 100, perIp: 6 });
    try {
      const address = freshAddress();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenAttempt(limited.app, `stranger${i}@x.test`, WRONG, address)));
      expect(tally(answers)).toEqual({ checked: 6, limited: 14 });
      answers.filter((r) => r.status === 429).forEach(expectRetryAfter);
      // Another address is not affected.
      await tokenAttempt(limited.app, 'stranger0@x.test', WRONG, freshAddress()).expect(401);
    } finally {
      await limited.close();
    }
  });

  it('never refuses a correct password from an office an account has signed in from; slows the unknown', async () => {
    const limited = await appWith({ perAccount: LIMIT, perIp: 3 });
    try {
      const office = freshAddress();
      const member = await signUpOrg(t.app);
      const newcomer = await signUpOrg(t.app);
      await tokenAttempt(limited.app, member.email, PASSWORD, office).expect(201);

      // Someone at the office tries other accounts until the address is slowed down.
      const strangers = await Promise.all(Array.from({ length: 10 }, (_, i) => tokenAttempt(limited.app, `office-guess${i}@x.test`, WRONG, office)));
      expect(tally(strangers)).toEqual({ checked: 3, limited: 7 });

      // The member still signs in from the office, through the API and the page.
      await tokenAttempt(limited.app, member.email, PASSWORD, office).expect(201);
      expect((await (await signInForm(limited.app, office))(member.email, PASSWORD)).status).toBe(303);
      // A typo is just a typo (the member's own limit), not a refusal.
      await tokenAttempt(limited.app, member.email, WRONG, office).expect(401);
      await tokenAttempt(limited.app, member.email, PASSWORD, office).expect(201);

      // An account that has not signed in from there is slowed, with the wait to respect…
      expectRetryAfter(await tokenAttempt(limited.app, newcomer.email, PASSWORD, office));
      expectRetryAfter(await (await signInForm(limited.app, office))(newcomer.email, PASSWORD));
      // …and signs in from anywhere else.
      await tokenAttempt(limited.app, newcomer.email, PASSWORD, freshAddress()).expect(201);
    } finally {
      await limited.close();
    }
  });

  it('holds a known account to its own limit at that address, even in parallel', async () => {
    const limited = await appWith({ perAccount: LIMIT, perIp: 3 });
    try {
      const office = freshAddress();
      const member = await signUpOrg(t.app);
      await tokenAttempt(limited.app, member.email, PASSWORD, office).expect(201);
      const answers = await Promise.all(Array.from({ length: 20 }, () => tokenAttempt(limited.app, member.email, WRONG, office)));
      expect(tally(answers)).toEqual({ checked: LIMIT, limited: 20 - LIMIT });
      answers.filter((r) => r.status === 429).forEach(expectRetryAfter);
    } finally {
      await limited.close();
    }
  });

  it('does not count successful sign-ins against the address', async () => {
    const limited = await appWith({ perAccount: LIMIT, perIp: 3 });
    try {
      const address = freshAddress();
      const orgs = await Promise.all(Array.from({ length: 6 }, () => signUpOrg(t.app)));
      for (const org of orgs) await tokenAttempt(limited.app, org.email, PASSWORD, address).expect(201);
      for (let i = 0; i < 3; i++) await tokenAttempt(limited.app, `nobody${i}@x.test`, WRONG, address).expect(401);
      expectRetryAfter(await tokenAttempt(limited.app, 'nobody9@x.test', WRONG, address));
    } finally {
      await limited.close();
    }
  });
});

describe('a successful sign-in', () => {
  it("gives back its own attempt on the account's count, and resets that place's failures", async () => {
    const org = await signUpOrg(t.app);
    const here = freshAddress();
    for (let i = 0; i < LIMIT - 1; i++) await tokenAttempt(t.app, org.email, WRONG, here).expect(401);
    // Counted before the check like any attempt, then given back: it does not use up the last one.
    await tokenAttempt(t.app, org.email, PASSWORD, here).expect(201);
    const elsewhere = freshAddress();
    await tokenAttempt(t.app, org.email, WRONG, elsewhere).expect(401);
    expectRetryAfter(await tokenAttempt(t.app, org.email, WRONG, elsewhere));
    // Where it signed in, its own count starts again (the account-wide count is for unknown places).
    for (let i = 0; i < LIMIT; i++) await tokenAttempt(t.app, org.email, WRONG, here).expect(401);
    expectRetryAfter(await tokenAttempt(t.app, org.email, PASSWORD, here));
  });
});

describe('changing the password', () => {
  it('checks at most the limit of 20 parallel guesses of the current password', async () => {
    const org = await signUpOrg(t.app);
    const token = (await tokenAttempt(t.app, org.email, PASSWORD, freshAddress()).expect(201)).body.token as string;
    const address = freshAddress();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(t.app).post('/api/v1/me/password').set('Authorization', `Bearer ${token}`).set('X-Forwarded-For', address).send({ currentPassword: WRONG, newPassword: 'Another-Good-One-1' }),
      ),
    );
    expect(answers.filter((r) => r.status === 422)).toHaveLength(LIMIT);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(20 - LIMIT);
    answers.filter((r) => r.status === 429).forEach(expectRetryAfter);
  });
});

describe('the sign-up limit per address', () => {
  it('cannot be outrun by parallel sign-ups', async () => {
    const limited = await secondApp(t, { queuePrefix: uniqueName('su'), signupPerIpPerHour: 3 });
    try {
      const address = freshAddress();
      const answers = await Promise.all(Array.from({ length: 12 }, () => request(limited.app).post('/api/v1/organizations').set('X-Forwarded-For', address).send(signUpBody())));
      expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
      const refused = answers.filter((r) => r.status === 429);
      expect(refused).toHaveLength(9);
      for (const res of refused) {
        expectRetryAfter(res);
        expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', reason: 'SIGN_UP_RATE_LIMITED' });
        expect(res.body.error.message).toMatch(/请在 \d+分钟后再试/);
      }
    } finally {
      await limited.close();
    }
  });
});
