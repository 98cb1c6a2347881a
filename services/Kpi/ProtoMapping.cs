// Formulas' results -> contract, with the evidence every figure came from.
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using JasperFx.Events;
using Regeneration.ServiceDefaults;
using V1 = Regeneration.Kpi.V1;

namespace Regeneration.Kpi;

static class ProtoMapping
{
    public static V1.Indicator ToProto(this Indicator i) => new()
    {
        Code = i.Code, Name = i.Name, Unit = i.Unit, Polarity = (V1.Polarity)i.Polarity, Theme = i.Theme,
        Dimension = i.Dimension, MinValue = i.MinValue, MaxValue = i.MaxValue,
    };

    public static IndicatorDefined ToDomain(this V1.Indicator i) =>
        new(i.Code, i.Name, i.Unit, (Polarity)i.Polarity, i.Theme, i.Dimension, i.MinValue, i.MaxValue);

    public static V1.EarnedValue ToProto(this EarnedValueResult e)
    {
        var result = new V1.EarnedValue
        {
            BacWon = e.Bac, PvWon = e.Pv, EvWon = e.Ev, AcWon = e.Ac, Rag = (V1.Rag)e.Rag,
            Progress = e.Progress, Planned = e.Planned, HasBudget = e.HasBudget,
        };
        if (e.Spi is { } spi) result.Spi = spi;
        if (e.Cpi is { } cpi) result.Cpi = cpi;
        if (e.Eac is { } eac) result.EacWon = eac;
        return result;
    }

    public static V1.IndicatorAttainment ToProto(this TargetInput t)
    {
        var result = new V1.IndicatorAttainment
        {
            IndicatorCode = t.Indicator.Code, IndicatorName = t.Indicator.Name, Dimension = t.Indicator.Dimension,
            Unit = t.Indicator.Unit, Polarity = (V1.Polarity)t.Indicator.Polarity, Baseline = t.Baseline, Target = t.Target,
            TargetDate = t.TargetDate.Iso(), Attainment = Formulas.Attainment(t), Measured = t.Latest is not null,
        };
        if (t.Latest is { } m)
            result.Latest = new V1.Measurement
            {
                Id = m.Id.ToString(), Value = m.Value, ObservedAt = Timestamp.FromDateTimeOffset(m.ObservedAt), Source = m.Source,
            };
        return result;
    }

    public static V1.ProjectKpis ToKpis(this ProjectInput p, DateOnly at) => new()
    {
        ProjectId = p.Id.ToString(), Code = p.Code, Name = p.Name, Category = p.Category, District = p.District, Status = p.Status,
        EarnedValue = Formulas.EarnedValue(p, at).ToProto(), Indicators = { p.Targets.Select(ToProto) },
        ProjectVersion = p.Version, BudgetVersion = p.Budget?.Version ?? 0, IndicatorsVersion = p.IndicatorsVersion,
    };

    /// <summary>Earned value of a group: its sums, with the indices recomputed from them.</summary>
    public static V1.GroupKpis Group(string name, IReadOnlyList<ProjectInput> projects, DateOnly at)
    {
        var values = projects.Select(p => Formulas.EarnedValue(p, at)).ToList();
        long bac = values.Sum(v => v.Bac), pv = values.Sum(v => v.Pv), ev = values.Sum(v => v.Ev), ac = values.Sum(v => v.Ac);
        double? spi = pv > 0 ? ev / (double)pv : null;
        double? cpi = ac > 0 ? ev / (double)ac : null;
        var measured = projects.SelectMany(p => p.Targets).Where(t => t.Latest is not null).ToList();
        return new V1.GroupKpis
        {
            Name = name, ProjectCount = projects.Count,
            EarnedValue = new EarnedValueResult(bac, pv, ev, ac, spi, cpi, Formulas.Eac(bac, cpi),
                Formulas.Rag(spi, cpi), bac > 0 ? ev / (double)bac : 0, bac > 0 ? pv / (double)bac : 0, bac > 0).ToProto(),
            MeanAttainment = measured.Count == 0 ? 0 : measured.Average(Formulas.Attainment),
            MeasuredIndicators = measured.Count,
        };
    }

    /// <summary>The dimension with its <paramref name="contributions"/> largest contributions (they come largest first).</summary>
    public static V1.DimensionMaturity ToProto(this DimensionResult d, int contributions) => new()
    {
        ContributionCount = d.Contributions.Count,
        Dimension = new V1.Dimension { Code = d.Dimension.Code, Name = d.Dimension.Name, Description = d.Dimension.Description, Evidence = d.Dimension.Evidence },
        Evidenced = d.Evidenced, Score = d.Score, Level = d.Level, NextLevelThreshold = d.NextThreshold,
        GapsInsufficient = d.GapsInsufficient, Explanation = Explain(d),
        Contributions = { d.Contributions.Take(contributions).Select(ToProto) },
        Gaps =
        {
            d.Gaps.Select(g => g switch
            {
                CompleteMilestoneStep s => new V1.GapAction
                {
                    ScoreAfter = s.ScoreAfter,
                    CompleteMilestone = new V1.CompleteMilestone
                    {
                        ProjectId = s.Project.Id.ToString(), ProjectCode = s.Project.Code, MilestoneId = s.Milestone.Id.ToString(),
                        MilestoneName = s.Milestone.Name, Progress = s.Milestone.Progress,
                    },
                },
                ReachTargetStep s => new V1.GapAction
                {
                    ScoreAfter = s.ScoreAfter,
                    ReachTarget = new V1.ReachTarget
                    {
                        ProjectId = s.Project.Id.ToString(), ProjectCode = s.Project.Code, IndicatorCode = s.Target.Indicator.Code,
                        Target = s.Target.Target, Attainment = Formulas.Attainment(s.Target),
                    },
                },
                _ => throw new InvalidOperationException(g.GetType().Name),
            }),
        },
    };

