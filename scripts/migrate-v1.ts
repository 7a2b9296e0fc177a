/**
 * Moves a data/ folder written by the earlier embedded database (FerretDB v1 on SQLite, in
 * data/ferretdb) into the current one (FerretDB v2 on PostgreSQL + DocumentDB).
 *
 * The old files can only be read by the FerretDB v1 that wrote them, so it is started on a
 * free loopback port against the old folder and everything is copied over the wire: every
 * database but admin/config/local, every collection (GridFS buckets are plain collections),
 * every index. Copying tolerates documents that are already there, so an interrupted
 * migration simply runs again. Then each collection is checked on both sides: the number of
 * documents and a checksum of their exact content (types included), and the turnover is
 * recounted from the ledger. Only when everything matches is data/ferretdb renamed out of the
 * way; otherwise it stays untouched and the start stops with what differed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BSON, MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import { decodeFact } from '../src/domain/tally';
import { formatYuanGrouped } from '../src/domain/money';
import { freePort, logStream, projectRoot, stopper, waitUntilListening, type ManagedService } from './local-services';

export function ferretV1Binary(): string {
  return process.env.FERRETDB_V1_BIN || path.join(projectRoot(), '.tools', 'bin', 'ferretdb-v1');
}

/** True when `<dataDir>/ferretdb/sqlite` holds a FerretDB v1 database (one `<db>.sqlite` file per database). */
export function hasFerretV1Data(dataDir: string): boolean {
  try {
    return fs.readdirSync(path.join(dataDir, 'ferretdb', 'sqlite')).some((f) => f.endsWith('.sqlite'));
  } catch {
    return false;
  }
}

export interface FerretV1Options {
  /** The folder holding `sqlite/` (the data) and `state/`, i.e. data/ferretdb. Created when missing. */
  dir: string;
  port?: number;
  logFile?: string;
}

