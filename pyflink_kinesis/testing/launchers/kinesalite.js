// kinesalite as pyflink_kinesis runs it (tests, `pyflink-kinesis local-kinesis`, docker compose):
//   node kinesalite.js <kinesalite's index.js> <host> <port> <createStreamMs> <deleteStreamMs>
//        <updateStreamMs> <shardLimit> [watch-stdin]
// The kinesalite CLI cannot choose the listen address (it listens on every interface), so this
// loads its package and listens on <host> itself, after patching two of its bugs (below). With
// watch-stdin it exits when its stdin closes, i.e. when the Python process that started it has
// gone; it always exits on SIGTERM and SIGINT.
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
const server = require(indexJs)({
  createStreamMs: Number(createMs),
  deleteStreamMs: Number(deleteMs),
  updateStreamMs: Number(updateMs),
  shardLimit: Number(shardLimit),
});
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
