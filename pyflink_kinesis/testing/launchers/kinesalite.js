// kinesalite as pyflink_kinesis runs it (tests, `pyflink-kinesis local-kinesis`, docker compose):
//   node kinesalite.js <kinesalite's index.js> <host> <port> <createStreamMs> <deleteStreamMs>
//        <updateStreamMs> <shardLimit> [watch-stdin]
// The kinesalite CLI cannot choose the listen address (it listens on every interface), so this
// loads its package and listens on <host> itself, after patching two of its bugs (below). With
// watch-stdin it exits when its stdin closes, i.e. when the Python process that started it has
// gone; it always exits on SIGTERM and SIGINT.
//
// AWS's per-shard quotas (provisioned mode), off unless asked for: the environment variable
// PYFLINK_KINESIS_QUOTAS holds a JSON object of limits (`{}` = AWS's own, see AWS_QUOTAS), and
//   GET  /_pyflink_kinesis/quotas   answers {"quotas": {...} | null, "counters": {...}}
//   POST /_pyflink_kinesis/quotas   with such an object (or null: off) changes them at run time
// Each shard has four token buckets, each holding one second of its quota and starting full:
// PutRecord(s) records and bytes (a record's size is its data plus its partition key), GetRecords
// calls and bytes. A write entry goes through only if both write buckets hold enough; PutRecords
// stores the others (in their order) and fails the rest per entry with
// ProvisionedThroughputExceededException, PutRecord answers that with a 400. A GetRecords call
// needs a call token and a byte bucket not in debt; what it returns (at most 10 MiB, as Kinesis)
// is then taken from the byte bucket, which may go into debt, so a 10 MiB answer throttles the
// shard's reads for about 4 s at 2 MiB/s.
'use strict';
const [indexArg, host, port, createMs, deleteMs, updateMs, shardLimit, watch] = process.argv.slice(2);
const path = require('path');
const indexJs = path.resolve(indexArg);  // require() takes a relative name for a package's
// Two fixes to GetShardIterator AT_TIMESTAMP, which the Flink consumer also uses for LATEST:
// the AWS Java SDK v1 sends Timestamp in epoch milliseconds over JSON (kinesalite reads
// seconds), and kinesalite never answers when no record is at or after the time (Kinesis then
// returns an iterator at the shard's tip, as LATEST does).
const db = require(path.join(path.dirname(indexJs), 'db'));
const actionPath = require.resolve(path.join(path.dirname(indexJs), 'actions', 'getShardIterator'));
const getShardIterator = require(actionPath);
require.cache[actionPath].exports = function (store, data, cb) {
  if (data.ShardIteratorType !== 'AT_TIMESTAMP' || typeof data.Timestamp !== 'number') {
    return getShardIterator(store, data, cb);
  }
  if (data.Timestamp > 1e11) data.Timestamp = data.Timestamp / 1000;
  let shardIx;
  try { shardIx = db.resolveShardId(data.ShardId).shardIx; } catch (e) {
    return getShardIterator(store, data, cb);
  }
  let found = false;
  store.getStreamDb(data.StreamName)
    .createReadStream({gt: db.shardIxToHex(shardIx), lt: db.shardIxToHex(shardIx + 1)})
    .on('data', (item) => {
      found = found || item.value.ApproximateArrivalTimestamp >= data.Timestamp;
    })
    .on('error', () => getShardIterator(store, data, cb))
    .on('end', () => getShardIterator(store, found ? data
      : Object.assign({}, data, {ShardIteratorType: 'LATEST', Timestamp: undefined}), cb));
};
// ---------------------------------------------------------------- StreamARN
// Kinesis takes StreamARN in place of StreamName on every stream action (the FLIP-27
// KinesisStreamsSource sends only the ARN: ListShards, GetShardIterator, GetRecords);
// kinesalite knows StreamName only and drops StreamARN. Before its type checks, an ARN of this
// server's region and account becomes the StreamName; another account or region is a stream that
// does not exist here, a malformed ARN a ValidationException, an ARN naming another stream than
// StreamName an InvalidArgumentException, as Kinesis answers.
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):([0-9]{12}):stream\/([a-zA-Z0-9_.-]{1,128})$/;
const validations = require(path.join(path.dirname(indexJs), 'validations'));
const checkTypes = validations.checkTypes;
function clientError(type, message) {
  const err = db.clientError(type, message);
  err.body.message = message;
  return err;
}
validations.checkTypes = function (data, types) {
  if (types.StreamName && data && data.StreamARN != null) {
    const arn = data.StreamARN;
    const match = typeof arn === 'string' && STREAM_ARN.exec(arn);
    if (!match) {
      throw clientError('ValidationException', '1 validation error detected: Value \'' + arn +
        '\' at \'streamARN\' failed to satisfy constraint: Member must satisfy regular ' +
        'expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+');
    }
    const [, region, account, name] = match;
    const here = (process.env.AWS_ACCOUNT_ID || '0000-0000-0000').replace(/[^\d]/g, '');
    const hereRegion = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
    if (account !== here || region !== hereRegion) {
      throw clientError('ResourceNotFoundException', 'Stream ' + name + ' under account ' +
        account + ' not found.');
    }
    if (data.StreamName != null && data.StreamName !== name) {
      throw clientError('InvalidArgumentException', 'StreamARN ' + arn +
        ' and StreamName ' + data.StreamName + ' name different streams.');
    }
    data.StreamName = name;
  }
  return checkTypes(data, types);
};
// ---------------------------------------------------------------- AWS per-shard quotas
const crypto = require('crypto');
const BigNumber = require(require.resolve('bignumber.js', {paths: [path.dirname(indexJs)]}));
const MiB = 1024 * 1024;
const AWS_QUOTAS = {
  write_records_per_s: 1000, write_bytes_per_s: MiB, read_calls_per_s: 5, read_bytes_per_s: 2 * MiB,
};
const MAX_GET_RECORDS_BYTES = 10 * MiB;
const COUNTER_NAMES = ['write_requests', 'write_requests_throttled', 'write_records',
  'write_records_throttled', 'write_bytes', 'read_calls', 'read_calls_throttled', 'read_records',
  'read_bytes'];
