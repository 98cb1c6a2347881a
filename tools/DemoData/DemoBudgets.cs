// The demo budgets: co-funding splits typical of Korean smart-city and new-deal regeneration schemes
// (national 50-60 % where the ministry co-funds), one contract per started milestone and source,
// spending that runs ahead of progress on some projects (cost overruns) and behind on others, and
// a few commitments beyond the allocation that the service must refuse.
using Grpc.Core;
using Regeneration.Budget.V1;

namespace Regeneration.DemoData;

static class DemoBudgets
{
    /// <param name="SpendFactor">Spending per unit of progress: above 1 runs over cost, below 1 under.</param>
    /// <param name="TriesOverCommitment">Also sends a commitment beyond the allocation, to be refused.</param>
    public sealed record Profile(long TotalWon, int National, int Provincial, int Municipal, int Private,
        double SpendFactor, bool TriesOverCommitment = false);

    public static readonly IReadOnlyDictionary<string, Profile> Profiles = new Dictionary<string, Profile>
    {
        ["WJ-2019-SS-01"] = new(12_000_000_000, 50, 0, 50, 0, 1.0),
        ["WJ-2020-SS-02"] = new(4_800_000_000, 40, 20, 40, 0, 1.15),
        ["WJ-2019-MO-01"] = new(18_000_000_000, 60, 0, 40, 0, 1.0),
        ["WJ-2021-MO-02"] = new(24_000_000_000, 60, 0, 40, 0, 1.2, TriesOverCommitment: true),
        ["WJ-2022-MO-03"] = new(3_200_000_000, 50, 25, 25, 0, 0.9),
        ["WJ-2020-UR-01"] = new(25_000_000_000, 50, 20, 30, 0, 1.0),
        ["WJ-2021-SR-03"] = new(16_000_000_000, 60, 10, 25, 5, 0.8),
        ["WJ-2022-UR-04"] = new(20_000_000_000, 55, 15, 30, 0, 1.3, TriesOverCommitment: true),
        ["WJ-2024-UR-05"] = new(30_000_000_000, 60, 10, 30, 0, 1.0),
        ["WJ-2020-DG-01"] = new(2_500_000_000, 0, 0, 100, 0, 1.0),
        ["WJ-2022-DG-02"] = new(9_000_000_000, 50, 0, 50, 0, 0.95),
        ["WJ-2021-EN-01"] = new(14_000_000_000, 50, 0, 30, 20, 1.0),
        ["WJ-2023-EN-02"] = new(3_000_000_000, 50, 0, 50, 0, 1.1),
        ["WJ-2021-CS-01"] = new(5_000_000_000, 0, 0, 100, 0, 0.9),
        ["WJ-2023-CS-02"] = new(1_500_000_000, 50, 0, 30, 20, 1.0),
        ["WJ-2020-DI-01"] = new(11_000_000_000, 50, 0, 50, 0, 1.0),
    };

    public sealed record MilestoneWork(string DueDate, int Weight, int Progress, string? CompletedOn);

    public sealed class Counts { public int Written, Replayed, Refused, Skipped; }

    public static async Task SeedAsync(BudgetService.BudgetServiceClient budget, string code, string projectId,
        int startYear, int endYear, bool committed, IReadOnlyList<MilestoneWork> milestones, Counts counts, CallOptions options)
    {
        var profile = Profiles[code];
        string Id(string step) => $"demo:{code}:budget:{step}";
        void Count(Regeneration.Common.V1.CommandResult r) { if (r.Replayed) counts.Replayed++; else counts.Written++; }
        var shares = new (FundingSource Source, int Percent)[]
        {
            (FundingSource.National, profile.National), (FundingSource.Provincial, profile.Provincial),
            (FundingSource.Municipal, profile.Municipal), (FundingSource.Private, profile.Private),
        }.Where(s => s.Percent > 0).ToArray();

        // Allocations: each source's share, spread evenly over the fiscal years of the project.
        var years = endYear - startYear + 1;
        foreach (var (source, percent) in shares)
        {
            var amount = profile.TotalWon * percent / 100;
            for (var y = 0; y < years; y++)
            {
                var slice = y < years - 1 ? amount / years : amount - amount / years * (years - 1);
                Count((await budget.AllocateFundsAsync(new AllocateFundsRequest
                {
                    RequestId = Id($"allocate:{source}:{startYear + y}"), ProjectId = projectId, Source = source,
                    FiscalYear = startYear + y, AmountWon = slice,
                }, options)).Result);
            }
        }
        if (!committed) return;

        // Contracts and invoices for every milestone that has started.
        for (var i = 0; i < milestones.Count; i++)
        {
            var m = milestones[i];
            if (m.Progress == 0 && m.CompletedOn is null) continue;
            var ratio = Math.Min(1.0, (m.CompletedOn is null ? m.Progress / 100.0 : 1.0) * profile.SpendFactor);
            var fiscalYear = Math.Clamp(int.Parse(m.DueDate[..4]), startYear, endYear);
            foreach (var (source, percent) in shares)
            {
                var contract = profile.TotalWon * m.Weight / 100 * percent / 100;
                var reference = $"{code}-C{i + 1}-{source.ToString().ToUpperInvariant()}";
                Count((await budget.CommitFundsAsync(new CommitFundsRequest
                {
                    RequestId = Id($"commit:{reference}"), ProjectId = projectId, Source = source, FiscalYear = fiscalYear,
                    ContractRef = reference, AmountWon = contract, Description = $"Milestone {i + 1}",
                }, options)).Result);
                var spent = (long)(contract * ratio);
                if (spent == 0) continue;
                Count((await budget.RecordExpenditureAsync(new RecordExpenditureRequest
                {
                    RequestId = Id($"spend:{reference}"), ProjectId = projectId, InvoiceRef = $"{reference}-INV",
                    ContractRef = reference, AmountWon = spent, SpentOn = m.CompletedOn ?? "2026-10-31",
                }, options)).Result);
            }
        }

        if (profile.TriesOverCommitment)
        {
            try
            {
                await budget.CommitFundsAsync(new CommitFundsRequest
                {
                    RequestId = Id("over-commitment"), ProjectId = projectId, Source = FundingSource.National, FiscalYear = endYear,
                    ContractRef = $"{code}-VARIATION", AmountWon = profile.TotalWon, Description = "Variation order beyond the allocation",
                }, options);
                throw new InvalidOperationException($"{code}: a commitment beyond the allocation was accepted");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                counts.Refused++;
            }
        }
    }
}
