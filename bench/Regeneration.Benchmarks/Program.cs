// Regeneration's benchmarks: each scenario measures our path and its physical limit side by side in one
// run, and prints the figures and their ratio. The three services and the gateway run as separate
// processes (their own build outputs), so each one's memory is its own. Usage (see BENCHMARKS.md):
//   dotnet run -c Release --project bench/Regeneration.Benchmarks -- [--seconds 10] [--warmup 20] [--workers 64] [--projects 1000,10000] [--smoke]
//     [--only formula,token,writes,load,rebuild]   (a subset of the scenarios, to profile one; the rebuild reads what
//                                          load wrote; formula and token alone need no database)
//     [--statements]                 (after each write variant, the SQL it cost PostgreSQL, from pg_stat_statements,
//                                     and its WAL by record type, from pg_walinspect)
//     [--repeat N]                   (each service's --rebuild run N times, the median reported)
// The milestone updates are measured flat out (closed loop: each client sends its next call when the last one is
// answered), then at a quarter, half and three quarters of the rate reached, beside the raw INSERT at the same rates
// (open loop: calls sent on a schedule, each timed from when it was due); and the same calls answered at once by an
// empty service, the floor of the gRPC call itself.
using System.Globalization;
using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
var projectCounts = options.GetValueOrDefault("projects", smoke ? "20" : "1000,10000").Split(',').Select(int.Parse).Order().ToArray();
var duration = TimeSpan.FromSeconds(seconds);
// Each measurement follows a warm-up of the same load, not measured.
var warmUp = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("warmup", smoke ? "0" : "20"), CultureInfo.InvariantCulture));
var statements = options.ContainsKey("statements");
var repeat = int.Parse(options.GetValueOrDefault("repeat", "1"));
if (statements) Environment.SetEnvironmentVariable("REGENERATION_POSTGRES_STATEMENTS", "1");
var only = options.GetValueOrDefault("only", "formula,token,writes,load,rebuild").Split(',').ToHashSet();
var results = new List<Result>();
// Production durability: every commit waits for its WAL flush, for us and for the raw-INSERT limit alike.
Environment.SetEnvironmentVariable("REGENERATION_POSTGRES_DURABLE", "1");
// The database at its address on the Docker bridge, as the compose deployment reaches it, not through the
// published port (Docker's userland proxy costs CPU on every round trip). REGENERATION_POSTGRES_DIRECT=0: the port.
if (Environment.GetEnvironmentVariable("REGENERATION_POSTGRES_DIRECT") is null) Environment.SetEnvironmentVariable("REGENERATION_POSTGRES_DIRECT", "1");

Console.WriteLine($"Regeneration benchmarks — {Environment.ProcessorCount} cores, {seconds} s per measurement after a warm-up of at least {warmUp.TotalSeconds} s (until no process's JIT is still at work), {workers} workers, PostgreSQL: {PostgresServer.Mode}");
// The formula and the token alone need no database. In a full run they come last: the portfolios the formula builds
// in this process slowed the gRPC milestone updates measured after them (1,426 against 1,905 ops/s, one run each).
if (only.IsSubsetOf(["formula", "token"]))
{
    if (only.Contains("token")) await TokenBench.Run(calls: smoke ? 1_000 : 50_000);
    if (only.Contains("formula")) FormulaBench.Run(projectCounts);
    return 0;
}
var database = await PostgresServer.CreateDatabaseAsync();
var db = $"ConnectionStrings:Postgres={database}";
using var system = await SystemProcesses.StartAsync(database);
var (projects, budget, kpi, gateway) = (system.Projects, system.Budget, system.Kpi, system.Gateway);
var memory = new Memory(system.All);
Measure.Processes = [Environment.ProcessId, .. system.All.Values.Select(p => p.ProcessId)];
// A run that fails shows why: each process's last words (the services log their unexpected errors).
AppDomain.CurrentDomain.UnhandledException += (_, _) =>
{
    foreach (var (name, process) in system.All) Console.WriteLine($"--- {name}, last lines of its log:\n{LastWords(process)}");
};

