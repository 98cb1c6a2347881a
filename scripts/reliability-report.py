#!/usr/bin/env python3
"""Prints (and writes to artifacts/reliability/report.md) the reliability figures of the last test run:
the totals RELIABILITY.md quotes, per scenario, then the soak table. Reads the lines the tests append to
artifacts/reliability/figures.jsonl (tests/Regeneration.Tests/Infrastructure/ReliabilityFigures.cs)."""
import collections, json, os, sys

folder = sys.argv[1] if len(sys.argv) > 1 else "artifacts/reliability"
path = os.path.join(folder, "figures.jsonl")
if not os.path.exists(path):
    print("no reliability figures were recorded (did the tests run?)")
    sys.exit(0)

order = ["requests under fault", "faults injected and survived", "bad inputs tried", "security cases checked",
         "writes checked exactly once", "lost or duplicated writes"]
totals = collections.Counter()
scenarios = collections.OrderedDict()
with open(path) as f:
    for line in f:
        r = json.loads(line)
        totals[r["figure"]] += r["value"]
        scenarios.setdefault(r["scenario"], collections.Counter())[r["figure"]] += r["value"]

out = ["| figure | total |", "|---|---:|"]
out += [f"| {name} | {totals[name]:g} |" for name in order if name in totals or name == "lost or duplicated writes"]
out += ["", "| scenario | " + " | ".join(order) + " |", "|---|" + "---:|" * len(order)]
for scenario, figures in sorted(scenarios.items()):
    out.append(f"| {scenario} | " + " | ".join(f"{figures[n]:g}" if n in figures else "" for n in order) + " |")
soak = os.path.join(folder, "soak.md")
if os.path.exists(soak):
    out += ["", open(soak).read().rstrip()]
text = "\n".join(out)
print(text)
with open(os.path.join(folder, "report.md"), "w") as f:
    f.write(text + "\n")
