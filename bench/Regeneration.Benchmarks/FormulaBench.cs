// The maturity formula alone, in this process on one thread: a current and a forecast maturity of a synthetic
// portfolio shaped like the generator's (ten milestones, two dimensions and three targets a project), with the time
// and the bytes allocated per maturity — what the KPI service spends on each one it computes, without I/O.
using System.Globalization;
using Regeneration.Kpi;

namespace Regeneration.Benchmarks;

public static class FormulaBench
{
    public static void Run(IEnumerable<int> projectCounts, int rounds = 5)
    {
        var catalogue = IndicatorCatalogue.Seed.Select(s => Indicator.From(Guid.NewGuid(), s)).ToDictionary(i => i.Code);
        var dimensions = MaturityOptions.DefaultDimensions;
        var measured = DateTimeOffset.UnixEpoch;
        foreach (var count in projectCounts)
        {
            var projects = Enumerable.Range(0, count).Select(n =>
            {
                var start = new DateOnly(2015 + n % 6, 1, 1);
                var done = n % 20 == 2 ? Generator.Milestones : n % Generator.Milestones;
                var milestones = Enumerable.Range(0, Generator.Milestones).Select(m => new MilestoneInput(Guid.NewGuid(), $"Stage {m + 1}",
                    100 / Generator.Milestones, start.AddMonths(m * 6), start.AddMonths(m * 6 + n % 5), m == done ? 10 + n % 80 : 0, m < done)).ToList();
                var targets = Enumerable.Range(0, Generator.Targets).Select(t => catalogue.Values.ElementAt((n + t * 3) % catalogue.Count)).Distinct()
                    .Select(i => new TargetInput(i, 10, 80, new DateOnly(2027, 12, 31), new Measurement(Guid.NewGuid(), i.Code, 10 + n % 70, measured, "bench"))).ToList();
                (string, int)[] contributions = [(dimensions[n % dimensions.Length].Code, 60), (dimensions[(n + 3) % dimensions.Length].Code, 40)];
                return new ProjectInput(Guid.NewGuid(), $"NAT-{n:D6}", $"Project {n}", "C", $"District {n % 250:D3}", "ACTIVE", false, start,
                    contributions, milestones, 3, new BudgetInput(100_000_000, 10_000_000, 2), targets, 80);
            }).ToList();
            double[] thresholds = [20, 40, 60, 80];
            var forecastDate = new DateOnly(2026, 1, 1);
            (double Ms, double Mb) Once()
            {
                var bytes = GC.GetAllocatedBytesForCurrentThread();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                Formulas.Maturity(projects, dimensions, thresholds);
                Formulas.Maturity([.. projects.Select(p => Formulas.Forecast(p, forecastDate))], dimensions, thresholds);
                return (clock.Elapsed.TotalMilliseconds / 2, (GC.GetAllocatedBytesForCurrentThread() - bytes) / 2 / 1024.0 / 1024.0);
            }
            Once();   // compiled and warm
            var runs = Enumerable.Range(0, rounds).Select(_ => Once()).OrderBy(r => r.Ms).ToList();
            var median = runs[runs.Count / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"maturity formula, {count} projects (in-process, one thread, median of {rounds} current + forecast pairs): {median.Ms:0} ms and {median.Mb:0.0} MB allocated per maturity"));
        }
    }
}
