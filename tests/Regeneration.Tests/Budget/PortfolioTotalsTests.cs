// Portfolio totals are exact: thousands of random movements (some of them breaking the rules on
// purpose) go through the service, the test keeps its own books, and the two must agree to the won.
using Grpc.Core;
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Budget;

public class PortfolioTotalsTests(BudgetServers servers) : IClassFixture<BudgetServers>
{
    const int ProjectsCount = 8, MovementsPerProject = 300;

    sealed record Row(FundingSource Source, int Year, string Category, string District, long Allocated, long Committed, long Spent);

    [Fact]
    public async Task Portfolio_totals_equal_an_independent_sum_of_thousands_of_random_movements()
    {
        var categories = new[] { ProjectCategory.SmartSafety, ProjectCategory.SmartMobility, ProjectCategory.UrbanRegeneration, ProjectCategory.DataGovernance };
        var districts = new[] { "Hakseong-dong", "Bongsan-dong", "Jungang-dong" };
        var work = Enumerable.Range(0, ProjectsCount).Select(i => Task.Run(async () =>
        {
            var category = categories[i % categories.Length];
            var district = districts[i % districts.Length];
            var (projectId, _) = await RegisterActive(servers.ProjectsClient, r => { r.Category = category; r.District = district; });
            return await Move(projectId, $"PROJECT_CATEGORY_{Snake(category)}", district, new Random(1000 + i));
        }));
        var rows = (await Task.WhenAll(work)).SelectMany(r => r).ToList();

        var portfolio = await servers.BudgetClient.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest());

        Assert.True(rows.Count > ProjectsCount * MovementsPerProject / 2, $"only {rows.Count} movements were accepted");
        AssertAmounts(rows, portfolio.Totals);
        foreach (var g in rows.GroupBy(r => r.Source)) AssertAmounts(g, portfolio.BySource.Single(s => s.Source == g.Key).Amounts);
        foreach (var g in rows.GroupBy(r => r.Year)) AssertAmounts(g, portfolio.ByYear.Single(y => y.FiscalYear == g.Key).Amounts);
        foreach (var g in rows.GroupBy(r => r.Category)) AssertAmounts(g, portfolio.ByCategory.Single(c => c.Name == g.Key).Amounts);
        foreach (var g in rows.GroupBy(r => r.District)) AssertAmounts(g, portfolio.ByDistrict.Single(d => d.Name == g.Key).Amounts);
        Assert.Equal(rows.Select(r => r.Category).Distinct().Count(), portfolio.ByCategory.Count);
    }

    static void AssertAmounts(IEnumerable<Row> rows, Amounts actual)
    {
        var allocated = rows.Sum(r => r.Allocated);
        var committed = rows.Sum(r => r.Committed);
        var spent = rows.Sum(r => r.Spent);
        Assert.Equal((allocated, committed, spent, allocated - committed, allocated - spent),
            (actual.AllocatedWon, actual.CommittedWon, actual.SpentWon, actual.UncommittedWon, actual.RemainingWon));
    }

    /// <summary>Random allocations, commitments and expenditures on one project; returns the accepted ones.</summary>
    async Task<List<Row>> Move(string projectId, string category, string district, Random random)
    {
        var client = servers.BudgetClient;
        var sources = new[] { FundingSource.National, FundingSource.Provincial, FundingSource.Municipal, FundingSource.Private };
        var allocated = sources.ToDictionary(s => s, _ => 0L);
        var committed = sources.ToDictionary(s => s, _ => 0L);
        var contracts = new List<(string Ref, FundingSource Source, long Room)>();
        var rows = new List<Row>();

        for (var n = 0; n < MovementsPerProject; n++)
        {
            var source = sources[random.Next(sources.Length)];
            var year = 2023 + random.Next(4);
            var roll = random.Next(10);
            try
            {
                if (roll < 3 || allocated[source] == 0)
                {
                    var amount = random.NextInt64(1, 50_000_000_000);
                    await client.AllocateFundsAsync(new AllocateFundsRequest
                    {
                        RequestId = NewRequestId(), ProjectId = projectId, Source = source, FiscalYear = year, AmountWon = amount,
                    });
                    allocated[source] += amount;
                    rows.Add(new(source, year, category, district, amount, 0, 0));
                }
                else if (roll < 6)
                {
                    // Sometimes more than is left uncommitted: the service must refuse exactly those.
                    var room = allocated[source] - committed[source];
                    var amount = random.NextInt64(1, Math.Max(2, room * 5 / 4));
                    var reference = $"CT-{n}";
                    var accepted = amount <= room;
                    var status = await Status(client.CommitFundsAsync(new CommitFundsRequest
                    {
                        RequestId = NewRequestId(), ProjectId = projectId, Source = source, FiscalYear = year, ContractRef = reference, AmountWon = amount,
                    }).ResponseAsync);
                    Assert.Equal(accepted ? StatusCode.OK : StatusCode.FailedPrecondition, status);
                    if (!accepted) continue;
                    committed[source] += amount;
                    contracts.Add((reference, source, amount));
                    rows.Add(new(source, year, category, district, 0, amount, 0));
                }
                else if (contracts.Count > 0)
                {
                    var i = random.Next(contracts.Count);
                    var contract = contracts[i];
                    var amount = random.NextInt64(1, Math.Max(2, contract.Room * 5 / 4));
                    var accepted = amount <= contract.Room;
                    var day = new DateOnly(year, 1 + random.Next(12), 1 + random.Next(28));
                    if (day > DateOnly.FromDateTime(DateTime.UtcNow)) day = new DateOnly(2024, 6, 1);
                    var status = await Status(client.RecordExpenditureAsync(new RecordExpenditureRequest
                    {
                        RequestId = NewRequestId(), ProjectId = projectId, InvoiceRef = $"INV-{n}", ContractRef = contract.Ref,
                        AmountWon = amount, SpentOn = day.ToString("yyyy-MM-dd"),
                    }).ResponseAsync);
                    Assert.Equal(accepted ? StatusCode.OK : StatusCode.FailedPrecondition, status);
                    if (!accepted) continue;
                    contracts[i] = contract with { Room = contract.Room - amount };
                    rows.Add(new(contract.Source, day.Year, category, district, 0, 0, amount));
                }
            }
            catch (RpcException e)
            {
                Assert.Fail($"movement {n} failed unexpectedly: {e.Status}");
            }
        }
        return rows;
    }

    static async Task<StatusCode> Status<T>(Task<T> call)
    {
        try { await call; return StatusCode.OK; }
        catch (RpcException e) { return e.StatusCode; }
    }

    static string Snake(ProjectCategory category) => category switch
    {
        ProjectCategory.SmartSafety => "SMART_SAFETY",
        ProjectCategory.SmartMobility => "SMART_MOBILITY",
        ProjectCategory.UrbanRegeneration => "URBAN_REGENERATION",
        ProjectCategory.DataGovernance => "DATA_GOVERNANCE",
        _ => throw new ArgumentOutOfRangeException(nameof(category)),
    };
}