using var projectsChannel = GrpcChannel.ForAddress(projects.Address);
using var budgetChannel = GrpcChannel.ForAddress(budget.Address);
using var kpiChannel = GrpcChannel.ForAddress(kpi.Address);
static CallInvoker Admin(GrpcChannel channel) => channel.Intercept(m => { m.Add("Authorization", $"Bearer {TestTokens.Admin}"); return m; });
var projectsClient = new ProjectService.ProjectServiceClient(Admin(projectsChannel));
var budgetClient = new BudgetService.BudgetServiceClient(Admin(budgetChannel));
var kpiClient = new KpiService.KpiServiceClient(Admin(kpiChannel));
// The Projects service's own composition, built but not started: its document store (same schema,
// same projections) for the in-process comparisons.
await using var projectsInProcess = Regeneration.Projects.ProjectsApp.Build(["--environment=Development", $"--{db}", "--Logging:LogLevel:Default=Warning"]);
var store = projectsInProcess.Services.GetRequiredService<IDocumentStore>();
// Our own SQL (the raw-INSERT limit, counts, the plain read): prepared, and returned to the pool without Npgsql's reset,
// as the services' is (BENCHMARKS.md 1: with the reset the limit measured half as fast); a connection for every worker
// (the limit's best: fewer connections batch fewer commits into each WAL flush).
await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { MaxAutoPrepare = 100, NoResetOnClose = true, MaxPoolSize = Math.Max(workers, 8) }.ConnectionString);

// ---- 1. Milestone updates: gRPC vs in-process Marten vs raw one-row INSERT transactions ----
var targets = new (string Project, string Milestone)[workers];
await Parallel.ForEachAsync(Enumerable.Range(0, workers), async (w, _) => targets[w] = await NewProject(projectsClient, $"BENCH-W{w:D3}"));
await using (var create = dataSource.CreateCommand("create table if not exists bench_raw (id bigserial primary key, stream uuid not null, data jsonb not null, at timestamptz not null default now())"))
    await create.ExecuteNonQueryAsync();

