// A real Bluesky PDS for tests/real/bluesky-pds.sh, and all it needs, on 127.0.0.1:
//   - a PLC directory (@did-plc/server with its in-memory database), so that
//     account creation registers its did:plc here and not with the public one;
//   - the PDS itself (@atproto/pds, the reference implementation), in dev mode;
//   - two accounts: `attacklog.test`, which tweet-attacks posts as (with an
//     app password, as doc/REFERENCE.md tells users to make), and `probe.test`,
//     which probe.mjs uses to try putRecord and createRecord by hand;
//   - a proxy in front of the PDS that passes everything, except that while
//     the file `drop-next-write` exists in the work dir, the next repo write
//     is forwarded to the PDS, answered by it, and then its reply is thrown
//     away (the connection is cut): a reply lost after the PDS committed.
//
// Usage: node server.mjs WORKDIR. Writes, in WORKDIR, mode 0600:
//   tweet-attacks.toml  the [bluesky] section for the tool (service = the proxy)
//   accounts.json       URLs, DIDs and passwords for probe.mjs and count.mjs
// then `ready`, and proxy.log (one line per proxied request). Runs until SIGTERM.
// Secrets are made here and go only into those files, never on a command line.

import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'

import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'
import { Database as PlcDatabase, PlcServer } from '@did-plc/server'

import { call } from './xrpc.mjs'

const work = process.argv[2]
if (!work) {
  console.error('usage: node server.mjs WORKDIR')
  process.exit(2)
}

const writeSecret = (name, text) =>
  fs.writeFileSync(path.join(work, name), text, { mode: 0o600 })

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

/** The installed version of `pkg` (this file runs beside its node_modules). */
const version = (pkg) =>
  JSON.parse(
    fs.readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8'),
  ).version

const randomHex = (n) => crypto.randomBytes(n).toString('hex')

/** A secp256k1 private key as 64 hex digits, as PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX wants. */
function k256Hex() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const d = privateKey.export({ format: 'jwk' }).d
  return Buffer.from(d, 'base64url').toString('hex').padStart(64, '0')
}

/** An XRPC call that must succeed. */
async function xrpc(base, method, body, token) {
  const a = await call(base, method, body, token)
  if (a.status !== 200) throw new Error(`${method}: ${a.status} ${a.text}`)
  return a.json
}

// 1. PLC directory, in memory, on a port of its own.
const plc = PlcServer.create({ db: PlcDatabase.mock(), port: await freePort() })
const plcListener = await plc.start()
const plcUrl = `http://127.0.0.1:${plcListener.address().port}`

// 2. The PDS.
const pdsPort = await freePort()
const dataDir = path.join(work, 'pds-data')
fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true })
Object.assign(process.env, {
  PDS_PORT: String(pdsPort),
  PDS_HOSTNAME: 'localhost',
  PDS_DEV_MODE: 'true',
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blobs'),
  PDS_DID_PLC_URL: plcUrl,
  PDS_INVITE_REQUIRED: 'false',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  PDS_JWT_SECRET: randomHex(16),
  PDS_ADMIN_PASSWORD: randomHex(16),
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: k256Hex(),
})
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
const pdsUrl = `http://127.0.0.1:${pdsPort}`

// 3. Accounts: each registers a did:plc with the PLC directory above.
async function account(handle) {
  const password = randomHex(12)
  const made = await xrpc(pdsUrl, 'com.atproto.server.createAccount', {
    handle,
    email: `${handle.split('.')[0]}@example.com`,
    password,
  })
  return { handle, did: made.did, password, accessJwt: made.accessJwt }
}
const poster = await account('attacklog.test')
const probe = await account('probe.test')
const { password: appPassword } = await xrpc(
  pdsUrl,
  'com.atproto.server.createAppPassword',
  { name: 'tweet-attacks' },
  poster.accessJwt,
)

// 4. The proxy that can lose one reply.
const proxyLog = path.join(work, 'proxy.log')
const dropFlag = path.join(work, 'drop-next-write')
const logLine = (s) => fs.appendFileSync(proxyLog, `${s}\n`)

const proxy = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    const isWrite = req.method === 'POST' && req.url.startsWith('/xrpc/com.atproto.repo.')
    let drop = false
    if (isWrite && fs.existsSync(dropFlag)) {
      fs.unlinkSync(dropFlag)
      drop = true
    }
    const headers = { ...req.headers, host: `127.0.0.1:${pdsPort}` }
    const up = http.request(
      { host: '127.0.0.1', port: pdsPort, method: req.method, path: req.url, headers },
      (upRes) => {
        const back = []
        upRes.on('data', (c) => back.push(c))
        upRes.on('end', () => {
          const answer = Buffer.concat(back)
          const what = `${req.method} ${req.url.split('?')[0]} -> ${upRes.statusCode}`
          if (drop) {
            // The PDS has answered (and so committed, on a 200): cut the
            // connection instead of passing the answer on.
            logLine(`dropped ${what} ${answer.toString().slice(0, 200)}`)
            req.socket.destroy()
            return
          }
          logLine(`passed ${what}`)
          res.writeHead(upRes.statusCode, upRes.headers)
          res.end(answer)
        })
      },
    )
    up.on('error', (e) => {
      logLine(`error ${req.method} ${req.url}: ${e.message}`)
      res.writeHead(502)
      res.end()
    })
    up.end(body)
  })
})
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
const proxyUrl = `http://127.0.0.1:${proxy.address().port}`

// 5. What the test script and the probes need, then `ready`.
writeSecret(
  'tweet-attacks.toml',
  [
    '[bluesky]',
    `handle = "${poster.handle}"`,
    `app-password = "${appPassword}"`,
    `service = "${proxyUrl}"`,
    '',
  ].join('\n'),
)
writeSecret(
  'accounts.json',
  JSON.stringify(
    {
      pds: pdsUrl,
      plc: plcUrl,
      proxy: proxyUrl,
      pdsVersion: version('@atproto/pds'),
      plcVersion: version('@did-plc/server'),
      node: process.version,
      poster: { handle: poster.handle, did: poster.did },
      probe: { handle: probe.handle, did: probe.did, password: probe.password },
    },
    null,
    2,
  ),
)
fs.writeFileSync(path.join(work, 'ready'), `${process.pid}\n`)

async function stop() {
  proxy.close()
  await pds.destroy()
  await plc.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
