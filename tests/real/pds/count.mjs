// Counts the posts in the tweet-attacks account's repo on the real PDS, with
// com.atproto.repo.listRecords (public, no login), straight to the PDS (not
// through the proxy).
//
// Usage: node count.mjs WORKDIR [TEXT [cids]]. Prints how many
// app.bsky.feed.post records there are (those whose text contains TEXT, if
// given; with `cids`, their cids instead), and appends every record (rkey,
// cid, createdAt, text, langs) to WORKDIR/records.log.

import fs from 'node:fs'
import path from 'node:path'

const [work, needle, what] = process.argv.slice(2)
const accounts = JSON.parse(fs.readFileSync(path.join(work, 'accounts.json'), 'utf8'))

const records = []
let cursor
do {
  const q = new URLSearchParams({
    repo: accounts.poster.did,
    collection: 'app.bsky.feed.post',
    limit: '100',
  })
  if (cursor) q.set('cursor', cursor)
  const res = await fetch(`${accounts.pds}/xrpc/com.atproto.repo.listRecords?${q}`)
  if (!res.ok) {
    console.error(`listRecords: ${res.status} ${await res.text()}`)
    process.exit(1)
  }
  const page = await res.json()
  records.push(...page.records)
  cursor = page.records.length > 0 ? page.cursor : undefined
} while (cursor)

const lines = records.map((r) => {
  const rkey = r.uri.split('/').pop()
  return `${rkey} ${r.cid} ${r.value.createdAt} ${JSON.stringify(r.value.text)} langs=${JSON.stringify(r.value.langs ?? null)}`
})
fs.appendFileSync(
  path.join(work, 'records.log'),
  `-- ${new Date().toISOString()} ${needle ? `matching ${JSON.stringify(needle)}` : 'all'}\n${lines.join('\n')}\n`,
)
const matching = records.filter((r) => !needle || r.value.text.includes(needle))
console.log(what === 'cids' ? matching.map((r) => r.cid).join(' ') : matching.length)