if (only.Contains("writes"))
{
    memory.Phase = "milestone updates";
    Task Report(int w, long i) => projectsClient.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
    {
        RequestId = $"bench-{w}-{i}-{Guid.NewGuid():N}", ProjectId = targets[w].Project, MilestoneId = targets[w].Milestone,
        Progress = (int)(i % 100), Reason = "benchmark",
    }).ResponseAsync;
    async Task RawInsert(int w, long i)
    {
        await using var insert = dataSource.CreateCommand("insert into bench_raw (stream, data) values ($1, $2::jsonb)");
        insert.Parameters.AddWithValue(Guid.Parse(targets[w].Project));
        insert.Parameters.AddWithValue($"{{\"progress\":{i % 100}}}");
        await insert.ExecuteNonQueryAsync();
    }
    var flatOut = await Writes("gRPC ReportMilestoneProgress (auth, validated, idempotent)", Report);
    results.Add(flatOut);
    // The same clients at fixed rates below the one they reached flat out: the latency a given load meets, each call
    // timed from when it was due, our path and the raw INSERT at the same rate (BENCHMARKS.md, 1). The calls over the
    // p99 goal are counted by when they were due: spread out, or bunched.
    const double goalP99Ms = 25;
    var settle = warmUp > TimeSpan.Zero ? TimeSpan.FromSeconds(5) : TimeSpan.Zero;
    foreach (var share in smoke ? [0.5] : new[] { 0.25, 0.5, 0.75 })
    {
        var rate = Math.Max(1, Math.Round(share * flatOut.PerSecond));
        var scenario = $"milestone update at {share * 100:0} % of that rate ({rate:0}/s in all), {workers} clients";
        results.Add(await Measure.RunAtRate(scenario, "gRPC ReportMilestoneProgress, open loop", workers, rate, settle, duration, goalP99Ms, Report));
        results.Add(await Measure.RunAtRate(scenario, "raw Npgsql one-row INSERT transaction, open loop", workers, rate, settle, duration, goalP99Ms, RawInsert));
    }
    results.Add(await Writes("in-process Marten append (same events, same inline projection)", async (w, i) =>
    {
        await using var session = store.LightweightSession();
        var stream = await session.Events.FetchForWriting<Regeneration.Projects.Project>(Guid.Parse(targets[w].Project));
        stream.AppendOne(new Regeneration.Projects.MilestoneProgressReported(Guid.Parse(targets[w].Milestone), (int)(i % 100), 0, null, "benchmark"));
        await session.SaveChangesAsync();
    }));
    // What one transaction per command leaves on the table: the same appends, the workers' waiting ones gathered into
    // one transaction (a group commit, as the service's CommandRunner does), as many such transactions under way at a
    // time as it has. Its ceiling with no gRPC, authentication, validation or receipts (BENCHMARKS.md, 1).
    {
        var waiting = System.Threading.Channels.Channel.CreateUnbounded<(int W, long I, TaskCompletionSource Done)>();
        using var stop = new CancellationTokenSource();
        var (groups, grouped) = (0L, 0L);
        var committers = Enumerable.Range(0, Regeneration.ServiceDefaults.CommandRunner.Committers).Select(_ => Task.Run(async () =>
        {
            var group = new List<(int W, long I, TaskCompletionSource Done)>();
            while (await waiting.Reader.WaitToReadAsync(stop.Token).AsTask().ContinueWith(t => t is { IsCompletedSuccessfully: true, Result: true }))
            {
                group.Clear();
                while (group.Count < workers && waiting.Reader.TryRead(out var next)) group.Add(next);
                if (group.Count == 0) continue;
                try
                {
                    await using var session = store.LightweightSession();
                    var batch = session.CreateBatchQuery();
                    var fetched = group.Select(c => batch.Events.FetchForWriting<Regeneration.Projects.Project>(Guid.Parse(targets[c.W].Project))).ToList();
                    await batch.Execute();
                    for (var k = 0; k < group.Count; k++)
                        (await fetched[k]).AppendOne(new Regeneration.Projects.MilestoneProgressReported(Guid.Parse(targets[group[k].W].Milestone), (int)(group[k].I % 100), 0, null, "benchmark"));
                    await session.SaveChangesAsync();
                    Interlocked.Increment(ref groups);
                    Interlocked.Add(ref grouped, group.Count);
                    foreach (var c in group) c.Done.SetResult();
                }
                catch (Exception e)
                {
                    foreach (var c in group) c.Done.SetException(e);
                }
            }
        })).ToArray();
        var result = await Writes("in-process Marten append, waiting commands grouped per transaction (group commit)", async (w, i) =>
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting.Writer.TryWrite((w, i, done));
            await done.Task;
        });
        stop.Cancel();
        await Task.WhenAll(committers);
        Console.WriteLine($"group commit: {grouped} commands in {groups} transactions, {(double)grouped / Math.Max(groups, 1):0.0} per transaction (warm-up included)");
        results.Add(result);
    }
    results.Add(await Writes("raw Npgsql one-row INSERT transaction", RawInsert));
    // The floor of the gRPC call itself: the same calls from the same clients, answered at once by a service that
    // does nothing on the same Kestrel (HTTP/2 without TLS): no authentication, validation, receipt or database. With
    // the grouped in-process appends' CPU per call it bounds what our path can reach on this machine (BENCHMARKS.md, 1).
    await using var emptyServer = await EmptyGrpc();
    using var emptyChannel = GrpcChannel.ForAddress(emptyServer.Urls.First());
    var emptyClient = new ProjectService.ProjectServiceClient(emptyChannel);
    results.Add(await Writes("the same gRPC call answered at once by an empty service (no auth, no database)", (w, i) =>
        emptyClient.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = $"bench-{w}-{i}-{Guid.NewGuid():N}", ProjectId = targets[w].Project, MilestoneId = targets[w].Milestone,
            Progress = (int)(i % 100), Reason = "benchmark",
        }).ResponseAsync, scenario: "milestone update's gRPC call alone"));
}