let quotas = null;
let buckets = new Map();  // "<stream>/<shardId>" -> {writeRecords, writeBytes, readCalls, readBytes}
const counters = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0]));

// AWS_QUOTAS with the limits `value` names (each a positive number); null turns quotas off.
function parseQuotas(value) {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('quotas must be a JSON object or null, not ' + JSON.stringify(value));
  }
  const problems = Object.entries(value).map(([name, limit]) =>
    !(name in AWS_QUOTAS) ? 'unknown quota ' + JSON.stringify(name) + ' (known: ' +
      Object.keys(AWS_QUOTAS).join(', ') + ')'
    : !(typeof limit === 'number' && limit > 0) ? name + ' must be a positive number, not ' +
      JSON.stringify(limit) : null).filter(Boolean);
  if (problems.length) throw new Error(problems.join('; '));
  return Object.assign({}, AWS_QUOTAS, value);
}

function setQuotas(value) {
  quotas = parseQuotas(value);
  buckets = new Map();
}

// Tokens refill at `rate` per second up to one second's worth; take() may leave it in debt.
class Bucket {
  constructor(rate) { this.rate = rate; this.tokens = rate; this.at = performance.now(); }
  level() {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + this.rate * (now - this.at) / 1000);
    this.at = now;
    return this.tokens;
  }
  take(amount) { this.level(); this.tokens -= amount; }
}

function shardBuckets(streamName, shardId) {
  const key = streamName + '/' + shardId;
  if (!buckets.has(key)) {
    buckets.set(key, {
      writeRecords: new Bucket(quotas.write_records_per_s),
      writeBytes: new Bucket(quotas.write_bytes_per_s),
      readCalls: new Bucket(quotas.read_calls_per_s),
      readBytes: new Bucket(quotas.read_bytes_per_s),
    });
  }
  return buckets.get(key);
}

// Blob sizes as kinesalite holds them: base64 text (JSON), a Buffer (CBOR), or a stored Buffer.
function blobBytes(data) {
  if (typeof data === 'string') return Buffer.byteLength(data, 'base64');
  return Buffer.isBuffer(data) ? data.length : (data && data.data ? data.data.length : 0);
}

function recordBytes(record) {
  return blobBytes(record.Data) + Buffer.byteLength(record.PartitionKey || '', 'utf8');
}

