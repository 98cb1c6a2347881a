# p50 / p99 / slowest of a pgbench transaction log (pgbench -l), and the 100 ms windows the calls over 25 ms began in.
import collections, sys

rows = [line.split() for line in open(sys.argv[1])]
ends = [int(r[4]) + int(r[5]) / 1e6 for r in rows]
starts = [end - int(r[2]) / 1e6 for r, end in zip(rows, ends)]
first = min(starts)
ms = sorted(int(r[2]) / 1000 for r in rows)
slow = collections.Counter(int((s - first) * 10) for r, s in zip(rows, starts) if int(r[2]) > 25_000)
print(f"{len(ms)} transactions: p50 {ms[len(ms) // 2]:.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.2f} ms, slowest {ms[-1]:.1f} ms; "
      f"{sum(slow.values())} over 25 ms, in {len(slow)} windows of 100 ms: {sorted(slow)}")