// ---- 4 and 2. Bulk import of the portfolio in steps, and the rollup at each size ----
var token = TestTokens.Executive;
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(gateway.Address) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
var loaded = 0;
foreach (var count in only.Contains("load") ? projectCounts : [])
{
    memory.Phase = $"loading projects {loaded + 1}-{count}";
    var eventsBefore = await Events(dataSource);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var ids = await Generator.Import(projectsClient, loaded, count);
    var importSeconds = clock.Elapsed.TotalSeconds;
    // Completed projects take no new allocations.
    await Parallel.ForEachAsync(ids.Where(p => p.Status != ProjectStatus.Completed), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (project, ct) =>
        await budgetClient.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = $"bench-alloc-{project.Code}", ProjectId = project.Id, Source = (FundingSource)(1 + project.Number % 4),
            FiscalYear = 2024 + project.Number % 3, AmountWon = 100_000_000 + project.Number % 97 * 10_000_000,
        }, cancellationToken: ct));
    var budgetSeconds = clock.Elapsed.TotalSeconds - importSeconds;
    await Generator.ImportIndicators(kpiClient, ids);
    var totalSeconds = clock.Elapsed.TotalSeconds;
    var events = await Events(dataSource) - eventsBefore;
    results.Add(new Result($"bulk import, {count - loaded} projects", $"ImportProjects, AllocateFunds per open project, ImportIndicators (batches of {Generator.Batch}, {Generator.Callers} callers); per project",
        Generator.Callers, count - loaded, 0, totalSeconds, double.NaN, double.NaN, double.NaN));
    Console.WriteLine($"loaded {count - loaded} projects ({events} events) in {totalSeconds:0.0} s: {events / totalSeconds:0} events/s " +
        $"(projects {importSeconds:0.0} s, budgets {budgetSeconds:0.0} s, indicators {totalSeconds - importSeconds - budgetSeconds:0.0} s)");
    loaded = count;

    // The KPI service follows both change feeds; wait until its rollup has every project.
    memory.Phase = $"KPI catching up with {count} projects";
    clock.Restart();
    for (var waited = 0; (await kpiClient.GetKpiRollupAsync(new GetKpiRollupRequest())).Portfolio.ProjectCount < loaded + workers && waited < 600; waited++)
        await Task.Delay(1000);
    Console.WriteLine($"KPI's rollup had all {loaded + workers} projects {clock.Elapsed.TotalSeconds:0.0} s after the import ended (polled every second)");
    memory.Phase = $"rollup at {count} projects";
    var body = await http.GetByteArrayAsync("/api/v1/kpis");
    await using var staticServer = await StaticJson(body);
    using var plain = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(staticServer.Urls.First()) };
    var readers = Math.Min(workers, 8);
    results.Add(await Measure.Run($"rollup, {count} projects ({body.Length / 1024} KB)", "gateway GET /api/v1/kpis (auth, gRPC to KPI + Budget)", readers, warmUp, duration,
        async (_, _) => await Read(http, "/api/v1/kpis")));
    results.Add(await Measure.Run($"rollup, {count} projects ({body.Length / 1024} KB)", "Kestrel serving the same bytes precomputed", readers, warmUp, duration,
        async (_, _) => await Read(plain, "/static")));
    // The answers above are the same from call to call (the services answer "not modified"): the same reads while a
    // project manager changes a milestone every 100 ms, so that KPI's inputs move with each of its feed reads.
    memory.Phase = $"rollup while changing at {count} projects";
    results.Add(await WhileChanging(() => Measure.Run($"rollup while changing, {count} projects",
        "gateway GET /api/v1/kpis, a milestone changed every 100 ms", readers, warmUp, duration, async (_, _) => await Read(http, "/api/v1/kpis"))));
    // The maturity (the headline): as kept while no input moves, and computed afresh for each call (a forecast for
    // a new date each time: the inputs kept, the maturity and its gaps computed); then as of a past instant (the
    // portfolio as it stood then, from the services' as-of queries: one caller).
    var maturityBytes = (await http.GetByteArrayAsync("/api/v1/maturity")).Length;
    // The whole evidence in one answer, as the maturity gave it before it listed the largest contributions only.
    using (var whole = await http.GetAsync($"/api/v1/maturity?maxContributions={500}"))
        Console.WriteLine($"maturity at {count} projects with up to 500 contributions per dimension: {(int)whole.StatusCode}, {(await whole.Content.ReadAsByteArrayAsync()).Length / 1024} KB {(whole.IsSuccessStatusCode ? "" : await whole.Content.ReadAsStringAsync())}");
    var day = 0;
    // (No limit to compare with: one scenario per line.)
    memory.Phase = $"maturity kept at {count} projects";
    results.Add(await Measure.Run($"maturity as kept, {count} projects ({maturityBytes / 1024} KB)", "gateway GET /api/v1/maturity (kept until an input moves)", readers, warmUp, duration,
        async (_, _) => await Read(http, "/api/v1/maturity")));
    memory.Phase = $"maturity while changing at {count} projects";
    results.Add(await WhileChanging(() => Measure.Run($"maturity while changing, {count} projects",
        "gateway GET /api/v1/maturity, a milestone changed every 100 ms", readers, warmUp, duration, async (_, _) => await Read(http, "/api/v1/maturity"))));
    memory.Phase = $"maturity computed at {count} projects";
    results.Add(await Measure.Run($"maturity computed, {count} projects", "gateway GET /api/v1/maturity?at=<a new future date each call> (computed each call)", readers, warmUp, duration,
        async (_, _) => await Read(http, $"/api/v1/maturity?at={DateTime.UtcNow.Date.AddDays(30 + Interlocked.Increment(ref day)):yyyy-MM-dd}")));
    memory.Phase = $"maturity as of at {count} projects";
    // A new instant each call (the last one asked is kept: the same instant again would measure the keeping).
    results.Add(await Measure.Run($"maturity as of, {count} projects", "KPI GetMaturity as of a past instant (gRPC, one caller, a new instant each call)", 1, TimeSpan.Zero, duration,
        async (_, _) => await kpiClient.GetMaturityAsync(new GetMaturityRequest { At = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)) })));
    // An integrator paging through one dimension's contributions as of one instant: computed for the first page, kept
    // for the others.
    {
        var asOf = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));
        var dimension = (await kpiClient.GetMaturityAsync(new GetMaturityRequest())).Dimensions.MaxBy(d => d.ContributionCount)!.Dimension.Code;
        var pages = new List<double>();
        var (pageToken, pageClock) = ("", System.Diagnostics.Stopwatch.StartNew());
        do
        {
            pageClock.Restart();
            pageToken = (await kpiClient.ListDimensionContributionsAsync(new ListDimensionContributionsRequest
            {
                Dimension = dimension, At = asOf, Page = new Regeneration.Common.V1.PageRequest { PageSize = 100, PageToken = pageToken },
            })).NextPageToken;
            pages.Add(pageClock.Elapsed.TotalMilliseconds);
        } while (pageToken.Length > 0);
        var rest = pages.Skip(1).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"contributions of {dimension} as of a past instant at {count} projects, {pages.Count} pages of 100: " +
            $"first {pages[0]:0} ms, the others p50 {(rest.Count > 0 ? rest[rest.Count / 2] : double.NaN):0.0} ms, max {(rest.Count > 0 ? rest[^1] : double.NaN):0.0} ms"));
    }
    memory.Mark($"{count} projects");
}

