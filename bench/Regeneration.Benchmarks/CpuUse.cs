// CPU time per operation, from the kernel's accounting: the whole machine's busy time (every process, PostgreSQL
// included) and each of our processes' own. When the machine's cores are all in use it bounds the throughput: two
// cores' 2,000,000 µs a second divided by the machine's µs per call is the most calls a second (BENCHMARKS.md, 1).
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
            if (Seconds($"/proc/{pid}/stat") is { } seconds) own[name] = seconds;
        return (busy / 100.0, own);
    }

    /// <summary>The CPU seconds (user and system) in a process's or a thread's <c>stat</c> file; null once it has
    /// ended.</summary>
    public static double? Seconds(string statFile)
    {
        try
        {
            var stat = File.ReadAllText(statFile);
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');   // after "pid (comm) ": utime, stime are the 12th, 13th
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;   // USER_HZ
        }
        catch (IOException)
        {
            return null;
        }
    }
}
