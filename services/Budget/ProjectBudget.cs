// The budget of one project: events, state (also the inline snapshot) and the decider. Money is whole
// won in long; every rule is checked before any event is produced, so a breach writes nothing.
using System.Globalization;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

// Numeric values match the contract's enum.
public enum FundingSource { National = 1, Provincial = 2, Municipal = 3, Private = 4 }

/// <summary>What the Projects service says about the project when money is about to move.</summary>
public enum ProjectStanding { Open, Closed }

// ---- Events ----
public sealed record BudgetOpened(Guid ProjectId);
public sealed record FundsAllocated(FundingSource Source, int FiscalYear, long Amount);
public sealed record AllocationRevised(FundingSource Source, int FiscalYear, long PreviousAmount, long NewAmount, string Reason);
public sealed record FundsCommitted(string ContractRef, FundingSource Source, int FiscalYear, long Amount, string Description);
public sealed record ExpenditureRecorded(string InvoiceRef, string ContractRef, FundingSource Source, long Amount, DateOnly SpentOn);

// ---- State ----
public sealed record AllocationLine(FundingSource Source, int FiscalYear, long Amount);
public sealed record ContractLine(string ContractRef, FundingSource Source, int FiscalYear, long Committed, long Spent, string Description);
public sealed record SpendingLine(FundingSource Source, int FiscalYear, long Amount);

public sealed record ProjectBudget(
    Guid Id, IReadOnlyList<AllocationLine> Allocations, IReadOnlyList<ContractLine> Contracts,
    IReadOnlyList<SpendingLine> Spending, IReadOnlyList<string> InvoiceRefs) : IStreamSnapshot
{
    public long Version { get; set; }

    public static ProjectBudget Create(BudgetOpened e) => new(e.ProjectId, [], [], [], []);

    public ProjectBudget Apply(FundsAllocated e) => this with
    {
        Allocations = Allocation(e.Source, e.FiscalYear) is { } line
            ? [.. Allocations.Select(l => l == line ? l with { Amount = l.Amount + e.Amount } : l)]
            : [.. Allocations, new AllocationLine(e.Source, e.FiscalYear, e.Amount)],
    };

    public ProjectBudget Apply(AllocationRevised e) => this with
    {
        Allocations = [.. Allocations.Select(l => l.Source == e.Source && l.FiscalYear == e.FiscalYear ? l with { Amount = e.NewAmount } : l)],
    };

    public ProjectBudget Apply(FundsCommitted e) => this with
    {
        Contracts = [.. Contracts, new ContractLine(e.ContractRef, e.Source, e.FiscalYear, e.Amount, 0, e.Description)],
    };

    public ProjectBudget Apply(ExpenditureRecorded e)
    {
        var year = e.SpentOn.Year;
        var line = Spending.FirstOrDefault(l => l.Source == e.Source && l.FiscalYear == year);
        return this with
        {
            Contracts = [.. Contracts.Select(c => c.ContractRef == e.ContractRef ? c with { Spent = c.Spent + e.Amount } : c)],
            Spending = line is null
                ? [.. Spending, new SpendingLine(e.Source, year, e.Amount)]
                : [.. Spending.Select(l => l == line ? l with { Amount = l.Amount + e.Amount } : l)],
            InvoiceRefs = [.. InvoiceRefs, e.InvoiceRef],
        };
    }

    public AllocationLine? Allocation(FundingSource source, int year) =>
        Allocations.FirstOrDefault(l => l.Source == source && l.FiscalYear == year);

    public ContractLine? Contract(string contractRef) => Contracts.FirstOrDefault(c => c.ContractRef == contractRef);

    public long Allocated(FundingSource source) => Allocations.Where(l => l.Source == source).Sum(l => l.Amount);
    public long Committed(FundingSource source) => Contracts.Where(c => c.Source == source).Sum(c => c.Committed);
    public long Spent(FundingSource source) => Contracts.Where(c => c.Source == source).Sum(c => c.Spent);
    public long TotalAllocated => Allocations.Sum(l => l.Amount);
}

// ---- Commands ----
public sealed record AllocateFunds(FundingSource Source, int FiscalYear, long Amount);
public sealed record ReviseAllocation(FundingSource Source, int FiscalYear, long NewAmount, string Reason);
public sealed record CommitFunds(string ContractRef, FundingSource Source, int FiscalYear, long Amount, string Description);
public sealed record RecordExpenditure(string InvoiceRef, string ContractRef, long Amount, DateOnly SpentOn);

// ---- Decider ----
public static class BudgetDecider
{
    /// <summary>The largest single amount, and the largest total a project may be allocated: 100 trillion won.
    /// With it, no sum over fewer than 92,000 projects can overflow a long.</summary>
    public const long MaxAmount = 100_000_000_000_000;

