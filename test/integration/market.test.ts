/**
 * The technology market board (供需对接): verified organisations post offers and needs, the bureau
 * publishes or rejects them, the public searches the board (never seeing a contact detail),
 * another organisation expresses interest, contacts are exchanged only on acceptance, a contract
 * draft starts from a listing, and the statistics count what the board brought about.
 */
import { randomInt } from 'node:crypto';
import request from 'supertest';
import { cstYear } from '../../src/domain/time';
import { Contract } from '../../src/modules/contracts/contract.model';
import { MarketListing } from '../../src/modules/market/listing.model';
import { MarketLimiters } from '../../src/modules/market/market.limits';
import { marketStats } from '../../src/modules/market/market.stats';
import { Notification } from '../../src/modules/notifications/notification.model';
import { Organization } from '../../src/modules/organizations/organization.model';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { startTestApp, waitFor, type TestApp } from '../support/harness';
import { bearer, completeContract, csrfFrom, makeBureauUser, makePdf, sellerContact, signedInAgent, signUpOrg, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
let reviewer2: string;
let admin: string;
type Applicant = Awaited<ReturnType<typeof verifiedApplicant>> & { name: string };
let owner: Applicant;
let other: Applicant;
let third: Applicant;
let unverified: { token: string; orgId: string; email: string };

/** Contact details no public answer may ever contain. */
const OWNER_CONTACT = { contactPerson: '马主任', phone: '0971-8801234', email: 'ma.zhuren@owner-secret.test' };
const OTHER_CONTACT = { contactPerson: '杨经理', phone: '13909710001', email: 'yang@other-secret.test' };

/** A Chinese marker no other listing contains (digits written as Chinese numerals). */
const cnMarker = () => `编号${String(randomInt(1e9)).padStart(9, '0').replace(/\d/g, (d) => '〇一二三四五六七八九'[Number(d)])}`;

const listingBody = (over: Record<string, unknown> = {}) => ({
  kind: 'offer',
  title: `高原盐湖卤水提锂膜分离技术${cnMarker()}`,
  summary: '适用于高镁锂比卤水的纳滤膜分离工艺，\n已完成中试，可许可实施。',
  technicalField: 'new_materials',
  priorityArea: 'lithium_battery',
  ipType: 'invention_patent',
  priceHint: '500000.00',
  contactVisible: false,
  ...over,
});

async function applicant(contact?: typeof OWNER_CONTACT): Promise<Applicant> {
  const a = await verifiedApplicant(t.app);
  if (contact) await Organization.updateOne({ _id: a.orgId }, { $set: { contact } });
  return { ...a, name: (await Organization.findById(a.orgId).lean())!.name };
}

async function post(token: string, over: Record<string, unknown> = {}): Promise<string> {
  const res = await request(t.app).post('/api/v1/market/listings').set(bearer(token)).send(listingBody(over));
  expect([res.status, res.body]).toEqual([201, { id: expect.any(String), status: 'pending' }]);
  return res.body.id;
}

async function published(token: string, over: Record<string, unknown> = {}): Promise<string> {
  const id = await post(token, over);
  await request(t.app).post(`/api/v1/market/listings/${id}/publish`).set(bearer(reviewer)).expect(200, { status: 'published' });
  return id;
}

const board = (query: Record<string, string | number>) => request(t.app).get('/api/v1/public/market').query(query).expect(200);
const ids = (body: { items: { id: string }[] }) => body.items.map((i) => i.id);

beforeAll(async () => {
  t = await startTestApp();
  [reviewer, reviewer2] = await Promise.all([makeBureauUser('reviewer'), makeBureauUser('reviewer')].map(async (u) => tokenFor(t.app, (await u).email)));
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  [owner, other, third] = await Promise.all([applicant(OWNER_CONTACT), applicant(OTHER_CONTACT), applicant()]);
  const u = await signUpOrg(t.app);
  unverified = { ...u, token: await tokenFor(t.app, u.email) };
});
afterAll(async () => {
  await t.close();
});
// The suite posts more than a day's quota for its three organisations: each test starts with theirs fresh (the abuse tests use new ones).
beforeEach(async () => {
  if (owner) await t.redis.del(...[owner, other, third].map((o) => `${t.config.queuePrefix}:market-listings:${o.orgId}`));
});

describe('posting and moderation', () => {
  it('posts a listing as pending: off the board, hidden from others, visible to its owner', async () => {
    const id = await post(owner.token, { title: '  钙钛矿叠层电池封装工艺  ', priceHint: '面议' });
    const doc = (await MarketListing.findById(id).lean())!;
    expect(doc).toMatchObject({ status: 'pending', title: '钙钛矿叠层电池封装工艺', priceFen: null, priceNegotiable: true });
    expect(ids((await board({ q: '钙钛矿叠层' })).body)).not.toContain(id);
    await request(t.app).get(`/api/v1/public/market/${id}`).expect(404);
    await request(t.app).get(`/api/v1/market/listings/${id}`).set(bearer(other.token)).expect(404);
    const mine = await request(t.app).get(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).expect(200);
    expect(mine.body).toMatchObject({ id, status: 'pending', priceHint: 'negotiable', organizationName: owner.name });
  });

  it('lets only applicants of verified organisations post', async () => {
    const res = await request(t.app).post('/api/v1/market/listings').set(bearer(unverified.token)).send(listingBody()).expect(403);
    expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'ORGANIZATION_NOT_VERIFIED' });
    await request(t.app).post('/api/v1/market/listings').set(bearer(reviewer)).send(listingBody()).expect(403);
    await request(t.app).post('/api/v1/market/listings').send(listingBody()).expect(401);
    expect(await MarketListing.countDocuments({ organizationId: unverified.orgId })).toBe(0);
  });

  it.each([
    ['a missing title', { title: '' }, 'title'],
    ['a title over 100 characters', { title: '锂'.repeat(101) }, 'title'],
    ['a summary over 2000 characters', { summary: '锂'.repeat(2001) }, 'summary'],
    ['a control character in the title', { title: '提锂\u0007技术' }, 'title'],
    ['a line break in the title', { title: '提锂\n技术' }, 'title'],
    ['a bidi override in the summary', { summary: '正常\u202E文本' }, 'summary'],
    ['a NUL in the summary', { summary: '正常\u0000文本' }, 'summary'],
    ['an unknown technical field', { technicalField: 'alchemy' }, 'technicalField'],
    ['an unknown kind', { kind: 'swap' }, 'kind'],
    ['a price hint in words', { priceHint: '50万起' }, 'priceHint'],
    ['a price hint with three decimals', { priceHint: '1.005' }, 'priceHint'],
    ['public contact details', { contactVisible: true }, 'contactVisible'],
  ])('refuses %s (422 at the field)', async (_name, over, path) => {
    const res = await request(t.app).post('/api/v1/market/listings').set(bearer(owner.token)).send(listingBody(over)).expect(422);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('keeps a summary of exactly 2000 characters and a price as money', async () => {
    const id = await post(owner.token, { summary: '锂'.repeat(2000), priceHint: 1250000.5 });
    const res = await request(t.app).get(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).expect(200);
    expect(res.body.summary).toHaveLength(2000);
    expect(res.body.priceHint).toBe('1250000.50');
  });

  it('publishes onto the board, once; a second decision is a 409', async () => {
    const id = await post(owner.token);
    await request(t.app).post(`/api/v1/market/listings/${id}/publish`).set(bearer(owner.token)).expect(403);
    await request(t.app).post(`/api/v1/market/listings/${id}/publish`).set(bearer(reviewer)).expect(200, { status: 'published' });
    const again = await request(t.app).post(`/api/v1/market/listings/${id}/publish`).set(bearer(admin)).expect(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', reason: 'LISTING_NOT_PENDING', current: { status: 'published' } });
    await request(t.app).post(`/api/v1/market/listings/${id}/reject`).set(bearer(admin)).send({ reason: '晚了' }).expect(409);
    const pub = await request(t.app).get(`/api/v1/public/market/${id}`).expect(200);
    expect(pub.body).toMatchObject({ id, kind: 'offer', technicalField: 'new_materials', priorityArea: 'lithium_battery', priceHint: '500000.00', organizationName: owner.name });
    expect(pub.body).not.toHaveProperty('status');
    // The owner is told, with the link to it.
    const n = (await Notification.findOne({ organizationId: owner.orgId, kind: 'market_published', 'link.href': `/market/${id}` }).lean())!;
    expect(n.body).toContain(pub.body.title);
    await request(t.app).post('/api/v1/market/listings/000000000000000000000000/publish').set(bearer(reviewer)).expect(404);
  });

  it('rejects only with a reason, which the owner is told and sees', async () => {
    const id = await post(owner.token);
    const bare = await request(t.app).post(`/api/v1/market/listings/${id}/reject`).set(bearer(reviewer)).send({}).expect(422);
    expect(bare.body.error.details[0].path).toBe('reason');
    await request(t.app).post(`/api/v1/market/listings/${id}/reject`).set(bearer(reviewer)).send({ reason: '简介含有联系电话，请删除后重新提交。' }).expect(200, { status: 'rejected' });
    const mine = await request(t.app).get(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).expect(200);
    expect(mine.body).toMatchObject({ status: 'rejected', rejectionReason: '简介含有联系电话，请删除后重新提交。' });
    const n = (await Notification.findOne({ organizationId: owner.orgId, kind: 'market_rejected', 'link.href': `/market/${id}` }).lean())!;
    expect(n.body).toContain('原因：简介含有联系电话，请删除后重新提交。');
    expect(n.bodyEn).toContain('reason: 简介含有联系电话，请删除后重新提交');
    const page = await (await signedInAgent(t.app, owner.email)).get(`/market/${id}`).expect(200);
    expect(page.text).toContain('简介含有联系电话，请删除后重新提交。');
    // The owner corrects it: back to pending, the reason gone.
    const edited = await request(t.app).patch(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).send({ summary: '已删除联系方式的简介。' }).expect(200);
    expect(edited.body).toMatchObject({ status: 'pending', rejectionReason: null, summary: '已删除联系方式的简介。' });
  });

  it('sends an edited published listing back to the bureau, off the board; an edit changing nothing changes nothing', async () => {
    const id = await published(owner.token);
    const { title } = (await MarketListing.findById(id).lean())!;
    await request(t.app).patch(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).send({ title }).expect(200, /"status":"published"/);
    await request(t.app).patch(`/api/v1/market/listings/${id}`).set(bearer(other.token)).send({ title: '别人的修改' }).expect(404);
    const res = await request(t.app).patch(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).send({ title: `${title}（修订）` }).expect(200);
    expect(res.body.status).toBe('pending');
    await request(t.app).get(`/api/v1/public/market/${id}`).expect(404);
    expect(ids((await board({ q: title })).body)).not.toContain(id);
  });

  it('lets exactly one of two bureau users decide when they publish and reject at once', async () => {
    for (let round = 0; round < 3; round++) {
      const id = await post(owner.token);
      const [a, b] = await Promise.all([
        request(t.app).post(`/api/v1/market/listings/${id}/publish`).set(bearer(reviewer)),
        request(t.app).post(`/api/v1/market/listings/${id}/reject`).set(bearer(reviewer2)).send({ reason: '重复发布' }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const loser = a.status === 409 ? a : b;
      expect(loser.body.error.code).toBe('CONFLICT');
      const doc = (await MarketListing.findById(id).lean())!;
      expect(doc.status).toBe(a.status === 200 ? 'published' : 'rejected');
      expect(doc.history.filter((h) => h.action === 'published' || h.action === 'rejected')).toHaveLength(1);
    }
  });

  it('lists what waits for the bureau, oldest first, to the bureau only', async () => {
    const id = await post(owner.token);
    const res = await request(t.app).get('/api/v1/market/queue?pageSize=100').set(bearer(reviewer)).expect(200);
    expect(ids(res.body)).toContain(id);
    expect(res.body.items.every((i: { status: string }) => i.status === 'pending')).toBe(true);
    await request(t.app).get('/api/v1/market/queue').set(bearer(owner.token)).expect(403);
  });
});

describe('the public board', () => {
  let marker: string;
  let offerId: string;
  let needId: string;
  let bioId: string;

  beforeAll(async () => {
    marker = cnMarker();
    offerId = await published(owner.token, { title: `盐湖卤水提锂吸附剂${marker}`, summary: '铝系吸附剂，循环寿命长。' });
    needId = await published(other.token, { kind: 'need', title: `求购卤水提锂工艺${marker}`, summary: '我公司需要提锂工艺包。', priorityArea: null, ipType: null, priceHint: null });
    bioId = await published(third.token, { title: `藏药材提取物${marker}`, summary: '用于高原反应的藏药提取工艺，与卤水无关。', technicalField: 'biomedicine', priorityArea: 'biomedicine' });
  });

  it('finds listings by a Chinese substring of the title or the summary', async () => {
    expect(ids((await board({ q: `卤水提锂吸附剂${marker}` })).body)).toEqual([offerId]);
    expect(new Set(ids((await board({ q: marker, pageSize: 100 })).body))).toEqual(new Set([offerId, needId, bioId]));
    // "卤水" appears in two titles and one summary.
    const brine = ids((await board({ q: '卤水', pageSize: 100 })).body);
    expect(brine).toEqual(expect.arrayContaining([offerId, needId, bioId]));
    expect(ids((await board({ q: '循环寿命长' })).body)).toContain(offerId);
    expect(ids((await board({ q: '循环寿命长' })).body)).not.toContain(bioId);
  });

  it('takes regular-expression characters as text', async () => {
    for (const q of ['.*', '(', '[a-', '\\', '^卤']) {
      const res = await board({ q });
      expect(res.body.total).toBe(0);
    }
  });

  it('filters by kind, technical field and priority area, and pages', async () => {
    expect(ids((await board({ q: marker, kind: 'need' })).body)).toEqual([needId]);
    expect(new Set(ids((await board({ q: marker, kind: 'offer' })).body))).toEqual(new Set([offerId, bioId]));
    expect(ids((await board({ q: marker, technicalField: 'biomedicine' })).body)).toEqual([bioId]);
    expect(ids((await board({ q: marker, priorityArea: 'lithium_battery' })).body)).toEqual([offerId]);
    const p1 = (await board({ q: marker, pageSize: 2, page: 1 })).body;
    const p2 = (await board({ q: marker, pageSize: 2, page: 2 })).body;
    expect([p1.page, p1.pageSize, p1.total, p1.items.length, p2.items.length]).toEqual([1, 2, 3, 2, 1]);
    expect(new Set([...ids(p1), ...ids(p2)]).size).toBe(3);
    await request(t.app).get('/api/v1/public/market?kind=swap').expect(422);
    await request(t.app).get('/api/v1/public/market?pageSize=1000').expect(422);
  });

  it('answers with no contact data and no person, only the organisation’s name', async () => {
    const answers = [
      await board({ q: marker, pageSize: 100 }),
      await request(t.app).get(`/api/v1/public/market/${offerId}`).expect(200),
      await request(t.app).get(`/api/v1/market/listings/${offerId}`).set(bearer(third.token)).expect(200),
      await request(t.app).get('/market').query({ q: marker }).expect(200),
      await request(t.app).get(`/market/${offerId}`).expect(200),
    ];
    for (const res of answers) {
      const text = res.text;
      expect(text).toContain(owner.name);
      for (const secret of [...Object.values(OWNER_CONTACT), owner.email, '王研究员']) expect(text).not.toContain(secret);
    }
    const item = answers[0].body.items.find((i: { id: string }) => i.id === offerId);
    expect(Object.keys(item).sort()).toEqual(['expiresAt', 'id', 'ipType', 'kind', 'organizationName', 'priceHint', 'priorityArea', 'publishedAt', 'summary', 'technicalField', 'title'].sort());
  });

  it('drops an expired listing by its expiry alone, shows it as expired to its owner, and renews it', async () => {
    const id = await published(owner.token, { title: `过期测试${cnMarker()}` });
    const { title } = (await MarketListing.findById(id).lean())!;
    await MarketListing.updateOne({ _id: id }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await board({ q: title })).body.total).toBe(0);
    await request(t.app).get(`/api/v1/public/market/${id}`).expect(404);
    await request(t.app).post(`/api/v1/market/listings/${id}/interest`).set(bearer(other.token)).send({ message: '还有效吗？' }).expect(404);
    const mine = await request(t.app).get(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).expect(200);
    expect(mine.body.status).toBe('expired');
    await request(t.app).post(`/api/v1/market/listings/${id}/renew`).set(bearer(other.token)).expect(404);
    const renewed = await request(t.app).post(`/api/v1/market/listings/${id}/renew`).set(bearer(owner.token)).expect(200);
    expect(renewed.body.status).toBe('published');
    const days = (Date.parse(renewed.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(179.9);
    expect(days).toBeLessThan(180.1);
    expect(ids((await board({ q: title })).body)).toEqual([id]);
  });

  it('uses the expiry period the bureau admin sets (kept as data)', async () => {
    await request(t.app).put('/api/v1/market/settings').set(bearer(reviewer)).send({ expiryDays: 30 }).expect(403);
    await request(t.app).put('/api/v1/market/settings').set(bearer(admin)).send({ expiryDays: 3 }).expect(422);
    await request(t.app).put('/api/v1/market/settings').set(bearer(admin)).send({ expiryDays: 30 }).expect(200, { expiryDays: 30 });
    try {
      const id = await published(owner.token);
      const res = await request(t.app).get(`/api/v1/public/market/${id}`).expect(200);
      const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThan(30.1);
    } finally {
      await request(t.app).put('/api/v1/market/settings').set(bearer(admin)).send({ expiryDays: 180 }).expect(200);
    }
  });

  it('closes a listing for good', async () => {
    const id = await published(owner.token);
    await request(t.app).post(`/api/v1/market/listings/${id}/close`).set(bearer(owner.token)).expect(200, { status: 'closed' });
    await request(t.app).get(`/api/v1/public/market/${id}`).expect(404);
    await request(t.app).post(`/api/v1/market/listings/${id}/close`).set(bearer(owner.token)).expect(409);
    await request(t.app).patch(`/api/v1/market/listings/${id}`).set(bearer(owner.token)).send({ title: '再改' }).expect(409);
  });
});

describe('interest, and contacts exchanged only on acceptance', () => {
  let listingId: string;
  let interestId: string;
  let declinedId: string;

  beforeAll(async () => {
    listingId = await published(owner.token);
  });

  it('lets another verified organisation express interest once; the owner is notified and sees who it is', async () => {
    const res = await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(other.token)).send({ message: '  我公司有意许可实施，\n请联系。  ' }).expect(201);
    expect(res.body).toEqual({ id: expect.any(String), status: 'open' });
    interestId = res.body.id;
    const again = await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(other.token)).send({ message: '再次留言' }).expect(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', reason: 'INTEREST_EXISTS' });
    const n = (await Notification.findOne({ organizationId: owner.orgId, kind: 'market_interest' }).sort({ createdAt: -1 }).lean())!;
    expect(n.body).toContain(other.name);
    expect(n.bodyEn).toContain(other.name);
    const list = await request(t.app).get(`/api/v1/market/listings/${listingId}/interests`).set(bearer(owner.token)).expect(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: interestId, organizationName: other.name, message: '我公司有意许可实施，\n请联系。', status: 'open', contact: null })]);
    // Nothing of the other side's contact yet, either way.
    const theirs = await request(t.app).get(`/api/v1/market/interests/${interestId}`).set(bearer(other.token)).expect(200);
    expect(theirs.body.contact).toBeNull();
    for (const secret of Object.values(OTHER_CONTACT)) expect(list.text).not.toContain(secret);
  });

  it('refuses interest in one’s own listing, in a listing not on the board, twice at once, and without a proper message', async () => {
    const own = await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(owner.token)).send({ message: '自己' }).expect(409);
    expect(own.body.error.reason).toBe('OWN_LISTING');
    const pending = await post(owner.token);
    await request(t.app).post(`/api/v1/market/listings/${pending}/interest`).set(bearer(other.token)).send({ message: '待审核的' }).expect(404);
    await request(t.app).post('/api/v1/market/listings/nonsense/interest').set(bearer(other.token)).send({ message: 'x' }).expect(404);
    await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(third.token)).send({ message: '锂'.repeat(1001) }).expect(422);
    await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(third.token)).send({ message: '   ' }).expect(422);
    await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(third.token)).send({ message: '含\u0008控制字符' }).expect(422);
    await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(unverified.token)).send({ message: '未认证' }).expect(403);
    // Two at once from one organisation: one.
    const id2 = await published(owner.token);
    const both = await Promise.all([0, 1, 2].map(() => request(t.app).post(`/api/v1/market/listings/${id2}/interest`).set(bearer(third.token)).send({ message: '同时' })));
    expect(both.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('hides the interest from a third organisation entirely (404)', async () => {
    const r = (path: string) => request(t.app).get(path).set(bearer(third.token));
    await r(`/api/v1/market/interests/${interestId}`).expect(404);
    await r(`/api/v1/market/listings/${listingId}/interests`).expect(404);
    await request(t.app).post(`/api/v1/market/interests/${interestId}/accept`).set(bearer(third.token)).expect(404);
    await request(t.app).post(`/api/v1/market/interests/${interestId}/accept`).set(bearer(other.token)).expect(404);
    await request(t.app).get(`/api/v1/market/interests/${interestId}`).set(bearer(reviewer)).expect(403);
  });

  it('exchanges contact details when the owner accepts, with the two organisations only', async () => {
    const accepted = await request(t.app).post(`/api/v1/market/interests/${interestId}/accept`).set(bearer(owner.token)).expect(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', contact: { organizationName: other.name, ...OTHER_CONTACT } });
    await request(t.app).post(`/api/v1/market/interests/${interestId}/accept`).set(bearer(owner.token)).expect(409);
    await request(t.app).post(`/api/v1/market/interests/${interestId}/decline`).set(bearer(owner.token)).expect(409);
    const theirs = await request(t.app).get(`/api/v1/market/interests/${interestId}`).set(bearer(other.token)).expect(200);
    expect(theirs.body.contact).toEqual({ organizationName: owner.name, ...OWNER_CONTACT });
    const sent = await request(t.app).get('/api/v1/market/interests').set(bearer(other.token)).expect(200);
    expect(sent.body.items.find((i: { id: string }) => i.id === interestId)).toMatchObject({ status: 'accepted', contact: { phone: OWNER_CONTACT.phone }, listing: { id: listingId } });
    const n = (await Notification.findOne({ organizationId: other.orgId, kind: 'market_interest_accepted' }).lean())!;
    expect(n.body).toContain(owner.name);
    // Still nothing for the third organisation, on the API or the pages.
    await request(t.app).get(`/api/v1/market/interests/${interestId}`).set(bearer(third.token)).expect(404);
    const thirdPage = await (await signedInAgent(t.app, third.email)).get(`/market/${listingId}`).expect(200);
    for (const secret of [...Object.values(OWNER_CONTACT), ...Object.values(OTHER_CONTACT)]) expect(thirdPage.text).not.toContain(secret);
    // The interested party's page shows the owner's contact; the owner's "mine" shows theirs.
    const otherPage = await (await signedInAgent(t.app, other.email)).get(`/market/${listingId}`).expect(200);
    expect(otherPage.text).toContain(OWNER_CONTACT.phone);
    const mine = await (await signedInAgent(t.app, owner.email)).get('/market/mine').expect(200);
    expect(mine.text).toContain(OTHER_CONTACT.email);
    expect(mine.text).toContain(other.name);
  });

  it('lets the owner decline: no contact either way', async () => {
    const res = await request(t.app).post(`/api/v1/market/listings/${listingId}/interest`).set(bearer(third.token)).send({ message: '第三家的意向' }).expect(201);
    declinedId = res.body.id;
    const declined = await request(t.app).post(`/api/v1/market/interests/${declinedId}/decline`).set(bearer(owner.token)).expect(200);
    expect(declined.body).toMatchObject({ status: 'declined', contact: null });
    expect((await request(t.app).get(`/api/v1/market/interests/${declinedId}`).set(bearer(third.token)).expect(200)).body.contact).toBeNull();
    expect(await Notification.countDocuments({ organizationId: third.orgId, kind: 'market_interest_declined' })).toBe(1);
  });

  describe('starting a contract from the listing', () => {
    it('prefills the owner’s draft (an offer: the owner sells, the accepted party buys) and remembers the listing', async () => {
      const res = await request(t.app).post('/api/v1/contracts').set(bearer(owner.token)).send({ fromListing: listingId }).expect(201);
      const listing = (await MarketListing.findById(listingId).lean())!;
      expect(res.body).toMatchObject({
        status: 'draft',
        title: listing.title,
        technicalField: 'new_materials',
        priorityArea: 'lithium_battery',
        ipType: 'invention_patent',
        fromListing: listingId,
        organizationId: owner.orgId,
        seller: { name: owner.name, uscc: owner.uscc },
        buyers: [{ name: other.name, uscc: other.uscc, nature: '021', regionCode: '630102' }],
      });
      expect(res.body).not.toHaveProperty('preparedFor');
      expect(String((await Contract.findById(res.body.id).lean())!.fromListing)).toBe(listingId);
    });

    it('prepares the seller’s draft when the accepted interested party (the buyer) starts it', async () => {
      const res = await request(t.app).post('/api/v1/contracts').set(bearer(other.token)).send({ fromListing: listingId }).expect(201);
      expect(res.body).toMatchObject({ preparedFor: owner.name, organizationId: owner.orgId, fromListing: listingId, seller: { uscc: owner.uscc }, buyers: [{ uscc: other.uscc }] });
      await request(t.app).get(`/api/v1/contracts/${res.body.id}`).set(bearer(owner.token)).expect(200);
      expect(await Notification.countDocuments({ organizationId: owner.orgId, kind: 'market_draft_prepared', contractId: res.body.id })).toBe(1);
    });

    it('answers 404 to anyone else: a declined party, a third organisation, an unknown or malformed listing', async () => {
      for (const token of [third.token, unverified.token]) await request(t.app).post('/api/v1/contracts').set(bearer(token)).send({ fromListing: listingId }).expect(404);
      await request(t.app).post('/api/v1/contracts').set(bearer(other.token)).send({ fromListing: '000000000000000000000000' }).expect(404);
      await request(t.app).post('/api/v1/contracts').set(bearer(other.token)).send({ fromListing: 'not-an-id' }).expect(404);
      await request(t.app).post('/api/v1/contracts').set(bearer(reviewer)).send({ fromListing: listingId }).expect(403);
      // Without fromListing the contracts API answers as ever.
      const plain = await request(t.app).post('/api/v1/contracts').set(bearer(third.token)).send({ title: '普通草稿' }).expect(201);
      expect(plain.body.fromListing).toBeNull();
    });

    it('reverses the parties for a need: the accepted party sells', async () => {
      const needId = await published(owner.token, { kind: 'need', title: `求解决盐湖尾卤利用${cnMarker()}`, priorityArea: 'chemical' });
      const early = await request(t.app).post('/api/v1/contracts').set(bearer(owner.token)).send({ fromListing: needId }).expect(409);
      expect(early.body.error.reason).toBe('LISTING_NO_SELLER');
      const iid = (await request(t.app).post(`/api/v1/market/listings/${needId}/interest`).set(bearer(other.token)).send({ message: '我们有工艺' }).expect(201)).body.id;
      await request(t.app).post('/api/v1/contracts').set(bearer(other.token)).send({ fromListing: needId }).expect(404); // not yet accepted
      await request(t.app).post(`/api/v1/market/interests/${iid}/accept`).set(bearer(owner.token)).expect(200);
      const res = await request(t.app).post('/api/v1/contracts').set(bearer(other.token)).send({ fromListing: needId }).expect(201);
      expect(res.body).toMatchObject({ organizationId: other.orgId, priorityArea: 'chemical', fromListing: needId, seller: { name: other.name, uscc: other.uscc }, buyers: [{ name: owner.name, uscc: owner.uscc }] });
      expect(res.body).not.toHaveProperty('preparedFor');
    });

    it('counts the registered contract from the board in the year’s statistics, exactly', async () => {
      const year = cstYear(new Date());
      const before = await marketStats(year);
      const draft = await request(t.app).post('/api/v1/contracts').set(bearer(owner.token)).send({ fromListing: listingId }).expect(201);
      const id = draft.body.id as string;
      const { title: _t, buyers: _b, ...rest } = completeContract();
      const amount = '1234567.89';
      await request(t.app)
        .patch(`/api/v1/contracts/${id}`)
        .set(bearer(owner.token))
        .send({ ...rest, contractAmount: amount, technicalAmount: amount, deductions: [], seller: { ...draft.body.seller, ...sellerContact }, buyers: [{ ...draft.body.buyers[0], ...OTHER_CONTACT, legalRepresentative: '杨总', address: '西宁市城北区' }] })
        .expect(200);
      await request(t.app).post(`/api/v1/contracts/${id}/attachments`).set(bearer(owner.token)).attach('file', await makePdf(), { filename: 'contract.pdf', contentType: 'application/pdf' }).expect(201);
      const submitted = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(bearer(owner.token));
      expect([submitted.status, submitted.body.error?.details]).toEqual([202, undefined]);
      expect(await verifySubmission(id, 1, '630100')).toBe('verified');
      // A registered contract not from the board does not count.
      const plainId = (await request(t.app).post('/api/v1/contracts').set(bearer(third.token)).send(completeContract()).expect(201)).body.id;
      await Contract.updateOne({ _id: plainId }, { $set: { status: 'registered', registrationYear: year, registeredAt: new Date() } });
      await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200);

      const after = await marketStats(year);
      expect([after.contracts - before.contracts, after.contractAmountFen - before.contractAmountFen]).toEqual([1, 123456789]);
      expect(before).toEqual({ year, contracts: 0, contractAmountFen: 0 });
      await waitFor(async () => (await request(t.app).get(`/api/v1/public/stats?year=${year}`)).body.market?.contracts === 1, 10_000);
      const stats = (await request(t.app).get(`/api/v1/public/stats?year=${year}`).expect(200)).body;
      expect(stats.market).toEqual({ contracts: 1, contractAmount: '1234567.89' });
      const page = await request(t.app).get('/market').expect(200);
      expect(page.text).toContain('¥ 1,234,567.89');
      const statistics = await request(t.app).get(`/statistics?year=${year}`).expect(200);
      expect(statistics.text).toMatch(/data-market="contracts">1</);
      expect(statistics.text).toContain('1,234,567.89');
      expect((await request(t.app).get(`/api/v1/public/stats?year=${year - 1}`).expect(200)).body.market).toEqual({ contracts: 0, contractAmount: '0.00' });
    });
  });
});

