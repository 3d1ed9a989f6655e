// What the real PDS does with a record key written twice: the behaviour an
// idempotent Bluesky retry relies on. Uses the `probe.test` account, so the
// tweet-attacks account's counts stay its own.
//
// Usage: node probe.mjs WORKDIR. Prints one line per request (status, error,
// record count after it) and exits 1 unless:
//   - putRecord with the same key twice leaves exactly one record, and
//   - createRecord with an existing key is refused (not 2xx) and leaves one.

import fs from 'node:fs'
import path from 'node:path'

import { call } from './xrpc.mjs'

const work = process.argv[2]
const accounts = JSON.parse(fs.readFileSync(path.join(work, 'accounts.json'), 'utf8'))
const { pds } = accounts
const { did, handle, password } = accounts.probe

const post = (method, body, token) => call(pds, method, body, token)

async function count() {
  const q = new URLSearchParams({ repo: did, collection: 'app.bsky.feed.post', limit: '100' })
  const res = await fetch(`${pds}/xrpc/com.atproto.repo.listRecords?${q}`)
  return (await res.json()).records
}

/** A TID (the record key kind app.bsky.feed.post uses): 13 base32-sortable chars. */
function tid(micros, clock) {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz'
  let n = (BigInt(micros) << 10n) | BigInt(clock)
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = alphabet[Number(n & 31n)] + s
    n >>= 5n
  }
  return s
}

const session = await post('com.atproto.server.createSession', { identifier: handle, password })
if (session.status !== 200) {
  console.error(`createSession: ${session.status} ${session.text}`)
  process.exit(1)
}
const jwt = session.json.accessJwt
const rkey = tid(Date.now() * 1000, 7)
const createdAt = new Date().toISOString()
const record = (text) => ({ $type: 'app.bsky.feed.post', text, createdAt, langs: ['en'] })
const base = { repo: did, collection: 'app.bsky.feed.post', rkey }

const out = []
let failed = 0
async function step(name, method, body) {
  const a = await post(method, body, jwt)
  const recs = await count()
  const what =
    a.status === 200
      ? `cid=${a.json?.cid} uri-rkey=${a.json?.uri?.split('/').pop()}`
      : `error=${a.json?.error} message=${JSON.stringify(a.json?.message ?? a.text.slice(0, 200))}`
  const line = `${name}: ${method.split('.').pop()} -> ${a.status} ${what}; records=${recs.length}`
  out.push(line)
  console.log(line)
  return { ...a, records: recs }
}
function expect(ok, msg) {
  if (!ok) {
    failed++
    const line = `FAILED: ${msg}`
    out.push(line)
    console.log(line)
  }
}

console.log(`probe: rkey ${rkey} on ${accounts.pdsVersion ? `@atproto/pds ${accounts.pdsVersion}` : 'the PDS'}`)
const p1 = await step('1 putRecord, new key', 'com.atproto.repo.putRecord', {
  ...base,
  record: record('probe'),
})
expect(p1.status === 200 && p1.records.length === 1, 'the first putRecord makes one record')
const p2 = await step('2 putRecord, same key, same record', 'com.atproto.repo.putRecord', {
  ...base,
  record: record('probe'),
})
expect(p2.status === 200, 'a repeated putRecord is accepted')
expect(p2.records.length === 1, 'a repeated putRecord leaves exactly one record')
expect(p2.json?.cid === p1.json?.cid, 'a repeated identical putRecord gives the same cid')
const c3 = await step('3 createRecord, existing key', 'com.atproto.repo.createRecord', {
  ...base,
  record: record('probe'),
})
expect(c3.status < 200 || c3.status > 299, 'createRecord with an existing key is refused')
expect(c3.records.length === 1, 'a refused createRecord leaves exactly one record')
// Not needed by the fix, but worth knowing: what compare-and-swap answers.
const s4 = await step('4 putRecord, same key, swapRecord null', 'com.atproto.repo.putRecord', {
  ...base,
  swapRecord: null,
  record: record('probe'),
})
const s5 = await step('5 putRecord, same key, other text', 'com.atproto.repo.putRecord', {
  ...base,
  record: record('probe, changed'),
})
expect(s5.records.length === 1, 'putRecord with other content still leaves one record')
expect(
  s5.records[0]?.value?.text === 'probe, changed',
  'putRecord with other content replaces the record',
)
void s4

fs.writeFileSync(path.join(work, 'probe.log'), `${out.join('\n')}\n`)
process.exit(failed === 0 ? 0 : 1)
