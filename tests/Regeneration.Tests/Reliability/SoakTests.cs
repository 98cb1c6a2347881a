// A soak: the whole system as four real processes (Projects, Budget, KPI, gateway) with the demo
// portfolio, under steady load through the gateway — executives reading the rollup and the maturity,
// project managers reporting progress — for REGENERATION_SOAK_SECONDS (30 in the test command; 600 with
// scripts/soak.sh). Per window: requests, errors, p50/p99 latency and each process's RSS. The error rate
// stays at 0, latency and memory stay flat, and every acknowledged write is stored exactly once.
// It runs alone (its own collection, not in parallel) so that the figures are its own.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Regeneration.Budget.V1;
using Regeneration.DemoData;
using Regeneration.Gateway;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using Xunit.Abstractions;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

[CollectionDefinition("soak", DisableParallelization = true)]
public sealed class SoakCollection;

[Collection("soak")]
public class SoakTests(ITestOutputHelper output)
{
    const int Clients = 8;
    static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(160);   // per client: about 50 requests/s in all

    sealed record Window(int Requests, int Errors, double P50, double P99, IReadOnlyDictionary<string, long> Rss);

    [Fact]
    public async Task Under_steady_load_errors_stay_at_zero_latency_and_memory_stay_flat_and_writes_land_once()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("REGENERATION_SOAK_SECONDS"), out var s) ? s : 30;
        var windowLength = TimeSpan.FromSeconds(Math.Max(5, seconds / 6.0));
        var windows = (int)Math.Round(seconds / windowLength.TotalSeconds);

        var database = await PostgresServer.CreateDatabaseAsync();
        using var system = await SystemProcesses.StartAsync(database);
        var (projects, budget, kpi, gateway) = (system.Projects, system.Budget, system.Kpi, system.Gateway);
        var processes = system.All;

        // The demo portfolio, and one project with one milestone per project manager of the soak.
        using var p = GrpcChannel.ForAddress(projects.Address);
        using var b = GrpcChannel.ForAddress(budget.Address);
        using var k = GrpcChannel.ForAddress(kpi.Address);
        var projectsClient = new ProjectService.ProjectServiceClient(Admin(p));
        await DemoPortfolio.SeedAsync(projectsClient, new BudgetService.BudgetServiceClient(Admin(b)), new KpiService.KpiServiceClient(Admin(k)));
        var owned = new (string ProjectId, string MilestoneId)[Clients];
        for (var c = 0; c < Clients; c++)
        {
            var (projectId, _) = await RegisterActive(projectsClient, r => r.Owner = $"pm.soak{c}");
            owned[c] = (projectId, await Plan(projectsClient, projectId, weight: 10));
        }

        var samples = Enumerable.Range(0, windows).Select(_ => new ConcurrentBag<double>()).ToArray();
        var errors = new int[windows];
        var acknowledged = new int[Clients];
        var failures = new ConcurrentQueue<string>();
        var rss = Enumerable.Range(0, windows).Select(_ => new ConcurrentDictionary<string, long>()).ToArray();
        var clock = Stopwatch.StartNew();
        var end = windowLength * windows;

        var sampler = Task.Run(async () =>
        {
            for (var w = 0; w < windows; w++)
            {
                await Task.Delay(windowLength * (w + 1) - clock.Elapsed - TimeSpan.FromMilliseconds(200) is { Ticks: > 0 } wait ? wait : TimeSpan.Zero);
                foreach (var (name, process) in processes) rss[w][name] = process.ResidentBytes();
            }
        });
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var executive = Http(gateway, TestTokens.Executive);
            using var manager = Http(gateway, TestTokens.Manager($"pm.soak{c}"));
            var progress = 0;
            for (var i = 0; clock.Elapsed < end; i++)
            {
                var started = clock.Elapsed;
                HttpResponseMessage response;
                var write = i % 3 == 0;
                if (write)
                {
                    // Progress climbs to 99, then goes back (with the reason a step back needs) and climbs again.
                    progress = progress >= 99 ? 1 : progress + 1;
                    var body = new ReportProgressBody(progress, null, progress == 1 ? "Re-measured on site" : null);
                    response = await manager.PostAsJsonAsync($"/api/v1/projects/{owned[c].ProjectId}/milestones/{owned[c].MilestoneId}/progress", body);
                }
                else response = await executive.GetAsync(i % 3 == 1 ? "/api/v1/kpis" : "/api/v1/maturity");

                var window = Math.Min(windows - 1, (int)(started / windowLength));
                samples[window].Add((clock.Elapsed - started).TotalMilliseconds);
                if (response.IsSuccessStatusCode) { if (write) acknowledged[c]++; }
                else
                {
                    Interlocked.Increment(ref errors[window]);
                    failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                response.Dispose();
                var next = started + Pace;
                if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
            }
        })));
        await sampler;

        var table = Enumerable.Range(0, windows).Select(w =>
        {
            var sorted = samples[w].Order().ToArray();
            return new Window(sorted.Length, errors[w], Percentile(sorted, 0.50), Percentile(sorted, 0.99), rss[w]);
        }).ToList();
        var report = Report(table, windowLength, seconds);
        output.WriteLine(report);
        var file = Path.Combine(Repository.Root(), "artifacts", "reliability", "soak.md");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, report);

        // Every acknowledged progress report is one event, no more, no less.
        var wrong = 0;
        for (var c = 0; c < Clients; c++)
        {
            var history = (await projectsClient.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = owned[c].ProjectId })).Events;
            wrong += Math.Abs(history.Count(e => e.MilestoneProgressReported is not null) - acknowledged[c]);
        }
        var scenario = $"Soak: {seconds} s of steady load through the gateway (4 processes, {Clients} clients)";
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, acknowledged.Sum());
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, wrong);

        Assert.True(table.Sum(t => t.Errors) == 0, $"errors: {string.Join("\n", failures.Take(5))}");
        Assert.Equal(0, wrong);
        // Flat: after the first (warm-up) window, the later half's p99 (the median of its windows': one slow window,
        // a collection or the machine, is not a trend; a leak or a growing queue slows them all) stays within 4x the
        // second window's (+50 ms), and no process's memory grows by more than half again (+64 MB) between the second
        // and the last window.
        var later = table.Skip(windows / 2).Select(t => t.P99).Order().ToArray();
        Assert.True(later[later.Length / 2] <= 4 * table[1].P99 + 50, report);
        foreach (var name in processes.Keys)
            Assert.True(table[^1].Rss[name] <= 1.5 * table[1].Rss[name] + 64 * 1024 * 1024, report);
        Assert.All(processes.Values, process => Assert.True(process.IsRunning));
    }

    static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    static string Report(IReadOnlyList<Window> table, TimeSpan windowLength, int seconds)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"Soak: {seconds} s, {Clients} clients at one request per {Pace.TotalMilliseconds:0} ms each (1/3 progress reports, 1/3 rollups, 1/3 maturity), windows of {windowLength.TotalSeconds:0} s");
        text.AppendLine();
        text.AppendLine("| window | requests | errors | p50 ms | p99 ms | RSS projects MB | RSS budget MB | RSS kpi MB | RSS gateway MB |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var w = 0; w < table.Count; w++)
        {
            var t = table[w];
            string Mb(string name) => (t.Rss.GetValueOrDefault(name) / 1024.0 / 1024.0).ToString("0", c);
            text.AppendLine(c, $"| {w + 1} | {t.Requests} | {t.Errors} | {t.P50:0.0} | {t.P99:0.0} | {Mb("projects")} | {Mb("budget")} | {Mb("kpi")} | {Mb("gateway")} |");
        }
        return text.ToString();
    }

    static Grpc.Core.CallInvoker Admin(GrpcChannel channel) =>
        channel.Intercept(m => { m.Add("Authorization", $"Bearer {TestTokens.Admin}"); return m; });

    static HttpClient Http(ServiceProcess gateway, string token)
    {
        var http = new HttpClient { BaseAddress = new Uri(gateway.Address), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return http;
    }
}