    public static object[] Allocate(Guid projectId, ProjectBudget? budget, ProjectStanding standing, AllocateFunds c)
    {
        EnsureOpen(projectId, standing, "receive new allocations");
        var total = budget?.TotalAllocated ?? 0;
        if (total + c.Amount > MaxAmount)
            throw new InvalidRequestException("amount_won",
                $"would bring the project's allocations to {Won(total + c.Amount)}, over the ceiling of {Won(MaxAmount)}");
        return [.. Opening(projectId, budget), new FundsAllocated(c.Source, c.FiscalYear, c.Amount)];
    }

    public static object[] Revise(Guid projectId, ProjectBudget? budget, ProjectStanding standing, ReviseAllocation c)
    {
        var line = budget?.Allocation(c.Source, c.FiscalYear)
            ?? throw new NotFoundException("allocation", $"projects/{projectId}/allocations/{c.Source}/{c.FiscalYear}");
        if (c.NewAmount == line.Amount)
            throw new InvalidRequestException("new_amount_won", $"The allocation is already {Won(line.Amount)}");
        if (c.NewAmount > line.Amount) EnsureOpen(projectId, standing, "have allocations raised");
        if (budget.TotalAllocated - line.Amount + c.NewAmount > MaxAmount)
            throw new InvalidRequestException("new_amount_won", $"would bring the project's allocations over the ceiling of {Won(MaxAmount)}");
        var allocatedAfter = budget.Allocated(c.Source) - line.Amount + c.NewAmount;
        var committed = budget.Committed(c.Source);
        if (allocatedAfter < committed)
            throw new RuleViolationException("COMMITMENTS_EXCEED_ALLOCATION", Subject(projectId),
                $"Revising {c.Source} {c.FiscalYear} to {Won(c.NewAmount)} would leave {c.Source} allocations at " +
                $"{Won(allocatedAfter)}, below the {Won(committed)} already committed");
        return [new AllocationRevised(c.Source, c.FiscalYear, line.Amount, c.NewAmount, c.Reason)];
    }

    public static object[] Commit(Guid projectId, ProjectBudget? budget, ProjectStanding standing, CommitFunds c)
    {
        EnsureOpen(projectId, standing, "commit new funds");
        if (budget?.Contract(c.ContractRef) is not null)
            throw new AlreadyExistsException("contract", c.ContractRef, $"Contract '{c.ContractRef}' already has a commitment");
        var allocated = budget?.Allocated(c.Source) ?? 0;
        var committed = budget?.Committed(c.Source) ?? 0;
        if (committed + c.Amount > allocated)
            throw new RuleViolationException("OVER_COMMITMENT", Subject(projectId),
                $"Committing {Won(c.Amount)} from {c.Source} would bring its commitments to {Won(committed + c.Amount)}, " +
                $"over the {Won(allocated)} allocated ({Won(allocated - committed)} uncommitted)");
        return [.. Opening(projectId, budget), new FundsCommitted(c.ContractRef, c.Source, c.FiscalYear, c.Amount, c.Description)];
    }

    /// <summary>Allowed on closed projects too: contracted work is paid.</summary>
    public static object[] RecordExpenditure(Guid projectId, ProjectBudget? budget, RecordExpenditure c)
    {
        if (budget?.InvoiceRefs.Contains(c.InvoiceRef) == true)
            throw new AlreadyExistsException("invoice", c.InvoiceRef, $"Invoice '{c.InvoiceRef}' is already recorded");
        var contract = budget?.Contract(c.ContractRef)
            ?? throw new NotFoundException("contract", $"projects/{projectId}/contracts/{c.ContractRef}");
        if (contract.Spent + c.Amount > contract.Committed)
            throw new RuleViolationException("OVER_SPENDING", Subject(projectId),
                $"Invoice '{c.InvoiceRef}' of {Won(c.Amount)} would bring spending on contract '{c.ContractRef}' to " +
                $"{Won(contract.Spent + c.Amount)}, over its {Won(contract.Committed)} commitment ({Won(contract.Committed - contract.Spent)} left)");
        return [new ExpenditureRecorded(c.InvoiceRef, c.ContractRef, contract.Source, c.Amount, c.SpentOn)];
    }

    static object[] Opening(Guid projectId, ProjectBudget? budget) => budget is null ? [new BudgetOpened(projectId)] : [];

    static void EnsureOpen(Guid projectId, ProjectStanding standing, string what)
    {
        if (standing == ProjectStanding.Closed)
            throw new RuleViolationException("PROJECT_CLOSED", Subject(projectId),
                $"The project is cancelled or completed and cannot {what}; expenditures on existing commitments are still recorded");
    }

    static string Subject(Guid projectId) => $"projects/{projectId}/budget";

    public static string Won(long amount) => amount.ToString("N0", CultureInfo.InvariantCulture) + " won";
}
