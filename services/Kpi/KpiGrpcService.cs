// The gRPC face of the KPI service.
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Marten;
using Microsoft.Extensions.Options;
using Regeneration.Common.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using static Regeneration.ServiceDefaults.ValidationRules;

namespace Regeneration.Kpi;

public sealed class KpiGrpcService(
    CommandRunner commands, IDocumentStore store, ChangeFeed feed, InputSync sync, Portfolio portfolio,
    ProjectService.ProjectServiceClient projects, IOptions<MaturityOptions> maturity, TimeProvider time, CurrentAnswers cache)
    : KpiService.KpiServiceBase
{
    const string Area = "kpi";

    public override async Task<ListIndicatorsResponse> ListIndicators(ListIndicatorsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        var catalogue = await Portfolio.Catalogue(session, call.CancellationToken);
        return new ListIndicatorsResponse { Indicators = { catalogue.Values.OrderBy(i => i.Code, StringComparer.Ordinal).Select(i => i.ToProto()) } };
    }

    public override async Task<DefineIndicatorResponse> DefineIndicator(DefineIndicatorRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanWrite(Area);
        var defined = r.Indicator.ToDomain();
        var result = await commands.Start<Indicator>(new CommandEnvelope(r.RequestId, null, RequestContext.From(call), r),
            Indicator.StreamId(defined.Code),
            async session =>
            {
                if (await session.Query<Indicator>().AnyAsync(i => i.Code == defined.Code))
                    throw new AlreadyExistsException("indicator", defined.Code, $"Indicator '{defined.Code}' is already in the catalogue");
            },
            () => new object[] { defined });
        return new DefineIndicatorResponse { Result = result };
    }

    public override Task<ListDimensionsResponse> ListDimensions(ListDimensionsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        return Task.FromResult(new ListDimensionsResponse
        {
            Dimensions =
            {
                maturity.Value.DimensionsOrDefault.Select(d => new V1.Dimension { Code = d.Code, Name = d.Name, Description = d.Description, Evidence = d.Evidence }),
            },
            LevelThresholds = { maturity.Value.ThresholdsOrDefault },
            OverallRule = MaturityOptions.OverallRule,
        });
    }

    public override async Task<SetTargetResponse> SetTarget(SetTargetRequest r, ServerCallContext call)
    {
        var command = new SetTarget(r.IndicatorCode, r.Baseline, r.Target, Date(r.TargetDate));
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.IndicatorCode, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (projectId, indicator, s) => IndicatorsDecider.SetTarget(projectId, s, indicator, command)) };
    }

    public override async Task<RecordMeasurementResponse> RecordMeasurement(RecordMeasurementRequest r, ServerCallContext call)
    {
        var command = new RecordMeasurement(Guid.CreateVersion7(), r.IndicatorCode, r.Value, r.ObservedAt.ToDateTimeOffset(), r.Source);
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.IndicatorCode, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (projectId, indicator, s) => new Decision(IndicatorsDecider.RecordMeasurement(projectId, s, indicator, command, time.GetUtcNow()), command.MeasurementId.ToString())) };
    }

    public override async Task<ImportIndicatorsResponse> ImportIndicators(ImportIndicatorsRequest r, ServerCallContext call)
    {
        var caller = Caller.From(call);
        caller.EnsureCanWrite(Area, projectOwner: caller.Name, managersMay: true);   // could the caller write at all?
        IReadOnlyDictionary<string, Indicator> catalogue;
        await using (var session = store.QuerySession()) catalogue = await Portfolio.Catalogue(session, call.CancellationToken);
        var results = await BulkImport.Run(r.Projects, call, item => item.RequestId, (item, context) => Import(item, caller, catalogue, context, call.CancellationToken));
        return new ImportIndicatorsResponse { Results = { results } };
    }

    async Task<CommandResult> Import(ProjectIndicatorsImport item, Caller caller, IReadOnlyDictionary<string, Indicator> catalogue,
        RequestContext context, CancellationToken cancellation)
    {
        var envelope = new CommandEnvelope(item.RequestId, null, context, item);
        var (projectId, earlier) = await commands.Ask(envelope, () => EnsureCanChange(item.ProjectId, caller, cancellation));
        if (earlier is not null) return earlier;
        List<SetTarget> targets = [.. item.Targets.Select(t => new SetTarget(t.IndicatorCode, t.Baseline, t.Target, Date(t.TargetDate)))];
        List<RecordMeasurement> measurements = [.. item.Measurements.Select(m =>
            new RecordMeasurement(Guid.CreateVersion7(), m.IndicatorCode, m.Value, m.ObservedAt.ToDateTimeOffset(), m.Source))];
        return await commands.Write(envelope, projectId, (ProjectIndicators? state) =>
            IndicatorsDecider.Import(projectId, state, catalogue, targets, measurements, time.GetUtcNow()));
    }

    public override async Task<GetProjectKpisResponse> GetProjectKpis(GetProjectKpisRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        if (RefreshWithin(r.Refresh, call) is { } within) await sync.SyncAsync(within, call.CancellationToken);
        var project = await portfolio.CurrentProject(Guid.Parse(r.ProjectId), call.CancellationToken);
        return new GetProjectKpisResponse
        {
            Kpis = project.ToKpis(Today()), Freshness = await sync.Freshness(call.CancellationToken),
        };
    }

    public override async Task<GetKpiRollupResponse> GetKpiRollup(GetKpiRollupRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var (basis, at, load, key, freshness) = await Inputs(r.At, RefreshWithin(r.Refresh, call), call.CancellationToken);
        var date = DateOnly.FromDateTime(at.UtcDateTime);
        GetKpiRollupResponse Compute() => Rollup(basis, date, load());

        var size = Paging.Size(r.Page);
        var after = Paging.After(r.Page);
        var response = new GetKpiRollupResponse
        {
            Basis = basis, At = Timestamp.FromDateTimeOffset(at), Freshness = freshness,
            Version = key is null ? "" : StoreVersion.Name($"{key}/{date}|{size}|{after}"),
        };
        if (response.Version.Length > 0 && response.Version == r.IfNoneMatch)
        {
            response.NotModified = true;
            return response;
        }
        var whole = key is null ? Compute() : await cache.Rollups.Get($"{key}/{date}", () => Task.FromResult(Compute())).WaitAsync(call.CancellationToken);
        // A page of the (kept, shared, never changed) answer: the groups whole, the projects after the token.
        var first = after is null ? 0 : FirstAfter(whole.Projects, after);
        response.ByCategory.Add(whole.ByCategory);
        response.ByDistrict.Add(whole.ByDistrict);
        response.Portfolio = whole.Portfolio;
        response.Projects.Add(whole.Projects.Skip(first).Take(size));
        if (first + size < whole.Projects.Count) response.NextPageToken = Paging.Token(whole.Projects[first + size - 1].Code);
        return response;
    }

    static GetKpiRollupResponse Rollup(Basis basis, DateOnly date, IReadOnlyList<ProjectInput> inputs) => new()
    {
        Basis = basis,
        Projects = { inputs.Select(p => p.ToKpis(date)) },
        ByCategory = { inputs.GroupBy(p => p.Category).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => ProtoMapping.Group(g.Key, [.. g], date)) },
        ByDistrict = { inputs.GroupBy(p => p.District).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => ProtoMapping.Group(g.Key, [.. g], date)) },
        Portfolio = ProtoMapping.Group("portfolio", inputs, date),
    };

    /// <summary>The index of the first project whose code sorts after <paramref name="code"/> (the list is in code order).</summary>
    static int FirstAfter(IList<ProjectKpis> projects, string code)
    {
        int low = 0, high = projects.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (string.CompareOrdinal(projects[middle].Code, code) <= 0) low = middle + 1; else high = middle;
        }
        return low;
    }

    public override async Task<GetMaturityResponse> GetMaturity(GetMaturityRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        return await Maturity(r.At, RefreshWithin(r.Refresh, call), r.MaxContributions, call.CancellationToken, r.IfNoneMatch);
    }

    public override async Task<GetMaturityTrendResponse> GetMaturityTrend(GetMaturityTrendRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var from = await Maturity(r.From, null, r.MaxContributions, call.CancellationToken);
        var to = await Maturity(r.To, null, r.MaxContributions, call.CancellationToken);
        return new GetMaturityTrendResponse
        {
            From = from, To = to,
            Dimensions =
            {
                from.Dimensions.Zip(to.Dimensions, (a, b) => new DimensionTrend
                {
                    Dimension = a.Dimension.Code, ScoreFrom = a.Score, ScoreTo = b.Score, LevelFrom = a.Level, LevelTo = b.Level,
                }),
            },
        };
    }

    public override async Task<ListDimensionContributionsResponse> ListDimensionContributions(ListDimensionContributionsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var (basis, instant, computed, _, freshness) = await MaturityOf(r.At, null, call.CancellationToken);
        var result = await computed();
        var dimension = result.Dimensions.FirstOrDefault(d => d.Dimension.Code == r.Dimension)
            ?? throw new NotFoundException("dimension", r.Dimension);
        var byCode = dimension.Contributions.OrderBy(c => c.Project.Code, StringComparer.Ordinal).ToList();
        var size = Paging.Size(r.Page);
        var after = Paging.After(r.Page);
        var first = after is null ? 0 : byCode.FindIndex(c => string.CompareOrdinal(c.Project.Code, after) > 0) is >= 0 and var i ? i : byCode.Count;
        var response = new ListDimensionContributionsResponse
        {
            Basis = basis, At = Timestamp.FromDateTimeOffset(instant), ContributionCount = byCode.Count,
            Contributions = { byCode.Skip(first).Take(size).Select(c => c.ToProto()) },
            Freshness = freshness,
        };
        if (first + size < byCode.Count) response.NextPageToken = Paging.Token(byCode[first + size - 1].Project.Code);
        return response;
    }

    public override async Task SubscribeKpiEvents(SubscribeKpiEventsRequest r, IServerStreamWriter<SubscribeKpiEventsResponse> stream, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await foreach (var e in feed.Read(r.AfterSequence, r.Follow, r.MaxEvents, call.CancellationToken))
            await stream.WriteAsync(new SubscribeKpiEventsResponse { Event = e.ToProto() }, call.CancellationToken);
    }

    /// <summary>The maturity at the instant, computed once per set of inputs (the current ones, or a forecast of them)
    /// and kept until an input moves; the last one asked as of a past instant kept the same way. The key it is kept
    /// under comes first, the maturity when asked for (a caller that holds it needs only the key); no key: not kept. The
    /// freshness is the feeds' as read for the key.</summary>
    async Task<(Basis Basis, DateTimeOffset At, Func<Task<MaturityResult>> Result, string? Key, Freshness Freshness)> MaturityOf(Timestamp? at, TimeSpan? refresh,
        CancellationToken cancellation)
    {
        // A kept answer is computed for every caller waiting on it: not cancelled with any one of them (see Memo); a
        // caller that goes away stops waiting for it.
        if (at is not null && at.ToDateTimeOffset() <= time.GetUtcNow())
        {
            // As of a past instant: kept as well, by the instant and the positions of the inputs (anything committed
            // since, even an event dated before the instant, moves them), so a caller paging through its contributions
            // or asking again has it computed once — at 10,000 projects each page took about 5 s. Beside the current
            // answers, not in their place: a dashboard polling the current maturity does not push it out.
            var instant = at.ToDateTimeOffset();
            var (inputs, freshness) = await InputsKey(cancellation);
            var past = $"{inputs}/as-of/{at.Seconds}.{at.Nanos:D9}";
            return (Basis.AsOf, instant, () => cache.PastMaturities.Get(past, async () =>
            {
                var then = await portfolio.AsOf(instant, CancellationToken.None);
                return await Compute(() => then, CancellationToken.None);
            }).WaitAsync(cancellation), past, freshness);
        }
        var (basis, instantOrNow, load, key, current) = await Inputs(at, refresh, cancellation);
        // (No key: the instant became past between the two looks at the clock; computed for the call.)
        return (basis, instantOrNow,
            () => key is null ? Compute(load, cancellation) : cache.Maturities.Get(key, () => Compute(load, CancellationToken.None)).WaitAsync(cancellation), key, current);
    }

    async Task<MaturityResult> Compute(Func<IReadOnlyList<ProjectInput>> load, CancellationToken waiting)
    {
        await cache.Computing.WaitAsync(waiting);
        try { return Formulas.Maturity(load(), maturity.Value.DimensionsOrDefault, maturity.Value.ThresholdsOrDefault); }
        finally { cache.Computing.Release(); }
    }

    /// <summary>The maturity answer, each dimension with its largest contributions (the rest: ListDimensionContributions).
    /// A caller that holds this answer's version (<paramref name="ifNoneMatch"/>) gets it back "not modified".</summary>
    async Task<GetMaturityResponse> Maturity(Timestamp? at, TimeSpan? refresh, int maxContributions, CancellationToken cancellation,
        string ifNoneMatch = "")
    {
        var (basis, instant, computed, key, freshness) = await MaturityOf(at, refresh, cancellation);
        var listed = maxContributions > 0 ? maxContributions : KpiRules.DefaultContributions;
        var response = new GetMaturityResponse
        {
            Basis = basis, At = Timestamp.FromDateTimeOffset(instant), Freshness = freshness,
            Version = key is null ? "" : StoreVersion.Name($"{key}|{listed}"),
        };
        if (response.Version.Length > 0 && response.Version == ifNoneMatch)
        {
            response.NotModified = true;
            return response;
        }
        var result = await computed();
        response.OverallLevel = result.OverallLevel;
        response.OverallRule = MaturityOptions.OverallRule;
        response.Explanation = ProtoMapping.ExplainOverall(result);
        response.Dimensions.Add(result.Dimensions.Select(d => d.ToProto(listed)));
        return response;
    }

    /// <summary>How long a refresh may wait for the upstream feeds: their own bound, or half the time the caller has
    /// left, whichever is less — so a caller with a short deadline (the gateway's) still gets an answer, one that says
    /// which feed did not answer, instead of running out of time. Null: no refresh.</summary>
    static TimeSpan? RefreshWithin(bool refresh, ServerCallContext call)
    {
        if (!refresh) return null;
        if (call.Deadline == DateTime.MaxValue) return Upstream.Deadline;
        return TimeSpan.FromTicks(Math.Clamp((call.Deadline - DateTime.UtcNow).Ticks / 2, 0, Upstream.Deadline.Ticks));
    }

    /// <summary>Unset: the current inputs. Past: as of then. Future: the forecast if nothing changes. The inputs come as
    /// a load to run when computing (a forecast's are made then: callers waiting their turn to compute do not each hold
    /// a copy of the portfolio), with the key to keep the answers by: the current inputs, and the answers computed from
    /// them, are kept until an input moves (as of the past, none here: <see cref="MaturityOf"/> keeps the last maturity
    /// asked as of a past instant). The freshness is the feeds' as read for the key (as of the past: as they stand).</summary>
    async Task<(Basis, DateTimeOffset, Func<IReadOnlyList<ProjectInput>> Load, string? Key, Freshness Freshness)> Inputs(Timestamp? at, TimeSpan? refresh, CancellationToken cancellation)
    {
        var now = time.GetUtcNow();
        if (at is not null && at.ToDateTimeOffset() <= now)
        {
            var then = await portfolio.AsOf(at.ToDateTimeOffset(), cancellation);
            return (Basis.AsOf, at.ToDateTimeOffset(), () => then, null, await sync.Freshness(cancellation));
        }
        if (refresh is { } within) await sync.SyncAsync(within, cancellation);
        var (key, freshness) = await InputsKey(cancellation);
        var current = await cache.Inputs.Get(key, () => portfolio.Current(CancellationToken.None)).WaitAsync(cancellation);   // shared: see Memo
        if (at is null) return (Basis.Current, now, () => current, $"{key}/current/{DateOnly.FromDateTime(now.UtcDateTime)}", freshness);
        var date = DateOnly.FromDateTime(at.ToDateTimeOffset().UtcDateTime);
        return (Basis.Forecast, at.ToDateTimeOffset(), () => [.. current.Select(p => Formulas.Forecast(p, date))], $"{key}/forecast/{date}", freshness);
    }

    /// <summary>This service's store position and the two feeds' positions: the inputs change only when one moves. The
    /// feeds' checkpoints are read once, for the key and for the freshness the answer reports.</summary>
    async Task<(string Key, Freshness Freshness)> InputsKey(CancellationToken cancellation)
    {
        var own = await StoreVersion.Current(store, cancellation);
        var feeds = await sync.Positions(cancellation);
        return ($"{own}/{feeds.Key}", feeds.Freshness);
    }

    DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    /// <summary>A command on one indicator of a project: the project and the indicator checked (a repeat of a command
    /// that committed answered from its receipt while Projects cannot be reached), the command run.</summary>
    async Task<CommandResult> Run(string requestId, string projectId, string indicatorCode, long? expectedVersion, Google.Protobuf.IMessage request,
        ServerCallContext call, Func<Guid, Indicator, ProjectIndicators?, Decision> decide)
    {
        var command = new CommandEnvelope(requestId, expectedVersion, RequestContext.From(call), request);
        var ((id, indicator), earlier) = await commands.Ask(command, () => Check(projectId, indicatorCode, call));
        return earlier ?? await commands.Write(command, id, (ProjectIndicators? state) => decide(id, indicator, state));
    }

    /// <summary>The project exists and the caller may change its indicators (project managers: their own projects).</summary>
    async Task<(Guid, Indicator)> Check(string projectId, string indicatorCode, ServerCallContext call)
    {
        var caller = Caller.From(call);
        caller.EnsureCanWrite(Area, projectOwner: caller.Name, managersMay: true);   // could the caller write at all?
        var id = await EnsureCanChange(projectId, caller, call.CancellationToken);
        await using var session = store.QuerySession();
        var indicator = await session.Query<Indicator>().FirstOrDefaultAsync(i => i.Code == indicatorCode, call.CancellationToken)
            ?? throw new NotFoundException("indicator", indicatorCode);
        return (id, indicator);
    }

    /// <summary>The project exists (the Projects service says so) and the caller may change it: its owner, if a project manager.</summary>
    async Task<Guid> EnsureCanChange(string projectId, Caller caller, CancellationToken cancellation)
    {
        var project = await Upstream.Call("projects", () => projects.GetProjectAsync(new GetProjectRequest { ProjectId = projectId },
            deadline: Upstream.NewDeadline(), cancellationToken: cancellation).ResponseAsync, ("project", projectId));
        caller.EnsureCanWrite(Area, projectOwner: project.Project.Owner, managersMay: true);
        return Guid.Parse(projectId);
    }
}
