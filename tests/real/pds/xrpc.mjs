// One XRPC procedure call (POST, JSON in and out), for the helpers beside it.

/** POSTs `body` to `base`/xrpc/`method`; `token` is an access JWT, if any. */
export async function call(base, method, body, token) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${base}/xrpc/${method}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  })
  const text = await res.text()
  let json = null
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.status, json, text }
}
