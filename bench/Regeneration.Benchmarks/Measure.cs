// Runs an operation from N concurrent workers for a fixed time and reports throughput and exact
// latency percentiles (every latency kept, sorted), after a warm-up of the same load that is not measured
// (the JIT recompiles hot code with tiered compilation in a process's first seconds or minute: measured as it was,
// a freshly started service spent a fifth of the machine's CPU in the JIT during the write benchmark), lasting until
// the JIT is done. The slowest call is reported too: closed-loop workers wait in turn, so a rare long wait (an answer
// computed again) barely moves p99 but shows there.
using System.Diagnostics;

namespace Regeneration.Benchmarks;

public sealed record Result(string Scenario, string Variant, int Workers, long Operations, long Errors, double Seconds,
    double P50, double P95, double P99, double Max = double.NaN, bool OpenLoop = false)
{
    public double PerSecond => Operations / Seconds;
}

public static class Measure
{
    /// <summary>The processes whose JIT the warm-up waits for (the services, the gateway, this process).</summary>
    public static IReadOnlyList<int> Processes { get; set; } = [Environment.ProcessId];

    /// <param name="operation">(worker, iteration) → one operation.</param>
    /// <param name="afterWarmUp">Runs between the warm-up and the measurement (e.g. resets statistics).</param>
    public static async Task<Result> Run(string scenario, string variant, int workers, TimeSpan warmUp, TimeSpan duration,
        Func<int, long, Task> operation, Func<Task>? afterWarmUp = null)
    {
        if (warmUp > TimeSpan.Zero) await WarmUp(scenario, workers, warmUp, operation);
        if (afterWarmUp is not null) await afterWarmUp();
        Console.WriteLine($"measuring {scenario}: {variant} ({duration.TotalSeconds} s)");
        var (latencies, errors, seconds) = await Load(workers, duration, operation, firstIteration: 0);
        return Summary(scenario, variant, workers, latencies.SelectMany(l => l), errors, seconds, openLoop: false);
    }

    /// <summary>Counts a failed call; the first of each measurement (and warm-up) is printed, so that an error in the
    /// table's errors column says what it was.</summary>
    static void Failed(ref long errors, Exception e)
    {
        if (Interlocked.Increment(ref errors) == 1) Console.WriteLine($"  first failed call: {e.GetType().Name}: {e.Message}");
    }