// ---- 3. Rebuild of every read model (each service's snapshots, `--rebuild`) vs a plain sequential read of the events ----
if (only.Contains("rebuild"))
{
    memory.Phase = "rebuild";
    (string Schema, string Project, Func<string[], WebApplication> Build)[] Services =
        [("projects", "Projects", Regeneration.Projects.ProjectsApp.Build), ("budget", "Budget", Regeneration.Budget.BudgetApp.Build), ("kpi", "Kpi", Regeneration.Kpi.KpiApp.Build)];
    // Twice, the first not measured: the first read of freshly written rows sets PostgreSQL's hint bits on them (and
    // writes those pages again); the measured read, like the rebuild after it, finds them set.
    var clock = new System.Diagnostics.Stopwatch();
    long read = 0;
    var plain = new Dictionary<string, (long Events, double Seconds)>();   // each service's table, for the line per service
    for (var pass = 0; pass < 2; pass++)
    {
        read = 0;
        clock.Restart();
        foreach (var (schema, _, _) in Services)
        {
            var (start, events) = (clock.Elapsed.TotalSeconds, 0L);
            await using var scan = dataSource.CreateCommand($"select seq_id, type, data from {schema}.mt_events order by seq_id");
            await using var reader = await scan.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { _ = reader.GetString(2); events++; }
            plain[schema] = (events, clock.Elapsed.TotalSeconds - start);
            read += events;
        }
    }
    var scanSeconds = clock.Elapsed.TotalSeconds;

    // What a rebuild cannot skip: every event read and deserialised by its service's serializer (on one thread,
    // nothing applied or written).
    var (deserialiseSeconds, deserialised) = (0.0, 0L);
    foreach (var (schema, _, build) in Services)
    {
        await using var app = build(["--environment=Development", $"--{db}", "--Logging:LogLevel:Default=Warning"]);
        var serviceStore = app.Services.GetRequiredService<IDocumentStore>();
        var serializer = serviceStore.Options.Serializer();
        var mappings = Regeneration.ServiceDefaults.SnapshotRebuild.EventMappings(serviceStore).ToDictionary(m => m.EventTypeName);
        clock.Restart();
        await using var scan = dataSource.CreateCommand($"select type, data from {schema}.mt_events order by seq_id");
        await using var reader = await scan.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            if (mappings.TryGetValue(reader.GetString(0), out var mapping))
            {
                _ = serializer.FromJson(mapping.DocumentType, reader, 1);
                deserialised++;
            }
        deserialiseSeconds += clock.Elapsed.TotalSeconds;
    }

    // Each service's own `--rebuild`, as an operator runs it: its own process (its own runtime settings, its code
    // compiled afresh), timed by the process itself from the rebuild's start to its commit (not the process's
    // start-up). --repeat N: N runs each, the median reported.
    var runs = new List<double>();
    var bySchema = Services.ToDictionary(s => s.Schema, _ => new List<double>());
    for (var run = 0; run < repeat; run++)
    {
        var rebuildSeconds = 0.0;
        foreach (var (schema, project, _) in Services)
        {
            var events = await Count(dataSource, $"{schema}.mt_events");
            var before = await Snapshots(dataSource, schema);
            using var rebuild = ServiceProcess.Start(project, db, "rebuild");
            if (await rebuild.ExitCodeAsync() != 0) throw new InvalidOperationException($"{project} --rebuild failed:\n{rebuild.Log}");
            var took = double.Parse(System.Text.RegularExpressions.Regex.Match(rebuild.Log, @"from the events in ([0-9.]+) s").Groups[1].Value, CultureInfo.InvariantCulture);
            rebuildSeconds += took;
            bySchema[schema].Add(took);
            Console.WriteLine($"{project} --rebuild: {events} events in {took:0.00} s, {events / took:0} events/s ({rebuild.Log.Trim()})");
            // The rebuild must fold exactly the snapshots the commands wrote.
            if (await Snapshots(dataSource, schema) != before) throw new InvalidOperationException($"the rebuilt {schema} snapshots differ from the ones the commands wrote");
        }
        runs.Add(rebuildSeconds);
    }
    // Which service holds the whole back: each one's rebuild against the plain read of its own table.
    foreach (var (schema, project, _) in Services)
    {
        var took = bySchema[schema].Order().ElementAt(bySchema[schema].Count / 2);
        var (events, reading) = plain[schema];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{project} --rebuild{(repeat > 1 ? " (median)" : "")}: {events / took:0} events/s, {reading / took:0.00} of the plain read of its events ({events / reading:0} events/s)"));
    }
    results.Add(new Result($"rebuild, {read} events", $"`--rebuild` of the three services (every snapshot folded again, documents written){(repeat > 1 ? $", median of {repeat} runs" : "")}",
        1, read, 0, runs.Order().ElementAt(runs.Count / 2), double.NaN, double.NaN, double.NaN));
    results.Add(new Result($"rebuild, {read} events", $"every event a rebuild folds ({deserialised}) read and deserialised only (one thread, nothing applied or written)", 1, deserialised, 0, deserialiseSeconds, double.NaN, double.NaN, double.NaN));
    results.Add(new Result($"rebuild, {read} events", "plain sequential read of the three events tables", 1, read, 0, scanSeconds, double.NaN, double.NaN, double.NaN));
}

