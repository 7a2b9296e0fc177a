/// <reference lib="dom" />
/**
 * The whole journey in a real browser (Debian's Chromium driven by playwright-core), against
 * the real web and worker processes on the suite's FerretDB and Redis:
 * an institute signs up; the bureau admin verifies it and creates a reviewer; the institute
 * files a transfer contract with its PDF and submits; the reviewer approves; the homepage,
 * open in a third browser context since before the approval, shows the new total without a
 * reload; the certificate downloads and its QR target verifies; a change raises its amounts
 * and a cancellation takes it out again, each reaching the homepage. Also a returned filing,
 * corrected and resubmitted, and a refused one. Screenshots go to test-artifacts/e2e/.
 */
import { PROCESS_NODE_FLAGS } from '../../scripts/process-flags';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { freePort, mongoUriFor } from '../../scripts/local-services';
import { projectRoot } from '../../src/lib/paths';
import { makeUscc, uniqueTitle } from '../support/fixtures';
import { csvOf, importRow } from '../support/import-files';
import { uniqueName, waitFor } from '../support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const root = projectRoot();
const artifacts = path.join(root, 'test-artifacts', 'e2e');
const ADMIN = { email: 'admin@e2e.test', password: 'E2e-Bureau-Desk-2026' };

if (!haveChromium) {
  // Said plainly, so a skipped browser journey is never mistaken for a passing one.
  process.stderr.write(`\n[e2e] SKIPPED: Chromium not found at ${CHROMIUM} (scripts/ensure-deps.sh --test installs Debian's chromium)\n\n`);
}
const maybe = haveChromium ? describe : describe.skip;

let web: ChildProcess;
let worker: ChildProcess;
let base: string;
let browser: Browser;
let shot = 0;

/** What axe-core found on each page shot, checked at the end of the journey. */
const accessibility: string[] = [];
/** Every page shot, to shoot again in English at the end. */
const shots: { page: Page; url: string; name: string }[] = [];