    /// <summary>Throughput and exact percentiles of every latency kept.</summary>
    static Result Summary(string scenario, string variant, int workers, IEnumerable<double> latencies, long errors, double seconds, bool openLoop)
    {
        var all = latencies.Order().ToArray();
        double At(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
        return new Result(scenario, variant, workers, all.Length, errors, seconds, At(0.50), At(0.95), At(0.99),
            all.Length == 0 ? double.NaN : all[^1], openLoop);
    }

    /// <summary>
    /// The operation at a fixed total rate from <paramref name="workers"/> clients (an open loop: each client's calls
    /// are scheduled an interval apart, the clients offset from each other), after <paramref name="settle"/> of the
    /// same load unmeasured. Each latency is measured from the call's scheduled time, so a call held up behind a slow
    /// one counts its wait (no coordinated omission), and a rate the system cannot keep up with shows as latency that
    /// grows, not as a lower rate quietly measured. Prints how the calls slower than <paramref name="slowMs"/> fall in
    /// time: spread out (the load) or bunched in a few 100 ms windows (the whole machine held up at once).
    /// </summary>
    public static async Task<Result> RunAtRate(string scenario, string variant, int workers, double perSecond, TimeSpan settle,
        TimeSpan duration, double slowMs, Func<int, long, Task> operation)
    {
        if (settle > TimeSpan.Zero) await Paced(workers, perSecond, settle, operation, firstIteration: 2_000_000_000);
        Console.WriteLine($"measuring {scenario}: {variant} ({duration.TotalSeconds} s)");
        var (calls, errors, seconds) = await Paced(workers, perSecond, duration, operation, firstIteration: 0);
        var done = calls.SelectMany(c => c).ToList();
        var slow = done.Where(c => c.Ms > slowMs).ToList();
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"  {variant} at {perSecond:0}/s: {slow.Count} of {done.Count} calls over {slowMs} ms, due in " +
            $"{slow.Select(c => (int)(c.Due * 10)).Distinct().Count()} of the {(int)Math.Ceiling(duration.TotalSeconds * 10)} windows of 100 ms"));
        return Summary(scenario, variant, workers, done.Select(c => c.Ms), errors, seconds, openLoop: true);
    }

    static async Task<(List<(double Due, double Ms)>[] Calls, long Errors, double Seconds)> Paced(int workers, double perSecond, TimeSpan duration,
        Func<int, long, Task> operation, long firstIteration)
    {
        var calls = new List<(double Due, double Ms)>[workers];
        var errors = 0L;
        var interval = workers / perSecond;   // seconds between one client's calls
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = calls[w] = new List<(double, double)>(4096);
            for (var k = 0L; ; k++)
            {
                var due = (k + (double)w / workers) * interval;
                if (due >= duration.TotalSeconds) break;
                if (due - clock.Elapsed.TotalSeconds is var wait and > 0) await Task.Delay(TimeSpan.FromSeconds(wait));
                try { await operation(w, firstIteration + k); }
                catch (Exception e) { Failed(ref errors, e); continue; }
                mine.Add((due, (clock.Elapsed.TotalSeconds - due) * 1000));
            }
        })));
        return (calls, errors, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The same load, unmeasured, for at least <paramref name="least"/> and then until no process's JIT still
    /// recompiles hot code in the background (its tiered-compilation thread under 2 % of a core over a window), at
    /// most six times as long. On a slow machine a service's JIT took 35-45 s of load to finish its work: after a fixed
    /// 20 s it still took 40 % of the Projects service's CPU through the measurement (BENCHMARKS.md, 1).</summary>
    static async Task WarmUp(string scenario, int workers, TimeSpan least, Func<int, long, Task> operation)
    {
        var (clock, window, compiled) = (Stopwatch.StartNew(), TimeSpan.FromSeconds(5), JitSeconds());
        for (var round = 0; ; round++)
        {
            await Load(workers, window, operation, firstIteration: 1_000_000_000 + round * 10_000_000L);
            var (now, last) = (JitSeconds(), compiled);
            compiled = now;
            var quiet = now - last < 0.02 * window.TotalSeconds;
            if (clock.Elapsed >= least && quiet || clock.Elapsed >= 6 * least)
            {
                Console.WriteLine($"warm-up of {scenario}: {clock.Elapsed.TotalSeconds:0} s{(quiet ? "" : ", the JIT still compiling")}");
                return;
            }
        }
    }

    /// <summary>CPU seconds the processes' background JIT threads (".NET Tiered Com") have used.</summary>
    static double JitSeconds()
    {
        var seconds = 0.0;
        foreach (var pid in Processes)
            foreach (var task in Directory.Exists($"/proc/{pid}/task") ? Directory.GetDirectories($"/proc/{pid}/task") : [])
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Tiered Com") seconds += CpuUse.Seconds(Path.Combine(task, "stat")) ?? 0;
                }
                catch (IOException) { }   // the thread ended
        return seconds;
    }

    static async Task<(List<double>[] Latencies, long Errors, double Seconds)> Load(int workers, TimeSpan duration,
        Func<int, long, Task> operation, long firstIteration)
    {
        var latencies = new List<double>[workers];
        var errors = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(4096);
            for (var i = firstIteration; clock.Elapsed < duration; i++)
            {
                var start = Stopwatch.GetTimestamp();
                try { await operation(w, i); }
                catch (Exception e) { Failed(ref errors, e); continue; }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        return (latencies, errors, clock.Elapsed.TotalSeconds);
    }
}
