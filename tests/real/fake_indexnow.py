#!/usr/bin/env python3
"""A fake IndexNow endpoint on 127.0.0.1 that judges a submission as
indexnow.org documents, for tests/real/site.sh.

    python3 fake_indexnow.py PORT LOG [CONTROL]

It takes `POST /indexnow` with a JSON body {"host", "key", "keyLocation",
"urlList"} (and the one-URL form `GET /indexnow?url=...&key=...`), and
answers as the protocol's documentation says a search engine does:

- 400 when the body is not that JSON: not an object, a field missing or of
  the wrong type, an empty urlList or one of more than 10,000 URLs, a URL
  that is not absolute http(s);
- 422 when the key does not match the protocol's form (8 to 128 of a-z,
  A-Z, 0-9 and -), or a URL (or keyLocation) is not on `host`;
- 403 when the key file cannot be fetched from keyLocation (by default
  <scheme>://<host>/<key>.txt), or does not hold the key;
- 202 the first time a key is accepted (the documentation's "key
  validation pending"), 200 afterwards.

CONTROL, if given and the file exists, holds a status to answer instead of
judging, and optionally a Retry-After: `429 2` answers every request with
429 and `Retry-After: 2` while the file is there; `503` a server error.

LOG gets one line per request: `request STATUS N REASON`, and one line per
URL of an accepted request: `url STATUS URL`. So a test counts how many
times each URL was accepted (`grep '^url ' LOG`). It logs nothing else and
never touches the internet: keyLocation is fetched only from 127.0.0.1.
"""

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2]
CONTROL = sys.argv[3] if len(sys.argv) > 3 else None
KEY_FORM = re.compile(r"^[a-zA-Z0-9-]{8,128}$")
MAX_URLS = 10_000
seen_keys = set()
# Never through a proxy from the environment: the key file is on loopback.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(line):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def on_host(url, host):
    """Whether url is an absolute http(s) URL on host (a host name, or a
    host:port as a test's loopback server has)."""
    u = urllib.parse.urlsplit(url)
    return u.scheme in ("http", "https") and host in (u.hostname, u.netloc)


def judge(body):
    """(status, reason, urls) for a submission's parsed body."""
    if not isinstance(body, dict):
        return 400, "body is not a JSON object", []
    host, key = body.get("host"), body.get("key")
    location, urls = body.get("keyLocation"), body.get("urlList")
    if not isinstance(host, str) or not host:
        return 400, "host missing or not a string", []
    if not isinstance(key, str):
        return 400, "key missing or not a string", []
    if location is not None and not isinstance(location, str):
        return 400, "keyLocation not a string", []
    if not isinstance(urls, list) or not urls:
        return 400, "urlList missing, empty or not a list", []
    if len(urls) > MAX_URLS:
        return 400, f"urlList holds {len(urls)} URLs, more than {MAX_URLS}", []
    for u in urls:
        if not isinstance(u, str) or urllib.parse.urlsplit(u).scheme not in ("http", "https"):
            return 400, f"not an absolute http(s) URL: {u!r}", []
    if not KEY_FORM.match(key):
        return 422, "key not of the protocol's form", []
    for u in urls:
        if not on_host(u, host):
            return 422, f"URL not on host {host}: {u}", []
    if location is None:
        scheme = urllib.parse.urlsplit(urls[0]).scheme
        location = f"{scheme}://{host}/{key}.txt"
    elif not on_host(location, host):
        return 422, f"keyLocation not on host {host}: {location}", []
    if urllib.parse.urlsplit(location).hostname != "127.0.0.1":
        return 403, f"keyLocation not on loopback, not fetched: {location}", []
    try:
        with opener.open(location, timeout=5) as r:
            held = r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return 403, f"key file not fetched from {location}: {e}", []
    if held.strip() != key:
        return 403, f"key file at {location} does not hold the key", []
    status = 200 if key in seen_keys else 202
    seen_keys.add(key)
    return status, "ok", urls


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, reason, retry_after=None):
        body = (reason + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)

    def forced(self):
        """The status the control file asks for, if any: (status, retry_after)."""
        if CONTROL and os.path.exists(CONTROL):
            words = open(CONTROL, encoding="utf-8").read().split()
            if words:
                return int(words[0]), (words[1] if len(words) > 1 else None)
        return None

    def reply(self, status, reason, urls, retry_after=None):
        log(f"request {status} {len(urls)} {reason}")
        if status in (200, 202):
            for u in urls:
                log(f"url {status} {u}")
        self.answer(status, reason, retry_after)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if urllib.parse.urlsplit(self.path).path != "/indexnow":
            return self.reply(404, f"no such endpoint: {self.path}", [])
        force = self.forced()
        if force:
            return self.reply(force[0], "told to by the control file", [], force[1])
        ctype = self.headers.get("Content-Type", "")
        if not ctype.split(";")[0].strip().lower() == "application/json":
            return self.reply(400, f"Content-Type not application/json: {ctype!r}", [])
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return self.reply(400, f"body not JSON: {e}", [])
        self.reply(*judge(body))

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/indexnow":
            return self.reply(404, f"no such endpoint: {self.path}", [])
        force = self.forced()
        if force:
            return self.reply(force[0], "told to by the control file", [], force[1])
        q = urllib.parse.parse_qs(u.query)
        if len(q.get("url", [])) != 1 or len(q.get("key", [])) != 1:
            return self.reply(400, "GET needs one url and one key", [])
        url = q["url"][0]
        body = {"host": urllib.parse.urlsplit(url).netloc, "key": q["key"][0], "urlList": [url]}
        if "keyLocation" in q:
            body["keyLocation"] = q["keyLocation"][0]
        self.reply(*judge(body))

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
