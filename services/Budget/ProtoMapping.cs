// Domain <-> contract for budgets, and the tallies behind every Amounts message.
using JasperFx.Events;
using Regeneration.ServiceDefaults;
using V1 = Regeneration.Budget.V1;

namespace Regeneration.Budget;

/// <summary>Sums of money; checked, so an impossible overflow fails loudly instead of wrapping.</summary>
sealed class Tally
{
    public long Allocated, Committed, Spent;

    public void Add(long allocated, long committed, long spent)
    {
        checked { Allocated += allocated; Committed += committed; Spent += spent; }
    }

    public V1.Amounts ToProto() => new()
    {
        AllocatedWon = Allocated, CommittedWon = Committed, SpentWon = Spent,
        UncommittedWon = Allocated - Committed, RemainingWon = Allocated - Spent,
    };
}

static class ProtoMapping
{
    public static V1.ProjectBudget ToProto(this ProjectBudget b)
    {
        var total = new Tally();
        var bySource = new SortedDictionary<FundingSource, Tally>();
        var bySourceYear = new SortedDictionary<(FundingSource, int), Tally>();
        Tally At<TKey>(IDictionary<TKey, Tally> d, TKey key) where TKey : notnull =>
            d.TryGetValue(key, out var t) ? t : d[key] = new Tally();

        foreach (var a in b.Allocations)
        {
            total.Add(a.Amount, 0, 0); At(bySource, a.Source).Add(a.Amount, 0, 0); At(bySourceYear, (a.Source, a.FiscalYear)).Add(a.Amount, 0, 0);
        }
        foreach (var c in b.Contracts)
        {
            total.Add(0, c.Committed, 0); At(bySource, c.Source).Add(0, c.Committed, 0); At(bySourceYear, (c.Source, c.FiscalYear)).Add(0, c.Committed, 0);
        }
        foreach (var s in b.Spending)
        {
            total.Add(0, 0, s.Amount); At(bySource, s.Source).Add(0, 0, s.Amount); At(bySourceYear, (s.Source, s.FiscalYear)).Add(0, 0, s.Amount);
        }
        return new V1.ProjectBudget
        {
            ProjectId = b.Id.ToString(), Totals = total.ToProto(), Version = b.Version, InvoiceCount = b.InvoiceRefs.Count,
            BySource = { bySource.Select(kv => new V1.SourceAmounts { Source = (V1.FundingSource)kv.Key, Amounts = kv.Value.ToProto() }) },
            BySourceAndYear =
            {
                bySourceYear.Select(kv => new V1.SourceYearAmounts
                {
                    Source = (V1.FundingSource)kv.Key.Item1, FiscalYear = kv.Key.Item2, Amounts = kv.Value.ToProto(),
                }),
            },
            Contracts =
            {
                b.Contracts.Select(c => new V1.Contract
                {
                    ContractRef = c.ContractRef, Source = (V1.FundingSource)c.Source, FiscalYear = c.FiscalYear,
                    CommittedWon = c.Committed, SpentWon = c.Spent, Description = c.Description,
                }),
            },
        };
    }

    /// <summary>Totals of many budgets; projects unknown to the Projects service count as "UNKNOWN".</summary>
    public static V1.GetPortfolioBudgetResponse ToPortfolio(IReadOnlyList<ProjectBudget> budgets,
        IReadOnlyDictionary<Guid, ProjectListing> projects)
    {
        var total = new Tally();
        var bySource = new SortedDictionary<FundingSource, Tally>();
        var byYear = new SortedDictionary<int, Tally>();
        var byCategory = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        var byDistrict = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        Tally At<TKey>(IDictionary<TKey, Tally> d, TKey key) where TKey : notnull =>
            d.TryGetValue(key, out var t) ? t : d[key] = new Tally();

        foreach (var b in budgets)
        {
            var listing = projects.GetValueOrDefault(b.Id);
            var category = At(byCategory, listing?.Category ?? "UNKNOWN");
            var district = At(byDistrict, listing?.District ?? "UNKNOWN");
            void Add(FundingSource source, int year, long allocated, long committed, long spent)
            {
                foreach (var t in new[] { total, At(bySource, source), At(byYear, year), category, district })
                    t.Add(allocated, committed, spent);
            }
            foreach (var a in b.Allocations) Add(a.Source, a.FiscalYear, a.Amount, 0, 0);
            foreach (var c in b.Contracts) Add(c.Source, c.FiscalYear, 0, c.Committed, 0);
            foreach (var s in b.Spending) Add(s.Source, s.FiscalYear, 0, 0, s.Amount);
        }
        return new V1.GetPortfolioBudgetResponse
        {
            Totals = total.ToProto(), BudgetCount = budgets.Count,
            BySource = { bySource.Select(kv => new V1.SourceAmounts { Source = (V1.FundingSource)kv.Key, Amounts = kv.Value.ToProto() }) },
            ByYear = { byYear.Select(kv => new V1.YearAmounts { FiscalYear = kv.Key, Amounts = kv.Value.ToProto() }) },
            ByCategory = { byCategory.Select(kv => new V1.NamedAmounts { Name = kv.Key, Amounts = kv.Value.ToProto() }) },
            ByDistrict = { byDistrict.Select(kv => new V1.NamedAmounts { Name = kv.Key, Amounts = kv.Value.ToProto() }) },
        };
    }

    public static V1.BudgetEvent ToProto(this IEvent e)
    {
        var result = new V1.BudgetEvent { Envelope = e.ToEnvelope() };
        switch (e.Data)
        {
            case BudgetOpened x:
                result.BudgetOpened = new V1.BudgetOpened { ProjectId = x.ProjectId.ToString() };
                break;
            case FundsAllocated x:
                result.FundsAllocated = new V1.FundsAllocated { Source = (V1.FundingSource)x.Source, FiscalYear = x.FiscalYear, AmountWon = x.Amount };
                break;
            case AllocationRevised x:
                result.AllocationRevised = new V1.AllocationRevised
                {
                    Source = (V1.FundingSource)x.Source, FiscalYear = x.FiscalYear, PreviousAmountWon = x.PreviousAmount,
                    NewAmountWon = x.NewAmount, Reason = x.Reason,
                };
                break;
            case FundsCommitted x:
                result.FundsCommitted = new V1.FundsCommitted
                {
                    ContractRef = x.ContractRef, Source = (V1.FundingSource)x.Source, FiscalYear = x.FiscalYear,
                    AmountWon = x.Amount, Description = x.Description,
                };
                break;
            case ExpenditureRecorded x:
                result.ExpenditureRecorded = new V1.ExpenditureRecorded
                {
                    InvoiceRef = x.InvoiceRef, ContractRef = x.ContractRef, Source = (V1.FundingSource)x.Source,
                    AmountWon = x.Amount, SpentOn = x.SpentOn.Iso(),
                };
                break;
        }
        return result;
    }
}
