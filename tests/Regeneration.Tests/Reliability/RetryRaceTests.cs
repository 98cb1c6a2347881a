// The retry that races its original: both copies of one request get past the first receipt lookup
// while the stream is locked, then take the lock one after the other. The second must answer with the
// first's result and write nothing (a gateway retrying after its attempt timeout does exactly this).
// (The narrower window — the original commits after the retry's first lookup but before the retry takes
// the lock — is closed by the receipt lookup under the lock in CommandRunner; no test seam reaches it.)
using Regeneration.Budget.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

public class RetryRaceTests(SystemServers servers) : IClassFixture<SystemServers>
{
    [Fact]
    public async Task Two_copies_of_an_allocation_queued_on_the_stream_lock_are_counted_once()
    {
        var (projectId, _) = await RegisterActive(servers.ProjectsClient);
        await servers.BudgetClient.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.Municipal, FiscalYear = 2025, AmountWon = 1_000,
        });
        var retried = new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 500,
        };

        // Hold the budget stream's row lock, so that both copies pass the receipt lookup and queue on the lock.
        await using var locks = await StreamLocks.HoldAsync(servers.ConnectionString, "budget", projectId);
        var copies = Enumerable.Range(0, 2).Select(_ => Task.Run(async () => (await servers.BudgetClient.AllocateFundsAsync(retried)).Result)).ToList();
        await Task.Delay(500);
        Assert.All(copies, c => Assert.False(c.IsCompleted));   // both are waiting on the lock
        await locks.ReleaseAsync();
        var results = await Task.WhenAll(copies);

        Assert.Single(results, r => !r.Replayed);
        Assert.Single(results.Select(r => r.Version).Distinct());
        var budget = (await servers.BudgetClient.GetProjectBudgetAsync(new GetProjectBudgetRequest { ProjectId = projectId })).Budget;
        Assert.Equal(1_500, budget.Totals.AllocatedWon);
        var history = (await servers.BudgetClient.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId })).Events;
        const string scenario = "A retry racing its original on the stream lock";
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, 1);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, Math.Abs(history.Count(e => e.Envelope.CausationId == retried.RequestId) - 1));
        Assert.Single(history, e => e.Envelope.CausationId == retried.RequestId);
    }
}
