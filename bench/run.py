#!/usr/bin/env python3
"""`make bench`: runs every bench/bench_*.py against build/quiverd and writes
their markdown sections into docs/benchmarks.md (after the hand-written header
kept in bench/header.md). Each script prints its own section to stdout."""
import glob
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sections = []
only = sys.argv[1:]
for script in sorted(glob.glob(os.path.join(root, "bench", "bench_*.py"))):
    name = os.path.basename(script)
    if only and not any(o in name for o in only):
        continue
    print("== %s" % name, flush=True)
    r = subprocess.run([sys.executable, script], cwd=root, capture_output=True, text=True)
    sys.stderr.write(r.stderr[-4000:])
    if r.returncode != 0:
        sections.append("## %s\n\nFAILED (exit %d)\n" % (name, r.returncode))
        print(r.stdout)
        continue
    print(r.stdout)
    sections.append(r.stdout.strip() + "\n")
header = open(os.path.join(root, "bench", "header.md")).read()
machine = subprocess.run(["bash", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo; uname -r"],
                         capture_output=True, text=True).stdout.split("\n")
out = header.rstrip() + "\n\nMachine: %s cores, %s, kernel %s.\n\n" % (
    machine[0], machine[1].split(":")[-1].strip(), machine[2]) + "\n".join(sections)
if not only:
    open(os.path.join(root, "docs", "benchmarks.md"), "w").write(out)
    print("wrote docs/benchmarks.md")
