// Regeneration's benchmarks: each scenario measures our path and its physical limit side by side in one
// run, and prints the figures and their ratio. Usage (see BENCHMARKS.md):
//   dotnet run -c Release --project bench/Regeneration.Benchmarks -- [--seconds 10] [--workers 64] [--projects 1000] [--smoke]
using System.Globalization;
using System.Net.Http.Headers;
using Grpc.Core;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Regeneration.Benchmarks;
using Regeneration.Budget.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--")).ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length && !args[x.i + 1].StartsWith("--") ? args[x.i + 1] : "true");
var smoke = options.ContainsKey("smoke");
var seconds = double.Parse(options.GetValueOrDefault("seconds", smoke ? "1" : "10"), CultureInfo.InvariantCulture);
var workers = int.Parse(options.GetValueOrDefault("workers", smoke ? "4" : "64"));
var projectCounts = options.GetValueOrDefault("projects", smoke ? "20" : "1000").Split(',').Select(int.Parse).ToArray();
var duration = TimeSpan.FromSeconds(seconds);
var results = new List<Result>();

Console.WriteLine($"Regeneration benchmarks — {Environment.ProcessorCount} cores, {seconds} s per measurement, {workers} workers, PostgreSQL: {PostgresServer.Mode}");
var database = await PostgresServer.CreateDatabaseAsync();
await using var projects = await ServiceHost.StartAsync(Regeneration.Projects.ProjectsApp.Build, database);
await using var budget = await ServiceHost.StartAsync(Regeneration.Budget.BudgetApp.Build, database, $"Services:Projects={projects.Address}");
await using var kpi = await ServiceHost.StartAsync(Regeneration.Kpi.KpiApp.Build, database, $"Services:Projects={projects.Address}",
    $"Services:Budget={budget.Address}");
var gateway = Regeneration.Gateway.GatewayApp.Build([
    "--urls=http://127.0.0.1:0", "--environment=Development", "--Logging:LogLevel:Default=Warning",
    $"--Services:Projects={projects.Address}", $"--Services:Budget={budget.Address}", $"--Services:Kpi={kpi.Address}",
    "--RateLimits:PermitsPerSecond=1000000", "--RateLimits:Burst=1000000"]);
await gateway.StartAsync();
var projectsClient = new ProjectService.ProjectServiceClient(projects.Admin);
var budgetClient = new BudgetService.BudgetServiceClient(budget.Admin);
var kpiClient = new KpiService.KpiServiceClient(kpi.Admin);

// ---- 1. Milestone updates: gRPC vs in-process Marten vs raw one-row INSERT transactions ----
var targets = new (string Project, string Milestone)[workers];
await Parallel.ForEachAsync(Enumerable.Range(0, workers), async (w, _) => targets[w] = await NewProject(projectsClient, $"BENCH-W{w:D3}", 1));
var store = projects.Services.GetRequiredService<IDocumentStore>();
await using var dataSource = NpgsqlDataSource.Create(database);
await using (var create = dataSource.CreateCommand("create table if not exists bench_raw (id bigserial primary key, stream uuid not null, data jsonb not null, at timestamptz not null default now())"))
    await create.ExecuteNonQueryAsync();

results.Add(await Measure.Run("milestone update", "gRPC ReportMilestoneProgress (auth, validated, idempotent)", workers, duration, (w, i) =>
    projectsClient.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
    {
        RequestId = $"bench-{w}-{i}-{Guid.NewGuid():N}", ProjectId = targets[w].Project, MilestoneId = targets[w].Milestone,
        Progress = (int)(i % 100), Reason = "benchmark",
    }).ResponseAsync));
results.Add(await Measure.Run("milestone update", "in-process Marten append (same events, same inline projection)", workers, duration, async (w, i) =>
{
    await using var session = store.LightweightSession();
    var stream = await session.Events.FetchForWriting<Regeneration.Projects.Project>(Guid.Parse(targets[w].Project));
    stream.AppendOne(new Regeneration.Projects.MilestoneProgressReported(Guid.Parse(targets[w].Milestone), (int)(i % 100), 0, null, "benchmark"));
    await session.SaveChangesAsync();
}));
results.Add(await Measure.Run("milestone update", "raw Npgsql one-row INSERT transaction", workers, duration, async (w, i) =>
{
    await using var insert = dataSource.CreateCommand("insert into bench_raw (stream, data) values ($1, $2::jsonb)");
    insert.Parameters.AddWithValue(Guid.Parse(targets[w].Project));
    insert.Parameters.AddWithValue($"{{\"progress\":{i % 100}}}");
    await insert.ExecuteNonQueryAsync();
}));

