/**
 * Moving a data/ folder of the earlier embedded database (FerretDB v1 on SQLite) into the
 * suite's FerretDB v2: with the real v1 binary, realistic data (several collections, unique
 * and compound indexes, a GridFS file), exact types and content on arrival, the old folder
 * moved aside only when everything matches, and a run that failed its checks leaving it alone.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BSON, Double, GridFSBucket, Int32, Long, MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { ferretV1Binary, hasFerretV1Data, migrateFromFerretV1, startFerretV1 } from '../../scripts/migrate-v1';
import { mongoUriFor } from '../../scripts/local-services';
import { uniqueName } from '../support/harness';

jest.setTimeout(180_000);

const SOURCE_DB = 'registry';

/** What the driver reads back for a document it wrote (numbers promoted the same way). */
const roundTrip = (doc: Document) => BSON.deserialize(BSON.serialize(doc));

function contracts(count: number): Document[] {
  const statuses = ['draft', 'submitted', 'registered', 'revoked'];
  return Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    title: `技术开发合同 ${i} — “智能制造” line ${i}`,
    status: statuses[i % statuses.length],
    contractAmountFen: 100_000 * (i + 1), // Int32
    technicalAmountFen: 3_000_000_000 + i, // beyond Int32: stored as a double
    bigFen: Long.fromString(`${9_000_000_000_000 + i}`),
    ratio: new Double(i % 3 === 0 ? 2 : 0.25 * i), // an integral double stays a double
    registeredAt: i % 4 === 2 ? new Date(Date.UTC(2024, i % 12, 1 + (i % 27), 3, 4, 5, 6)) : null,
    seller: { name: `卖方 ${i}`, nature: i % 2 ? 'enterprise' : 'university', regionCode: '440300' },
    buyers: [{ name: `Buyer ${i}`, regionCode: i % 5 ? '440300' : '110000' }, { name: 'Second', regionCode: null }],
    tags: i % 7 ? ['ai', 'robotics'] : [],
    flags: { large: i % 50 === 0, checked: true },
    digest: new BSON.Binary(Buffer.from(`digest-${i}`)),
  }));
}

function users(count: number): Document[] {
  return Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    email: `user${i}@bureau.test`,
    name: `用户${i}`,
    roles: i % 10 ? ['applicant'] : ['reviewer', 'admin'],
    createdAt: new Date(Date.UTC(2023, 5, 1) + i * 60_000),
  }));
}

/** Ledger entries like turnover.service writes them: "<year>-<seq>", event key, sign, encoded fact. */
function ledger(count: number): Document[] {
  return Array.from({ length: count }, (_, i) => {
    const year = i % 3 ? 2024 : 2025;
    const fen = 1_000_000 + i * 37;
    return {
      _id: `${year}-${String(i + 1).padStart(9, '0')}`,
      e: `${i % 9 === 8 ? 'revoked' : 'registered'}:c${i}`,
      s: i % 9 === 8 ? -1 : 1,
      f: [year, '03', fen, fen / 2, 'tech-dev', 'ai', 'enterprise', 'patent', 'none', 'unknown', 0, 1].join('|'),
    };
  });
}

interface V1Fixture {
  dataDir: string;
  written: Record<string, Document[]>;
  fileBytes: Buffer;
  fileId: ObjectId;
}

/** Writes a v1 folder the way the earlier app left it: data/ferretdb/{sqlite,state}. */
async function makeV1Folder(sizes = { contracts: 600, users: 300, ledger: 450 }): Promise<V1Fixture> {
  const dataDir = path.join(process.env.TEST_TMP_DIR!, uniqueName('migrate-v1-'));
  const v1 = await startFerretV1({ dir: path.join(dataDir, 'ferretdb'), logFile: path.join(dataDir, 'logs', 'ferretdb-v1-fixture.log') });
  const client = await MongoClient.connect(`mongodb://127.0.0.1:${v1.port}/?directConnection=true&retryWrites=false`);
  try {
    const db = client.db(SOURCE_DB);
    const written: Record<string, Document[]> = {
      contracts: contracts(sizes.contracts),
      users: users(sizes.users),
      tallyentries: ledger(sizes.ledger),
      yeartallies: [
        { _id: 'turnover-2024', year: 2024, version: 7, appliedSeq: 300, tally: { year: 2024, totals: { count: 300, contractFen: 123_456_789, technicalFen: 5 } }, updatedAt: new Date() },
        { _id: 'turnover-2025', year: 2025, version: 1, appliedSeq: 150, tally: { year: 2025, totals: { count: 0, contractFen: 0, technicalFen: 0 } }, updatedAt: new Date() },
      ],
    };
    for (const [name, docs] of Object.entries(written)) await db.collection(name).insertMany(docs.map((d) => ({ ...d })));
    await db.collection('users').createIndex({ email: 1 }, { unique: true });
    await db.collection('contracts').createIndex({ status: 1, registeredAt: -1 }, { name: 'status_registeredAt' });
    await db.collection('tallyentries').createIndex({ e: 1 }, { unique: true });
    await db.createCollection('notifications'); // empty, but the app expects it to exist

    const fileBytes = randomBytes(300 * 1024 + 123);
    const bucket = new GridFSBucket(db);
    const upload = bucket.openUploadStream('合同附件.pdf', { metadata: { contractId: written.contracts[0]._id } });
    await new Promise<void>((resolve, reject) => upload.once('finish', () => resolve()).once('error', reject).end(fileBytes));

    // Another database: everything but admin/config/local moves.
    await client.db('archive').collection<{ _id: number; name: string }>('old_exports').insertMany([{ _id: 1, name: 'a' }, { _id: 2, name: 'b' }]);
    return { dataDir, written, fileBytes, fileId: upload.id as ObjectId };
  } finally {
    await client.close();
    await v1.stop();
  }
}

