// Runs an operation from N concurrent workers for a fixed time and reports throughput and exact
// latency percentiles (every latency kept, sorted).
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
    public static async Task<Result> Run(string scenario, string variant, int workers, TimeSpan duration,
        Func<int, long, Task> operation)
    {
        var latencies = new List<double>[workers];
        var errors = 0L;
        var clock = Stopwatch.StartNew();
        var stopAt = duration;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(4096);
            for (long i = 0; clock.Elapsed < stopAt; i++)
            {
                var start = Stopwatch.GetTimestamp();
                try { await operation(w, i); }
                catch (Exception) { Interlocked.Increment(ref errors); continue; }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double At(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
        return new Result(scenario, variant, workers, all.Length, errors, seconds, At(0.50), At(0.95), At(0.99));
    }
}