// ---- 2. Rollup through the gateway vs a precomputed body of the same size from the same Kestrel ----
var token = TestTokens.Executive;
var loaded = 0;
foreach (var count in projectCounts.Order())
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var start = loaded;
    await Parallel.ForEachAsync(Enumerable.Range(start, count - start), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, _) =>
    {
        var (projectId, _) = await NewProject(projectsClient, $"BENCH-P{n:D6}", 4);
        await budgetClient.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = $"bench-alloc-{n}", ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 1_000_000_000,
        });
    });
    loaded = count;
    Console.WriteLine($"loaded {count - start} projects through gRPC in {clock.Elapsed.TotalSeconds:0.0} s");
    await kpiClient.GetKpiRollupAsync(new GetKpiRollupRequest { Refresh = true });

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(gateway.Urls.First()) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    var body = await http.GetByteArrayAsync("/api/v1/kpis");
    await using var staticServer = await StaticJson(body);
    using var plain = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(staticServer.Urls.First()) };
    var readers = Math.Min(workers, 8);
    results.Add(await Measure.Run($"rollup, {count} projects ({body.Length / 1024} KB)", "gateway GET /api/v1/kpis (auth, gRPC to KPI + Budget)", readers, duration,
        async (_, _) => (await http.GetAsync("/api/v1/kpis")).EnsureSuccessStatusCode()));
    results.Add(await Measure.Run($"rollup, {count} projects ({body.Length / 1024} KB)", "Kestrel serving the same bytes precomputed", readers, duration,
        async (_, _) => (await plain.GetAsync("/static")).EnsureSuccessStatusCode()));
}

// ---- 3. Projection rebuild of the Projects service's read model vs a plain sequential read of its events ----
{
    long events;
    await using (var count = dataSource.CreateCommand("select count(*) from projects.mt_events")) events = (long)(await count.ExecuteScalarAsync())!;
    var clock = System.Diagnostics.Stopwatch.StartNew();
    long read = 0;
    await using (var scan = dataSource.CreateCommand("select seq_id, type, data from projects.mt_events order by seq_id"))
    await using (var reader = await scan.ExecuteReaderAsync())
        while (await reader.ReadAsync()) { _ = reader.GetString(2); read++; }
    var scanSeconds = clock.Elapsed.TotalSeconds;

    clock.Restart();
    using (var daemon = await store.BuildProjectionDaemonAsync())
        await daemon.RebuildProjectionAsync<Regeneration.Projects.Project>(TimeSpan.FromMinutes(10), CancellationToken.None);
    var rebuildSeconds = clock.Elapsed.TotalSeconds;
    results.Add(new Result($"rebuild, {events} events", "Marten rebuild of the project snapshots (every event applied, documents written)", 1, events, 0, rebuildSeconds, double.NaN, double.NaN, double.NaN));
    results.Add(new Result($"rebuild, {events} events", "plain sequential read of the events table", 1, read, 0, scanSeconds, double.NaN, double.NaN, double.NaN));
}

// ---- Report ----
Console.WriteLine();
Console.WriteLine("| scenario | variant | workers | ops/s | p50 ms | p95 ms | p99 ms | errors | ratio to the limit |");
Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
foreach (var group in results.GroupBy(r => r.Scenario))
{
    var limit = group.Last();
    foreach (var r in group)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {r.Scenario} | {r.Variant} | {r.Workers} | {r.PerSecond:0} | {Ms(r.P50)} | {Ms(r.P95)} | {Ms(r.P99)} | {r.Errors} | {r.PerSecond / limit.PerSecond:0.00} |"));
}
await gateway.DisposeAsync();

static string Ms(double value) => double.IsNaN(value) ? "–" : value.ToString("0.00", CultureInfo.InvariantCulture);

static async Task<(string Project, string Milestone)> NewProject(ProjectService.ProjectServiceClient client, string code, int milestones)
{
    var id = (await client.RegisterProjectAsync(new RegisterProjectRequest
    {
        RequestId = $"bench-register-{code}", Code = code, Name = $"Benchmark project {code}", District = $"District {code.Length % 7}",
        Category = (ProjectCategory)(1 + code.GetHashCode() % 7 is var c && c > 0 ? c : 1), Owner = "pm.bench",
        PlannedStart = "2024-01-01", PlannedEnd = "2027-12-31",
        Contributions = { new MaturityContribution { Dimension = "mobility", Weight = 60 }, new MaturityContribution { Dimension = "digital-platform", Weight = 40 } },
    })).Result.StreamId;
    await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest { RequestId = $"bench-activate-{code}", ProjectId = id, Status = ProjectStatus.Active });
    var first = "";
    for (var m = 0; m < milestones; m++)
    {
        var planned = (await client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = $"bench-plan-{code}-{m}", ProjectId = id, Name = $"Milestone {m}", Weight = 100 / milestones, DueDate = $"{2024 + m}-06-30",
        })).Result.EntityId;
        if (m == 0) first = planned;
        if (m < milestones / 2)
            await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
            {
                RequestId = $"bench-progress-{code}-{m}", ProjectId = id, MilestoneId = planned, Progress = 50,
            });
    }
    return (id, first);
}

static async Task<WebApplication> StaticJson(byte[] body)
{
    var builder = WebApplication.CreateBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    var app = builder.Build();
    app.MapGet("/static", () => Results.Bytes(body, "application/json"));
    await app.StartAsync();
    return app;
}
