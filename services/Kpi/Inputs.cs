// The KPI service's inputs. Projects and budgets are kept current here from the Projects and Budget
// change feeds (a cache of each project's and budget's latest state, with the feed position it
// reflects), so a rollup reads one local copy instead of every event of every project. Past and
// future rollups are built from the upstream as-of queries and the forecast rule.
using Google.Protobuf;
using Grpc.Core;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using static Regeneration.ServiceDefaults.ValidationRules;

namespace Regeneration.Kpi;

/// <summary>The latest state of an upstream stream, as its service's contract serialises it.</summary>
public sealed class CachedState
{
    /// <summary>"{feed}:{stream id}".</summary>
    public string Id { get; set; } = "";
    public string Feed { get; set; } = "";
    /// <summary>The upstream stream's version this state is at (0: not recorded, stored before versions were).</summary>
    public long Version { get; set; }
    public byte[] Data { get; set; } = [];
}

public sealed class FeedCheckpoint
{
    public string Id { get; set; } = "";
    public long Sequence { get; set; }
    public DateTimeOffset? SyncedAt { get; set; }
}

/// <summary>The feeds' positions ("{projects},{budget}") and the freshness read with them.</summary>
public sealed record FeedPositions(string Key, Regeneration.Kpi.V1.Freshness Freshness);

public sealed class KpiOptions
{
    public int SyncIntervalMilliseconds { get; set; } = 1000;
    public int StaleAfterSeconds { get; set; } = 30;
}

