// The Node side of the nodeinterop example: a plain @crussell52/socket-ipc
// client, unaware that the server is switchboard's Go hub.
//
//   NODE_PATH=test/node/node_modules node examples/nodeinterop/client.js [SOCKET [NAME]]
//
// It sends node.hello once connected and node.say for every line typed into
// it, prints every message it receives as "node got TOPIC: JSON", and exits
// when its input ends. SOCKET defaults to nodeinterop.sock in the runtime
// directory, found as the Go side finds it.
'use strict'
const os = require('os')
const path = require('path')
const readline = require('readline')
const { Client } = require('@crussell52/socket-ipc')

function runtimeDir () {
  const xdg = process.env.XDG_RUNTIME_DIR
  if (xdg && path.isAbsolute(xdg)) return xdg
  return path.join(os.tmpdir(), `switchboard-${process.getuid()}`)
}

const socketFile = process.argv[2] || path.join(runtimeDir(), 'nodeinterop.sock')
const name = process.argv[3] || 'node'

// socket-ipc retries until the server listens; a short delay keeps the
// start snappy when both sides start together.
const client = new Client({ socketFile, retryDelay: 200 })

client.on('connect', () => {
  console.log(`connected to ${socketFile}`)
  client.send('node.hello', { from: name, text: `hello from Node ${process.version}` })
})
client.on('message', (message, topic) => {
  console.log(`node got ${topic}: ${JSON.stringify(message)}`)
})
client.on('disconnect', () => console.log('disconnected; reconnecting'))
client.on('error', (err) => console.error(`client error: ${err.message}`))

const input = readline.createInterface({ input: process.stdin })
input.on('line', (text) => client.send('node.say', { from: name, text }))
input.on('close', () => client.close())

client.connect()
