// A service goes down during rollups: the gateway answers within its deadline with what it has,
// says what is missing, opens the breaker, and closes it by itself when the service is back.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Regeneration.Gateway;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.GatewayProbes;

namespace Regeneration.Tests.Gateway;

public class GatewayFaultTests(FaultyGatewayServers servers) : IClassFixture<FaultyGatewayServers>
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task With_the_budget_service_down_the_rollup_answers_in_time_without_budget_and_recovers_when_it_returns()
    {
        var executive = servers.Http(TestTokens.Executive);
        var anonymous = servers.Http();
        Assert.Empty((await WholeRollup(executive)).Missing);

        await servers.System.Budget.StopAsync();
        try
        {
            // Failures accumulate in the breaker's sampling window (with the successes before them) until it opens.
            var answers = new List<(KpiRollupDto Rollup, TimeSpan Took)>();
            for (var i = 0; i < 15 && !answers.Any(a => a.Rollup.Missing[0].Reason.StartsWith("circuit open")); i++)
            {
                var clock = Stopwatch.StartNew();
                var response = await executive.GetAsync("/api/v1/kpis");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                answers.Add(((await response.Content.ReadFromJsonAsync<KpiRollupDto>(Json))!, clock.Elapsed));
            }

            // Within the gateway's total deadline (3 s here), every time; the KPI part is still there.
            Assert.All(answers, a => Assert.True(a.Took < TimeSpan.FromSeconds(3), $"took {a.Took}"));
            Assert.All(answers, a =>
            {
                Assert.Null(a.Rollup.Budget);
                Assert.Equal("budget", Assert.Single(a.Rollup.Missing).Service);
                Assert.NotEmpty(a.Rollup.Projects);
            });
            Assert.Contains(answers, a => a.Rollup.Missing[0].Reason.StartsWith("circuit open"));
            ReliabilityFigures.Record("Budget service stopped under gateway rollups", ReliabilityFigures.RequestsUnderFault, answers.Count);
            ReliabilityFigures.Record("Budget service stopped under gateway rollups", ReliabilityFigures.FaultsInjected, 1);
            var ready = await anonymous.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            var budget = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("services").EnumerateArray()
                .Single(s => s.GetProperty("service").GetString() == "budget");
            Assert.Equal("Open", budget.GetProperty("breaker").GetString());
        }
        finally
        {
            await servers.System.Budget.RestartAsync();
        }

        // The breaker half-opens after its break (1 s here) and closes on the first success.
        var recovered = await WholeRollup(executive);
        Assert.Empty(recovered.Missing);
        Assert.NotNull(recovered.Budget);
    }

    [Fact]
    public async Task With_the_kpi_service_down_the_maturity_is_a_503_problem_not_a_hang()
    {
        var executive = servers.Http(TestTokens.Executive);
        Assert.Empty((await WholeRollup(executive)).Missing);
        await servers.System.Kpi.StopAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var response = await executive.GetAsync("/api/v1/maturity");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            ReliabilityFigures.Record("KPI service stopped under gateway reads", ReliabilityFigures.RequestsUnderFault, 2);
            ReliabilityFigures.Record("KPI service stopped under gateway reads", ReliabilityFigures.FaultsInjected, 1);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var rollup = await executive.GetFromJsonAsync<KpiRollupDto>("/api/v1/kpis", Json);
            Assert.Equal("kpi", Assert.Single(rollup!.Missing).Service);
            Assert.NotNull(rollup.Budget);
        }
        finally
        {
            await servers.System.Kpi.RestartAsync();
        }
    }
}
