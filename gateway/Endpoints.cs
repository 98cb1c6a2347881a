// The REST API. Each endpoint is a thin translation: HTTP in, a resilient gRPC call with the caller's
// token, JSON out. Commands: Idempotency-Key -> request_id (one is made when absent, so the gateway's
// own retries are safe), If-Match -> expected_version, ETag <- version.
using System.Security.Claims;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Regeneration.Budget.V1;
using Regeneration.Common.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Gateway;

public static class Endpoints
{
    /// <summary>What every milestone command answers: its result (ETag: the project's new version), or the project
    /// or milestone unknown, a rule or a concurrent change (409), a stale If-Match (412), a body over the limit (413).</summary>
    static RouteHandlerBuilder Command(this RouteHandlerBuilder command) => command.Produces<CommandResultDto>().WithTags("Milestones")
        .ProducesProblem(404).ProducesProblem(409).ProducesProblem(412).ProducesProblem(413);

    public static void MapApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").RequireAuthorization().RequireRateLimiting(RateLimits.PerCaller)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(429)
            .ProducesProblem(502).ProducesProblem(503).ProducesProblem(504);

        api.MapGet("/maturity", Maturity).Produces<MaturityDto>().WithTags("Maturity").WithSummary("The city's ISO 37106 maturity: per dimension with explanation and gaps, and overall")
            .WithDescription("`at` unset: now; a past instant: as of then; a future date: the forecast if nothing changes. Each dimension " +
                "lists its largest contributions (`maxContributions` 1..500, default 20) and `contributionCount`; every contribution: " +
                "`/maturity/dimensions/{dimension}/contributions`.");
        api.MapGet("/maturity/trend", Trend).WithTags("Maturity").WithSummary("The maturity at two instants and the change between them");
        api.MapGet("/maturity/dimensions/{dimension}/contributions", Contributions).WithTags("Maturity")
            .WithSummary("Every project that contributes to a dimension, with its evidence, a page at a time in code order")
            .WithDescription("`at` as for the maturity; `pageSize` 1..500 (default 50), `nextPageToken` for the next page.").ProducesProblem(404);
        api.MapGet("/kpis", Rollup).Produces<KpiRollupDto>().WithTags("KPIs").WithSummary("The KPI rollup with earned value and RAG per project, category, district and portfolio, and budget burn by source")
            .WithDescription("The groups (portfolio, categories, districts) cover the whole portfolio; the projects come a page at a time " +
                "in code order (`pageSize` 1..500, default 50; `nextPageToken` for the next page). Answers with what it has when a " +
                "service is down: the missing parts are listed in `missing`.");
        api.MapGet("/projects", ListProjects).WithTags("Projects").WithSummary("The portfolio, filtered and paged in code order");
        api.MapGet("/projects/{projectId}", GetProject).Produces<ProjectDto>().WithTags("Projects").WithSummary("One project with its milestones (ETag: its version)")
            .WithDescription("With `asOf`, the project as it stood at that instant.").ProducesProblem(404);
        api.MapGet("/projects/{projectId}/history", History).WithTags("Projects").WithSummary("Every event of a project, oldest first").ProducesProblem(404);
        api.MapGet("/projects/{projectId}/kpis", ProjectKpis).WithTags("KPIs").WithSummary("One project's indicators and earned value").ProducesProblem(404);
        api.MapGet("/projects/{projectId}/budget", ProjectBudget).WithTags("Budget").WithSummary("One project's budget (with `asOf`, as it stood then)").ProducesProblem(404);
        api.MapGet("/projects/{projectId}/budget/history", BudgetHistory).WithTags("Budget").WithSummary("Every event of a project's budget").ProducesProblem(404);
        api.MapGet("/budget", PortfolioBudget).WithTags("Budget").WithSummary("Portfolio budget totals by source, fiscal year, category and district");

