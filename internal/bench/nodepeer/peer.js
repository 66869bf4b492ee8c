'use strict';
// The Node socket-ipc peer of "switchboard bench": a worker that speaks the
// harness's line protocol (see internal/bench/doc.go) and measures
// @crussell52/socket-ipc client -> server throughput with the real package.
//
//   node peer.js server sink ADDR
//   node peer.js client source ADDR SIZE DURATION_MS TOPIC
//
// NODE_PATH points at the node_modules that holds the package.

const {Server, Client} = require('@crussell52/socket-ipc');
const readline = require('readline');

const [role, mode, addr, sizeArg, durationArg, topicArg] = process.argv.slice(2);
const size = Number(sizeArg || 64);
const durationMs = Number(durationArg || 2000);
const topic = topicArg || 'bench.data';

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function nowNs() {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

const handlers = {go: () => {}, stop: () => process.exit(0)};
readline.createInterface({input: process.stdin}).on('line', (l) => {
  const h = handlers[l.trim()];
  if (h) h();
}).on('close', () => handlers.stop());

// payload is a string of size characters, the same text the Go side sends.
function payload() {
  let s = '';
  for (let i = 0; i < size; i++) s += String.fromCharCode(97 + ((i + 4) % 26));
  return s;
}

if (role === 'server' && mode === 'sink') {
  const server = new Server({socketFile: addr});
  let count = 0;
  let first = 0n, firstN = 0, last = 0n, lastN = 0, prev = 0;
  server.on('error', (err) => process.stderr.write(`server error: ${err}\n`));
  server.on(`message.${topic}`, () => { count++; });
  // Sample the count as the Go meters do: the rate is taken over the window
  // in which messages arrived.
  const timer = setInterval(() => {
    if (count > 0 && first === 0n) { first = nowNs(); firstN = count; }
    if (count > prev) { last = nowNs(); lastN = count; }
    prev = count;
  }, 2);
  server.on('listening', () => out({event: 'ready', addr}));
  handlers.stop = () => {
    clearInterval(timer);
    if (last > first) {
      out({event: 'result', count: lastN - firstN, first: Number(first), last: Number(last)});
    } else {
      out({event: 'result', count: 0});
    }
    server.close();
    process.exit(0);
  };
  server.listen();
} else if (role === 'client' && mode === 'source') {
  const client = new Client({socketFile: addr, retryDelay: 10});
  const msg = payload();
  let sent = 0;
  client.on('error', (err) => process.stderr.write(`client error: ${err}\n`));
  client.on('connect', () => out({event: 'ready'}));
  handlers.go = () => {
    const deadline = Date.now() + durationMs;
    const burst = () => {
      for (let i = 0; i < 256; i++) client.send(topic, msg);
      sent += 256;
      if (Date.now() >= deadline) {
        out({event: 'result', sent});
        return;
      }
      const sock = client._socket;
      if (sock && sock.writableLength > (1 << 20)) {
        sock.once('drain', burst);
      } else {
        setImmediate(burst);
      }
    };
    burst();
  };
  client.connect();
} else {
  process.stderr.write(`peer.js: unknown role/mode ${role}/${mode}\n`);
  process.exit(2);
}