async function readAll(db: Db, name: string): Promise<Document[]> {
  return db.collection(name).find().sort({ _id: 1 }).toArray();
}

describe('migrating a FerretDB v1 data folder', () => {
  let target: MongoClient;
  const targetDbs: string[] = [];
  const mapper = () => {
    const prefix = uniqueName('mig');
    return (db: string) => {
      const name = `${prefix}_${db}`;
      if (!targetDbs.includes(name)) targetDbs.push(name);
      return name;
    };
  };

  beforeAll(async () => {
    // Not skipped when the binary is missing: this test is how we know old data still moves.
    if (!fs.existsSync(ferretV1Binary())) {
      throw new Error(`${ferretV1Binary()} is missing: run "bash scripts/ensure-deps.sh --test" to build FerretDB v1`);
    }
    target = await MongoClient.connect(mongoUriFor(process.env.TEST_MONGO_URL!, 'admin'));
  });
  afterAll(async () => {
    for (const name of targetDbs) await target.db(name).dropDatabase().catch(() => undefined);
    await target?.close();
  });

  it('copies documents, GridFS files and indexes exactly, checks them, and moves the old folder aside', async () => {
    const fx = await makeV1Folder();
    expect(hasFerretV1Data(fx.dataDir)).toBe(true);
    const dbFor = mapper();
    const said: string[] = [];
    const targetUri = mongoUriFor(process.env.TEST_MONGO_URL!, 'registry');
    const t0 = Date.now();
    await migrateFromFerretV1({ dataDir: fx.dataDir, targetUri, say: (m) => said.push(m), targetDbFor: dbFor });
    const ms = Date.now() - t0;
    process.stdout.write(`migration said:\n  ${said.join('\n  ')}\n(total ${ms} ms)\n`);

    const db = target.db(dbFor(SOURCE_DB));
    // Every document arrived as written.
    for (const [name, docs] of Object.entries(fx.written)) {
      const got = await readAll(db, name);
      expect(got).toHaveLength(docs.length);
      const byId = new Map(got.map((d) => [String(d._id), d]));
      for (const i of [0, 1, 17, Math.floor(docs.length / 2), docs.length - 1].filter((i) => i < docs.length)) {
        expect(byId.get(String(docs[i]._id))).toEqual(roundTrip(docs[i]));
      }
    }
    // Numeric types were not changed by the trip (Int32 / Int64 / Double).
    const exact = await db.collection('contracts').findOne({ _id: fx.written.contracts[3]._id }, { promoteValues: false });
    expect(exact!.contractAmountFen).toBeInstanceOf(Int32);
    expect(exact!.technicalAmountFen).toBeInstanceOf(Double);
    expect(exact!.bigFen).toBeInstanceOf(Long);
    expect(String(exact!.bigFen)).toBe('9000000000003');
    expect(exact!.ratio).toBeInstanceOf(Double);

    // The GridFS file reads back byte for byte.
    const chunks: Buffer[] = [];
    for await (const c of new GridFSBucket(db).openDownloadStream(fx.fileId)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(fx.fileBytes)).toBe(true);
    const file = await db.collection('fs.files').findOne({ _id: fx.fileId });
    expect(file).toMatchObject({ filename: '合同附件.pdf', length: fx.fileBytes.length, metadata: { contractId: fx.written.contracts[0]._id } });

    // Indexes exist, and the unique ones still refuse duplicates.
    const names = async (c: string) => (await db.collection(c).listIndexes().toArray()).map((ix) => ix.name).sort();
    expect(await names('users')).toEqual(['_id_', 'email_1']);
    expect(await names('contracts')).toEqual(['_id_', 'status_registeredAt']);
    expect(await names('tallyentries')).toEqual(['_id_', 'e_1']);
    expect(await names('fs.chunks')).toContain('files_id_1_n_1');
    const emailIx = (await db.collection('users').listIndexes().toArray()).find((ix) => ix.name === 'email_1');
    expect(emailIx).toMatchObject({ key: { email: 1 }, unique: true });
    const contractIx = (await db.collection('contracts').listIndexes().toArray()).find((ix) => ix.name === 'status_registeredAt');
    expect(contractIx!.key).toEqual({ status: 1, registeredAt: -1 });
    await expect(db.collection('users').insertOne({ email: 'user5@bureau.test' })).rejects.toMatchObject({ code: 11000 });
    await expect(db.collection('tallyentries').insertOne({ _id: 'x' as never, e: 'registered:c0', s: 1, f: '' })).rejects.toMatchObject({ code: 11000 });

    // Empty collections and other databases came along.
    expect((await db.listCollections({ name: 'notifications' }).toArray()).length).toBe(1);
    expect(await target.db(dbFor('archive')).collection('old_exports').countDocuments()).toBe(2);

    // What was compared was said, with numbers; the turnover recount is among it.
    expect(said).toContainEqual(expect.stringMatching(/^registry\.contracts .*: 600 documents, 1 index, count and checksum match$/));
    expect(said).toContainEqual(expect.stringMatching(/turnover 2024 recounted from the ledger: ¥[\d,.]+ over 300 entries on the old database, the same on the new/));
    expect(said.join('\n')).not.toContain(targetUri);

    // The old folder was moved aside, so the next start does not migrate again.
    expect(fs.existsSync(path.join(fx.dataDir, 'ferretdb'))).toBe(false);
    expect(fs.existsSync(path.join(fx.dataDir, 'ferretdb-v1-migrated', 'sqlite', 'registry.sqlite'))).toBe(true);
    expect(hasFerretV1Data(fx.dataDir)).toBe(false);
    expect(fs.existsSync(path.join(fx.dataDir, 'logs', 'ferretdb-v1-migration.log'))).toBe(true);
  });

  it('leaves the old folder alone when a check fails, and succeeds when run again after the cause is gone', async () => {
    const fx = await makeV1Folder({ contracts: 120, users: 40, ledger: 60 });
    const dbFor = mapper();
    const targetUri = mongoUriFor(process.env.TEST_MONGO_URL!, 'registry');
    // The new database already holds a contract the old one does not have, and a user under
    // an old user's _id with other content (which the copy skips as a duplicate).
    const stray = { _id: new ObjectId(), title: 'not from the old database', status: 'draft' };
    await target.db(dbFor(SOURCE_DB)).collection('contracts').insertOne(stray);
    const changed: Document = { ...fx.written.users[7], name: 'someone else' };
    await target.db(dbFor(SOURCE_DB)).collection('users').insertOne(changed);

    const said: string[] = [];
    const err = await migrateFromFerretV1({ dataDir: fx.dataDir, targetUri, say: (m) => said.push(m), targetDbFor: dbFor }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/registry\.contracts.*121 documents on the new database, 120 on the old/);
    expect((err as Error).message).toMatch(/registry\.users.*content differs \(checksum\)/);
    expect((err as Error).message).not.toMatch(/registry\.tallyentries/);
    expect(said).toContainEqual(expect.stringMatching(/^registry\.users .*: 40 documents, 1 index \(1 was already there\), DIFFERS: the documents' content differs \(checksum\)$/));
    expect(said).toContainEqual(expect.stringMatching(/^registry\.tallyentries .*: 60 documents, 1 index, count and checksum match$/));
    expect(fs.existsSync(path.join(fx.dataDir, 'ferretdb', 'sqlite', 'registry.sqlite'))).toBe(true);
    expect(fs.existsSync(path.join(fx.dataDir, 'ferretdb-v1-migrated'))).toBe(false);
    expect(hasFerretV1Data(fx.dataDir)).toBe(true);

    // Once the causes are gone, running again copies only what is missing and matches.
    await target.db(dbFor(SOURCE_DB)).collection('contracts').deleteOne({ _id: stray._id });
    await target.db(dbFor(SOURCE_DB)).collection('users').deleteOne({ _id: changed._id });
    const again: string[] = [];
    await migrateFromFerretV1({ dataDir: fx.dataDir, targetUri, say: (m) => again.push(m), targetDbFor: dbFor });
    expect(again).toContainEqual(expect.stringMatching(/^registry\.contracts .*: 120 documents, 1 index \(120 were already there\), count and checksum match$/));
    expect(again).toContainEqual(expect.stringMatching(/^registry\.users .*: 40 documents, 1 index \(39 were already there\), count and checksum match$/));
    expect(await target.db(dbFor(SOURCE_DB)).collection('users').findOne({ _id: changed._id })).toEqual(roundTrip(fx.written.users[7]));
    expect(hasFerretV1Data(fx.dataDir)).toBe(false);
    expect(fs.existsSync(path.join(fx.dataDir, 'ferretdb-v1-migrated'))).toBe(true);
  });
});