        api.MapPost("/projects/{projectId}/milestones", PlanMilestone).Command().WithSummary("Plan a milestone");
        api.MapPost("/projects/{projectId}/milestones/{milestoneId}/progress", ReportProgress).Command()
            .WithSummary("Report a milestone's progress (0-100; going back needs a reason)");
        api.MapPost("/projects/{projectId}/milestones/{milestoneId}/complete", Complete).Command().WithSummary("Complete a milestone");
        api.MapPost("/projects/{projectId}/milestones/{milestoneId}/rebaseline", Rebaseline).Command()
            .WithSummary("Move a milestone's baseline due date, with a reason");
    }

    static Timestamp? Instant(DateTimeOffset? at) => at is { } t ? Timestamp.FromDateTimeOffset(t) : null;

    /// <summary>The maturity; its dimensions, rendered before, are offered to the KPI service by their version and
    /// copied when still the same.</summary>
    static async Task<IResult> Maturity(DateTimeOffset? at, bool? refresh, int? maxContributions, KpiService.KpiServiceClient kpi, ServiceCalls calls,
        RenderedAnswers rendered, CancellationToken ct)
    {
        var key = RenderedAnswers.KeyFor(at, $"maturity|{maxContributions}");
        var held = rendered.Held<RenderedMaturity>(key);
        var maturity = await calls.Run(Downstream.ForInstant(Downstream.Kpi, at), o => kpi.GetMaturityAsync(new GetMaturityRequest
        {
            At = Instant(at), Refresh = refresh ?? false, MaxContributions = maxContributions ?? 0, IfNoneMatch = held?.Version ?? "",
        }, o).ResponseAsync, ct);
        var kept = rendered.Part("maturity", key, held, maturity.NotModified, maturity.Version, () => new RenderedMaturity(maturity.Version,
            Map.Short(ContractNames.Of(maturity.Basis)), maturity.OverallLevel, maturity.OverallRule, maturity.Explanation,
            rendered.Ready<IReadOnlyList<DimensionMaturityDto>>(key, [.. maturity.Dimensions.Select(d => d.Dto())])));
        return new JsonAnswer(
            (nameof(MaturityDto.Basis), kept.Basis), (nameof(MaturityDto.At), maturity.At.ToDateTimeOffset()),
            (nameof(MaturityDto.OverallLevel), kept.OverallLevel), (nameof(MaturityDto.OverallRule), kept.OverallRule),
            (nameof(MaturityDto.Explanation), kept.Explanation), (nameof(MaturityDto.Dimensions), kept.Dimensions),
            (nameof(MaturityDto.Freshness), maturity.Freshness.Dto()));
    }

    static async Task<ContributionPageDto> Contributions(string dimension, DateTimeOffset? at, int? pageSize, string? pageToken,
        KpiService.KpiServiceClient kpi, ServiceCalls calls, CancellationToken ct) =>
        (await calls.Run(Downstream.ForInstant(Downstream.Kpi, at), o => kpi.ListDimensionContributionsAsync(new ListDimensionContributionsRequest
        {
            Dimension = dimension, At = Instant(at), Page = new PageRequest { PageSize = pageSize ?? 0, PageToken = pageToken ?? "" },
        }, o).ResponseAsync, ct)).Dto(dimension);

    static async Task<MaturityTrendDto> Trend([FromQuery] DateTimeOffset from, [FromQuery] DateTimeOffset to, int? maxContributions,
        KpiService.KpiServiceClient kpi, ServiceCalls calls, CancellationToken ct)
    {
        var trend = await calls.Run(Downstream.History(Downstream.Kpi), o => kpi.GetMaturityTrendAsync(new GetMaturityTrendRequest
        {
            From = Timestamp.FromDateTimeOffset(from), To = Timestamp.FromDateTimeOffset(to), MaxContributions = maxContributions ?? 0,
        }, o).ResponseAsync, ct);
        return new MaturityTrendDto(trend.From.Dto(), trend.To.Dto(),
            [.. trend.Dimensions.Select(d => new DimensionTrendDto(d.Dimension, d.ScoreFrom, d.ScoreTo, d.LevelFrom, d.LevelTo))]);
    }

    /// <summary>The KPI rollup and the budget burn, fetched side by side; a part whose service fails is listed as missing.
    /// Parts rendered before are offered to their services by their versions and copied when still the same.</summary>
    static async Task<IResult> Rollup(DateTimeOffset? at, bool? refresh, int? pageSize, string? pageToken, KpiService.KpiServiceClient kpi,
        BudgetService.BudgetServiceClient budget, ServiceCalls calls, RenderedAnswers rendered, CancellationToken ct)
    {
        var pageKey = RenderedAnswers.KeyFor(at, $"kpis|{pageSize}|{pageToken}");
        const string burnKey = "budget";
        var heldPage = rendered.Held<RenderedRollup>(pageKey);
        var heldBurn = rendered.Held<RenderedBudget>(burnKey);
        var request = new GetKpiRollupRequest
        {
            At = Instant(at), Refresh = refresh ?? false, Page = new PageRequest { PageSize = pageSize ?? 0, PageToken = pageToken ?? "" },
            IfNoneMatch = heldPage?.Version ?? "",
        };
        var rollupCall = Part(Downstream.Kpi, "kpis", () => calls.Run(Downstream.ForInstant(Downstream.Kpi, at), o => kpi.GetKpiRollupAsync(request, o).ResponseAsync, ct));
        var budgetCall = Part(Downstream.Budget, "budget", () => calls.Run(Downstream.Budget,
            o => budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest { IfNoneMatch = heldBurn?.Version ?? "" }, o).ResponseAsync, ct),
            supplementary: true);
        var (rollup, rollupMissing) = await rollupCall;
        var (burn, budgetMissing) = await budgetCall;
        MissingPartDto[] missing = [.. new[] { rollupMissing, budgetMissing }.OfType<MissingPartDto>()];
        if (rollup is null && burn is null) throw new GatewayProblem(ProblemMapper.Problem(503, "service-unavailable",
            "The rollup is unavailable", "Neither the KPI nor the Budget service answered."));

        var page = rollup is null ? null : rendered.Part("kpis", pageKey, heldPage, rollup.NotModified, rollup.Version, () => new RenderedRollup(
            rollup.Version, Map.Short(ContractNames.Of(rollup.Basis)),
            rendered.Ready<IReadOnlyList<ProjectKpisDto>>(pageKey, [.. rollup.Projects.Select(p => p.Dto())]),
            rendered.Ready<IReadOnlyList<GroupKpisDto>>(pageKey, [.. rollup.ByCategory.Select(g => g.Dto())]),
            rendered.Ready<IReadOnlyList<GroupKpisDto>>(pageKey, [.. rollup.ByDistrict.Select(g => g.Dto())]),
            rendered.Ready(pageKey, rollup.Portfolio?.Dto()),
            rollup.NextPageToken is { Length: > 0 } next ? next : null));
        var burnPart = burn is null ? null : rendered.Part("budget", burnKey, heldBurn, burn.NotModified, burn.Version,
            () => new RenderedBudget(burn.Version, rendered.Ready(burnKey, burn.Dto())));
        object[] none = [];   // the KPI part missing: its lists empty
        return new JsonAnswer(
            (nameof(KpiRollupDto.Basis), page?.Basis), (nameof(KpiRollupDto.At), rollup?.At.ToDateTimeOffset()),
            (nameof(KpiRollupDto.Projects), page?.Projects ?? none), (nameof(KpiRollupDto.ByCategory), page?.ByCategory ?? none),
            (nameof(KpiRollupDto.ByDistrict), page?.ByDistrict ?? none), (nameof(KpiRollupDto.Portfolio), page?.Portfolio),
            (nameof(KpiRollupDto.Budget), burnPart?.Burn),
            (nameof(KpiRollupDto.Freshness), rollup?.Freshness.Dto()), (nameof(KpiRollupDto.Missing), missing),
            (nameof(KpiRollupDto.NextPageToken), page?.NextPageToken));
    }

    /// <summary>One part of a composed answer, or why it is missing: the service is down or failing (any part), or — for a
    /// <paramref name="supplementary"/> part — it refused the caller (say, a token that may read KPIs but not budgets),
    /// which must not cost the caller the part it may read.</summary>
    static async Task<(T?, MissingPartDto?)> Part<T>(string service, string part, Func<Task<T>> call, bool supplementary = false) where T : class
    {
        try { return (await call(), null); }
        catch (Exception e) when (Downstream.IsTransient(e) || e is Polly.CircuitBreaker.BrokenCircuitException || (supplementary && e is RpcException))
        {
            var reason = e switch
            {
                Polly.CircuitBreaker.BrokenCircuitException => "circuit open: the service has been failing",
                RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
                _ => e.GetType().Name,
            };
            return (null, new MissingPartDto(part, service, reason));
        }
    }

    static async Task<ProjectPageDto> ListProjects(string? status, string? category, string? district, string? owner, int? pageSize, string? pageToken,
        ProjectService.ProjectServiceClient projects, ServiceCalls calls, CancellationToken ct)
    {
        var request = new ListProjectsRequest
        {
            Status = ParseEnum<Regeneration.Projects.V1.ProjectStatus>("status", "PROJECT_STATUS_", status),
            Category = ParseEnum<ProjectCategory>("category", "PROJECT_CATEGORY_", category),
            District = district ?? "", Owner = owner ?? "",
            Page = new PageRequest { PageSize = pageSize ?? 0, PageToken = pageToken ?? "" },
        };
        var page = await calls.Run(Downstream.Projects, o => projects.ListProjectsAsync(request, o).ResponseAsync, ct);
        return new ProjectPageDto([.. page.Projects.Select(p => p.Dto())], page.NextPageToken.Length > 0 ? page.NextPageToken : null, page.TotalSize);
    }

    static async Task<IResult> GetProject(string projectId, DateTimeOffset? asOf, HttpContext http, ProjectService.ProjectServiceClient projects,
        ServiceCalls calls, CancellationToken ct)
    {
        var project = asOf is { } at
            ? (await calls.Run(Downstream.Projects, o => projects.GetProjectAsOfAsync(
                new GetProjectAsOfRequest { ProjectId = projectId, AsOf = Timestamp.FromDateTimeOffset(at) }, o).ResponseAsync, ct)).Project
            : (await calls.Run(Downstream.Projects, o => projects.GetProjectAsync(new GetProjectRequest { ProjectId = projectId }, o).ResponseAsync, ct)).Project;
        http.Response.Headers.ETag = ETag(project.Version);
        return Results.Ok(project.Dto());
    }

    static async Task<IReadOnlyList<EventDto>> History(string projectId, ProjectService.ProjectServiceClient projects, ServiceCalls calls, CancellationToken ct) =>
        [.. (await calls.Run(Downstream.Projects, o => projects.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId }, o).ResponseAsync, ct))
            .Events.Select(e => e.Dto())];

    static async Task<ProjectKpisDto> ProjectKpis(string projectId, bool? refresh, KpiService.KpiServiceClient kpi, ServiceCalls calls, CancellationToken ct) =>
        (await calls.Run(Downstream.Kpi, o => kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = projectId, Refresh = refresh ?? false }, o).ResponseAsync, ct))
            .Kpis.Dto();

    static async Task<ProjectBudgetDto> ProjectBudget(string projectId, DateTimeOffset? asOf, BudgetService.BudgetServiceClient budget, ServiceCalls calls,
        CancellationToken ct) => asOf is { } at
        ? (await calls.Run(Downstream.Budget, o => budget.GetProjectBudgetAsOfAsync(
            new GetProjectBudgetAsOfRequest { ProjectId = projectId, AsOf = Timestamp.FromDateTimeOffset(at) }, o).ResponseAsync, ct)).Budget.Dto()
        : (await calls.Run(Downstream.Budget, o => budget.GetProjectBudgetAsync(new GetProjectBudgetRequest { ProjectId = projectId }, o).ResponseAsync, ct)).Budget.Dto();

    static async Task<IReadOnlyList<EventDto>> BudgetHistory(string projectId, BudgetService.BudgetServiceClient budget, ServiceCalls calls, CancellationToken ct) =>
        [.. (await calls.Run(Downstream.Budget, o => budget.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId }, o).ResponseAsync, ct))
            .Events.Select(e => e.Dto())];

    static async Task<PortfolioBudgetDto> PortfolioBudget(BudgetService.BudgetServiceClient budget, ServiceCalls calls, CancellationToken ct) =>
        (await calls.Run(Downstream.Budget, o => budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest(), o).ResponseAsync, ct)).Dto();

    // ---- Commands ----

    static Task<IResult> PlanMilestone(string projectId, PlanMilestoneBody body, HttpContext http, ProjectService.ProjectServiceClient projects,
        ServiceCalls calls, CancellationToken ct) =>
        Command(http, projectId, projects, calls, ct, async (requestId, expected, o) => (await projects.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = requestId, ProjectId = projectId, Name = body.Name ?? "", Weight = body.Weight, DueDate = body.DueDate ?? "",
        }.With(expected), o)).Result);

    static Task<IResult> ReportProgress(string projectId, string milestoneId, ReportProgressBody body, HttpContext http,
        ProjectService.ProjectServiceClient projects, ServiceCalls calls, CancellationToken ct)
    {
        var progress = body.Progress ?? throw GatewayProblem.Invalid("progress", "is required (0-100)");
        return Command(http, projectId, projects, calls, ct, async (requestId, expected, o) => (await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = requestId, ProjectId = projectId, MilestoneId = milestoneId, Progress = progress,
            ForecastDate = body.ForecastDate ?? "", Reason = body.Reason ?? "",
        }.With(expected), o)).Result);
    }

    static Task<IResult> Complete(string projectId, string milestoneId, CompleteMilestoneBody? body, HttpContext http,
        ProjectService.ProjectServiceClient projects, ServiceCalls calls, CancellationToken ct) =>
        Command(http, projectId, projects, calls, ct, async (requestId, expected, o) => (await projects.CompleteMilestoneAsync(new CompleteMilestoneRequest
        {
            RequestId = requestId, ProjectId = projectId, MilestoneId = milestoneId, CompletedOn = body?.CompletedOn ?? "",
        }.With(expected), o)).Result);

    static Task<IResult> Rebaseline(string projectId, string milestoneId, RebaselineMilestoneBody body, HttpContext http,
        ProjectService.ProjectServiceClient projects, ServiceCalls calls, CancellationToken ct) =>
        Command(http, projectId, projects, calls, ct, async (requestId, expected, o) => (await projects.RebaselineMilestoneAsync(new RebaselineMilestoneRequest
        {
            RequestId = requestId, ProjectId = projectId, MilestoneId = milestoneId, NewDueDate = body.NewDueDate ?? "", Reason = body.Reason ?? "",
        }.With(expected), o)).Result);

    /// <summary>Who may change the project is checked here (a project manager: only his own projects) and again by the
    /// Projects service on the state it decides on.</summary>
    static async Task<IResult> Command(HttpContext http, string projectId, ProjectService.ProjectServiceClient projects, ServiceCalls calls,
        CancellationToken ct, Func<string, long?, CallOptions, Task<CommandResult>> send)
    {
        var caller = Caller.From(http.User);
        var requestId = RequestId(http);
        var expected = IfMatch(http);
        try
        {
            caller.EnsureCanWrite("projects", projectOwner: caller.Name, managersMay: true);
        }
        catch (PermissionDeniedException e) { throw GatewayProblem.Forbidden(e.Reason, e.Message); }
        if (caller.Roles.Contains(Roles.ProjectManager) && !caller.Roles.Contains(Roles.Admin))
        {
            var owner = (await calls.Run(Downstream.Projects, o => projects.GetProjectAsync(new GetProjectRequest { ProjectId = projectId }, o).ResponseAsync, ct)).Project.Owner;
            if (owner != caller.Name)
                throw GatewayProblem.Forbidden("NOT_OWNER", $"Project manager '{caller.Name}' may only change projects he owns; this one is owned by '{owner}'");
        }
        var result = await calls.Run(Downstream.Projects, o => send(requestId, expected, o), ct);
        http.Response.Headers.ETag = ETag(result.Version);
        return Results.Ok(result.Dto());
    }

    static string RequestId(HttpContext http)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0) return $"gw-{Guid.NewGuid():N}";
        if (key.Length > 128 || key.Any(char.IsControl)) throw GatewayProblem.Invalid("Idempotency-Key", "must be 1..128 printable characters");
        return key;
    }

    /// <summary>If-Match: "5" (or W/"5") is the version the client last read.</summary>
    static long? IfMatch(HttpContext http)
    {
        var header = http.Request.Headers.IfMatch.ToString();
        if (header.Length == 0) return null;
        var value = header.StartsWith("W/", StringComparison.Ordinal) ? header[2..] : header;
        return value.Length > 2 && value[0] == '"' && value[^1] == '"' && long.TryParse(value[1..^1], out var version) && version > 0
            ? version
            : throw GatewayProblem.Invalid("If-Match", "must be the ETag of the project, e.g. \"7\"");
    }

    static string ETag(long version) => $"\"{version}\"";

    static TEnum ParseEnum<TEnum>(string field, string prefix, string? value) where TEnum : struct, System.Enum
    {
        if (string.IsNullOrEmpty(value)) return default;
        foreach (var candidate in System.Enum.GetValues<TEnum>())
            if (ContractNames.Of(candidate) == prefix + value.ToUpperInvariant() && Convert.ToInt32(candidate) != 0) return candidate;
        throw GatewayProblem.Invalid(field, $"must be one of {string.Join(", ", System.Enum.GetValues<TEnum>().Skip(1).Select(v => Map.Short(ContractNames.Of(v))))}");
    }

    static T With<T>(this T request, long? expectedVersion) where T : Google.Protobuf.IMessage
    {
        if (expectedVersion is { } v) request.Descriptor.FindFieldByName("expected_version").Accessor.SetValue(request, v);
        return request;
    }
}