describe('abuse', () => {
  it('holds the daily limit of 20 listings under 30 posts in parallel', async () => {
    const a = await applicant();
    const results = await Promise.all(Array.from({ length: 30 }, () => request(t.app).post('/api/v1/market/listings').set(bearer(a.token)).send(listingBody())));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const limited = results.find((r) => r.status === 429)!;
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(await MarketListing.countDocuments({ organizationId: a.orgId })).toBe(20);
    // Another organisation is not held back by it.
    await post(other.token);
  });

  it('limits interest messages per organisation per hour, with a clear message on the page', async () => {
    const a = await applicant();
    const limiters = new MarketLimiters(t.redis, t.config.queuePrefix);
    for (let i = 0; i < 30; i++) await limiters.consume('interests', a.orgId);
    const id = await published(owner.token);
    const api = await request(t.app).post(`/api/v1/market/listings/${id}/interest`).set(bearer(a.token)).send({ message: '第三十一条' }).expect(429);
    expect(api.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    const agent = await signedInAgent(t.app, a.email);
    const page = await agent.get(`/market/${id}`).expect(200);
    const res = await agent.post(`/market/${id}/interest`).type('form').send({ _csrf: csrfFrom(page.text), message: '第三十一条' }).expect(429);
    expect(res.text).toContain('一小时内发送的对接意向已达 30 条');
    expect(res.text).toContain('第三十一条');
  });

  it('escapes people’s text in every page: a <script> stays text', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const id = await published(owner.token, { title: `${evil}${cnMarker()}`, summary: `简介${evil}` });
    const iid = (await request(t.app).post(`/api/v1/market/listings/${id}/interest`).set(bearer(other.token)).send({ message: `留言${evil}` }).expect(201)).body.id;
    const pages = [
      await request(t.app).get('/market').expect(200),
      await request(t.app).get(`/market/${id}`).expect(200),
      await (await signedInAgent(t.app, owner.email)).get('/market/mine').expect(200),
      await (await signedInAgent(t.app, owner.email)).get(`/market/${id}`).expect(200),
    ];
    for (const p of pages) {
      expect(p.text).not.toContain('<script>alert');
      expect(p.text).not.toContain('<img src=x');
      expect(p.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    expect(pages[2].text).toContain(`留言&lt;script&gt;`);
    expect(iid).toBeTruthy();
  });
});

describe('the pages', () => {
  it('shows the listing form with problems at their fields and keeps what was typed', async () => {
    const agent = await signedInAgent(t.app, owner.email);
    const form = await agent.get('/market/new').expect(200);
    const res = await agent
      .post('/market/new')
      .type('form')
      .send({ _csrf: csrfFrom(form.text), kind: 'offer', title: '', summary: '保留的简介', technicalField: '', priceHint: '五十万' })
      .expect(422);
    expect(res.text).toContain('class="error-summary"');
    expect(res.text).toMatch(/id="f-title-error"/);
    expect(res.text).toMatch(/id="f-technicalField-error"/);
    expect(res.text).toMatch(/id="f-priceHint-error"/);
    expect(res.text).toContain('保留的简介');
    const ok = await agent
      .post('/market/new')
      .type('form')
      .send({ _csrf: csrfFrom(form.text), kind: 'need', title: '页面发布的需求', summary: '多行\r\n简介', technicalField: 'agriculture', priorityArea: '', ipType: '', priceHint: '1,000,000' })
      .expect(303);
    const id = ok.headers.location.replace('/market/', '');
    expect((await MarketListing.findById(id).lean())!).toMatchObject({ kind: 'need', summary: '多行\n简介', priceFen: 100_000_000, priorityArea: null, status: 'pending' });
  });

  it('tells an organisation not yet verified why it cannot post', async () => {
    const agent = await signedInAgent(t.app, unverified.email);
    const page = await agent.get('/market/new').expect(200);
    expect(page.text).not.toContain('name="title"');
    expect(page.text).toContain('通过科技局认证后');
  });

  it('gives the bureau a queue with publish and reject forms; a reject without a reason says so', async () => {
    const id = await post(owner.token, { title: `待审核页面${cnMarker()}` });
    const bureau = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const queue = await bureau.get('/bureau/market?pageSize=100').expect(200);
    expect(queue.text).toContain(`action="/bureau/market/${id}/publish"`);
    const bare = await bureau.post(`/bureau/market/${id}/reject`).type('form').send({ _csrf: csrfFrom(queue.text), reason: '' }).expect(422);
    expect(bare.text).toContain(`id="reason-${id}-error"`);
    await bureau.post(`/bureau/market/${id}/reject`).type('form').send({ _csrf: csrfFrom(queue.text), reason: '内容不完整' }).expect(303);
    expect((await MarketListing.findById(id).lean())!.status).toBe('rejected');
    const late = await bureau.post(`/bureau/market/${id}/publish`).type('form').send({ _csrf: csrfFrom(queue.text) }).expect(303);
    expect(late.headers.location).toBe('/bureau/market');
    expect((await bureau.get('/bureau/market').expect(200)).text).toContain('已不在待审核状态');
    // Not for applicants; the settings page for admins only.
    await (await signedInAgent(t.app, owner.email)).get('/bureau/market').expect(403);
    await bureau.get('/bureau/market/settings').expect(403);
    const adminAgent = await signedInAgent(t.app, (await makeBureauUser('admin')).email);
    const settings = await adminAgent.get('/bureau/market/settings').expect(200);
    await adminAgent.post('/bureau/market/settings').type('form').send({ _csrf: csrfFrom(settings.text), expiryDays: '5000' }).expect(422);
  });

  it('starts a contract from the listing page: the owner lands in the filing form', async () => {
    const id = await published(owner.token);
    const iid = (await request(t.app).post(`/api/v1/market/listings/${id}/interest`).set(bearer(other.token)).send({ message: '页面起草' }).expect(201)).body.id;
    await request(t.app).post(`/api/v1/market/interests/${iid}/accept`).set(bearer(owner.token)).expect(200);
    const agent = await signedInAgent(t.app, owner.email);
    const page = await agent.get(`/market/${id}`).expect(200);
    expect(page.text).toContain(`action="/market/${id}/contract"`);
    const res = await agent.post(`/market/${id}/contract`).type('form').send({ _csrf: csrfFrom(page.text), interest: iid }).expect(303);
    expect(res.headers.location).toMatch(/^\/contracts\/[0-9a-f]{24}\/edit$/);
    const cid = res.headers.location.split('/')[2];
    expect(String((await Contract.findById(cid).lean())!.fromListing)).toBe(id);
    // Anonymous visitors are sent to sign in for the owner's pages.
    await request(t.app).get('/market/mine').expect(303);
  });
});
