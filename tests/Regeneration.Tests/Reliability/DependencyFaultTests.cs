// Slow and failing links, injected by real TCP proxies (FaultProxy) between the gateway and the
// services and between the services: the gateway keeps its deadlines, its breakers open and close,
// calls do not pile up, and commands cut off mid-flight are neither lost nor duplicated when retried.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Regeneration.Budget.V1;
using Regeneration.Gateway;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.GatewayProbes;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

public class DependencyFaultTests(ProxiedGatewayServers servers) : IClassFixture<ProxiedGatewayServers>
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Clients_that_give_up_waiting_end_their_requests_without_an_error_in_the_gateways_log()
    {
        // A dashboard closed while its rollup is on its way, a manager's browser gone while a milestone is planned:
        // the gateway's calls for them are cancelled with the request, an ordinary end, not a failure of the gateway
        // (its own gateway here, logging every level to a collector). The command itself may or may not have been
        // written; its Idempotency-Key makes the retry safe (Connection_resets_... above).
        await using var gateway = await servers.StartGateway(LogCollector.Everything);
        var log = LogCollector.On(gateway.Services);
        const string manager = "pm.impatient";
        var projectId = (await RegisterActive(servers.System.ProjectsClient, r => r.Owner = manager)).ProjectId;
        using var executive = servers.Http(TestTokens.Executive, gateway.Urls.First());
        using var pm = servers.Http(TestTokens.Manager(manager), gateway.Urls.First());
        executive.Timeout = pm.Timeout = TimeSpan.FromMilliseconds(250);
        foreach (var (name, request) in new (string, Func<Task>)[]
                 {
                     ("kpi", () => executive.GetAsync("/api/v1/kpis")),
                     ("projects", () => PlanOverRest(pm, NewRequestId(), (projectId, "Abandoned"))),
                 })
        {
            var link = servers.GatewayLinks[name];
            link.Latency = TimeSpan.FromSeconds(0.7);   // within the gateway's deadlines, beyond the client's patience
            try
            {
                var finished = log.Entries.Count(e => e.Message.StartsWith("Request finished"));
                await Assert.ThrowsAnyAsync<TaskCanceledException>(request);
                await log.WaitUntil(entries => entries.Count(e => e.Message.StartsWith("Request finished")) > finished, TimeSpan.FromSeconds(10));
            }
            finally
            {
                link.Heal();
            }
        }
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_slow_budget_link_costs_the_rollup_its_budget_part_within_the_deadline_and_nothing_piles_up()
    {
        var link = servers.GatewayLinks["budget"];
        var executive = servers.Http(TestTokens.Executive);
        Assert.Empty((await WholeRollup(executive)).Missing);
        using var calls = new ActiveCalls(link.Port);

        link.Latency = TimeSpan.FromSeconds(1.5);   // beyond the gateway's attempt timeout (1 s here)
        var answers = new ConcurrentBag<(KpiRollupDto Rollup, TimeSpan Took)>();
        try
        {
            for (var round = 0; round < 4; round++)
                await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
                {
                    var clock = Stopwatch.StartNew();
                    var response = await executive.GetAsync("/api/v1/kpis");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    answers.Add(((await response.Content.ReadFromJsonAsync<KpiRollupDto>(Json))!, clock.Elapsed));
                }));

            // The gateway's total deadline is 3 s here: every answer came within it, with the KPI part.
            Assert.All(answers, a => Assert.True(a.Took < TimeSpan.FromSeconds(3.5), $"took {a.Took}"));
            Assert.All(answers, a =>
            {
                Assert.Null(a.Rollup.Budget);
                Assert.Equal("budget", Assert.Single(a.Rollup.Missing).Service);
                Assert.NotEmpty(a.Rollup.Projects);
            });
            Assert.Contains(answers, a => a.Rollup.Missing[0].Reason.StartsWith("circuit open"));
            Assert.Equal("Open", await Breaker(servers.Http(), "budget"));
            // Nothing piles up: never more calls in flight to Budget than requests waiting on it, and none
            // once the answers are out (abandoned attempts are cancelled, not left running).
            Assert.InRange(calls.Peak, 1, 8);
            await Eventually(() => calls.Current == 0, "calls to Budget still in flight after the answers");
        }
        finally
        {
            link.Heal();
        }

        // The breaker half-opens after its break (1 s here) and closes on the first success.
        var recovered = await WholeRollup(executive);
        Assert.Empty(recovered.Missing);
        Assert.Equal("Closed", await Breaker(servers.Http(), "budget"));
        Record("1.5 s latency on every chunk between gateway and Budget, 32 rollups (8 at a time)", answers.Count);
    }

    [Fact]
    public async Task Connection_resets_between_gateway_and_projects_lose_or_duplicate_no_milestone()
    {
        var link = servers.GatewayLinks["projects"];
        const string manager = "pm.reset";
        var projectIds = new List<string>();
        for (var i = 0; i < 4; i++) projectIds.Add((await RegisterActive(servers.System.ProjectsClient, r => r.Owner = manager)).ProjectId);
        var pm = servers.Http(TestTokens.Manager(manager));

        var planned = new ConcurrentDictionary<string, (string ProjectId, string Name)>();
        var pending = new ConcurrentBag<string>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        using var storm = new CancellationTokenSource();
        var resetting = Task.Run(async () =>
        {
            while (!storm.IsCancellationRequested)
            {
                link.ResetAll();
                await Task.Delay(Random.Shared.Next(20, 120));
            }
        });
        await Task.WhenAll(projectIds.Select(async projectId =>
        {
            for (var i = 0; i < 12; i++)
            {
                var key = NewRequestId();
                planned[key] = (projectId, $"Phase {i} of {projectId[..8]}");
                var status = await PlanOverRest(pm, key, planned[key]);
                statuses.Add(status);
                if (!IsSuccess(status)) pending.Add(key);
            }
        }));
        storm.Cancel();
        await resetting;

        // Under the storm every answer was a success or a problem saying "try again", never a 500.
        Assert.All(statuses, s => Assert.True(IsSuccess(s) || s is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout, $"{s}"));
        // The clients retry what failed, with the same Idempotency-Key, once the link is calm again.
        foreach (var key in pending)
        {
            HttpStatusCode status = default;
            for (var attempt = 0; attempt < 50 && !IsSuccess(status); attempt++)
            {
                if (attempt > 0) await Task.Delay(200);
                status = await PlanOverRest(pm, key, planned[key]);
            }
            Assert.True(IsSuccess(status), $"the retry of {key} ended with {status}");
        }

        var wrong = 0;
        foreach (var projectId in projectIds)
        {
            var project = (await servers.System.ProjectsClient.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
            var names = project.Milestones.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Count());
            var expected = planned.Values.Where(p => p.ProjectId == projectId).Select(p => p.Name).ToList();
            wrong += expected.Count(name => names.GetValueOrDefault(name) != 1) + names.Keys.Count(name => !expected.Contains(name));
        }
        const string scenario = "TCP resets every 20-120 ms between gateway and Projects, 48 milestone commands, retried by Idempotency-Key";
        Record(scenario, statuses.Count, faults: link.ConnectionsReset);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, planned.Count);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, wrong);
        Assert.True(link.ConnectionsReset > 0);
        Assert.Equal(0, wrong);
    }

    [Fact]
    public async Task When_projects_does_not_answer_budget_says_unavailable_in_time_writes_nothing_and_the_retry_writes_once()
    {
        var (projectId, _) = await RegisterActive(servers.System.ProjectsClient);
        var link = servers.System.Links["projects"];
        var request = new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2026, AmountWon = 5_000_000,
        };
        link.BlackHole = true;
        try
        {
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<RpcException>(() =>
                servers.System.BudgetClient.AllocateFundsAsync(request, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
            // Budget's own deadline on the call to Projects (3 s) answers for it; the caller's 20 s is not used up.
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
            Assert.Contains("projects", e.Status.Detail);
        }
        finally
        {
            link.Heal();
        }
        var nothing = await Assert.ThrowsAsync<RpcException>(() =>
            servers.System.BudgetClient.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, nothing.StatusCode);

        await servers.System.BudgetClient.AllocateFundsAsync(request);
        await servers.System.BudgetClient.AllocateFundsAsync(request);   // a second retry: answered from the first
        var history = (await servers.System.BudgetClient.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId })).Events;
        Assert.Single(history, h => h.FundsAllocated is not null && h.Envelope.CausationId == request.RequestId);
        const string scenario = "Black hole between Budget and Projects, a budget command and its retries";
        Record(scenario, 3);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, 1);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, history.Count(h => h.FundsAllocated is not null && h.Envelope.CausationId == request.RequestId) - 1);
    }

    [Fact]
    public async Task When_projects_does_not_answer_the_portfolio_totals_are_answered_from_the_projects_listed_before()
    {
        var budget = servers.System.BudgetClient;
        var (projectId, _) = await RegisterActive(servers.System.ProjectsClient);
        await budget.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.Municipal, FiscalYear = 2026, AmountWon = 3_000_000,
        });
        var before = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest());   // Budget holds a listing now
        var link = servers.System.Links["projects"];
        link.BlackHole = true;
        try
        {
            // The listing held is due to be listed again, and Projects does not answer: the totals come from the one held
            // (they waited for a new listing inside the answer until 2026-11-27, and were UNAVAILABLE here).
            await Task.Delay(Regeneration.Budget.ProjectListings.Lifetime + TimeSpan.FromSeconds(1));
            var during = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.False(during.NotModified);
            Assert.Equal((before.BudgetCount, before.Totals.AllocatedWon), (during.BudgetCount, during.Totals.AllocatedWon));
        }
        finally
        {
            link.Heal();
        }
        Record("Black hole between Budget and Projects, portfolio totals due a new project listing", 1);
    }

    [Fact]
    public async Task A_read_computed_over_the_whole_portfolio_at_a_chosen_instant_gets_time_of_its_own_and_does_not_trip_the_services_breaker()
    {
        // The maturity as of a past instant reads every project's history (5-10 s at 10,000 projects), a forecast
        // computes every project's (1.0-1.7 s p50 with 8 callers queued: BENCHMARKS.md); the gateway gives such reads
        // their own time (one attempt, not retried when it runs out) and breaker.
        var link = servers.GatewayLinks["kpi"];
        var executive = servers.Http(TestTokens.Executive);
        var past = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"));
        var future = $"{DateTime.UtcNow.Date.AddDays(30):yyyy-MM-dd}";
        link.Latency = TimeSpan.FromMilliseconds(600);   // per chunk and direction: every call outlasts the 1 s attempt
        try
        {
            foreach (var (at, basis) in new[] { (past, "AS_OF"), (past, "AS_OF"), (past, "AS_OF"), (future, "FORECAST"), (future, "FORECAST") })
            {
                using var answer = await executive.GetAsync($"/api/v1/maturity?at={at}");
                Assert.True(answer.IsSuccessStatusCode, $"{at}: {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
                Assert.Equal(basis, (await answer.Content.ReadFromJsonAsync<MaturityDto>(new JsonSerializerOptions(JsonSerializerDefaults.Web)))!.Basis);
            }
            Assert.Equal("Closed", await Breaker(servers.Http(), "kpi"));
        }
        finally
        {
            link.Heal();
        }
        Record("600 ms latency on every chunk between gateway and KPI, 3 maturity reads as of a past instant and 2 forecasts", 5);
    }

    [Fact]
    public async Task When_budget_does_not_answer_kpi_still_follows_projects_and_catches_up_with_budget_afterwards()
    {
        var projects = servers.System.ProjectsClient;
        var (projectId, _) = await RegisterActive(projects);
        var milestone = await Plan(projects, projectId, weight: 50);
        await servers.System.BudgetClient.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.Municipal, FiscalYear = 2026, AmountWon = 1_000_000,
        });
        var kpi = servers.System.KpiClient;
        var before = await Eventually(kpi, projectId, k => k.BudgetVersion > 0);

        var link = servers.System.Links["budget"];
        link.BlackHole = true;
        long budgetVersion;
        try
        {
            await Task.Delay(1000);   // KPI's sync is now waiting on the Budget feed
            var completed = await projects.CompleteMilestoneAsync(new CompleteMilestoneRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestone, CompletedOn = "2026-05-01",
            });
            var allocated = await servers.System.BudgetClient.AllocateFundsAsync(new AllocateFundsRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2026, AmountWon = 250_000,
            });
            budgetVersion = allocated.Result.Version;
            // Projects' changes keep arriving while Budget's feed hangs.
            var during = await Eventually(kpi, projectId, k => k.ProjectVersion == completed.Result.Version);
            Assert.Equal(before.BudgetVersion, during.BudgetVersion);

            // A refresh through the gateway (1 s per attempt here) while Budget's feed hangs: KPI waits for the feeds
            // half the time the gateway gives it, then answers from what it has, saying which feed did not answer
            // (it waited its own 3 s before: every attempt timed out, and the breaker counted them).
            var clock = Stopwatch.StartNew();
            using var refreshed = await servers.Http(TestTokens.Executive).GetAsync("/api/v1/maturity?refresh=true");
            Assert.True(refreshed.IsSuccessStatusCode, $"{(int)refreshed.StatusCode} after {clock.Elapsed}: {await refreshed.Content.ReadAsStringAsync()}");
            var freshness = (await refreshed.Content.ReadFromJsonAsync<MaturityDto>(new JsonSerializerOptions(JsonSerializerDefaults.Web)))!.Freshness;
            Assert.Contains(freshness.Feeds, f => f.Feed == "budget" && f.LastError?.Contains("did not answer") == true);
        }
        finally
        {
            link.Heal();
        }
        await Eventually(kpi, projectId, k => k.BudgetVersion == budgetVersion);
        Record("Black hole between KPI and Budget while Projects and Budget change, and a refresh through the gateway", 3);
    }

    static async Task<HttpStatusCode> PlanOverRest(HttpClient pm, string key, (string ProjectId, string Name) milestone)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/projects/{milestone.ProjectId}/milestones")
        {
            Content = JsonContent.Create(new PlanMilestoneBody(milestone.Name, 1, "2027-03-31")),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await pm.SendAsync(request);
        return response.StatusCode;
    }

    static bool IsSuccess(HttpStatusCode status) => (int)status is >= 200 and < 300;

    static void Record(string scenario, int requests, int faults = 1)
    {
        ReliabilityFigures.Record(scenario, ReliabilityFigures.RequestsUnderFault, requests);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.FaultsInjected, faults);
    }

    static async Task<ProjectKpis> Eventually(KpiService.KpiServiceClient kpi, string projectId, Func<ProjectKpis, bool> condition)
    {
        ProjectKpis? last = null;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                last = (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = projectId })).Kpis;
                if (condition(last)) return last;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { }   // not synced yet
            await Task.Delay(100);
        }
        Assert.Fail($"KPI did not catch up within 5 s: project version {last?.ProjectVersion}, budget version {last?.BudgetVersion}");
        return last!;
    }

    static async Task Eventually(Func<bool> condition, string failure)
    {
        for (var attempt = 0; attempt < 40 && !condition(); attempt++) await Task.Delay(50);
        Assert.True(condition(), failure);
    }

    /// <summary>HTTP calls in flight from this process to one port (the http.client.active_requests instrument).</summary>
    sealed class ActiveCalls : IDisposable
    {
        readonly MeterListener listener = new();
        long current, peak;

        public ActiveCalls(int port)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument is { Meter.Name: "System.Net.Http", Name: "http.client.active_requests" }) l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag is { Key: "server.port", Value: int p } && p == port)
                    {
                        var now = Interlocked.Add(ref current, value);
                        long seen;
                        while (now > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
                    }
            });
            listener.Start();
        }

        public long Current => Interlocked.Read(ref current);
        public long Peak => Interlocked.Read(ref peak);
        public void Dispose() => listener.Dispose();
    }
}
