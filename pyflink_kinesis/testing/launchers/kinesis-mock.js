// kinesis-mock (npm kinesis-local) as pyflink_kinesis runs it, from the package directory with
// its settings in the environment:
//   node kinesis-mock.js <kinesis-local's main.js> <host> [watch-stdin]
// kinesis-mock listens on every interface and has no setting for it; it calls
// `listen(port, callback)` on Node's net.Server for both of its ports, so the host is added to
// those calls before it is loaded. It exits with the original `process.exit`: kinesis-mock
// (cats-effect) replaces it with one that first shuts the HTTP servers down gracefully, which
// waits up to 30 s for idle keep-alive clients. watch-stdin and signals as in kinesalite.js.
'use strict';
const [mainArg, host, watch] = process.argv.slice(2);
const mainJs = require('path').resolve(mainArg);  // a relative name would be a package's
const exit = process.exit.bind(process);
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] === 'string') args[1] = host; else args.splice(1, 0, host);
  } else if (args[0] !== null && typeof args[0] === 'object' && 'port' in args[0]) {
    args[0] = Object.assign({}, args[0], {host: host});
  }
  this.once('listening', () => {
    const addr = this.address();
    console.log('Listening at ' + addr.address + ':' + addr.port);
  });
  return listen.apply(this, args);
};
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => exit(0));
if (watch === 'watch-stdin') {
  process.stdin.on('end', () => exit(0));
  process.stdin.on('error', () => exit(0));
  process.stdin.resume();
}
require(mainJs);
