// The demo portfolio loads through the public API, once, and shows what it is designed to show.
using Regeneration.Budget.V1;
using Regeneration.DemoData;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests;

public class DemoDataTests(SystemServers servers) : IClassFixture<SystemServers>
{
    [Fact]
    public async Task The_demo_portfolio_loads_once_and_covers_every_category_status_milestone_state_and_budget()
    {
        var first = await DemoPortfolio.SeedAsync(servers.ProjectsClient, servers.BudgetClient, servers.KpiClient);
        var second = await DemoPortfolio.SeedAsync(servers.ProjectsClient, servers.BudgetClient, servers.KpiClient);

        Assert.True(first.Projects >= 12);
        Assert.Equal(0, second.Written);
        Assert.Equal(first.Written + first.Replayed, second.Replayed);
        Assert.Equal(2, first.Refused);
        Assert.Equal(2, second.Refused);

        var projects = (await servers.ProjectsClient.ListProjectsAsync(new ListProjectsRequest
        {
            Page = new Regeneration.Common.V1.PageRequest { PageSize = 500 },
        })).Projects.ToList();
        Assert.Equal(first.Projects, projects.Count);
        Assert.Equal(Enum.GetValues<ProjectCategory>().Skip(1), projects.Select(p => p.Category).Distinct().Order());
        Assert.Equal(Enum.GetValues<ProjectStatus>().Skip(1), projects.Select(p => p.Status).Distinct().Order());
        var milestones = projects.SelectMany(p => p.Milestones).ToList();
        Assert.Equal(Enum.GetValues<MilestoneStatus>().Skip(1), milestones.Select(m => m.Status).Distinct().Order());
        Assert.Contains(milestones, m => m.RebaselineCount > 0);

        var portfolio = await servers.BudgetClient.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest());
        Assert.Equal(projects.Count, portfolio.BudgetCount);
        var national = portfolio.BySource.Single(s => s.Source == FundingSource.National).Amounts.AllocatedWon;
        Assert.InRange(national * 100 / portfolio.Totals.AllocatedWon, 40, 60);
        Assert.InRange(portfolio.Totals.SpentWon, 1, portfolio.Totals.CommittedWon);

        var regeneration = projects.Single(p => p.Code == "WJ-2020-UR-01");
        var budget = (await servers.BudgetClient.GetProjectBudgetAsync(new GetProjectBudgetRequest { ProjectId = regeneration.Id })).Budget;
        Assert.Equal(50, budget.BySource.Single(s => s.Source == FundingSource.National).Amounts.AllocatedWon * 100 / budget.Totals.AllocatedWon);
    
        // The headline: ISO 37106 Level 3 overall, carried by safety, mobility, privacy and the digital platform.
        var maturity = await servers.KpiClient.GetMaturityAsync(new GetMaturityRequest { Refresh = true });
        Assert.Equal(3, maturity.OverallLevel);
        var levels = maturity.Dimensions.ToDictionary(d => d.Dimension.Code, d => d.Level);
        Assert.Equal(4, levels["safety-resilience"]);
        Assert.Equal(4, levels["mobility"]);
        Assert.Equal(4, levels["privacy-data"]);
        Assert.Equal(4, levels["digital-platform"]);
        Assert.All(maturity.Dimensions, d => Assert.True(d.Evidenced && d.Level >= 3, $"{d.Dimension.Code}: {d.Score:0.0}% level {d.Level}"));
        var safety = maturity.Dimensions.Single(d => d.Dimension.Code == "safety-resilience");
        Assert.Equal("WJ-2019-SS-01", safety.Contributions[0].Code);
        Assert.Contains("WJ-2019-SS-01", safety.Explanation);
        Assert.DoesNotContain(maturity.Dimensions.SelectMany(d => d.Contributions), c => c.Code == "WJ-2023-CS-02");
        Assert.All(maturity.Dimensions.Where(d => d.Level == 3), d => Assert.NotEmpty(d.Gaps));
        Assert.Contains("lowest", maturity.Explanation);
    }
}