/** Starts FerretDB v1 on its SQLite folder, as the app used to run it (no authentication, loopback only). */
export async function startFerretV1(opts: FerretV1Options): Promise<ManagedService> {
  const bin = ferretV1Binary();
  if (!fs.existsSync(bin)) {
    throw new Error(`reading FerretDB v1 data needs ${bin}, which is missing: run "bash scripts/ensure-deps.sh" (with Go installed) to build it`);
  }
  const sqliteDir = path.join(opts.dir, 'sqlite');
  const stateDir = path.join(opts.dir, 'state');
  fs.mkdirSync(sqliteDir, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const out = logStream(opts.logFile);
  const child = spawn(
    bin,
    [
      '--handler=sqlite',
      // v1 wants a file: URI naming a directory, ending with "/".
      `--sqlite-url=file:${sqliteDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--debug-addr=-',
      `--state-dir=${stateDir}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', out, out] },
  );
  // The child has its own copy of the log descriptor.
  if (typeof out === 'number') fs.closeSync(out);
  try {
    await waitUntilListening(child, 'FerretDB v1', port, 30_000);
  } catch (err) {
    const where = opts.logFile ? ` (see ${opts.logFile})` : '';
    throw new Error(`${(err as Error).message}${where}`);
  }
  return { name: 'ferretdb-v1', port, url: `mongodb://127.0.0.1:${port}/`, child, stop: stopper(child) };
}

export interface MigrateOptions {
  dataDir: string;
  /** The new database, with credentials: never printed. */
  targetUri: string;
  say: (msg: string) => void;
  /** Which target database a source database goes to (identity by default; tests map to throw-away names). */
  targetDbFor?: (sourceDb: string) => string;
}

const SKIP_DATABASES = new Set(['admin', 'config', 'local']);
/** Documents per insert; a batch is also cut at BATCH_BYTES so GridFS chunks (255 KB each) stay small messages. */
const BATCH_DOCS = 500;
const BATCH_BYTES = 8 * 1024 * 1024;
/** A line now and then, so a large collection (FerretDB v1 reads some 5,000 documents/s) does not look stuck. */
const PROGRESS_EVERY = 100_000;
/** The turnover ledger (model TallyEntry): recounted on both sides as the figure users see. */
const LEDGER_COLLECTION = 'tallyentries';

/**
 * Read documents exactly as stored: Int32/Int64/Double stay distinct types (a promoted JS
 * number would be written back as Int32 or Double depending on its value), regexes and
 * binaries stay BSON values. Used for both the copy and the checksums.
 */
const EXACT = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

const n = (x: number) => x.toLocaleString('en-US');
const num = (v: unknown) => Number((v as { valueOf(): unknown }).valueOf());

/**
 * A checksum of a collection's content that does not depend on the order documents come back
 * in: the sum (mod 2^256) of every document's sha256 over its exact BSON (types, field order
 * and values; as strict as canonical Extended JSON and twice as fast). The two servers need
 * not sort mixed `_id` types the same way, and neither side needs a sort.
 */
class ContentDigest {
  private sum = 0n;
  private static readonly MOD = 1n << 256n;
  count = 0;
  /** Per year: [entries, signed contract fen], when this is the turnover ledger. */
  readonly ledger = new Map<number, [number, number]>();

  constructor(private readonly isLedger: boolean) {}

  /** Adds a document; returns its BSON size. */
  add(doc: Document): number {
    // `_id` first: servers move it to the front on insert, and its place is not content.
    const { _id, ...rest } = doc;
    const bytes = BSON.serialize({ _id, ...rest });
    const h = createHash('sha256').update(bytes).digest('hex');
    this.sum = (this.sum + BigInt('0x' + h)) % ContentDigest.MOD;
    this.count += 1;
    if (this.isLedger) {
      // The same recount the turnover reconciliation does: each entry adds (s = 1) or takes
      // back (s = -1) its registration's contract amount in its CST year. An entry that does
      // not decode is left to the checksum rather than stopping the migration here.
      let fact: ReturnType<typeof decodeFact> | null = null;
      try {
        fact = typeof doc.f === 'string' ? decodeFact(doc.f) : null;
      } catch {
        fact = null;
      }
      if (fact) {
        const cur = this.ledger.get(fact.year) ?? [0, 0];
        this.ledger.set(fact.year, [cur[0] + 1, cur[1] + num(doc.s) * fact.contractFen]);
      }
    }
    return bytes.length;
  }

  get value(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

function isDuplicateOnly(err: unknown): err is MongoBulkWriteError {
  if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) return false;
  const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  return errors.length > 0 && errors.every((e) => e.code === 11000);
}

/** Inserts a batch; documents already on the target (a previous, interrupted run) are skipped. */
async function insertTolerant(dst: Collection, batch: Document[]): Promise<number> {
  try {
    return (await dst.insertMany(batch, { ordered: false })).insertedCount;
  } catch (err) {
    if (isDuplicateOnly(err)) return err.insertedCount;
    throw err;
  }
}

/** Copies every document, and digests the source side on the way. */
async function copyDocuments(src: Collection, dst: Collection, isLedger: boolean, progress: (copied: number) => void): Promise<{ digest: ContentDigest; inserted: number }> {
  const digest = new ContentDigest(isLedger);
  let inserted = 0;
  let batch: Document[] = [];
  let bytes = 0;
  // One insert stays in flight while the next batch is read: reading FerretDB v1 is the slow side.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    await inFlight;
    const docs = batch;
    inFlight = insertTolerant(dst, docs).then((k) => void (inserted += k));
    // Not an unhandled rejection meanwhile: a failure is thrown where it is awaited next.
    inFlight.catch(() => undefined);
    batch = [];
    bytes = 0;
  };
  for await (const doc of src.find({}, { ...EXACT, batchSize: BATCH_DOCS })) {
    bytes += digest.add(doc);
    batch.push(doc);
    if (batch.length >= BATCH_DOCS || bytes >= BATCH_BYTES) await flush();
    if (digest.count % PROGRESS_EVERY === 0) progress(digest.count);
  }
  if (batch.length) await flush();
  await inFlight;
  return { digest, inserted };
}

async function digestOf(coll: Collection, isLedger: boolean): Promise<ContentDigest> {
  const digest = new ContentDigest(isLedger);
  for await (const doc of coll.find({}, EXACT)) digest.add(doc);
  return digest;
}

const INDEX_EXISTS_CODES = new Set([
  68, // IndexAlreadyExists
  85, // IndexOptionsConflict (also: the same key under another name)
  86, // IndexKeySpecsConflict (the same name, another key)
]);

const keyText = (key: Document) => JSON.stringify(Object.entries(key).map(([f, d]) => [f, typeof d === 'string' ? d : num(d)]));

/** Re-creates the source's indexes (its `_id_` exists by itself); returns the names to check for. */
async function copyIndexes(src: Collection, dstDb: Db, dst: Collection, label: string, say: (m: string) => void): Promise<Document[]> {
  const indexes = (await src.listIndexes().toArray()).filter((ix) => ix.name !== '_id_');
  for (const ix of indexes) {
    // Everything the source reports is kept (unique, sparse, partialFilterExpression,
    // expireAfterSeconds, ...) except what describes the source itself. FerretDB v1 reports
    // only key, name and unique: it accepted `sparse` without keeping it and refused partial
    // and TTL indexes, so those cannot have existed there.
    const { v: _v, ns: _ns, background: _bg, ...spec } = ix;
    try {
      await dstDb.command({ createIndexes: dst.collectionName, indexes: [spec] });
    } catch (err) {
      if (!(err instanceof MongoServerError) || !INDEX_EXISTS_CODES.has(Number(err.code))) throw err;
      say(`${label}: index ${ix.name} already exists on the new database in another form; kept that one`);
    }
  }
  return indexes;
}

interface CollectionPlan {
  srcDb: string;
  dstDb: string;
  name: string;
  options: Document;
}

interface CollectionResult {
  label: string;
  problems: string[];
}

/**
 * Copies one collection, then compares it on both sides. Returns what differs (nothing when
 * it matches) and says what was compared, with numbers.
 */
async function migrateCollection(
  source: MongoClient,
  target: MongoClient,
  plan: CollectionPlan,
  say: (m: string) => void,
  stats: { docs: number; copyMs: number },
): Promise<CollectionResult> {
  const label = `${plan.srcDb}.${plan.name}` + (plan.dstDb !== plan.srcDb ? ` (to ${plan.dstDb})` : '');
  const src = source.db(plan.srcDb).collection(plan.name);
  const dstDb = target.db(plan.dstDb);
  const dst = dstDb.collection(plan.name);
  const isLedger = plan.name === LEDGER_COLLECTION;

  // Created explicitly so empty collections (and capped ones, with their limits) exist too.
  const { capped, size, max } = plan.options;
  const createOpts = capped ? { capped: true, size: num(size), ...(max ? { max: num(max) } : {}) } : {};
  await dstDb.createCollection(plan.name, createOpts).catch((err: unknown) => {
    if (!(err instanceof MongoServerError) || err.codeName !== 'NamespaceExists') throw err;
  });

  // FerretDB v1 counts by reading every document: done alongside the copy rather than after it.
  const srcCounted = src.countDocuments({});
  srcCounted.catch(() => undefined);
  const t0 = Date.now();
  const { digest: srcDigest, inserted } = await copyDocuments(src, dst, isLedger, (k) => say(`${label}: ${n(k)} documents copied so far`));
  stats.copyMs += Date.now() - t0;
  stats.docs += srcDigest.count;
  // Built after the copy: one index build is faster than maintaining it per insert.
  const indexes = await copyIndexes(src, dstDb, dst, label, say);

  const problems: string[] = [];
  const [srcCount, dstCount] = await Promise.all([srcCounted, dst.countDocuments({})]);
  // A cursor that stopped early on the old server would otherwise go unnoticed.
  if (srcDigest.count !== srcCount) problems.push(`the old database counts ${n(srcCount)} documents but returned ${n(srcDigest.count)}`);
  if (dstCount !== srcCount) problems.push(`${n(dstCount)} documents on the new database, ${n(srcCount)} on the old`);
  const dstDigest = await digestOf(dst, isLedger);
  if (dstDigest.value !== srcDigest.value) problems.push('the documents\' content differs (checksum)');

  const dstIndexes = await dst.listIndexes().toArray();
  const missing = indexes.filter((ix) => !dstIndexes.some((t) => keyText(t.key) === keyText(ix.key) && Boolean(t.unique) === Boolean(ix.unique)));
  if (missing.length) problems.push(`index${missing.length > 1 ? 'es' : ''} missing on the new database: ${missing.map((ix) => ix.name).join(', ')}`);

  const skipped = srcDigest.count - inserted;
  const again = skipped > 0 ? ` (${n(skipped)} ${skipped === 1 ? 'was' : 'were'} already there)` : '';
  const idx = indexes.length ? `, ${indexes.length} index${indexes.length > 1 ? 'es' : ''}` : '';
  say(`${label}: ${n(srcCount)} document${srcCount === 1 ? '' : 's'}${idx}${again}, ${problems.length ? 'DIFFERS: ' + problems.join('; ') : 'count and checksum match'}`);

  if (isLedger) {
    const years = [...new Set([...srcDigest.ledger.keys(), ...dstDigest.ledger.keys()])].sort();
    for (const year of years) {
      const [entries, fen] = srcDigest.ledger.get(year) ?? [0, 0];
      const [dEntries, dFen] = dstDigest.ledger.get(year) ?? [0, 0];
      const same = entries === dEntries && fen === dFen;
      say(`  turnover ${year} recounted from the ledger: ¥${formatYuanGrouped(fen)} over ${n(entries)} entries on the old database` +
        (same ? ', the same on the new' : `, ¥${formatYuanGrouped(dFen)} over ${n(dEntries)} on the new: DIFFERS`));
      if (!same) problems.push(`the turnover of ${year} recounted from the ledger differs`);
    }
  }
  return { label, problems };
}

function renameAside(oldDir: string): string {
  let dest = path.join(path.dirname(oldDir), 'ferretdb-v1-migrated');
  if (fs.existsSync(dest)) dest += '-' + new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  fs.renameSync(oldDir, dest);
  return dest;
}

/**
 * Copies everything from the FerretDB v1 folder `<dataDir>/ferretdb` into the database at
 * `targetUri`, checks it, and only then moves the old folder aside. Throws (leaving the old
 * folder as it is) when anything differs.
 */
export async function migrateFromFerretV1(opts: MigrateOptions): Promise<void> {
  const { dataDir, targetUri, say } = opts;
  const targetDbFor = opts.targetDbFor ?? ((db: string) => db);
  const oldDir = path.join(dataDir, 'ferretdb');
  const logFile = path.join(dataDir, 'logs', 'ferretdb-v1-migration.log');
  say(`found data of the earlier database (FerretDB v1) in ${oldDir}: copying it into the new database`);

  const v1 = await startFerretV1({ dir: oldDir, logFile });
  const results: CollectionResult[] = [];
  const stats = { docs: 0, copyMs: 0 };
  const started = Date.now();
  let source: MongoClient | undefined;
  let target: MongoClient | undefined;
  try {
    // v1 has no sessions for retryable writes; nothing is written to it anyway.
    source = await MongoClient.connect(`mongodb://127.0.0.1:${v1.port}/?directConnection=true&retryWrites=false`, { serverSelectionTimeoutMS: 15_000 });
    target = await MongoClient.connect(targetUri, { serverSelectionTimeoutMS: 15_000 });

    const plans: CollectionPlan[] = [];
    const { databases } = await source.db('admin').admin().listDatabases();
    for (const { name: srcDb } of databases) {
      if (SKIP_DATABASES.has(srcDb)) continue;
      const colls = await source.db(srcDb).listCollections().toArray();
      for (const c of colls) {
        if (c.type && c.type !== 'collection') continue; // views (which v1 never had) are not data
        if (c.name.startsWith('system.')) continue;
        plans.push({ srcDb, dstDb: targetDbFor(srcDb), name: c.name, options: (c as Document).options ?? {} });
      }
    }
    plans.sort((a, b) => (a.srcDb + '.' + a.name).localeCompare(b.srcDb + '.' + b.name));
    say(`${plans.length} collection${plans.length === 1 ? '' : 's'} in ${new Set(plans.map((p) => p.srcDb)).size} database(s) to copy`);

    for (const plan of plans) results.push(await migrateCollection(source, target, plan, say, stats));
  } finally {
    await source?.close().catch(() => undefined);
    await target?.close().catch(() => undefined);
    await v1.stop();
  }

  const secs = (ms: number) => (ms / 1000).toFixed(1);
  const rate = stats.copyMs > 0 ? Math.round((stats.docs * 1000) / stats.copyMs) : stats.docs;
  say(`copied ${n(stats.docs)} documents in ${secs(stats.copyMs)} s (${n(rate)} documents/s); copy and checks took ${secs(Date.now() - started)} s`);

  const failed = results.filter((r) => r.problems.length);
  if (failed.length) {
    const what = failed.map((r) => `${r.label}: ${r.problems.join('; ')}`).join(' | ');
    throw new Error(`the copy of the earlier database does not match, so ${oldDir} was left as it is (the log is in ${logFile}): ${what}`);
  }

  const dest = renameAside(oldDir);
  say(`all ${results.length} collections match; the old data is now in ${dest}: delete that folder once you are satisfied the registry has everything`);
}