public sealed class InputSync(IDocumentStore store, ProjectService.ProjectServiceClient projects,
    BudgetService.BudgetServiceClient budgets, TimeProvider time, IOptions<KpiOptions> options, ILogger<InputSync> logger)
{
    public const string ProjectsFeed = "projects", BudgetFeed = "budget";
    const int Batch = 2000;
    public static readonly string[] Feeds = [ProjectsFeed, BudgetFeed];
    readonly Dictionary<string, SemaphoreSlim> gates = Feeds.ToDictionary(feed => feed, _ => new SemaphoreSlim(1, 1));
    readonly Dictionary<string, string> lastErrors = [];

    /// <summary>Reads both feeds up to their current end, side by side, waiting at most <paramref name="within"/>
    /// (at most <see cref="Upstream.Deadline"/>): a feed that does not answer by then stays where it is (its failure
    /// shows in <see cref="Freshness"/>) and the caller answers from what is here.</summary>
    public async Task SyncAsync(TimeSpan within, CancellationToken cancellation)
    {
        within = within < Upstream.Deadline ? within : Upstream.Deadline;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        bounded.CancelAfter(within);
        await Task.WhenAll(Feeds.Select(async feed =>
        {
            try { await SyncFeedAsync(feed, bounded.Token); }
            catch (Exception e) when ((e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
                                      && !cancellation.IsCancellationRequested)
            {
                lock (lastErrors) lastErrors[feed] = $"the {feed} feed did not answer within {within.TotalSeconds:0.#} s";
            }
        }));
    }

    /// <summary>Reads one feed up to its current end; the feeds are independent, so a hanging Budget never
    /// holds back Projects' changes. Never throws for an unreachable upstream: the failure is recorded and
    /// shows in <see cref="Freshness"/>.</summary>
    public async Task SyncFeedAsync(string feed, CancellationToken cancellation)
    {
        var gate = gates[feed];
        await gate.WaitAsync(cancellation);
        try
        {
            if (feed == ProjectsFeed)
                await Sync(ProjectsFeed,
                    after => projects.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = after, MaxEvents = Batch },
                        deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation),
                    r => (r.Event.Envelope.Sequence, r.Event.Envelope.StreamId),
                    async ids => (await projects.BatchGetProjectsAsync(new BatchGetProjectsRequest { ProjectIds = { ids } },
                        deadline: Upstream.NewDeadline(), cancellationToken: cancellation)).Projects.Select(p => ((IMessage)p, p.Id, p.Version)),
                    cancellation);
            else
                await Sync(BudgetFeed,
                    after => budgets.SubscribeBudgetEvents(new SubscribeBudgetEventsRequest { AfterSequence = after, MaxEvents = Batch },
                        deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation),
                    r => (r.Event.Envelope.Sequence, r.Event.Envelope.StreamId),
                    async ids => (await budgets.BatchGetProjectBudgetsAsync(new BatchGetProjectBudgetsRequest { ProjectIds = { ids } },
                        deadline: Upstream.NewDeadline(), cancellationToken: cancellation)).Budgets.Select(b => ((IMessage)b, b.ProjectId, b.Version)),
                    cancellation);
        }
        finally
        {
            gate.Release();
        }
    }

    async Task Sync<TEvent>(string feed, Func<long, AsyncServerStreamingCall<TEvent>> subscribe,
        Func<TEvent, (long Sequence, string StreamId)> position,
        Func<IEnumerable<string>, Task<IEnumerable<(IMessage State, string Id, long Version)>>> load, CancellationToken cancellation)
    {
        try
        {
            while (true)
            {
                FeedCheckpoint checkpoint;
                await using (var query = store.QuerySession())
                    checkpoint = await query.LoadAsync<FeedCheckpoint>(feed, cancellation) ?? new FeedCheckpoint { Id = feed };

                var changed = new HashSet<string>();
                var last = checkpoint.Sequence;
                var read = 0;
                // A page of the feed (max_events): the service ends the stream after it, so the call completes
                // instead of being dropped mid-stream; the count stops a service that does not know max_events yet.
                using (var call = subscribe(checkpoint.Sequence))
                {
                    while (read < Batch && await call.ResponseStream.MoveNext(cancellation))
                    {
                        var (sequence, streamId) = position(call.ResponseStream.Current);
                        changed.Add(streamId);
                        last = sequence;
                        read++;
                    }
                }

                await using var session = store.LightweightSession();
                // The states the page names, loaded a batch at a time (a call per stream was 2,000 calls a page after an import).
                foreach (var ids in changed.Chunk(ServiceDefaults.AsOf.MaxStreams))
                    foreach (var (state, id, version) in await load(ids))
                        session.Store(new CachedState { Id = $"{feed}:{id}", Feed = feed, Version = version, Data = state.ToByteArray() });
                checkpoint.Sequence = last;
                checkpoint.SyncedAt = time.GetUtcNow();
                session.Store(checkpoint);
                await session.SaveChangesAsync(cancellation);
                lock (lastErrors) lastErrors.Remove(feed);
                if (read < Batch) return;
            }
        }
        catch (RpcException e) when (!cancellation.IsCancellationRequested)
        {
            lock (lastErrors) lastErrors[feed] = $"{e.StatusCode}: {e.Status.Detail}";
            logger.LogWarning("Reading the {Feed} feed failed: {Status}", feed, e.Status);
        }
    }

    public async Task<Regeneration.Kpi.V1.Freshness> Freshness(CancellationToken cancellation) => (await Positions(cancellation)).Freshness;

    /// <summary>Where the feeds stand, from one read of their checkpoints: the positions a call's inputs are kept by
    /// (<see cref="FeedPositions.Key"/>) and the freshness it reports, alike.</summary>
    public async Task<FeedPositions> Positions(CancellationToken cancellation)
    {
        await using var query = store.QuerySession();
        var result = new Regeneration.Kpi.V1.Freshness();
        var now = time.GetUtcNow();
        var checkpoints = (await query.LoadManyAsync<FeedCheckpoint>(cancellation, Feeds)).ToDictionary(c => c.Id);
        foreach (var feed in Feeds)
        {
            var checkpoint = checkpoints.GetValueOrDefault(feed);
            string? error;
            lock (lastErrors) error = lastErrors.GetValueOrDefault(feed);
            var entry = new Regeneration.Kpi.V1.FeedFreshness { Feed = feed, LastSequence = checkpoint?.Sequence ?? 0, LastError = error ?? "" };
            if (checkpoint?.SyncedAt is { } synced) entry.LastSyncedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(synced);
            result.Feeds.Add(entry);
            if (checkpoint?.SyncedAt is not { } at || now - at > TimeSpan.FromSeconds(options.Value.StaleAfterSeconds)) result.Stale = true;
        }
        return new FeedPositions(string.Join(",", result.Feeds.Select(f => f.LastSequence)), result);
    }
}