if (only.Contains("token")) await TokenBench.Run(calls: smoke ? 1_000 : 50_000);
if (only.Contains("formula")) FormulaBench.Run(projectCounts);

// A process that stopped during the run makes its figures meaningless: say which, with its last words.
var exited = system.All.Where(p => !p.Value.IsRunning).ToList();
foreach (var (name, process) in exited)
    Console.WriteLine($"{name} exited during the run:\n{LastWords(process)}");
// So does a failure a service logged though every call was answered: how many, and the first one.
foreach (var (name, process) in system.All)
{
    var lines = process.Log.Split('\n');
    static bool Failure(string line) => line.StartsWith("fail:") || line.StartsWith("crit:");
    if (lines.Count(Failure) is var failures and > 0)
        Console.WriteLine($"{name} logged {failures} failures; the first:\n{string.Join('\n', lines.Skip(Array.FindIndex(lines, Failure)).Take(16))}");
}

// ---- Report ----
Console.WriteLine();
Console.WriteLine("| scenario | variant | workers | ops/s | p50 ms | p95 ms | p99 ms | max ms | errors | ratio to the limit |");
Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
foreach (var group in results.GroupBy(r => r.Scenario))
{
    var limit = group.Last();
    foreach (var r in group)
    {
        // At a fixed rate both sides do the same calls per second: the latencies are the comparison.
        var ratio = group.Count() == 1 || r.OpenLoop ? "–" : (r.PerSecond / limit.PerSecond).ToString("0.00", CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {r.Scenario} | {r.Variant} | {r.Workers} | {r.PerSecond:0} | {Ms(r.P50)} | {Ms(r.P95)} | {Ms(r.P99)} | {Ms(r.Max)} | {r.Errors} | {ratio} |"));
    }
}
Console.WriteLine();
memory.Print();
if (exited.Count > 0) return 1;
return 0;

async Task<Result> Writes(string variant, Func<int, long, Task> operation, string scenario = "milestone update")
{
    var walStart = "";   // where the WAL stood when the measurement began
    var cpu = new CpuUse(new Dictionary<string, int> { ["Projects"] = projects.ProcessId, ["the benchmark's clients"] = Environment.ProcessId });
    var result = await Measure.Run(scenario, variant, workers, warmUp, duration, operation, afterWarmUp: async () =>
    {
        cpu.Start();
        if (!statements) return;
        await Execute(dataSource, "create extension if not exists pg_stat_statements; create extension if not exists pg_walinspect; select pg_stat_statements_reset(); select pg_stat_reset_shared('wal'); select pg_stat_reset()");
        await using var lsn = dataSource.CreateCommand("select pg_current_wal_lsn()::text");
        walStart = (string)(await lsn.ExecuteScalarAsync())!;
    });
    Console.WriteLine($"  {variant}: {cpu.PerOperation(result.Operations)}");
    if (statements) await PrintStatements(dataSource, variant, result.Operations, walStart);
    return result;
}

// One GET read to its end as a client that does not keep the body does (a pooled buffer, nothing kept): buffering
// each 100-350 KB answer into arrays of its own cost the benchmark's process a third of the machine, on the cores
// the measured processes share (BENCHMARKS.md, 2).
// A measurement while a milestone of the portfolio changes every 100 ms (progress through the Projects service).
async Task<Result> WhileChanging(Func<Task<Result>> measure)
{
    using var stop = new CancellationTokenSource();
    var changing = Task.Run(async () =>
    {
        for (var i = 0L; !stop.IsCancellationRequested; i++)
        {
            await projectsClient.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
            {
                RequestId = $"bench-change-{i}-{Guid.NewGuid():N}", ProjectId = targets[0].Project, MilestoneId = targets[0].Milestone,
                Progress = (int)(i % 100), Reason = "benchmark",
            });
            try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
        }
    });
    try { return await measure(); }
    finally
    {
        stop.Cancel();
        await changing;
    }
}

