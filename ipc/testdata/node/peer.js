// peer.js drives a real @crussell52/socket-ipc Server or Client for
// switchboard's interop tests (ipc/interop_test.go).
//
//   node peer.js server SOCKET
//   node peer.js client SOCKET [OPTIONS_JSON]
//
// OPTIONS_JSON holds Client options (retryDelay, reconnectDelay) and "topics":
// topics to listen for with the 'message.TOPIC' event.
//
// The peer reads commands, one JSON object per line, on stdin and reports
// every event of the library as one JSON object per line on stdout:
//
//   {"event":"listening"}                       server
//   {"event":"connection","clientId":ID}        server
//   {"event":"socketClose","clientId":ID}       server: that client's socket closed
//   {"event":"connect"} {"event":"reconnect"}   client
//   {"event":"connectError"} {"event":"disconnect"}
//   {"event":"message","topic":T,"message":M,"clientId":ID}
//   {"event":"message.TOPIC","message":M,"clientId":ID}
//   {"event":"error","name":CLASS,"text":MSG,"sentTopic":T,"clientId":ID}
//   {"event":"close"}
//   {"event":"done","op":OP}                    after each command
//
// Commands:
//
//   {"op":"send","topic":T,"message":M[,"clientId":ID]}   client.send / server.send
//   {"op":"broadcast","topic":T,"message":M}              server.broadcast
//   {"op":"big","topic":T,"size":N[,"clientId":ID]}       sends "x" repeated N times
//   {"op":"raw","chunks":[B64...][,"clientId":ID]}        writes each chunk (bytes in
//                                                         base64) to the socket as its
//                                                         own write
//   {"op":"close"}                                        close()
//   {"op":"connect"}                                      client.connect() again
//   {"op":"listen"}                                       server.listen() again
//
// The process exits when stdin ends.
'use strict';

const {Server, Client} = require('@crussell52/socket-ipc');

const [role, socketFile, optsJSON] = process.argv.slice(2);
const opts = optsJSON ? JSON.parse(optsJSON) : {};

function report(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function reportError(err) {
    report({
        event: 'error',
        name: err && err.constructor ? err.constructor.name : typeof err,
        text: err && err.message,
        sentTopic: err && err.sentTopic,
        clientId: err && err.clientId,
    });
}

// sockets maps a client id (server) or "" (client) to its net.Socket, for raw writes.
const sockets = new Map();
let peer;

if (role === 'server') {
    peer = new Server({socketFile});
    peer.on('listening', () => report({event: 'listening'}));
    peer.on('connection', (clientId, socket) => {
        sockets.set(clientId, socket);
        socket.on('close', () => {
            sockets.delete(clientId);
            report({event: 'socketClose', clientId});
        });
        report({event: 'connection', clientId});
    });
    peer.on('close', () => report({event: 'close'}));
} else if (role === 'client') {
    const clientOpts = {socketFile};
    if (opts.retryDelay !== undefined) clientOpts.retryDelay = opts.retryDelay;
    if (opts.reconnectDelay !== undefined) clientOpts.reconnectDelay = opts.reconnectDelay;
    peer = new Client(clientOpts);
    peer.on('connect', socket => {
        sockets.set('', socket);
        report({event: 'connect'});
    });
    peer.on('reconnect', () => report({event: 'reconnect'}));
    peer.on('connectError', err => report({event: 'connectError', text: err.message}));
    peer.on('disconnect', () => report({event: 'disconnect'}));
    peer.on('close', () => report({event: 'close'}));
} else {
    process.stderr.write('usage: node peer.js server|client SOCKET [OPTIONS_JSON]\n');
    process.exit(2);
}

peer.on('error', reportError);
peer.on('message', (message, topic, clientId) => report({event: 'message', topic, message, clientId}));
for (const topic of opts.topics || []) {
    peer.on('message.' + topic, (message, clientId) => report({event: 'message.' + topic, message, clientId}));
}

function writeChunks(socket, chunks, done) {
    // One write per chunk, each after the previous one left the process, so the
    // reader sees them in separate reads as far as the kernel allows.
    let i = 0;
    const next = () => {
        if (i === chunks.length) {
            done();
            return;
        }
        socket.write(chunks[i++], () => setImmediate(next));
    };
    next();
}

function handle(cmd) {
    const done = () => report({event: 'done', op: cmd.op});
    try {
        switch (cmd.op) {
        case 'send':
            if (role === 'server') peer.send(cmd.topic, cmd.message, cmd.clientId);
            else peer.send(cmd.topic, cmd.message);
            break;
        case 'broadcast':
            peer.broadcast(cmd.topic, cmd.message);
            break;
        case 'big': {
            const message = 'x'.repeat(cmd.size);
            if (role === 'server') peer.send(cmd.topic, message, cmd.clientId);
            else peer.send(cmd.topic, message);
            break;
        }
        case 'raw': {
            const socket = sockets.get(role === 'server' ? cmd.clientId : '');
            if (!socket) {
                report({event: 'error', name: 'HarnessError', text: 'no socket for raw write'});
                break;
            }
            writeChunks(socket, cmd.chunks.map(c => Buffer.from(c, 'base64')), done);
            return;
        }
        case 'close':
            peer.close();
            break;
        case 'connect':
            peer.connect();
            break;
        case 'listen':
            peer.listen();
            break;
        default:
            report({event: 'error', name: 'HarnessError', text: 'unknown op ' + cmd.op});
        }
    } catch (err) {
        // socket-ipc 0.4 throws (instead of emitting) on a second connect()/listen().
        report({event: 'thrown', name: err.constructor.name, text: err.message});
    }
    done();
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') handle(JSON.parse(line));
    }
});
process.stdin.on('end', () => process.exit(0));

if (role === 'server') peer.listen();
else peer.connect();