// Takes one record of `bytes` from the shard's write buckets if both hold enough (a record
// larger than a whole bucket needs a full one); false when it is over quota.
function admitWrite(streamName, shardId, bytes) {
  const shard = shardBuckets(streamName, shardId);
  if (shard.writeRecords.level() < 1 ||
      shard.writeBytes.level() < Math.min(bytes, quotas.write_bytes_per_s)) return false;
  shard.writeRecords.take(1);
  shard.writeBytes.take(bytes);
  return true;
}

function rateExceeded(store, streamName, shardId) {
  return 'Rate exceeded for shard ' + shardId + ' in stream ' + streamName + ' under account ' +
    store.metaDb.awsAccountId + '.';
}

// The open shard kinesalite puts a record in (as its putRecord(s) do: the MD5 of the partition
// key, or the ExplicitHashKey, within an open shard's hash key range); null if there is none.
function shardOf(stream, record) {
  const hashKey = record.ExplicitHashKey != null ? new BigNumber(record.ExplicitHashKey)
    : db.partitionKeyToHashKey(record.PartitionKey);
  const shard = stream.Shards.find((s) => s.SequenceNumberRange.EndingSequenceNumber == null &&
    hashKey.comparedTo(s.HashKeyRange.StartingHashKey) >= 0 &&
    hashKey.comparedTo(s.HashKeyRange.EndingHashKey) <= 0);
  return shard ? shard.ShardId : null;
}

// Replaces kinesalite's action module `name` (before index.js loads it) with wrap(original).
function patchAction(name, wrap) {
  const actionFile = require.resolve(path.join(path.dirname(indexJs), 'actions', name));
  const original = require(actionFile);
  require.cache[actionFile].exports = wrap(original);
}

// The shards of a write request's records, or null when kinesalite itself should answer it
// (no such stream, not writable, a hash key outside every shard: its own errors).
function withShards(store, streamName, records, then, passThrough) {
  store.getStream(streamName, (err, stream) => {
    if (err || !['ACTIVE', 'UPDATING'].includes(stream.StreamStatus)) return passThrough();
    const shardIds = records.map((record) => shardOf(stream, record));
    if (shardIds.includes(null)) return passThrough();
    then(shardIds);
  });
}

patchAction('putRecords', (putRecords) => function (store, data, cb) {
  if (!quotas) return putRecords(store, data, cb);
  withShards(store, data.StreamName, data.Records, (shardIds) => {
    const sizes = data.Records.map(recordBytes);
    const admitted = shardIds.map((shardId, i) => admitWrite(data.StreamName, shardId, sizes[i]));
    const accepted = data.Records.filter((_, i) => admitted[i]);
    const throttled = data.Records.length - accepted.length;
    counters.write_requests++;
    counters.write_requests_throttled += throttled ? 1 : 0;
    counters.write_records += accepted.length;
    counters.write_records_throttled += throttled;
    counters.write_bytes += sizes.filter((_, i) => admitted[i]).reduce((a, b) => a + b, 0);
    const answer = (stored) => {
      let next = 0;
      cb(null, {
        FailedRecordCount: throttled,
        Records: shardIds.map((shardId, i) => admitted[i] ? stored[next++] : {
          ErrorCode: 'ProvisionedThroughputExceededException',
          ErrorMessage: rateExceeded(store, data.StreamName, shardId),
        }),
      });
    };
    if (!accepted.length) return answer([]);
    putRecords(store, Object.assign({}, data, {Records: accepted}), (err, result) => {
      if (err) return cb(err);
      answer(result.Records);
    });
  }, () => putRecords(store, data, cb));
});

patchAction('putRecord', (putRecord) => function (store, data, cb) {
  if (!quotas) return putRecord(store, data, cb);
  withShards(store, data.StreamName, [data], ([shardId]) => {
    const bytes = recordBytes(data);
    counters.write_requests++;
    if (!admitWrite(data.StreamName, shardId, bytes)) {
      counters.write_requests_throttled++;
      counters.write_records_throttled++;
      return cb(db.clientError('ProvisionedThroughputExceededException',
        rateExceeded(store, data.StreamName, shardId)));
    }
    counters.write_records++;
    counters.write_bytes += bytes;
    putRecord(store, data, cb);
  }, () => putRecord(store, data, cb));
});

