"""Client driver for capture.sh: paramiko and ftplib attacks that count
their own guesses (one per password or keyboard-interactive answer sent,
one per FTP PASS answered with 530) and write the count to a file."""

import ftplib
import socket
import sys

import paramiko


def connect(host):
    t = paramiko.Transport(socket.create_connection((host, 22), timeout=10))
    t.start_client(timeout=10)
    return t


def password_guesses(host, user, tries):
    """Up to `tries` wrong passwords on one connection; returns how many
    sshd answered (it cuts the connection after MaxAuthTries)."""
    n = 0
    t = connect(host)
    for i in range(tries):
        try:
            t.auth_password(user, f"wrong-{i}")
        except paramiko.AuthenticationException:
            n += 1
        except (paramiko.SSHException, EOFError, OSError):
            break
    t.close()
    return n


def ssh_password(host, users, per_conn):
    """Password guesses for each user on one connection each, then one
    keyboard-interactive connection for root with two rounds."""
    n = sum(password_guesses(host, user, per_conn) for user in users)
    t = connect(host)
    answered = []

    def handler(_title, _instructions, prompts):
        if prompts:
            answered.append(1)
        return [f"wrong-{len(answered)}" for _ in prompts]

    for _ in range(2):
        try:
            t.auth_interactive("root", handler)
        except paramiko.AuthenticationException:
            pass
    t.close()
    return n + len(answered)


def ssh_maxtries(host, users, tries):
    """More password guesses on one connection than sshd's MaxAuthTries allows."""
    return sum(password_guesses(host, user, tries) for user in users)


def ftp(host, users, per_conn):
    n = 0
    for user in users:
        f = ftplib.FTP(host, timeout=10)
        for i in range(per_conn):
            try:
                f.login(user, f"wrong-{i}")
            except ftplib.error_perm as e:
                if str(e).startswith("530"):
                    n += 1
            except (EOFError, OSError):
                break
        try:
            f.close()
        except OSError:
            pass
    return n


def main():
    kind, host, users, per_conn, out = sys.argv[1:6]
    fn = {"ssh-password": ssh_password, "ssh-maxtries": ssh_maxtries, "ftp": ftp}[kind]
    n = fn(host, users.split(","), int(per_conn))
    with open(out, "a") as f:
        f.write(f"{n}\n")


if __name__ == "__main__":
    main()
