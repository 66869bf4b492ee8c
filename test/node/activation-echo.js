// A socket-activated echo server for switchboard's launcher tests, written
// against the real npm package socket-activation.
//
//   node activation-echo.js listen NAME [EXIT_AFTER]
//       collect('NAME') and answer every connection; with EXIT_AFTER, exit
//       (status 0) after that many connections.
//   node activation-echo.js conn
//       --accept: the connection is fd 3 (LISTEN_FDS=1).
//   node activation-echo.js inetd
//       --inetd: the connection is stdin and stdout.
//
// Each answer is one line: "NAME PID LISTEN_PID-ok|bad LINE". On SIGTERM the
// program exits with status 42, so a test can tell a forwarded signal from a
// kill.
'use strict'
const net = require('net')

process.on('SIGTERM', () => process.exit(42))

const mode = process.argv[2]
const pidOK = process.env.LISTEN_PID === String(process.pid) ? 'ok' : 'bad'

function answer (name, conn, done) {
  let buf = ''
  conn.setEncoding('utf8')
  conn.on('data', (d) => {
    buf += d
    const i = buf.indexOf('\n')
    if (i < 0) return
    conn.end(`${name} ${process.pid} ${pidOK} ${buf.slice(0, i)}\n`, done)
  })
  conn.on('error', () => {})
}

if (mode === 'listen') {
  const sockets = require('socket-activation')
  const name = process.argv[3]
  const exitAfter = Number(process.argv[4] || 0)
  let served = 0
  const servers = []
  for (const fd of sockets.collect(name)) {
    const server = net.createServer((conn) => {
      answer(name, conn, () => {
        served++
        if (exitAfter && served >= exitAfter) {
          for (const s of servers) s.close()
          process.exit(0)
        }
      })
    })
    server.on('error', (err) => { throw err })
    server.listen({ fd })
    servers.push(server)
  }
  console.error(`listening ${name} ${servers.length}`)
} else if (mode === 'conn') {
  const fdOK = process.env.LISTEN_FDS === '1' ? 'fds-ok' : 'fds-bad'
  const conn = new net.Socket({ fd: 3, readable: true, writable: true })
  answer(fdOK, conn, () => process.exit(0))
} else if (mode === 'inetd') {
  const env = process.env.LISTEN_FDS === undefined ? 'noenv' : 'env'
  let buf = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (d) => {
    buf += d
    const i = buf.indexOf('\n')
    if (i < 0) return
    process.stdout.write(`${env} ${process.pid} ${pidOK} ${buf.slice(0, i)}\n`, () => process.exit(0))
  })
} else {
  console.error('usage: activation-echo.js listen NAME [EXIT_AFTER] | conn | inetd')
  process.exit(2)
}
