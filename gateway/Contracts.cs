// The REST resources, as JSON for people and dashboards, and their mapping from the gRPC contract.
// Enum values lose their contract prefix (PROJECT_STATUS_ACTIVE -> ACTIVE); money stays whole won.
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Regeneration.ServiceDefaults;
using B = Regeneration.Budget.V1;
using C = Regeneration.Common.V1;
using K = Regeneration.Kpi.V1;
using P = Regeneration.Projects.V1;

namespace Regeneration.Gateway;

public sealed record ContributionDto(string Dimension, int Weight);
public sealed record MilestoneDto(string Id, string Name, int Weight, string BaselineDueDate, string ForecastDate, int Progress,
    string Status, string? CompletedOn, int RebaselineCount);
public sealed record ProjectDto(string Id, string Code, string Name, string Description, string District, string Category, string Owner,
    string PlannedStart, string PlannedEnd, string Status, IReadOnlyList<ContributionDto> Contributions, IReadOnlyList<MilestoneDto> Milestones,
    long Version);
public sealed record ProjectPageDto(IReadOnlyList<ProjectDto> Projects, string? NextPageToken, long TotalSize);
/// <summary>One event; <c>data</c> is the event's payload in the contract's JSON form.</summary>
public sealed record EventDto(long Sequence, string StreamId, long Version, string Type, DateTimeOffset RecordedAt, string Actor,
    string CorrelationId, string CausationId, JsonElement Data);
public sealed record CommandResultDto(string ProjectId, long Version, string? EntityId, bool Replayed);

public sealed record AmountsDto(long Allocated, long Committed, long Spent, long Uncommitted, long Remaining);
public sealed record SourceAmountsDto(string Source, AmountsDto Amounts);
public sealed record SourceYearAmountsDto(string Source, int FiscalYear, AmountsDto Amounts);
public sealed record YearAmountsDto(int FiscalYear, AmountsDto Amounts);
public sealed record NamedAmountsDto(string Name, AmountsDto Amounts);
public sealed record ContractDto(string ContractRef, string Source, int FiscalYear, long Committed, long Spent, string Description);
public sealed record ProjectBudgetDto(string ProjectId, AmountsDto Totals, IReadOnlyList<SourceAmountsDto> BySource,
    IReadOnlyList<SourceYearAmountsDto> BySourceAndYear, IReadOnlyList<ContractDto> Contracts, int InvoiceCount, long Version);
public sealed record PortfolioBudgetDto(AmountsDto Totals, IReadOnlyList<SourceAmountsDto> BySource, IReadOnlyList<YearAmountsDto> ByYear,
    IReadOnlyList<NamedAmountsDto> ByCategory, IReadOnlyList<NamedAmountsDto> ByDistrict, int BudgetCount);

public sealed record EarnedValueDto(long Bac, long Pv, long Ev, long Ac, double? Spi, double? Cpi, long? Eac, string Rag,
    double Progress, double Planned, bool HasBudget);
public sealed record MeasurementDto(string Id, double Value, DateTimeOffset ObservedAt, string Source);
public sealed record IndicatorAttainmentDto(string Code, string Name, string Dimension, string Unit, string Polarity, double Baseline,
    double Target, string TargetDate, MeasurementDto? Latest, double Attainment, bool Measured);
public sealed record ProjectKpisDto(string ProjectId, string Code, string Name, string Category, string District, string Status,
    EarnedValueDto EarnedValue, IReadOnlyList<IndicatorAttainmentDto> Indicators, long ProjectVersion, long BudgetVersion, long IndicatorsVersion);
public sealed record GroupKpisDto(string Name, int ProjectCount, EarnedValueDto EarnedValue, double MeanAttainment, int MeasuredIndicators);
public sealed record FeedFreshnessDto(string Feed, long LastSequence, DateTimeOffset? LastSyncedAt, string? LastError);
public sealed record FreshnessDto(bool Stale, IReadOnlyList<FeedFreshnessDto> Feeds);
/// <summary>A part of an answer that could not be had: which, from which service, and why.</summary>
public sealed record MissingPartDto(string Part, string Service, string Reason);
public sealed record KpiRollupDto(string? Basis, DateTimeOffset? At, IReadOnlyList<ProjectKpisDto> Projects, IReadOnlyList<GroupKpisDto> ByCategory,
    IReadOnlyList<GroupKpisDto> ByDistrict, GroupKpisDto? Portfolio, PortfolioBudgetDto? Budget, FreshnessDto? Freshness,
    IReadOnlyList<MissingPartDto> Missing, string? NextPageToken = null);

public sealed record DimensionDto(string Code, string Name, string Description, string Evidence);
public sealed record MilestoneEvidenceDto(string Id, string Name, int Weight, int Progress, string Status, string BaselineDueDate, string ForecastDate);
public sealed record ProjectContributionDto(string ProjectId, string Code, string Name, string Status, int DeclaredWeight, double Delivery,
    string DeliveryBasis, double Outcome, bool OutcomeDefined, double Contribution, IReadOnlyList<MilestoneEvidenceDto> Milestones,
    IReadOnlyList<IndicatorAttainmentDto> Indicators, long ProjectVersion, long BudgetVersion, long IndicatorsVersion);