/// <summary>Keeps the inputs current in the background.</summary>
public sealed class InputSyncService(InputSync sync, IOptions<KpiOptions> options, TimeProvider time, ILogger<InputSyncService> logger)
    : BackgroundService
{
    /// <summary>One loop per feed: a feed that hangs delays only itself.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(InputSync.Feeds.Select(feed => Task.Run(() => Follow(feed, stoppingToken), stoppingToken)));

    async Task Follow(string feed, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await sync.SyncFeedAsync(feed, stoppingToken); }
            catch (Exception) when (stoppingToken.IsCancellationRequested) { return; }   // shutting down
            catch (Exception e) { logger.LogError(e, "Syncing the {Feed} feed failed", feed); }
            try { await Task.Delay(TimeSpan.FromMilliseconds(options.Value.SyncIntervalMilliseconds), time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}

/// <summary>Builds the formulas' inputs: now (from the cache), at a past instant (upstream as-of), or forecast.</summary>
public sealed class Portfolio(IDocumentStore store, ProjectService.ProjectServiceClient projects, BudgetService.BudgetServiceClient budgets)
{
    /// <summary>Which versions of a project's three inputs its <see cref="ProjectInput"/> was built from.</summary>
    sealed record Built(long Project, long Budget, long Indicators, ProjectInput Input);

    /// <summary>The inputs built last, and the catalogue they were built with (one reference: read whole).</summary>
    sealed record Kept(Dictionary<Guid, Built> Inputs, IReadOnlyDictionary<string, Indicator> Catalogue);

    readonly SemaphoreSlim building = new(1, 1);
    Kept kept = new([], new Dictionary<string, Indicator>());

    /// <summary>
    /// Every project's inputs now. Incremental: only the versions of the cached states and indicator snapshots
    /// are read, and a project's input is built again only when one of its three versions moved (or the catalogue
    /// changed); a feed page of 2,000 changes no longer re-reads and re-folds all 10,000 projects (BENCHMARKS.md,
    /// memory). A state without a recorded version is always read.
    /// </summary>
    public async Task<IReadOnlyList<ProjectInput>> Current(CancellationToken cancellation)
    {
        await building.WaitAsync(cancellation);
        try
        {
            await using var session = store.QuerySession();
            var states = await session.Query<CachedState>().Select(c => new { c.Id, c.Feed, c.Version }).ToListAsync(cancellation);
            var indicatorVersions = (await session.Query<ProjectIndicators>().Select(i => new { i.Id, i.Version })
                .ToListAsync(cancellation)).ToDictionary(i => i.Id, i => i.Version);
            var catalogue = await Catalogue(session, cancellation);
            var previous = SameCatalogue(catalogue, kept.Catalogue) ? kept.Inputs : [];

            static Guid ProjectOf(string stateId) => Guid.Parse(stateId[(stateId.IndexOf(':') + 1)..]);
            var budgetVersions = states.Where(s => s.Feed == InputSync.BudgetFeed).ToDictionary(s => ProjectOf(s.Id), s => s.Version);
            var wanted = states.Where(s => s.Feed == InputSync.ProjectsFeed).Select(s =>
            {
                var id = ProjectOf(s.Id);
                return (Id: id, Versions: (Project: s.Version, Budget: budgetVersions.GetValueOrDefault(id, -1), Indicators: indicatorVersions.GetValueOrDefault(id, -1)));
            }).ToList();
            var next = new Dictionary<Guid, Built>(wanted.Count);
            var stale = new List<Guid>();
            foreach (var w in wanted)
            {
                if (w.Versions.Project != 0 && w.Versions.Budget != 0 && previous.TryGetValue(w.Id, out var b)
                    && (b.Project, b.Budget, b.Indicators) == w.Versions) next[w.Id] = b;
                else stale.Add(w.Id);
            }
            foreach (var chunk in stale.Chunk(1000))
            {
                var loaded = (await session.LoadManyAsync<CachedState>(cancellation,
                    [.. chunk.Select(id => $"{InputSync.ProjectsFeed}:{id}"), .. chunk.Select(id => $"{InputSync.BudgetFeed}:{id}")]))
                    .ToDictionary(c => c.Id);
                var indicators = (await session.LoadManyAsync<ProjectIndicators>(cancellation, chunk)).ToDictionary(i => i.Id);
                foreach (var id in chunk)
                {
                    if (!loaded.TryGetValue($"{InputSync.ProjectsFeed}:{id}", out var projectState)) continue;   // gone since the versions were read
                    var project = Project.Parser.ParseFrom(projectState.Data);
                    var budgetState = loaded.GetValueOrDefault($"{InputSync.BudgetFeed}:{id}");
                    var budget = budgetState is null ? null : ProjectBudget.Parser.ParseFrom(budgetState.Data);
                    var projectIndicators = indicators.GetValueOrDefault(id);
                    next[id] = new Built(projectState.Version, budgetState?.Version ?? -1, projectIndicators?.Version ?? -1,
                        Input(project, budget, projectIndicators, catalogue, DateTimeOffset.MaxValue));
                }
            }
            kept = new Kept(next, catalogue);
            return [.. next.Values.Select(b => b.Input).OrderBy(p => p.Code, StringComparer.Ordinal)];
        }
        finally
        {
            building.Release();
        }
    }

    static bool SameCatalogue(IReadOnlyDictionary<string, Indicator> a, IReadOnlyDictionary<string, Indicator> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var other) && other == kv.Value);

    public async Task<ProjectInput> CurrentProject(Guid id, CancellationToken cancellation)
    {
        await using var session = store.QuerySession();
        var project = await session.LoadAsync<CachedState>($"{InputSync.ProjectsFeed}:{id}", cancellation)
            ?? throw new NotFoundException("project", id.ToString());
        var budget = await session.LoadAsync<CachedState>($"{InputSync.BudgetFeed}:{id}", cancellation);
        return Input(Project.Parser.ParseFrom(project.Data), budget is null ? null : ProjectBudget.Parser.ParseFrom(budget.Data),
            await session.LoadAsync<ProjectIndicators>(id, cancellation), await Catalogue(session, cancellation), DateTimeOffset.MaxValue);
    }

    /// <summary>Every project as it stood at the instant: the upstream services' batch as-of reads and this service's
    /// own events, <see cref="ServiceDefaults.AsOf.MaxStreams"/> projects a call, two batches at a time (a call per
    /// project and service took 14 s at 10,000 projects). A project whose three inputs then were at the versions the
    /// current inputs were built from is the current input itself, not a copy: the portfolio as it stood then
    /// shares what has not changed since with the one kept now (a second copy of 10,000 projects took KPI over
    /// 300 MB; BENCHMARKS.md, memory).</summary>
    public async Task<IReadOnlyList<ProjectInput>> AsOf(DateTimeOffset at, CancellationToken cancellation)
    {
        await using var session = store.QuerySession();
        var ids = (await session.Query<CachedState>().Where(c => c.Feed == InputSync.ProjectsFeed).Select(c => c.Id).ToListAsync(cancellation))
            .Select(id => id[(InputSync.ProjectsFeed.Length + 1)..]).ToList();
        var catalogue = await Catalogue(session, cancellation);
        var now = kept;
        var shared = SameCatalogue(catalogue, now.Catalogue) ? now.Inputs : [];
        var timestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(at);
        var batches = ids.Chunk(ServiceDefaults.AsOf.MaxStreams).ToList();
        var results = new ProjectInput[batches.Count][];
        await Parallel.ForEachAsync(Enumerable.Range(0, batches.Count), new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellation },
            async (b, ct) =>
            {
                var found = (await Upstream.Call("projects", () => projects.GetProjectsAsOfAsync(new GetProjectsAsOfRequest { AsOf = timestamp, ProjectIds = { batches[b] } },
                    deadline: Upstream.NewHistoryDeadline(), cancellationToken: ct).ResponseAsync)).Projects;
                if (found.Count == 0) { results[b] = []; return; }
                var budgetsThen = (await Upstream.Call("budget", () => budgets.GetProjectBudgetsAsOfAsync(
                    new GetProjectBudgetsAsOfRequest { AsOf = timestamp, ProjectIds = { found.Select(p => p.Id) } },
                    deadline: Upstream.NewHistoryDeadline(), cancellationToken: ct).ResponseAsync)).Budgets.ToDictionary(x => x.ProjectId);
                var indicators = await ServiceDefaults.AsOf.States<ProjectIndicators>(store, [.. found.Select(p => Guid.Parse(p.Id))], at, ct);
                results[b] = [.. found.Select(p =>
                {
                    var id = Guid.Parse(p.Id);
                    var (budget, projectIndicators) = (budgetsThen.GetValueOrDefault(p.Id), indicators.GetValueOrDefault(id));
                    // The same versions are the same events folded; a measurement observed after the instant (one
                    // may be recorded ahead of its observation) is left out then but counted now.
                    return p.Version != 0 && shared.TryGetValue(id, out var current)
                        && (current.Project, current.Budget, current.Indicators) == (p.Version, budget?.Version ?? -1, projectIndicators?.Version ?? -1)
                        && (projectIndicators is null || projectIndicators.Measurements.All(m => m.ObservedAt <= at))
                        ? current.Input
                        : Input(p, budget, projectIndicators, catalogue, at);
                })];
            });
        return [.. results.SelectMany(r => r).OrderBy(p => p.Code, StringComparer.Ordinal)];
    }

    public static async Task<IReadOnlyDictionary<string, Indicator>> Catalogue(IQuerySession session, CancellationToken cancellation) =>
        (await session.Query<Indicator>().ToListAsync(cancellation)).ToDictionary(i => i.Code);

    static ProjectInput Input(Project p, ProjectBudget? budget, ProjectIndicators? indicators,
        IReadOnlyDictionary<string, Indicator> catalogue, DateTimeOffset measuredBy) => new(
        Guid.Parse(p.Id), p.Code, p.Name, ContractNames.Of(p.Category), p.District, ContractNames.Of(p.Status),
        p.Status == Regeneration.Projects.V1.ProjectStatus.Cancelled, Date(p.PlannedStart),
        [.. p.Contributions.Select(c => (c.Dimension, c.Weight))],
        [.. p.Milestones.Select(m => new MilestoneInput(Guid.Parse(m.Id), m.Name, m.Weight, Date(m.BaselineDueDate), Date(m.ForecastDate),
            m.Progress, m.Status == MilestoneStatus.Completed))],
        p.Version,
        budget is null ? null : new BudgetInput(budget.Totals.AllocatedWon, budget.Totals.SpentWon, budget.Version),
        indicators is null ? [] : [.. indicators.Targets
            .Where(t => catalogue.ContainsKey(t.IndicatorCode))
            .OrderBy(t => t.IndicatorCode, StringComparer.Ordinal)
            .Select(t => new TargetInput(catalogue[t.IndicatorCode], t.Baseline, t.Value, t.TargetDate, indicators.Latest(t.IndicatorCode, measuredBy)))],
        indicators?.Version ?? 0);
}
