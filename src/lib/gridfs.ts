/** GridFS buckets of the current connection, by name (signed PDFs and certificates, import files). */
import mongoose from 'mongoose';

type Bucket = InstanceType<typeof mongoose.mongo.GridFSBucket>;

// One bucket per connection and name: a new bucket checks GridFS's indexes (a query) on its first upload.
const buckets = new WeakMap<object, Map<string, Bucket>>();

export function gridBucket(name: string): Bucket {
  const db = mongoose.connection.db;
  if (!db) throw new Error('database not connected');
  let byName = buckets.get(db);
  if (!byName) buckets.set(db, (byName = new Map()));
  let b = byName.get(name);
  if (!b) byName.set(name, (b = new mongoose.mongo.GridFSBucket(db, { bucketName: name })));
  return b;
}
