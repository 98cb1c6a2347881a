// CPU time per operation, from the kernel's accounting: the whole machine's busy time (every process, PostgreSQL
// included) and each of our processes' own. Steadier between runs than throughput on a shared 2-core machine, so a
// change to the work per call shows in it when it would be lost in the throughput's spread (BENCHMARKS.md, 1).
using System.Globalization;

namespace Regeneration.Benchmarks;

public sealed class CpuUse(IReadOnlyDictionary<string, int> processes)
{
    (double Machine, Dictionary<string, double> Process) start;

    public void Start() => start = Read();

    /// <summary>Microseconds of CPU per operation since <see cref="Start"/>: the machine's, then each process's.</summary>
    public string PerOperation(long operations)
    {
        var end = Read();
        string Us(double seconds) => (seconds / Math.Max(1, operations) * 1e6).ToString("0", CultureInfo.InvariantCulture);
        return $"CPU per call: the machine {Us(end.Machine - start.Machine)} µs (" +
            string.Join(", ", end.Process.Select(p => $"{p.Key} {Us(p.Value - start.Process.GetValueOrDefault(p.Key))}")) + ")";
    }

    (double Machine, Dictionary<string, double> Process) Read()
    {
        // /proc/stat's first line: user nice system idle iowait irq softirq steal ... in USER_HZ (1/100 s)
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..9].Select(long.Parse).ToArray();
        var busy = cpu.Sum() - cpu[3] - cpu[4];
        var own = new Dictionary<string, double>();
        foreach (var (name, pid) in processes)
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');   // after "pid (comm) ": utime, stime are 12th, 13th
                own[name] = (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
            }
            catch (IOException) { }   // the process ended
        return (busy / 100.0, own);
    }
}
