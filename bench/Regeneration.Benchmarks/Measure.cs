// Runs an operation from N concurrent workers for a fixed time and reports throughput and exact
// latency percentiles (every latency kept, sorted), after a warm-up of the same load that is not measured
// (the JIT recompiles hot code with tiered compilation in a process's first seconds: measured as it was, a
// freshly started service spent a fifth of the machine's CPU in the JIT during the write benchmark).
using System.Diagnostics;

namespace Regeneration.Benchmarks;

public sealed record Result(string Scenario, string Variant, int Workers, long Operations, long Errors, double Seconds,
    double P50, double P95, double P99)
{
    public double PerSecond => Operations / Seconds;
}

public static class Measure
{
    /// <param name="operation">(worker, iteration) → one operation.</param>
    /// <param name="afterWarmUp">Runs between the warm-up and the measurement (e.g. resets statistics).</param>
    public static async Task<Result> Run(string scenario, string variant, int workers, TimeSpan warmUp, TimeSpan duration,
        Func<int, long, Task> operation, Func<Task>? afterWarmUp = null)
    {
        if (warmUp > TimeSpan.Zero) await Load(workers, warmUp, operation, firstIteration: 1_000_000_000);
        if (afterWarmUp is not null) await afterWarmUp();
        Console.WriteLine($"measuring {scenario}: {variant} ({duration.TotalSeconds} s)");
        var (latencies, errors, seconds) = await Load(workers, duration, operation, firstIteration: 0);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double At(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
        return new Result(scenario, variant, workers, all.Length, errors, seconds, At(0.50), At(0.95), At(0.99));
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
                catch (Exception) { Interlocked.Increment(ref errors); continue; }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        return (latencies, errors, clock.Elapsed.TotalSeconds);
    }
}
