// The money rules as specifications, without a database.
using Regeneration.Budget;
using Regeneration.ServiceDefaults;

namespace Regeneration.Tests.Budget;

public class BudgetDeciderTests
{
    static readonly Guid Project = Guid.NewGuid();
    static readonly DateOnly Day = new(2025, 5, 20);

    static ProjectBudget Given(params object[] events)
    {
        var budget = ProjectBudget.Create(new BudgetOpened(Project));
        foreach (var e in events)
            budget = e switch
            {
                FundsAllocated x => budget.Apply(x),
                AllocationRevised x => budget.Apply(x),
                FundsCommitted x => budget.Apply(x),
                ExpenditureRecorded x => budget.Apply(x),
                _ => throw new ArgumentException(e.GetType().Name),
            };
        return budget;
    }

    static FundsAllocated National(long amount, int year = 2025) => new(FundingSource.National, year, amount);
    static FundsCommitted Contract(string reference, long amount, FundingSource source = FundingSource.National) =>
        new(reference, source, 2025, amount, "");

    [Fact]
    public void The_first_allocation_opens_the_budget()
    {
        var events = BudgetDecider.Allocate(Project, null, ProjectStanding.Open, new(FundingSource.National, 2025, 1_000));
        Assert.Equal([typeof(BudgetOpened), typeof(FundsAllocated)], events.Select(e => e.GetType()));
        Assert.Single(BudgetDecider.Allocate(Project, Given(), ProjectStanding.Open, new(FundingSource.Municipal, 2025, 1)));
    }

    [Fact]
    public void Allocations_of_a_source_and_year_accumulate()
    {
        var budget = Given(National(600), National(400), National(50, 2026));
        Assert.Equal(1_050, budget.Allocated(FundingSource.National));
        Assert.Equal(1_000, budget.Allocation(FundingSource.National, 2025)!.Amount);
    }

    [Fact]
    public void Commitments_may_reach_but_not_exceed_the_allocation_of_their_source()
    {
        var budget = Given(National(1_000), new FundsAllocated(FundingSource.Municipal, 2025, 5_000), Contract("C-1", 600));
        Assert.Single(BudgetDecider.Commit(Project, budget, ProjectStanding.Open, new("C-2", FundingSource.National, 2025, 400, "")));
        var error = Assert.Throws<RuleViolationException>(() =>
            BudgetDecider.Commit(Project, budget, ProjectStanding.Open, new("C-2", FundingSource.National, 2025, 401, "")));
        Assert.Equal("OVER_COMMITMENT", error.Type);
        Assert.Contains("1,001 won", error.Message);
        Assert.Contains("1,000 won allocated", error.Message);
    }

    [Fact]
    public void Expenditures_may_reach_but_not_exceed_their_contract()
    {
        var budget = Given(National(1_000), Contract("C-1", 600), new ExpenditureRecorded("INV-1", "C-1", FundingSource.National, 500, Day));
        Assert.Single(BudgetDecider.RecordExpenditure(Project, budget, new("INV-2", "C-1", 100, Day)));
        var error = Assert.Throws<RuleViolationException>(() => BudgetDecider.RecordExpenditure(Project, budget, new("INV-2", "C-1", 101, Day)));
        Assert.Equal("OVER_SPENDING", error.Type);
        Assert.Contains("601 won", error.Message);
    }

    [Fact]
    public void An_invoice_never_counts_twice()
    {
        var budget = Given(National(1_000), Contract("C-1", 600), new ExpenditureRecorded("INV-1", "C-1", FundingSource.National, 100, Day));
        Assert.Throws<AlreadyExistsException>(() => BudgetDecider.RecordExpenditure(Project, budget, new("INV-1", "C-1", 100, Day)));
    }

    [Fact]
    public void An_expenditure_needs_a_committed_contract()
    {
        Assert.Throws<NotFoundException>(() => BudgetDecider.RecordExpenditure(Project, Given(National(1_000)), new("INV-1", "C-9", 1, Day)));
        Assert.Throws<NotFoundException>(() => BudgetDecider.RecordExpenditure(Project, null, new("INV-1", "C-9", 1, Day)));
    }

    [Fact]
    public void A_revision_cannot_leave_commitments_above_the_allocation()
    {
        var budget = Given(National(1_000), National(500, 2026), Contract("C-1", 1_200));
        var lowered = BudgetDecider.Revise(Project, budget, ProjectStanding.Open, new(FundingSource.National, 2025, 700, "Ministry cut"));
        Assert.Equal(new AllocationRevised(FundingSource.National, 2025, 1_000, 700, "Ministry cut"), Assert.Single(lowered));
        var error = Assert.Throws<RuleViolationException>(() =>
            BudgetDecider.Revise(Project, budget, ProjectStanding.Open, new(FundingSource.National, 2025, 699, "Deeper cut")));
        Assert.Equal("COMMITMENTS_EXCEED_ALLOCATION", error.Type);
    }

    [Fact]
    public void A_closed_project_takes_no_new_money_but_pays_its_contracts_and_may_release_funds()
    {
        var budget = Given(National(1_000), Contract("C-1", 600));
        Assert.Throws<RuleViolationException>(() => BudgetDecider.Allocate(Project, budget, ProjectStanding.Closed, new(FundingSource.National, 2025, 1)));
        Assert.Throws<RuleViolationException>(() => BudgetDecider.Commit(Project, budget, ProjectStanding.Closed, new("C-2", FundingSource.National, 2025, 1, "")));
        Assert.Throws<RuleViolationException>(() => BudgetDecider.Revise(Project, budget, ProjectStanding.Closed, new(FundingSource.National, 2025, 2_000, "more")));
        Assert.Single(BudgetDecider.RecordExpenditure(Project, budget, new("INV-1", "C-1", 600, Day)));
        Assert.Single(BudgetDecider.Revise(Project, budget, ProjectStanding.Closed, new(FundingSource.National, 2025, 600, "Release unspent funds")));
    }

    [Fact]
    public void A_project_cannot_be_allocated_beyond_the_ceiling()
    {
        var budget = Given(National(BudgetDecider.MaxAmount - 10));
        Assert.Single(BudgetDecider.Allocate(Project, budget, ProjectStanding.Open, new(FundingSource.Private, 2025, 10)));
        var error = Assert.Throws<InvalidRequestException>(() =>
            BudgetDecider.Allocate(Project, budget, ProjectStanding.Open, new(FundingSource.Private, 2025, 11)));
        Assert.Equal("amount_won", Assert.Single(error.Violations).Field);
    }

    [Fact]
    public void Spending_is_tallied_by_source_and_the_year_it_happened()
    {
        var budget = Given(National(1_000), Contract("C-1", 900),
            new ExpenditureRecorded("INV-1", "C-1", FundingSource.National, 100, new DateOnly(2025, 12, 31)),
            new ExpenditureRecorded("INV-2", "C-1", FundingSource.National, 200, new DateOnly(2026, 1, 2)));
        Assert.Equal([(FundingSource.National, 2025, 100L), (FundingSource.National, 2026, 200L)],
            budget.Spending.Select(s => (s.Source, s.FiscalYear, s.Amount)));
        Assert.Equal(300, budget.Spent(FundingSource.National));
    }
}