static async Task Read(HttpClient client, string path)
{
    using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    await using var body = await response.Content.ReadAsStreamAsync();
    await body.CopyToAsync(Stream.Null);
}

static async Task Execute(NpgsqlDataSource dataSource, string sql)
{
    await using var command = dataSource.CreateCommand(sql);
    await command.ExecuteNonQueryAsync();
}

// What the variant's SQL cost PostgreSQL, per operation, by statement (pg_stat_statements, execution time only).
static async Task PrintStatements(NpgsqlDataSource dataSource, string variant, long operations, string walStart)
{
    await using var top = dataSource.CreateCommand(
        "select calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) from pg_stat_statements " +
        "where query not like '%pg_stat_statements%' order by total_exec_time desc limit 12");
    await using (var wal = dataSource.CreateCommand("select wal_records, wal_fpi, wal_bytes from pg_stat_wal"))
    await using (var walReader = await wal.ExecuteReaderAsync())
    {
        await walReader.ReadAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"WAL per operation of: {variant}: {walReader.GetInt64(0) / (double)operations:0.0} records, {walReader.GetInt64(1) / (double)operations:0.00} full-page images, {walReader.GetDecimal(2) / operations:0} bytes"));
    }
    // Where the WAL went, by record type (pg_walinspect, from the measurement's start to now).
    await using (var kinds = dataSource.CreateCommand("select \"resource_manager/record_type\", count, combined_size from pg_get_wal_stats($1::pg_lsn, pg_current_wal_lsn(), true) where count > 0 order by combined_size desc limit 12"))
    {
        kinds.Parameters.AddWithValue(walStart);
        await using var kindsReader = await kinds.ExecuteReaderAsync();
        while (await kindsReader.ReadAsync())
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  WAL {kindsReader.GetString(0)}: {kindsReader.GetInt64(1) / (double)operations:0.00} records, {kindsReader.GetInt64(2) / (double)operations:0} bytes per operation"));
    }
    await using (var tables = dataSource.CreateCommand("select schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where n_tup_ins + n_tup_upd > 100 order by 1"))
    await using (var tablesReader = await tables.ExecuteReaderAsync())
        while (await tablesReader.ReadAsync())
            Console.WriteLine($"  table {tablesReader.GetString(0)}: {tablesReader.GetInt64(1)} inserts, {tablesReader.GetInt64(2)} updates of which {tablesReader.GetInt64(3)} HOT");
    await using var reader = await top.ExecuteReaderAsync();
    Console.WriteLine($"PostgreSQL statements of: {variant} ({operations} operations)");
    Console.WriteLine("| calls/op | exec µs/op | rows/call | statement |");
    while (await reader.ReadAsync())
    {
        var calls = reader.GetInt64(0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {(double)calls / operations:0.00} | {reader.GetDouble(1) * 1000 / operations:0.0} | {(double)reader.GetInt64(2) / Math.Max(1, calls):0.0} | {reader.GetString(3)} |"));
    }
}