    public static V1.ProjectContribution ToProto(this Contribution c) => new()
    {
        ProjectId = c.Project.Id.ToString(), Code = c.Project.Code, Name = c.Project.Name, Status = c.Project.Status,
        DeclaredWeight = c.DeclaredWeight, Delivery = c.Delivery,
        DeliveryBasis = c.DeliveryFromBudget ? "EV/BAC" : "weighted milestone progress (no budget)",
        Outcome = c.Outcome, OutcomeDefined = c.OutcomeDefined, Contribution = c.Value,
        Milestones =
        {
            c.Project.Milestones.Select(m => new V1.MilestoneEvidence
            {
                MilestoneId = m.Id.ToString(), Name = m.Name, Weight = m.Weight, Progress = m.Completed ? 100 : m.Progress,
                Status = m.Completed ? "COMPLETED" : m.Progress > 0 ? "IN_PROGRESS" : "NOT_STARTED",
                BaselineDueDate = m.BaselineDue.Iso(), ForecastDate = m.Forecast.Iso(),
            }),
        },
        Indicators = { c.Targets.Select(ToProto) },
        ProjectVersion = c.Project.Version, BudgetVersion = c.Project.Budget?.Version ?? 0, IndicatorsVersion = c.Project.IndicatorsVersion,
    };

    static string Pct(double v) => v.ToString("0.0", CultureInfo.InvariantCulture) + "%";

    static string Explain(DimensionResult d)
    {
        if (!d.Evidenced) return $"{d.Dimension.Name}: not evidenced — no active, on-hold, planned or completed project declares it.";
        var carriers = string.Join(", ", d.Contributions.Take(3).Select(c =>
            $"{c.Project.Code} {c.Project.Name} (weight {c.DeclaredWeight}, delivery {Pct(100 * c.Delivery)}, outcome {Pct(100 * c.Outcome)}{(c.OutcomeDefined ? "" : " — no indicator yet")})"));
        var text = $"{d.Dimension.Name}: score {Pct(d.Score)} = Σ(weight × delivery × outcome) / Σ weight over {d.Contributions.Count} project(s), level {d.Level}. Carried by {carriers}.";
        if (d.Level > 4) return text + " Highest level reached.";
        return text + (d.GapsInsufficient
            ? $" Level {d.Level + 1} needs {Pct(d.NextThreshold)}: even the {d.Gaps.Count} listed change(s) do not reach it."
            : $" Level {d.Level + 1} needs {Pct(d.NextThreshold)}: {d.Gaps.Count} change(s) listed would reach it.");
    }

    public static string ExplainOverall(MaturityResult m)
    {
        var evidenced = m.Dimensions.Where(d => d.Evidenced).ToList();
        if (evidenced.Count == 0) return "No dimension is evidenced yet: no overall level.";
        var holding = evidenced.Where(d => d.Level == m.OverallLevel).Select(d => $"{d.Dimension.Name} ({Pct(d.Score)})");
        var missing = m.Dimensions.Where(d => !d.Evidenced).Select(d => d.Dimension.Name).ToList();
        return $"Level {m.OverallLevel}: every one of the {evidenced.Count} evidenced dimensions is at level {m.OverallLevel} or above; " +
               $"the lowest, which hold the city at this level: {string.Join(", ", holding)}." +
               (missing.Count > 0 ? $" Not evidenced (not assessed): {string.Join(", ", missing)}." : "");
    }

    public static V1.KpiEvent ToProto(this IEvent e)
    {
        var result = new V1.KpiEvent { Envelope = e.ToEnvelope() };
        switch (e.Data)
        {
            case IndicatorDefined x:
                result.IndicatorDefined = Indicator.From(e.StreamId, x).ToProto();
                break;
            case TargetSet x:
                result.TargetSet = new V1.TargetSet { IndicatorCode = x.IndicatorCode, Baseline = x.Baseline, Target = x.Target, TargetDate = x.TargetDate.Iso() };
                break;
            case MeasurementRecorded x:
                result.MeasurementRecorded = new V1.MeasurementRecorded
                {
                    MeasurementId = x.MeasurementId.ToString(), IndicatorCode = x.IndicatorCode, Value = x.Value,
                    ObservedAt = Timestamp.FromDateTimeOffset(x.ObservedAt), Source = x.Source,
                };
                break;
        }
        return result;
    }
}
