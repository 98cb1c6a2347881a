// The REST gateway through real HTTP, with the three services and PostgreSQL behind it and the demo
// portfolio loaded: every endpoint, every error mapping, ETags, idempotent retries, every role.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Regeneration.Gateway;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Gateway;

public class GatewayTests(GatewayServers servers) : IClassFixture<GatewayServers>
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    readonly HttpClient executive = servers.Http(TestTokens.Executive);
    readonly HttpClient admin = servers.Http(TestTokens.Admin);

    static async Task<T> Read<T>(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>(Json))!;
    }

    static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("urn:regeneration:problem:", problem.GetProperty("type").GetString());
        return problem;
    }

    async Task<ProjectDto> ProjectOf(string owner, bool withOpenMilestone = true) =>
        (await Read<ProjectPageDto>(await executive.GetAsync($"/api/v1/projects?owner={owner}&status=active"))).Projects
            .First(p => !withOpenMilestone || p.Milestones.Any(m => m.Status != "COMPLETED"));

    static HttpRequestMessage Post(string path, object body, string? ifMatch = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }

    [Fact]
    public async Task The_maturity_shows_the_level_the_dimensions_their_explanations_and_gaps()
    {
        var maturity = await Read<MaturityDto>(await executive.GetAsync("/api/v1/maturity"));
        Assert.Equal(3, maturity.OverallLevel);
        Assert.Equal("CURRENT", maturity.Basis);
        var safety = maturity.Dimensions.Single(d => d.Dimension.Code == "safety-resilience");
        Assert.Equal(4, safety.Level);
        Assert.Contains(safety.Contributions, c => c.Code == "WJ-2019-SS-01" && c.Milestones.Count > 0 && c.Indicators.Count > 0);
        Assert.All(maturity.Dimensions.Where(d => d.Level < 5), d => Assert.NotEmpty(d.Gaps));
        Assert.Equal(2, maturity.Freshness.Feeds.Count);
        var past = await Read<MaturityDto>(await executive.GetAsync($"/api/v1/maturity?at={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-1).ToString("O"))}"));
        Assert.Equal("AS_OF", past.Basis);
        var trend = await Read<MaturityTrendDto>(await executive.GetAsync(
            $"/api/v1/maturity/trend?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddYears(-1).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}"));
        Assert.Equal(9, trend.Dimensions.Count);
    }

    [Fact]
    public async Task A_caller_that_may_read_kpis_but_not_budgets_gets_the_rollup_with_the_budget_listed_as_missing()
    {
        var kpisOnly = servers.Http(TestTokens.For("city-data-platform", [Roles.Integration], ["kpi:read"]));
        var rollup = await Read<KpiRollupDto>(await kpisOnly.GetAsync("/api/v1/kpis"));
        Assert.NotEmpty(rollup.Projects);
        Assert.Null(rollup.Budget);
        var missing = Assert.Single(rollup.Missing);
        Assert.Equal(("budget", "budget"), (missing.Part, missing.Service));
        Assert.StartsWith("PermissionDenied", missing.Reason);
        // A caller refused the primary part is refused outright.
        await Problem(await servers.Http(TestTokens.For("city-data-platform", [Roles.Integration], ["budget:read"])).GetAsync("/api/v1/kpis"),
            HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_maturity_lists_the_largest_contributions_and_pages_through_every_one_of_a_dimension()
    {
        var all = await Read<MaturityDto>(await executive.GetAsync("/api/v1/maturity?maxContributions=500"));
        var top = await Read<MaturityDto>(await executive.GetAsync("/api/v1/maturity?maxContributions=1"));
        var dimension = all.Dimensions.Where(d => d.Evidenced).MaxBy(d => d.ContributionCount)!;
        Assert.True(dimension.ContributionCount > 1);
        var first = top.Dimensions.Single(d => d.Dimension.Code == dimension.Dimension.Code);
        Assert.Equal([dimension.Contributions[0].Code], first.Contributions.Select(c => c.Code));
        Assert.Equal(dimension.ContributionCount, first.ContributionCount);

        var codes = new List<string>();
        string? token = null;
        do
        {
            var page = await Read<ContributionPageDto>(await executive.GetAsync(
                $"/api/v1/maturity/dimensions/{dimension.Dimension.Code}/contributions?pageSize=1{(token is null ? "" : $"&pageToken={Uri.EscapeDataString(token)}")}"));
            Assert.Equal((dimension.Dimension.Code, "CURRENT", dimension.ContributionCount), (page.Dimension, page.Basis, page.ContributionCount));
            codes.AddRange(page.Contributions.Select(c => c.Code));
            token = page.NextPageToken;
        } while (token is not null);
        Assert.Equal(dimension.Contributions.Select(c => c.Code).Order(StringComparer.Ordinal), codes);

        await Problem(await executive.GetAsync("/api/v1/maturity/dimensions/no-such-dimension/contributions"), HttpStatusCode.NotFound);
        var tooMany = await Problem(await executive.GetAsync("/api/v1/maturity?maxContributions=501"), HttpStatusCode.BadRequest);
        Assert.True(tooMany.GetProperty("errors").TryGetProperty("maxContributions", out _), tooMany.ToString());
    }

    [Fact]
    public async Task The_rollup_has_earned_value_by_project_category_district_and_portfolio_and_the_budget_burn()
    {
        var rollup = await Read<KpiRollupDto>(await executive.GetAsync("/api/v1/kpis?refresh=true"));
        Assert.Empty(rollup.Missing);
        Assert.Equal(16, rollup.Projects.Count);
        Assert.NotNull(rollup.Portfolio);
        Assert.True(rollup.Portfolio.EarnedValue.Bac > 0);
        Assert.Contains(rollup.ByCategory, c => c.Name == "SMART_SAFETY");
        Assert.Contains(rollup.Projects, p => p.EarnedValue.Rag is "GREEN" or "AMBER" or "RED");
        Assert.NotNull(rollup.Budget);
        Assert.Contains(rollup.Budget.BySource, s => s.Source == "NATIONAL" && s.Amounts.Spent > 0);
        Assert.Null(rollup.NextPageToken);

        // A page at a time: the projects continue where the page before ended; the groups stay whole.
        var first = await Read<KpiRollupDto>(await executive.GetAsync("/api/v1/kpis?pageSize=10"));
        var second = await Read<KpiRollupDto>(await executive.GetAsync($"/api/v1/kpis?pageSize=10&pageToken={Uri.EscapeDataString(first.NextPageToken!)}"));
        Assert.Equal(rollup.Projects.Select(p => p.Code), first.Projects.Concat(second.Projects).Select(p => p.Code));
        Assert.Null(second.NextPageToken);
        Assert.Equal(rollup.Portfolio.ProjectCount, second.Portfolio!.ProjectCount);
    }

    [Fact]
    public async Task Projects_are_listed_read_with_an_etag_and_their_history_budget_kpis_and_past_state()
    {
        var page = await Read<ProjectPageDto>(await executive.GetAsync("/api/v1/projects?category=smart_mobility&pageSize=2"));
        Assert.Equal(3, page.TotalSize);
        Assert.Equal(2, page.Projects.Count);
        Assert.NotNull(page.NextPageToken);

        var response = await executive.GetAsync($"/api/v1/projects/{page.Projects[0].Id}");
        var project = await Read<ProjectDto>(response);
        Assert.Equal($"\"{project.Version}\"", response.Headers.ETag?.Tag);

        var history = await Read<List<EventDto>>(await executive.GetAsync($"/api/v1/projects/{project.Id}/history"));
        Assert.Equal("ProjectRegistered", history[0].Type);
        Assert.Equal(project.Code, history[0].Data.GetProperty("code").GetString());
        var then = await Read<ProjectDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}?asOf={Uri.EscapeDataString(history[0].RecordedAt.ToString("O"))}"));
        Assert.Equal(1, then.Version);

        var budget = await Read<ProjectBudgetDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}/budget"));
        Assert.True(budget.Totals.Allocated > 0);
        Assert.NotEmpty(await Read<List<EventDto>>(await executive.GetAsync($"/api/v1/projects/{project.Id}/budget/history")));
        var kpis = await Read<ProjectKpisDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}/kpis"));
        Assert.Equal(project.Code, kpis.Code);
        var portfolio = await Read<PortfolioBudgetDto>(await executive.GetAsync("/api/v1/budget"));
        Assert.Equal(16, portfolio.BudgetCount);
    }

    [Fact]
    public async Task An_unchanged_rollup_or_maturity_is_rendered_once_and_answered_alike_until_an_input_moves()
    {
        // The gateway's own count of the answers' parts rendered and kept (this gateway's meters only).
        var meters = servers.GatewayServices.GetRequiredService<IMeterFactory>();
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "regeneration.gateway.rendered.parts") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var part = "";
            var outcome = "";
            foreach (var tag in tags)
                if (tag.Key == "part") part = (string)tag.Value!;
                else if (tag.Key == "outcome") outcome = (string)tag.Value!;
            outcomes.Enqueue($"{part} {outcome}");
        });
        listener.Start();
        string[] Of(string part) => [.. outcomes.Where(o => o.StartsWith(part + " ", StringComparison.Ordinal)).Select(o => o[(part.Length + 1)..])];

        var first = await Body(await executive.GetAsync("/api/v1/kpis?pageSize=7&refresh=true"));
        var second = await Body(await executive.GetAsync("/api/v1/kpis?pageSize=7"));
        Assert.Equal(["rendered", "kept"], Of("kpis"));
        // The budget burn is kept too (its version also moves when the projects, listed again every 10 s, changed).
        Assert.Contains("kept", Of("budget"));
        // The same answer; only the instant and the freshness are of the call.
        Assert.True(JsonNode.DeepEquals(WithoutCallParts(first), WithoutCallParts(second)), $"{first}\n{second}");
        // Either way the answer is the documented resource's JSON: read as a KpiRollupDto and written again, it is the same.
        foreach (var body in new[] { first, second })
            Assert.True(JsonNode.DeepEquals(body, JsonSerializer.SerializeToNode(body.Deserialize<KpiRollupDto>(Json), Json)), body.ToJsonString());

        var maturity = await Body(await executive.GetAsync("/api/v1/maturity?maxContributions=3"));
        var maturityAgain = await Body(await executive.GetAsync("/api/v1/maturity?maxContributions=3"));
        Assert.Equal(["rendered", "kept"], Of("maturity"));
        Assert.True(JsonNode.DeepEquals(WithoutCallParts(maturity), WithoutCallParts(maturityAgain)), $"{maturity}\n{maturityAgain}");
        foreach (var body in new[] { maturity, maturityAgain })
            Assert.True(JsonNode.DeepEquals(body, JsonSerializer.SerializeToNode(body.Deserialize<MaturityDto>(Json), Json)), body.ToJsonString());

        // A measurement moves the page and the maturity: rendered again, with it. (The same value as the latest, observed now: the
        // demo portfolio's maturity, which other tests read, stays as it is.)
        var project = second["projects"]!.AsArray()
            .First(p => (string)p!["status"]! == "ACTIVE" && p["indicators"]!.AsArray().Any(i => i!["latest"] is not null))!;
        var projectId = (string)project["projectId"]!;
        var indicator = project["indicators"]!.AsArray().First(i => i!["latest"] is not null)!;
        var observedAt = DateTimeOffset.UtcNow.AddSeconds(-1);
        await servers.System.KpiClient.RecordMeasurementAsync(new Regeneration.Kpi.V1.RecordMeasurementRequest
        {
            RequestId = Requests.NewRequestId(), ProjectId = projectId, IndicatorCode = (string)indicator["code"]!,
            Value = indicator["latest"]!["value"]!.GetValue<double>(), Source = "gateway test",
            ObservedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(observedAt),
        });
        var third = await Body(await executive.GetAsync("/api/v1/kpis?pageSize=7"));
        Assert.Equal(["rendered", "kept", "rendered"], Of("kpis"));
        var measured = third["projects"]!.AsArray().Single(p => (string)p!["projectId"]! == projectId)!["indicators"]!.AsArray()
            .Single(i => (string)i!["code"]! == (string)indicator["code"]!)!;
        Assert.Equal(observedAt.ToUnixTimeSeconds(), measured["latest"]!["observedAt"]!.GetValue<DateTimeOffset>().ToUnixTimeSeconds());
        await Body(await executive.GetAsync("/api/v1/maturity?maxContributions=3"));
        Assert.Equal(["rendered", "kept", "rendered"], Of("maturity"));

        // An allocation (of one won) moves the budget burn: rendered again, with it.
        await servers.System.BudgetClient.AllocateFundsAsync(new Regeneration.Budget.V1.AllocateFundsRequest
        {
            RequestId = Requests.NewRequestId(), ProjectId = projectId, Source = Regeneration.Budget.V1.FundingSource.Municipal, FiscalYear = 2027, AmountWon = 1,
        });
        var budgetsRendered = Of("budget").Count(o => o == "rendered");
        var fourth = await Body(await executive.GetAsync("/api/v1/kpis?pageSize=7"));
        Assert.Equal("rendered", Of("budget")[^1]);
        Assert.Equal(budgetsRendered + 1, Of("budget").Count(o => o == "rendered"));
        Assert.Equal(third["budget"]!["totals"]!["allocated"]!.GetValue<long>() + 1, fourth["budget"]!["totals"]!["allocated"]!.GetValue<long>());

        // Only answers about now are kept: a forecast is rendered every time.
        var forecast = $"/api/v1/maturity?maxContributions=3&at={DateTime.UtcNow.Date.AddDays(40):yyyy-MM-dd}";
        await Body(await executive.GetAsync(forecast));
        await Body(await executive.GetAsync(forecast));
        Assert.Equal(["rendered", "kept", "rendered", "rendered", "rendered"], Of("maturity"));

        static async Task<JsonNode> Body(HttpResponseMessage response)
        {
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        static JsonNode WithoutCallParts(JsonNode body)
        {
            var copy = body.DeepClone().AsObject();
            copy.Remove("at");
            copy.Remove("freshness");
            return copy;
        }
    }

    [Fact]
    public async Task A_project_manager_updates_his_milestones_and_the_rollup_follows()
    {
        var manager = servers.Http(TestTokens.Manager("pm.seo"));
        var project = await ProjectOf("pm.seo");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var before = (await Read<KpiRollupDto>(await executive.GetAsync("/api/v1/kpis?refresh=true"))).Projects.Single(p => p.ProjectId == project.Id);

        var progress = await manager.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress",
            new ReportProgressBody(Math.Max(milestone.Progress, 90), "2026-12-31", null), ifMatch: $"\"{project.Version}\""));
        var result = await Read<CommandResultDto>(progress);
        Assert.Equal(project.Version + 1, result.Version);
        Assert.Equal($"\"{result.Version}\"", progress.Headers.ETag?.Tag);

        var complete = await manager.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/complete", new CompleteMilestoneBody(null),
            ifMatch: progress.Headers.ETag!.Tag));
        await Read<CommandResultDto>(complete);

        var after = (await Read<KpiRollupDto>(await executive.GetAsync("/api/v1/kpis?refresh=true"))).Projects.Single(p => p.ProjectId == project.Id);
        Assert.True(after.EarnedValue.Progress > before.EarnedValue.Progress);
        Assert.True(after.ProjectVersion > before.ProjectVersion);
    }

    [Fact]
    public async Task A_stale_if_match_is_412_and_a_malformed_one_is_400()
    {
        var manager = servers.Http(TestTokens.Manager("pm.han"));
        var project = await ProjectOf("pm.han");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var stale = await manager.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/rebaseline",
            new RebaselineMilestoneBody("2028-01-31", "Council decision"), ifMatch: $"\"{project.Version - 1}\""));
        var malformed = await manager.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/rebaseline",
            new RebaselineMilestoneBody("2028-01-31", "Council decision"), ifMatch: "latest"));

        await Problem(stale, HttpStatusCode.PreconditionFailed);
        var problem = await Problem(malformed, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("If-Match", out _));
        Assert.Equal(project.Version, (await Read<ProjectDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}"))).Version);
    }

    [Fact]
    public async Task Retrying_with_the_same_idempotency_key_returns_the_first_result_and_writes_once()
    {
        var project = await ProjectOf("pm.yoon");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var key = $"retry-{Guid.NewGuid():N}";
        var body = new ReportProgressBody(Math.Min(100, milestone.Progress + 1), null, null);

        var first = await Read<CommandResultDto>(await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress", body, idempotencyKey: key)));
        var again = await Read<CommandResultDto>(await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress", body, idempotencyKey: key)));

        Assert.Equal((first.Version, false, true), (again.Version, first.Replayed, again.Replayed));
        Assert.Equal(project.Version + 1, (await Read<ProjectDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}"))).Version);
    }

    [Fact]
    public async Task Errors_are_problem_details_with_the_field_violations()
    {
        var project = await ProjectOf("pm.kang");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var invalid = await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress", new ReportProgressBody(150, "someday", null)));
        var notFound = await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{Guid.NewGuid()}/complete", new CompleteMilestoneBody(null)));
        var malformedJson = await admin.PostAsync($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress",
            new StringContent("{\"progress\":", Encoding.UTF8, "application/json"));
        var wrongType = await admin.PostAsync($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress",
            new StringContent("{\"progress\":\"lots\"}", Encoding.UTF8, "application/json"));
        var badFilter = await executive.GetAsync("/api/v1/projects?status=dreaming");
        var badPage = await executive.GetAsync("/api/v1/projects?pageSize=501&pageToken=%25%25");
        var noProgress = await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress",
            new { forecastDate = "2027-03-01", reason = "meant only to move the forecast" }));
        var oversized = await admin.PostAsync($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/rebaseline",
            new StringContent($"{{\"newDueDate\":\"2027-01-01\",\"reason\":\"{new string('x', 100_000)}\"}}", Encoding.UTF8, "application/json"));
        var illegal = await admin.SendAsync(Post($"/api/v1/projects/{(await ProjectOf("pm.lee", withOpenMilestone: false)).Id}/milestones", new PlanMilestoneBody("Extra", 100, "2027-01-01")));

        var errors = (await Problem(invalid, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("progress", out _));
        Assert.True(errors.TryGetProperty("forecastDate", out _));
        Assert.Equal("milestone", (await Problem(notFound, HttpStatusCode.NotFound)).GetProperty("resource").GetProperty("type").GetString());
        await Problem(malformedJson, HttpStatusCode.BadRequest);
        await Problem(wrongType, HttpStatusCode.BadRequest);
        Assert.True((await Problem(badFilter, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("status", out _));
        var pageErrors = (await Problem(badPage, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.True(pageErrors.TryGetProperty("pageSize", out _) || pageErrors.TryGetProperty("pageToken", out _), pageErrors.ToString());
        Assert.All(pageErrors.EnumerateObject(), e => Assert.Contains(e.Name, new[] { "pageSize", "pageToken" }));
        // A body without progress is refused, and the milestone keeps its progress (it is not reset to 0 %).
        Assert.Equal(["progress"], (await Problem(noProgress, HttpStatusCode.BadRequest)).GetProperty("errors").EnumerateObject().Select(e => e.Name));
        var after = await Read<ProjectDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}"));
        Assert.Equal(milestone.Progress, after.Milestones.Single(m => m.Id == milestone.Id).Progress);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversized.StatusCode);
        Assert.Contains(illegal.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Conflict });
        await Problem(illegal, illegal.StatusCode);
    }

    [Fact]
    public async Task A_project_manager_cannot_change_another_managers_project_and_an_executive_changes_nothing()
    {
        var project = await ProjectOf("pm.kim");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var other = await servers.Http(TestTokens.Manager("pm.lee")).SendAsync(
            Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress", new ReportProgressBody(99, null, null)));
        var exec = await executive.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/complete", new CompleteMilestoneBody(null)));
        var integration = await servers.Http(TestTokens.For("national-regeneration-db", [Roles.Integration], ["projects:read"])).SendAsync(
            Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/complete", new CompleteMilestoneBody(null)));

        ReliabilityFigures.Record("Security matrix over REST (no/expired/forged/wrong-audience tokens, BOLA, role escalation, integration scopes)", ReliabilityFigures.SecurityCases, 3);
        Assert.Equal("NOT_OWNER", (await Problem(other, HttpStatusCode.Forbidden)).GetProperty("reason").GetString());
        await Problem(exec, HttpStatusCode.Forbidden);
        await Problem(integration, HttpStatusCode.Forbidden);
        Assert.Equal(project.Version, (await Read<ProjectDto>(await executive.GetAsync($"/api/v1/projects/{project.Id}"))).Version);
    }

    public static TheoryData<string> BadTokens => new() { "none", "expired", "forged", "wrong audience" };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Missing_expired_forged_or_foreign_tokens_are_401(string kind)
    {
        var token = kind switch
        {
            "expired" => TestTokens.Expired("exec.choi", [Roles.Executive]),
            "forged" => TestTokens.Forged("exec.choi", [Roles.Executive]),
            "wrong audience" => TestTokens.For("exec.choi", [Roles.Executive], audience: "another-city"),
            _ => null,
        };
        var response = await servers.Http(token).GetAsync("/api/v1/maturity");
        ReliabilityFigures.Record("Security matrix over REST (no/expired/forged/wrong-audience tokens, BOLA, role escalation, integration scopes)", ReliabilityFigures.SecurityCases, 1);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Every_request_has_one_trace_id_from_the_gateway_to_the_event_store()
    {
        var project = await ProjectOf("pm.choi");
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED");
        var response = await admin.SendAsync(Post($"/api/v1/projects/{project.Id}/milestones/{milestone.Id}/progress",
            new ReportProgressBody(Math.Min(100, milestone.Progress + 2), null, null)));
        await Read<CommandResultDto>(response);
        var traceId = Assert.Single(response.Headers.GetValues("X-Trace-Id"));

        var history = await Read<List<EventDto>>(await executive.GetAsync($"/api/v1/projects/{project.Id}/history"));
        Assert.Equal(traceId, history[^1].CorrelationId);
        Assert.Equal("test-admin", history[^1].Actor);
    }

    [Fact]
    public async Task Each_caller_has_a_rate_limit()
    {
        var limited = await servers.StartGateway("RateLimits:PermitsPerSecond=1", "RateLimits:Burst=2");
        try
        {
            var http = servers.Http(TestTokens.Manager("pm.flood"), limited.Urls.First());
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 6; i++) statuses.Add((await http.GetAsync("/api/v1/budget")).StatusCode);
            Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
            var other = await servers.Http(TestTokens.Executive, limited.Urls.First()).GetAsync("/api/v1/budget");
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }
        finally
        {
            await limited.DisposeAsync();
        }
    }

    [Fact]
    public async Task Health_readiness_and_the_openapi_document_are_served()
    {
        var anonymous = servers.Http();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        var ready = await anonymous.GetFromJsonAsync<JsonElement>("/readyz");
        Assert.True(ready.GetProperty("ready").GetBoolean());
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.True(document.GetProperty("paths").TryGetProperty("/api/v1/maturity", out _));
        // Every operation says what it answers on success, with its schema (generated clients get a type for it).
        var operations = document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/v1/"))
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Name is "get" or "post").Select(o => (Route: $"{o.Name} {p.Name}", Operation: o.Value)))
            .ToList();
        Assert.True(operations.Count >= 15, $"{operations.Count} operations");
        Assert.All(operations, o => Assert.True(o.Operation.GetProperty("responses").TryGetProperty("200", out var ok) && ok.TryGetProperty("content", out _),
            $"{o.Route} documents no 200 with a body"));
        // The commands document the headers they read.
        Assert.All(operations.Where(o => o.Route.StartsWith("post ")), o => Assert.Equal(["Idempotency-Key", "If-Match"],
            o.Operation.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("in").GetString() == "header").Select(p => p.GetProperty("name").GetString())));
        // The answers document their ETag, the failures every status the gateway gives them.
        string[] versioned = [.. operations.Where(o => o.Operation.GetProperty("responses").GetProperty("200").TryGetProperty("headers", out var h)
            && h.TryGetProperty("ETag", out _)).Select(o => o.Route)];
        Assert.Equal([.. operations.Where(o => o.Route.StartsWith("post ")).Select(o => o.Route), "get /api/v1/projects/{projectId}"], versioned.OrderBy(r => !r.StartsWith("post ")));
        Assert.All(operations, o => Assert.All(new[] { "401", "429", "502", "503", "504" },
            status => Assert.True(o.Operation.GetProperty("responses").TryGetProperty(status, out _), $"{o.Route} documents no {status}")));
        Assert.All(operations.Where(o => o.Route.StartsWith("post ")), o => Assert.True(o.Operation.GetProperty("responses").TryGetProperty("413", out _)));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/docs/index.html")).StatusCode);
        var tokens = await anonymous.GetFromJsonAsync<JsonElement>("/dev/tokens");
        Assert.Contains(tokens.GetProperty("users").EnumerateArray(), u => u.GetProperty("role").GetString() == Roles.Executive);
    }

    [Fact]
    public async Task The_openapi_document_passes_a_real_validator()
    {
        var root = Repository.Root();
        var start = new System.Diagnostics.ProcessStartInfo("node", [Path.Combine(root, "tests", "openapi", "validate.mjs"), $"{servers.GatewayAddress}/openapi/v1.json"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root,
        };
        using var node = System.Diagnostics.Process.Start(start)!;
        var output = await node.StandardOutput.ReadToEndAsync();
        var errors = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, output + errors);
        Assert.Contains("valid", output);
    }
}