/// <summary>One change that would raise the dimension: complete a milestone, or reach an indicator's target.</summary>
public sealed record GapActionDto(string Kind, string ProjectId, string ProjectCode, string? MilestoneId, string? MilestoneName,
    int? Progress, string? IndicatorCode, double? Target, double? Attainment, double ScoreAfter);
/// <summary>A dimension with its largest contributions (at most <c>maxContributions</c>) and how many there are in all
/// (every one: <c>/maturity/dimensions/{code}/contributions</c>).</summary>
public sealed record DimensionMaturityDto(DimensionDto Dimension, bool Evidenced, double Score, int Level,
    IReadOnlyList<ProjectContributionDto> Contributions, int ContributionCount, IReadOnlyList<GapActionDto> Gaps, double NextLevelThreshold,
    bool GapsInsufficient, string Explanation);
/// <summary>A page of one dimension's contributions, in project code order.</summary>
public sealed record ContributionPageDto(string Dimension, string Basis, DateTimeOffset At, IReadOnlyList<ProjectContributionDto> Contributions,
    int ContributionCount, string? NextPageToken, FreshnessDto Freshness);
public sealed record MaturityDto(string Basis, DateTimeOffset At, int OverallLevel, string OverallRule, string Explanation,
    IReadOnlyList<DimensionMaturityDto> Dimensions, FreshnessDto Freshness);
public sealed record DimensionTrendDto(string Dimension, double ScoreFrom, double ScoreTo, int LevelFrom, int LevelTo);
public sealed record MaturityTrendDto(MaturityDto From, MaturityDto To, IReadOnlyList<DimensionTrendDto> Dimensions);

/// <summary>Progress is required: a body without it (say, one meant only to move the forecast) must not reset the milestone to 0 %.</summary>
public sealed record ReportProgressBody(int? Progress, string? ForecastDate, string? Reason);
public sealed record CompleteMilestoneBody(string? CompletedOn);
public sealed record RebaselineMilestoneBody(string NewDueDate, string Reason);
public sealed record PlanMilestoneBody(string Name, int Weight, string DueDate);

static class Map
{
    static readonly string[] Prefixes =
        ["PROJECT_STATUS_", "PROJECT_CATEGORY_", "MILESTONE_STATUS_", "FUNDING_SOURCE_", "RAG_", "POLARITY_", "BASIS_"];

    /// <summary>PROJECT_STATUS_ACTIVE -> ACTIVE.</summary>
    public static string Short(string name)
    {
        foreach (var prefix in Prefixes)
            if (name.StartsWith(prefix, StringComparison.Ordinal)) return name[prefix.Length..];
        return name;
    }

    static string Short<TEnum>(TEnum value) where TEnum : struct, System.Enum => Short(ContractNames.Of(value));

    static DateTimeOffset Time(Timestamp t) => t.ToDateTimeOffset();

    public static ProjectDto Dto(this P.Project p) => new(p.Id, p.Code, p.Name, p.Description, p.District, Short(p.Category), p.Owner,
        p.PlannedStart, p.PlannedEnd, Short(p.Status), [.. p.Contributions.Select(c => new ContributionDto(c.Dimension, c.Weight))],
        [.. p.Milestones.Select(m => new MilestoneDto(m.Id, m.Name, m.Weight, m.BaselineDueDate, m.ForecastDate, m.Progress, Short(m.Status),
            m.CompletedOn.Length > 0 ? m.CompletedOn : null, m.RebaselineCount))], p.Version);

    public static EventDto Dto(C.EventEnvelope e, IMessage? payload) => new(e.Sequence, e.StreamId, e.Version, e.Type, Time(e.RecordedAt),
        e.Actor, e.CorrelationId, e.CausationId,
        JsonDocument.Parse(payload is null ? "{}" : JsonFormatter.Default.Format(payload)).RootElement.Clone());

    public static EventDto Dto(this P.ProjectEvent e) => Dto(e.Envelope, PayloadOf(e, P.ProjectEvent.Descriptor.Oneofs[0]));
    public static EventDto Dto(this B.BudgetEvent e) => Dto(e.Envelope, PayloadOf(e, B.BudgetEvent.Descriptor.Oneofs[0]));

    static IMessage? PayloadOf(IMessage message, Google.Protobuf.Reflection.OneofDescriptor oneof) =>
        oneof.Accessor.GetCaseFieldDescriptor(message) is { } field ? field.Accessor.GetValue(message) as IMessage : null;

    public static CommandResultDto Dto(this C.CommandResult r) => new(r.StreamId, r.Version, r.EntityId.Length > 0 ? r.EntityId : null, r.Replayed);

    static AmountsDto Dto(B.Amounts a) => new(a.AllocatedWon, a.CommittedWon, a.SpentWon, a.UncommittedWon, a.RemainingWon);
    static SourceAmountsDto Dto(B.SourceAmounts s) => new(Short(s.Source), Dto(s.Amounts));