/** Screenshots at desktop and phone width, and an axe-core check of the page. */
async function snap(page: Page, name: string) {
  shot += 1;
  if (!name.endsWith('-en')) shots.push({ page, url: page.url(), name });
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}`);
  await page.screenshot({ path: `${file}.png`, fullPage: true });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  // Charts resize a moment after the viewport does; a page still wider than the phone then is a fault.
  const fits = await page
    .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, undefined, { timeout: 3_000 })
    .then(() => true, () => false);
  if (!fits) accessibility.push(`${name} — wider than a 390 px phone (horizontal scrolling)`);
  await page.screenshot({ path: `${file}-phone.png`, fullPage: true });
  if (size) await page.setViewportSize(size);
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  accessibility.push(...found.map((f) => `${name} — ${f}`));
}

function start(script: string, env: NodeJS.ProcessEnv) {
  return spawn(process.execPath, [...PROCESS_NODE_FLAGS, path.join(root, 'dist', script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function newContext(): Promise<BrowserContext> {
  // bypassCSP lets the test inject axe-core; the pages' own policy allows no inline script.
  return browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true, locale: 'zh-CN', bypassCSP: true });
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${base}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

async function makePdf(): Promise<string> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([595, 842]);
  page.drawText('Technology transfer contract (signed)', { x: 50, y: 780, size: 16, font: await doc.embedFont(StandardFonts.Helvetica) });
  const file = path.join(artifacts, 'signed-contract.pdf');
  fs.writeFileSync(file, await doc.save());
  return file;
}

/** Fills the whole filing form for a transfer contract. */
async function fillFiling(page: Page, title: string, amount: string, email: string) {
  await page.fill('#f-title', title);
  await page.fill('#f-contractNumber', uniqueName('E2E-'));
  await page.selectOption('#f-type', 'transfer');
  await page.selectOption('#f-subtype', 'transfer:patent');
  await page.fill('#f-signedOn', '2026-09-01');
  await page.fill('#f-validFrom', '2026-09-01');
  await page.fill('#f-validTo', '2028-08-31');
  await page.fill('[name="contractAmount"]', amount);
  await page.fill('[name="technicalAmount"]', amount);
  await page.fill('[name="seller[legalRepresentative]"]', '周院长');
  await page.fill('[name="seller[contactPerson]"]', '吴老师');
  await page.fill('[name="seller[phone]"]', '0971-6123456');
  await page.fill('[name="seller[email]"]', email);
  await page.fill('[name="seller[address]"]', '西宁市城中区');
  await page.fill('[name="buyers[0][name]"]', '青海新能源装备有限公司');
  await page.fill('[name="buyers[0][uscc]"]', makeUscc());
  await page.selectOption('[name="buyers[0][nature]"]', '150');
  await page.fill('[name="buyers[0][legalRepresentative]"]', '郑总');
  await page.fill('[name="buyers[0][contactPerson]"]', '冯经理');
  await page.fill('[name="buyers[0][phone]"]', '0971-8123456');
  await page.fill('[name="buyers[0][address]"]', '西宁市城北区');
  await page.selectOption('[name="buyers[0][regionProvince]"]', '630000');
  await page.waitForFunction(() => (document.querySelector('[name="buyers[0][regionCity]"]') as HTMLSelectElement).options.length > 1);
  await page.selectOption('[name="buyers[0][regionCity]"]', '630100');
  await page.selectOption('#f-paymentMethod', 'lump_sum');
  await page.selectOption('#f-technicalField', 'new_energy');
  await page.selectOption('#f-ipType', 'invention_patent');
  await page.selectOption('#f-socioEconomicObjective', 'energy');
  await page.selectOption('#f-planSource', 'none');
}

maybe('the browser journey', () => {
  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    // The port is free when chosen, but another test file's server may take it before the
    // web process binds: then that process exits and we try another port.
    let env: NodeJS.ProcessEnv = {};
    for (let attempt = 0; attempt < 5 && !web; attempt++) {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      env = {
        NODE_ENV: 'test',
        PORT: String(port),
        PUBLIC_URL: base,
        MONGODB_URI: mongoUriFor(process.env.TEST_MONGO_URL!, uniqueName('e2e_')),
        REDIS_URL: process.env.TEST_REDIS_URL!,
        QUEUE_PREFIX: uniqueName('e2e'),
        SESSION_SECRET: 'e2e-session-secret-'.repeat(3),
        SECURE_COOKIES: 'false',
        LOG_LEVEL: 'info',
        BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
        BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      };
      const child = spawn(process.execPath, [...PROCESS_NODE_FLAGS, path.join(root, 'dist', 'src/server.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      const listening = await new Promise<boolean>((resolve) => {
        let seen = '';
        // Read on after the line too, or the process would stall on a full pipe.
        child.stdout!.on('data', (chunk: Buffer) => {
          if (seen === null) return;
          seen += chunk.toString();
          if (seen.includes('registry web listening')) {
            seen = null as unknown as string;
            resolve(true);
          }
        });
        child.once('exit', () => resolve(false));
        setTimeout(() => resolve(false), 60_000);
      });
      if (listening) web = child;
      else child.kill('SIGKILL');
    }
    if (!web) throw new Error('the web process did not start');
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true, 60_000, 200);
    env.LOG_LEVEL = 'error';
    worker = start('workers/main.js', env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const p of [worker, web]) p?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  });

  it('registers a contract end to end and the homepage follows live', async () => {
    // 1. The public homepage, open before anything is registered.
    const publicPage = await (await newContext()).newPage();
    await publicPage.goto(`${base}/`);
    await publicPage.waitForSelector('[data-live="on"]', { timeout: 10_000 });
    const before = await publicPage.textContent('.counter [data-field="contractAmount"]');
    expect(before).toBe('0.00');
    await snap(publicPage, 'home-before');

    // 2. An institute signs up.
    const applicant = await (await newContext()).newPage();
    const email = `${uniqueName('inst')}@e2e.test`;
    await applicant.goto(`${base}/signup`);
    await applicant.fill('#f-name', '青海省新能源技术研究所');
    await applicant.fill('#f-uscc', makeUscc());
    await applicant.selectOption('#f-nature', '021');
    await applicant.selectOption('#f-regionProvince', '630000');
    await applicant.waitForFunction(() => (document.querySelector('#f-regionCity') as HTMLSelectElement).options.length > 1);
    await applicant.selectOption('#f-regionCity', '630100');
    await applicant.waitForFunction(() => (document.querySelector('#f-regionDistrict') as HTMLSelectElement).options.length > 1);
    await applicant.selectOption('#f-regionDistrict', '630103');
    await applicant.fill('#f-adminName', '钱研究员');
    await applicant.fill('#f-adminEmail', email);
    await applicant.fill('#f-password', 'New-Energy-Institute-9');
    await applicant.fill('#f-passwordConfirm', 'New-Energy-Institute-9');
    await Promise.all([applicant.waitForURL('**/organization'), applicant.click('form[action="/signup"] button:not([name])')]);
    expect(await applicant.textContent('main')).toContain('待核验');
    await snap(applicant, 'signed-up');

    // 3. The bureau admin verifies it and creates a reviewer account.
    const adminPage = await (await newContext()).newPage();
    await signIn(adminPage, ADMIN.email, ADMIN.password);
    await adminPage.goto(`${base}/admin/organizations`);
    const card = adminPage.locator('article', { hasText: '青海省新能源技术研究所' });
    await Promise.all([adminPage.waitForNavigation(), card.locator('button:has-text("核验通过")').click()]);
    expect(await adminPage.textContent('main')).toContain('机构已核验通过');
    await snap(adminPage, 'admin-verified');
    await adminPage.goto(`${base}/admin/users`);
    const reviewerEmail = `${uniqueName('reviewer')}@e2e.test`;
    await adminPage.fill('#f-name', '孙审核员');
    await adminPage.fill('#f-email', reviewerEmail);
    await adminPage.selectOption('#f-role', 'reviewer');
    await adminPage.fill('#f-password', 'Initial-Reviewer-77');
    await Promise.all([adminPage.waitForNavigation(), adminPage.click('form[action="/admin/users"] button[type=submit]')]);
    expect(await adminPage.textContent('main')).toContain(reviewerEmail);

    // 4. The institute files a transfer contract with its PDF and submits it.
    await applicant.goto(`${base}/contracts`);
    // The form opens empty (nothing stored yet); uploading the PDF saves what was typed with it.
    await Promise.all([applicant.waitForURL('**/contracts/new'), applicant.click('a:has-text("新建合同登记")')]);
    await snap(applicant, 'filing-empty');
    const title = uniqueTitle();
    await fillFiling(applicant, title, '2,468,000.50', email);
    await applicant.setInputFiles('#f-file', await makePdf());
    await Promise.all([applicant.waitForURL(/\/edit#attachments$/), applicant.click('button:has-text("上传")')]);
    expect(await applicant.textContent('main')).toContain('signed-contract.pdf');
    expect(await applicant.inputValue('#f-title')).toBe(title);
    expect(await applicant.inputValue('[name="buyers[0][legalRepresentative]"]')).toBe('郑总');
    // A value that is not an amount is kept as typed and says what is wrong with it.
    await applicant.fill('[name="technicalAmount"]', '12,5x');
    await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("保存草稿")')]);
    expect(await applicant.textContent('.error-summary')).toContain('技术交易额（元）：请输入金额');
    await snap(applicant, 'filing-errors');
    await applicant.fill('[name="technicalAmount"]', '2,468,000.50');
    await applicant.check('#f-declaration');
    await snap(applicant, 'filing-ready');
    await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("提交登记")')]);
    expect(await applicant.textContent('main')).toContain('已提交');
    const contractUrl = applicant.url();
    const contractId = contractUrl.split('/').pop()!;

    // 5. The reviewer signs in (changing the initial password) and approves it.
    const reviewer = await (await newContext()).newPage();
    await signIn(reviewer, reviewerEmail, 'Initial-Reviewer-77');
    expect(reviewer.url()).toContain('/account/password');
    await reviewer.fill('#f-currentPassword', 'Initial-Reviewer-77');
    await reviewer.fill('#f-newPassword', 'Own-Reviewer-Secret-5');
    await reviewer.fill('#f-confirmPassword', 'Own-Reviewer-Secret-5');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('form[action="/account/password"] button[type=submit]')]);
    await waitFor(async () => {
      await reviewer.goto(`${base}/review/${contractId}`);
      return (await reviewer.textContent('.page-head .badge'))?.includes('审核中') === true;
    }, 20_000, 300);
    expect(await reviewer.locator('iframe.pdf-frame').count()).toBe(1);
    await snap(reviewer, 'review-page');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('form[action$="/approve"] button')]);
    expect(await reviewer.textContent('main')).toContain('已准予登记');
    const regNumber = (await reviewer.textContent('.reg-number code'))!.trim();
    expect(regNumber).toMatch(/^\d{4}630100000001$/);

    // 6. The homepage, never reloaded, shows the new total.
    await publicPage.waitForFunction(() => document.querySelector('.counter [data-field="contractAmount"]')?.textContent === '2,468,000.50', undefined, { timeout: 5_000 });
    expect(await publicPage.textContent('[data-field="contracts"]')).toBe('1');
    await snap(publicPage, 'home-after-approval');

    // 7. The applicant sees the registration and downloads the certificate.
    await applicant.goto(contractUrl);
    expect(await applicant.textContent('main')).toContain(regNumber);
    const pdf = await applicant.request.get(`${base}/api/v1/contracts/${contractId}/certificate.pdf`);
    expect(pdf.status()).toBe(200);
    const bytes = await pdf.body();
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    fs.writeFileSync(path.join(artifacts, 'certificate.pdf'), bytes);
    // The QR code links to the verification page: the same URL is printed in the certificate.
    const { execFileSync } = await import('node:child_process');
    const text = execFileSync('pdftotext', [path.join(artifacts, 'certificate.pdf'), '-']).toString('utf8');
    const verifyUrl = `${base}/verify/${regNumber}`;
    expect(text).toContain(verifyUrl);
    await publicPage.goto(verifyUrl);
    expect(await publicPage.textContent('main')).toContain('有效：该技术合同已登记');
    await snap(publicPage, 'verify-certificate');

    // 7b. A supplementary agreement raises the amounts: the applicant files a change (变更登记),
    // the reviewer approves it, and the homepage moves by exactly the difference.
    const fileRequest = async (link: string, reason: string, fill: () => Promise<void>, shotName: string) => {
      await applicant.goto(contractUrl);
      await Promise.all([applicant.waitForNavigation(), applicant.click(`a:has-text("${link}")`)]);
      await applicant.fill('#f-reason', reason);
      await fill();
      await snap(applicant, shotName);
      await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("保存并继续")')]);
      const requestId = applicant.url().split('/').pop()!;
      await applicant.setInputFiles('#f-file', path.join(artifacts, 'signed-contract.pdf'));
      await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("上传")')]);
      await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("提交申请")')]);
      expect(await applicant.textContent('main')).toContain('申请已提交');
      await waitFor(async () => {
        await reviewer.goto(`${base}/review/requests/${requestId}`);
        return (await reviewer.textContent('.page-head .badge'))?.includes('审核中') === true;
      }, 20_000, 300);
      return requestId;
    };
    await fileRequest('申请变更登记', '双方签订补充协议，增加技术服务内容', async () => {
      await applicant.fill('#f-contractAmount', '2,500,000.50');
      await applicant.fill('#f-technicalAmount', '2,500,000.50');
    }, 'change-form');
    await snap(reviewer, 'review-change');
    await publicPage.goto(`${base}/`); // open before the approval: the figure must arrive live
    await publicPage.waitForFunction(() => document.querySelector('[data-live]')?.getAttribute('data-live') === 'on', undefined, { timeout: 5_000 });
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('form[action$="/approve"] button')]);
    await publicPage.waitForFunction(() => document.querySelector('.counter [data-field="contractAmount"]')?.textContent === '2,500,000.50', undefined, { timeout: 5_000 });
    expect(await publicPage.textContent('[data-field="contracts"]')).toBe('1');
    await applicant.goto(contractUrl);
    expect(await applicant.textContent('main')).toContain('现行版本：第 2 版');
    await snap(applicant, 'contract-changed');

    // 7c. The contract is terminated: a cancellation (注销登记) takes it out of the turnover.
    await fileRequest('申请注销登记', '项目终止，双方协商解除合同', async () => undefined, 'cancellation-form');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('form[action$="/approve"] button')]);
    expect(await reviewer.textContent('main')).toContain('已准予登记');
    await publicPage.waitForFunction(() => document.querySelector('[data-field="contracts"]')?.textContent === '0', undefined, { timeout: 5_000 });
    expect(await publicPage.textContent('.counter [data-field="contractAmount"]')).toBe('0.00');
    await publicPage.goto(verifyUrl);
    expect(await publicPage.textContent('main')).toContain('已注销');
    await snap(publicPage, 'verify-cancelled');
    await applicant.goto(contractUrl);
    await snap(applicant, 'contract-cancelled');

    // 8. A filing returned for correction, corrected and resubmitted; another refused.
    const second = await fileThroughForm(applicant, email, '120,000.00');
    const third = await fileThroughForm(applicant, email, '80,000.00');
    for (const id of [second, third]) {
      await waitFor(async () => {
        await reviewer.goto(`${base}/review/${id}`);
        return (await reviewer.textContent('.page-head .badge'))?.includes('审核中') === true;
      }, 20_000, 300);
    }
    await reviewer.goto(`${base}/review/${second}`);
    await reviewer.click('summary:has-text("退回补正")');
    await reviewer.fill('#return-reason', '请补充专利证书编号');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('button:has-text("确定退回")')]);
    await applicant.goto(`${base}/notifications`);
    expect(await applicant.textContent('main')).toContain('请补充专利证书编号');
    await snap(applicant, 'notification-returned');
    await applicant.goto(`${base}/contracts/${second}/edit`);
    await applicant.fill('#f-title', uniqueTitle());
    await applicant.check('#f-declaration');
    await Promise.all([applicant.waitForNavigation(), applicant.click('button:has-text("提交登记")')]);
    expect(await applicant.textContent('main')).toContain('已提交');

    await reviewer.goto(`${base}/review/${third}`);
    await reviewer.click('summary:has-text("不予登记")');
    await reviewer.check('#reason-2');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('button:has-text("确定不予登记")')]);
    expect(await reviewer.textContent('main')).toContain('已作出不予登记决定');
    await snap(reviewer, 'refused');
    await applicant.goto(`${base}/contracts/${third}`);
    expect(await applicant.textContent('.page-head')).toContain('不予登记');
    // The resubmitted one is back in review.
    await waitFor(async () => {
      await reviewer.goto(`${base}/review/${second}`);
      return (await reviewer.textContent('.page-head .badge'))?.includes('审核中') === true;
    }, 20_000, 300);

    // 9. The other pages each kind of user works with.
    const tour: [Page, string, string][] = [
      [publicPage, '/register', 'register'],
      [publicPage, '/register?status=all', 'register-all'],
      [publicPage, '/guide', 'guide'],
      [publicPage, '/verify', 'verify-form'],
      [publicPage, '/open-data', 'open-data'],
      [publicPage, '/statistics', 'public-statistics'],
      [applicant, '/contracts', 'my-contracts'],
      [applicant, `/contracts/${second}`, 'contract-resubmitted'],
      [applicant, '/notifications', 'notifications'],
      [applicant, '/related', 'related'],
      [applicant, '/organization', 'organization'],
      [reviewer, '/review', 'review-queue'],
      [reviewer, '/stats', 'stats'],
      [reviewer, '/bureau/notifications', 'bureau-notifications'],
      [adminPage, '/admin/organizations', 'admin-organizations'],
      [adminPage, '/admin/audit', 'admin-audit'],
    ];
    for (const [page, url, name] of tour) {
      const res = await page.goto(`${base}${url}`);
      expect([name, res?.status()]).toEqual([name, 200]);
      await snap(page, name);
    }

    // 9a. The plan dashboard, and the market board: the institute posts an offer, the
    // reviewer publishes it, the public finds it by a Chinese word of its title.
    for (const [page, url, name] of [[publicPage, '/plan', 'plan'], [adminPage, '/admin/plan', 'admin-plan']] as [Page, string, string][]) {
      const res = await page.goto(`${base}${url}`);
      expect([name, res?.status()]).toEqual([name, 200]);
      await snap(page, name);
    }
    await applicant.goto(`${base}/market/new`);
    await applicant.selectOption('#f-kind', 'offer');
    await applicant.fill('#f-title', '高原锂盐提纯工艺技术许可');
    await applicant.fill('#f-summary', '盐湖卤水提锂新工艺，已完成中试，可许可使用。');
    await applicant.selectOption('#f-technicalField', { index: 1 });
    await applicant.fill('#f-priceHint', '面议');
    await snap(applicant, 'market-new');
    await Promise.all([applicant.waitForURL(/\/market\/[0-9a-f]{24}$/), applicant.click('form[action="/market/new"] button[type=submit]')]);
    const listingId = applicant.url().split('/').pop()!;
    expect(await applicant.textContent('main')).toContain('待审核');
    await reviewer.goto(`${base}/bureau/market`);
    await snap(reviewer, 'market-moderation');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click(`form[action="/bureau/market/${listingId}/publish"] button[type=submit]`)]);
    await publicPage.goto(`${base}/market?q=${encodeURIComponent('提纯')}`);
    expect(await publicPage.locator(`a[href="/market/${listingId}"]`).count()).toBeGreaterThan(0);
    await snap(publicPage, 'market-board');
    await publicPage.goto(`${base}/market/${listingId}`);
    expect(await publicPage.textContent('main')).toContain('高原锂盐提纯工艺技术许可');
    await snap(publicPage, 'market-listing');

    // 9b. The bureau admin brings in a year's earlier registrations from a file: the import page
    // follows it live (a progress bar moving without a reload), then shows the outcome.
    await adminPage.goto(`${base}/admin/imports`);
    await snap(adminPage, 'admin-imports');
    const importYear = new Date().getFullYear() - 1;
    const importFile = path.join(artifacts, 'earlier-registrations.csv');
    const importRows = Array.from({ length: 15_000 }, (_, i) => importRow(importYear, i + 1));
    importRows[41] = importRow(importYear, 42, { contractAmount: '一百万' }); // one faulty row
    fs.writeFileSync(importFile, csvOf(importRows));
    await adminPage.setInputFiles('#f-file', importFile);
    await Promise.all([adminPage.waitForURL(/\/admin\/imports\/[0-9a-f]{24}$/), adminPage.click('form[action^="/admin/imports"] button[type=submit]')]);
    // Mid-import: some rows processed, not all.
    await adminPage.waitForFunction(() => {
      const n = (k: string) => Number(document.querySelector(`[data-import="${k}"]`)?.textContent?.replace(/,/g, ''));
      return n('processed') > 0 && n('processed') < n('total');
    }, undefined, { timeout: 60_000, polling: 100 });
    const bar = await adminPage.$eval('[data-import="bar"]', (el) => ({ value: (el as HTMLProgressElement).value, max: (el as HTMLProgressElement).max }));
    expect(bar.value).toBeGreaterThan(0);
    expect(bar.value).toBeLessThan(bar.max);
    await snap(adminPage, 'import-running');
    // The page reloads itself once the import is over, with the rejected rows.
    await adminPage.waitForSelector('#errors-title', { timeout: 120_000 });
    expect(await adminPage.textContent('main')).toContain('已完成');
    expect(await adminPage.textContent('[data-import="imported"]')).toBe('14,999');
    expect(await adminPage.textContent('[data-import="rejected"]')).toBe('1');
    expect(await adminPage.textContent('main')).toContain('请输入金额');
    await snap(adminPage, 'import-done');

    // 10. Every page above again, in English: no Chinese in the interface, and axe-clean too.
    const switched = new Set<BrowserContext>();
    for (const { page, url, name } of [...shots]) {
      if (!switched.has(page.context())) {
        await page.goto(`${base}/lang/en?next=/`);
        switched.add(page.context());
      }
      await page.goto(url);
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      await snap(page, `${name}-en`);
    }

    // Every page shot above, in both languages, checked by axe-core (WCAG 2.1 A/AA and best practice).
    expect(accessibility).toEqual([]);
  }, 480_000);
});

/** Files a complete contract through the form (with its PDF) and submits it; returns its id. */
async function fileThroughForm(page: Page, email: string, amount: string): Promise<string> {
  await page.goto(`${base}/contracts`);
  await Promise.all([page.waitForURL('**/contracts/new'), page.click('a:has-text("新建合同登记")')]);
  // Filled, the PDF chosen and submitted in one post: the first save creates the draft.
  await fillFiling(page, uniqueTitle(), amount, email);
  await page.setInputFiles('#f-file', path.join(artifacts, 'signed-contract.pdf'));
  await page.check('#f-declaration');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("提交登记")')]);
  expect(await page.textContent('main')).toContain('已提交');
  return page.url().split('/').pop()!;
}
