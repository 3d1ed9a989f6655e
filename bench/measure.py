#!/usr/bin/env python3
"""Times commands best-of-N, round robin, and prints a table; used by bench/compare.sh.

    measure.py --spec FILE --runs N [--bytes B] [--ref LABEL] [--json OUT]

Each line of the spec file is one case, five tab-separated fields:

    label  runs  before  stdin  command

runs is a number, or - for --runs; before is a shell command run (untimed)
before each timed run, or empty; stdin is a file fed to the command, or
empty; command is split like a shell would (shlex), not run by a shell.

The runs go round robin (case 1, case 2, ..., case 1, ...), so a burst of
load on a shared machine hits every case alike, and the best run of each is
reported: the least disturbed one. Standard output goes to a scratch file,
never to /dev/null: GNU grep notices /dev/null and stops at the first match.

Peak RSS is ru_maxrss, which also counts the image of the process that forked
the command, up to its exec: a child forked by Python starts at ~10 MiB. So
the command is started through GNU time (/usr/bin/time, Debian package
"time"), a small C program, as the issue's figures were (about 1-2 MiB of
floor); without it, the RSS column is marked "~" and has Python's floor.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


GNU_TIME = "/usr/bin/time"
HAVE_GNU_TIME = os.access(GNU_TIME, os.X_OK) and subprocess.run(
    [GNU_TIME, "-f", "%M", "true"], capture_output=True).returncode == 0


def run_once(argv, stdin_path, out_path):
    """Runs argv once; returns (seconds, peak RSS in KiB, exit status)."""
    rss_path = out_path + ".rss"
    if HAVE_GNU_TIME:
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", rss_path, *argv]
    stdin_fd = os.open(stdin_path or os.devnull, os.O_RDONLY)
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err_fd = os.open(out_path + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(stdin_fd, 0)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    for fd in (stdin_fd, out_fd, err_fd):
        os.close(fd)
    rss = usage.ru_maxrss
    if HAVE_GNU_TIME:
        with open(rss_path) as f:
            rss = int(f.read().split()[-1])
        os.remove(rss_path)
    return elapsed, rss, os.waitstatus_to_exitcode(status)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bytes", type=int, default=0, help="input size, for MB/s")
    ap.add_argument("--ref", help="label of the case the others are compared with")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    cases = []
    with open(args.spec) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            label, runs, before, stdin, command = line.split("\t")
            cases.append({
                "label": label,
                "runs": args.runs if runs == "-" else int(runs),
                "before": before,
                "stdin": stdin,
                "argv": shlex.split(command),
                "times": [],
                "rss_kib": 0,
            })

    scratch = tempfile.mkdtemp(prefix="tweet-attacks-bench.")
    for r in range(max(c["runs"] for c in cases)):
        for i, c in enumerate(cases):
            if r >= c["runs"]:
                continue
            if c["before"]:
                subprocess.run(c["before"], shell=True, check=True)
            out = os.path.join(scratch, f"case{i}.out")
            secs, rss, code = run_once(c["argv"], c["stdin"], out)
            if code not in (0, 1):  # grep -c says 1 when nothing matched
                err = open(out + ".err", errors="replace").read()[-2000:]
                sys.exit(f"measure.py: {c['label']}: exit status {code}\n{err}")
            c["times"].append(secs)
            c["rss_kib"] = max(c["rss_kib"], rss)
            c["out"] = out

    ref = next((c for c in cases if c["label"] == args.ref), None)
    head = f"{'':38} {'best s':>8} {'median s':>9} {'MB/s':>8} {'peak RSS':>9} {'runs':>5}"
    if ref:
        head += f"  {'vs ' + ref['label'].split()[0]:>9}"
    print(head)
    results = []
    for c in cases:
        best = min(c["times"])
        row = {
            "label": c["label"],
            "best_s": best,
            "median_s": statistics.median(c["times"]),
            "runs": len(c["times"]),
            "peak_rss_mib": c["rss_kib"] / 1024,
            "mb_per_s": args.bytes / 1e6 / best if args.bytes else None,
            "ratio_to_ref": best / min(ref["times"]) if ref else None,
        }
        results.append(row)
        line = f"{c['label']:38} {best:8.3f} {row['median_s']:9.3f} "
        line += f"{row['mb_per_s']:8.0f} " if args.bytes else f"{'':>8} "
        approx = " " if HAVE_GNU_TIME else "~"
        line += f"{approx}{row['peak_rss_mib']:5.1f} MiB {row['runs']:5}"
        if ref:
            line += f"  {row['ratio_to_ref']:8.2f}x"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    for c in cases:
        for p in (c["out"], c["out"] + ".err"):
            os.remove(p)
    os.rmdir(scratch)


if __name__ == "__main__":
    main()