// The stream and shard a kinesalite shard iterator points into (decoded as its getRecords.js
// does), or null when it is not one (kinesalite then answers with its own error).
function iteratorShard(iterator) {
  try {
    const decipher = crypto.createDecipheriv('aes-256-cbc', db.ITERATOR_PWD_KEY, db.ITERATOR_PWD_IV);
    const buffer = Buffer.from(iterator, 'base64');
    const pieces = Buffer.concat([decipher.update(buffer.slice(8)), decipher.final()])
      .toString('utf8').split('/');
    return pieces.length === 5 ? {streamName: pieces[1], shardId: pieces[2]} : null;
  } catch (e) {
    return null;
  }
}

patchAction('getRecords', (getRecords) => function (store, data, cb) {
  const where = quotas && iteratorShard(data.ShardIterator);
  if (!where) return getRecords(store, data, cb);
  const shard = shardBuckets(where.streamName, where.shardId);
  if (shard.readCalls.level() < 1 || shard.readBytes.level() < 0) {
    counters.read_calls_throttled++;
    return cb(db.clientError('ProvisionedThroughputExceededException',
      rateExceeded(store, where.streamName, where.shardId)));
  }
  shard.readCalls.take(1);
  // kinesalite reads `Limit` records before we cut the answer at 10 MiB: ask it for about as
  // many as fit, judging by the records this shard returned last (large records, many wasted).
  const limit = Math.min(data.Limit || 10000,
    shard.recordBytes ? Math.ceil(MAX_GET_RECORDS_BYTES / shard.recordBytes) + 1 : 10000);
  getRecords(store, Object.assign({}, data, {Limit: limit}), (err, result) => {
    if (err) return cb(err);
    let bytes = 0;
    let kept = 0;
    for (const record of result.Records) {
      const size = recordBytes(record);
      if (kept && bytes + size > MAX_GET_RECORDS_BYTES) break;
      bytes += size;
      kept++;
    }
    if (kept) shard.recordBytes = bytes / kept;
    if (kept < result.Records.length) {
      // Continue after the last record returned, as kinesalite's getRecords does.
      const last = result.Records[kept - 1].SequenceNumber;
      result.Records = result.Records.slice(0, kept);
      result.NextShardIterator = db.createShardIterator(
        where.streamName, where.shardId, db.incrementSequence(last));
    }
    shard.readBytes.take(bytes);
    counters.read_calls++;
    counters.read_records += kept;
    counters.read_bytes += bytes;
    cb(null, result);
  });
});

// GET/POST /_pyflink_kinesis/quotas; every other request goes to kinesalite.
function adminOr(kinesalite) {
  return function (req, res) {
    if (!req.url.startsWith('/_pyflink_kinesis/')) return kinesalite(req, res);
    const reply = (status, body) => {
      res.writeHead(status, {'Content-Type': 'application/json'});
      res.end(JSON.stringify(body));
    };
    if (req.url !== '/_pyflink_kinesis/quotas') return reply(404, {error: 'no such path ' + req.url});
    const state = () => ({quotas: quotas, counters: counters});
    if (req.method === 'GET') return reply(200, state());
    if (req.method !== 'POST') return reply(405, {error: 'GET or POST, not ' + req.method});
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        setQuotas(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        return reply(400, {error: e.message});
      }
      reply(200, state());
    });
  };
}

try {
  setQuotas(process.env.PYFLINK_KINESIS_QUOTAS ? JSON.parse(process.env.PYFLINK_KINESIS_QUOTAS) : null);
} catch (e) {
  console.error('PYFLINK_KINESIS_QUOTAS is not valid: ' + e.message);
  process.exit(2);
}

const server = require(indexJs)({
  createStreamMs: Number(createMs),
  deleteStreamMs: Number(deleteMs),
  updateStreamMs: Number(updateMs),
  shardLimit: Number(shardLimit),
});
const [kinesaliteHandler] = server.listeners('request');
server.removeAllListeners('request');
server.on('request', adminOr(kinesaliteHandler));
server.on('error', (err) => {
  console.error('kinesalite could not listen on ' + host + ':' + port + ': ' +
    ((err && err.code) || '') + ' ' + err);
  process.exit(3);
});
server.listen(Number(port), host, () => {
  const addr = server.address();
  console.log('Listening at http://' + addr.address + ':' + addr.port);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
if (watch === 'watch-stdin') {
  // Started by Python with a pipe: exit when it closes (the Python process has gone).
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
