"""Writes truth.json for one capture: per client address, the client's own
count of guesses and the server-side tap's count (pam_exec after pam_unix;
for FTP also vsftpd's 530 replies), and the tries the tool must count."""

import collections
import json
import re
import sys


def main():
    work, dest, clients, *versions = sys.argv[1:]
    tap = collections.Counter()
    for line in open(f"{work}/tap.log"):
        svc, rhost, _user = (line.rstrip("\n").split(" ", 2) + ["", ""])[:3]
        tap[(svc, rhost)] += 1
    ftp530 = collections.Counter()
    for line in open(f"{work}/vsftpd.log"):
        # Only the reply to PASS: lftp's next command gets "530 Please login".
        m = re.search(r'FTP response: Client "(?:::ffff:)?([^"]+)", "530 Login incorrect', line)
        if m:
            ftp530[m.group(1)] += 1
    out = {"versions": versions, "attackers": {}}
    for row in clients.split("\n"):
        if not row.strip():
            continue
        name, addr, _gw, noguess = row.split()
        ip = addr.split("/")[0]
        try:
            with open(f"{work}/clients/{name}.count") as f:
                client = sum(int(x) for x in f.read().split())
        except FileNotFoundError:
            client = 0
        svc = "vsftpd" if name.startswith("f") else "sshd"
        entry = {"client": name, "service": svc, "client_count": client,
                 "pam_tap": tap[(svc, ip)]}
        if svc == "vsftpd":
            entry["ftp_530"] = ftp530[ip]
            entry["tries"] = ftp530[ip]
            agree = client == ftp530[ip]
        else:
            entry["no_password_connections"] = int(noguess)
            entry["tries"] = tap[(svc, ip)] + int(noguess)
            agree = client == tap[(svc, ip)] or name == "c7"
        if not agree:
            entry["disagree"] = True
            print(f"truth: {name} {ip}: the client and the server disagree", file=sys.stderr)
        out["attackers"][ip] = entry
    with open(f"{dest}/truth.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