static string Ms(double value) => double.IsNaN(value) ? "–" : value.ToString("0.00", CultureInfo.InvariantCulture);

static string LastWords(ServiceProcess process) => process.Log[Math.Max(0, process.Log.Length - 4000)..];

static async Task<long> Events(NpgsqlDataSource dataSource) =>
    await Count(dataSource, "projects.mt_events") + await Count(dataSource, "budget.mt_events") + await Count(dataSource, "kpi.mt_events");

// Every snapshot document of the schema (not the receipts or the KPI's caches), as one checksum.
static async Task<string> Snapshots(NpgsqlDataSource dataSource, string schema)
{
    string[] tables = schema switch { "projects" => ["mt_doc_project"], "budget" => ["mt_doc_projectbudget"], _ => ["mt_doc_indicator", "mt_doc_projectindicators"] };
    var sums = new List<string>();
    foreach (var table in tables)
    {
        await using var sum = dataSource.CreateCommand($"select count(*) || ':' || coalesce(md5(string_agg(data::text || mt_version::text, '|' order by id)), '') from {schema}.{table}");
        sums.Add((string)(await sum.ExecuteScalarAsync())!);
    }
    return string.Join(",", sums);
}

static async Task<long> Count(NpgsqlDataSource dataSource, string table)
{
    await using var count = dataSource.CreateCommand($"select count(*) from {table}");
    return (long)(await count.ExecuteScalarAsync())!;
}

static async Task<(string Project, string Milestone)> NewProject(ProjectService.ProjectServiceClient client, string code)
{
    var imported = await client.ImportProjectsAsync(new ImportProjectsRequest { Projects = { Generator.Project(code, 0, ProjectStatus.Active, milestones: 4) } });
    var id = imported.Results.Single().Result.StreamId;
    var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = id })).Project;
    return (id, project.Milestones.First(m => m.Status != MilestoneStatus.Completed).Id);
}

static async Task<WebApplication> EmptyGrpc()
{
    var builder = WebApplication.CreateBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint =>
        endpoint.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
    builder.Services.AddGrpc();
    var app = builder.Build();
    app.MapGrpcService<EmptyProjects>();
    await app.StartAsync();
    return app;
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

/// <summary>Answers every milestone update at once, as if it had committed: the gRPC floor (no state, no checks).</summary>
sealed class EmptyProjects : ProjectService.ProjectServiceBase
{
    public override Task<ReportMilestoneProgressResponse> ReportMilestoneProgress(ReportMilestoneProgressRequest request, ServerCallContext context) =>
        Task.FromResult(new ReportMilestoneProgressResponse { Result = new Regeneration.Common.V1.CommandResult { StreamId = request.ProjectId, Version = 1 } });
}