    public static ProjectBudgetDto Dto(this B.ProjectBudget b) => new(b.ProjectId, Dto(b.Totals), [.. b.BySource.Select(Dto)],
        [.. b.BySourceAndYear.Select(s => new SourceYearAmountsDto(Short(s.Source), s.FiscalYear, Dto(s.Amounts)))],
        [.. b.Contracts.Select(c => new ContractDto(c.ContractRef, Short(c.Source), c.FiscalYear, c.CommittedWon, c.SpentWon, c.Description))],
        b.InvoiceCount, b.Version);

    public static PortfolioBudgetDto Dto(this B.GetPortfolioBudgetResponse b) => new(Dto(b.Totals), [.. b.BySource.Select(Dto)],
        [.. b.ByYear.Select(y => new YearAmountsDto(y.FiscalYear, Dto(y.Amounts)))],
        [.. b.ByCategory.Select(c => new NamedAmountsDto(Short(c.Name), Dto(c.Amounts)))],
        [.. b.ByDistrict.Select(d => new NamedAmountsDto(d.Name, Dto(d.Amounts)))], b.BudgetCount);

    static EarnedValueDto Dto(K.EarnedValue e) => new(e.BacWon, e.PvWon, e.EvWon, e.AcWon, e.HasSpi ? e.Spi : null, e.HasCpi ? e.Cpi : null,
        e.HasEacWon ? e.EacWon : null, Short(e.Rag), e.Progress, e.Planned, e.HasBudget);

    static IndicatorAttainmentDto Dto(K.IndicatorAttainment i) => new(i.IndicatorCode, i.IndicatorName, i.Dimension, i.Unit, Short(i.Polarity),
        i.Baseline, i.Target, i.TargetDate, i.Latest is { } m ? new MeasurementDto(m.Id, m.Value, Time(m.ObservedAt), m.Source) : null,
        i.Attainment, i.Measured);

    public static ProjectKpisDto Dto(this K.ProjectKpis k) => new(k.ProjectId, k.Code, k.Name, Short(k.Category), k.District, Short(k.Status),
        Dto(k.EarnedValue), [.. k.Indicators.Select(Dto)], k.ProjectVersion, k.BudgetVersion, k.IndicatorsVersion);

    public static GroupKpisDto Dto(this K.GroupKpis g) => new(Short(g.Name), g.ProjectCount, Dto(g.EarnedValue), g.MeanAttainment, g.MeasuredIndicators);

    public static FreshnessDto Dto(this K.Freshness f) => new(f.Stale, [.. f.Feeds.Select(x => new FeedFreshnessDto(x.Feed, x.LastSequence,
        x.LastSyncedAt is null ? null : Time(x.LastSyncedAt), x.LastError.Length > 0 ? x.LastError : null))]);

    public static ProjectContributionDto Dto(this K.ProjectContribution c) => new(c.ProjectId, c.Code, c.Name, Short(c.Status), c.DeclaredWeight,
        c.Delivery, c.DeliveryBasis, c.Outcome, c.OutcomeDefined, c.Contribution,
        [.. c.Milestones.Select(x => new MilestoneEvidenceDto(x.MilestoneId, x.Name, x.Weight, x.Progress, x.Status, x.BaselineDueDate, x.ForecastDate))],
        [.. c.Indicators.Select(Dto)], c.ProjectVersion, c.BudgetVersion, c.IndicatorsVersion);

    public static ContributionPageDto Dto(this K.ListDimensionContributionsResponse p, string dimension) => new(dimension, Short(p.Basis), Time(p.At),
        [.. p.Contributions.Select(Dto)], p.ContributionCount, p.NextPageToken.Length > 0 ? p.NextPageToken : null, p.Freshness.Dto());

    public static MaturityDto Dto(this K.GetMaturityResponse m) => new(Short(m.Basis), Time(m.At), m.OverallLevel, m.OverallRule, m.Explanation,
        [.. m.Dimensions.Select(Dto)], m.Freshness.Dto());

    public static DimensionMaturityDto Dto(this K.DimensionMaturity d) => new(
        new DimensionDto(d.Dimension.Code, d.Dimension.Name, d.Dimension.Description, d.Dimension.Evidence), d.Evidenced, d.Score, d.Level,
        [.. d.Contributions.Select(Dto)], d.ContributionCount,
        [.. d.Gaps.Select(g => g.ActionCase == K.GapAction.ActionOneofCase.CompleteMilestone
            ? new GapActionDto("COMPLETE_MILESTONE", g.CompleteMilestone.ProjectId, g.CompleteMilestone.ProjectCode, g.CompleteMilestone.MilestoneId,
                g.CompleteMilestone.MilestoneName, g.CompleteMilestone.Progress, null, null, null, g.ScoreAfter)
            : new GapActionDto("REACH_TARGET", g.ReachTarget.ProjectId, g.ReachTarget.ProjectCode, null, null, null,
                g.ReachTarget.IndicatorCode, g.ReachTarget.Target, g.ReachTarget.Attainment, g.ScoreAfter))],
        d.NextLevelThreshold, d.GapsInsufficient, d.Explanation);
}
