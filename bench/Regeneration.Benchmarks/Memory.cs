// The peak resident memory (RSS) of each process, sampled every 250 ms for the whole run, and its value
// at the marks the run sets (e.g. after loading 10,000 projects and reading the rollup).
using System.Globalization;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Benchmarks;

public sealed class Memory
{
    readonly IReadOnlyDictionary<string, ServiceProcess> processes;
    readonly Dictionary<string, (long Bytes, string Phase)> peaks = [];

    /// <summary>What the run is doing now: the peak of each process is reported with the phase it was reached in.</summary>
    public string Phase
    {
        get;
        set { field = value; Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {value}"); }   // progress, on stderr
    } = "start-up";
    readonly List<(string Mark, Dictionary<string, long> Rss)> marks = [];
    readonly Timer timer;

    public Memory(IReadOnlyDictionary<string, ServiceProcess> processes)
    {
        this.processes = processes;
        timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
    }

    Dictionary<string, long> Sample()
    {
        var now = new Dictionary<string, long>();
        lock (peaks)
            foreach (var (name, process) in processes)
            {
                long rss;
                try
                {
                    if (!process.IsRunning) continue;
                    rss = now[name] = process.ResidentBytes();
                }
                catch (InvalidOperationException) { continue; }   // exited (or disposed) since
                if (rss > peaks.GetValueOrDefault(name).Bytes) peaks[name] = (rss, Phase);
            }
        return now;
    }

    public void Mark(string mark) => marks.Add((mark, Sample()));

    public void Print()
    {
        timer.Dispose();
        static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0", CultureInfo.InvariantCulture);
        Console.WriteLine("| process | " + string.Join(" | ", marks.Select(m => $"RSS MB after {m.Mark}")) + " | peak RSS MB (whole run) | peak reached while |");
        Console.WriteLine("| --- |" + string.Concat(marks.Select(_ => " ---: |")) + " ---: | --- |");
        foreach (var name in processes.Keys)
            Console.WriteLine($"| {name} | " + string.Join(" | ", marks.Select(m => Mb(m.Rss.GetValueOrDefault(name)))) + $" | {Mb(peaks.GetValueOrDefault(name).Bytes)} | {peaks.GetValueOrDefault(name).Phase} |");
    }
}
