#!/usr/bin/python3
"""Runs a command and reports its peak resident set, split into file-backed and anonymous pages.

    scripts/peak_rss.py [--every 0.05] -- ./build/moe eval --model m.gguf --perplexity t.txt

Prints one JSON line on stderr after the command's own output: "max_rss_mib" (the kernel's
high-water mark, as `/usr/bin/time -v` reports it) and the largest RssFile / RssAnon seen while
polling /proc/PID/status (mapped weights count as file pages, heap and stacks as anonymous), so a
peak above "file size + KV cache + overhead" can be traced to one or the other. Exits with the
command's status.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def status_kib(pid):
    """{field: KiB} of the RSS lines of /proc/PID/status; {} once the process is gone."""
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "RssAnon", "RssFile"):
                    fields[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return fields


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=float, default=0.05, help="seconds between polls")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    child = subprocess.Popen(command)
    peak = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    start = time.time()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        for key, value in status_kib(child.pid).items():
            peak[key] = max(peak[key], value)
        time.sleep(args.every)
    report = {"max_rss_mib": round(usage.ru_maxrss / 1024, 1), "max_rss_file_mib": round(peak["RssFile"] / 1024, 1),
              "max_rss_anon_mib": round(peak["RssAnon"] / 1024, 1), "seconds": round(time.time() - start, 1)}
    print(json.dumps(report), file=sys.stderr)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
