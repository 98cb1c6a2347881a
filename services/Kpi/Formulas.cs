// The figures: attainment, earned value, maturity and the gaps to the next level. Pure functions of
// plain inputs (no I/O), so every formula is tested on hand-computed cases, and every answer can carry
// the inputs it came from.
namespace Regeneration.Kpi;

public sealed record MilestoneInput(Guid Id, string Name, int Weight, DateOnly BaselineDue, DateOnly Forecast,
    int Progress, bool Completed);

public sealed record BudgetInput(long Allocated, long Spent, long Version);

public sealed record TargetInput(Indicator Indicator, double Baseline, double Target, DateOnly TargetDate, Measurement? Latest);

public sealed record ProjectInput(
    Guid Id, string Code, string Name, string Category, string District, string Status, bool Cancelled,
    DateOnly PlannedStart, IReadOnlyList<(string Dimension, int Weight)> Contributions,
    IReadOnlyList<MilestoneInput> Milestones, long Version, BudgetInput? Budget, IReadOnlyList<TargetInput> Targets,
    long IndicatorsVersion);

public enum RagStatus { Green = 1, Amber = 2, Red = 3, NotAssessed = 4 }

public sealed record EarnedValueResult(long Bac, long Pv, long Ev, long Ac, double? Spi, double? Cpi, long? Eac, RagStatus Rag,
    double Progress, double Planned, bool HasBudget);

public sealed record Contribution(ProjectInput Project, int DeclaredWeight, double Delivery, bool DeliveryFromBudget,
    double Outcome, bool OutcomeDefined, IReadOnlyList<TargetInput> Targets)
{
    public double Value => DeclaredWeight / 100.0 * Delivery * Outcome;
}

public abstract record GapStep(double ScoreAfter);
public sealed record CompleteMilestoneStep(ProjectInput Project, MilestoneInput Milestone, double ScoreAfter) : GapStep(ScoreAfter);
public sealed record ReachTargetStep(ProjectInput Project, TargetInput Target, double ScoreAfter) : GapStep(ScoreAfter);

public sealed record DimensionResult(DimensionDefinition Dimension, bool Evidenced, double Score, int Level,
    IReadOnlyList<Contribution> Contributions, IReadOnlyList<GapStep> Gaps, double NextThreshold, bool GapsInsufficient);

public sealed record MaturityResult(IReadOnlyList<DimensionResult> Dimensions, int OverallLevel);

public static class Formulas
{
    public const double Green = 0.95, Amber = 0.85;

    /// <summary>clamp((value − baseline) / (target − baseline), 0, 1): the signs make it polarity-aware.</summary>
    public static double Attainment(double baseline, double target, double value) =>
        target == baseline ? (value == target ? 1 : 0) : Math.Clamp((value - baseline) / (target - baseline), 0, 1);

    public static double Attainment(TargetInput t) => t.Latest is { } m ? Attainment(t.Baseline, t.Target, m.Value) : 0;

    // The maturity's loops run over every contribution of a dimension for each gap step (some 40 million milestone
    // and target visits at 10,000 projects): they index the lists instead of enumerating them, as an enumerator
    // through the list's interface is an object of its own (317 MB allocated by a current and a forecast maturity at
    // 10,000 projects, the GC collecting the oldest generation several times a second; BENCHMARKS.md, memory).

    /// <summary>Weighted progress of the milestones, 0..1 (weights are shares of 100).</summary>
    public static double Progress(IReadOnlyList<MilestoneInput> milestones)
    {
        var sum = 0.0;
        for (var i = 0; i < milestones.Count; i++)
        {
            var m = milestones[i];
            sum += m.Weight / 100.0 * (m.Completed ? 100 : m.Progress) / 100.0;
        }
        return sum;
    }

    /// <summary>The planned share of scope at a date: each milestone's weight accrues linearly from the previous
    /// baseline due date (the project's planned start for the first) to its own; milestones due on one date share
    /// that span.</summary>
    public static double Planned(DateOnly plannedStart, IEnumerable<MilestoneInput> milestones, DateOnly at)
    {
        var planned = 0.0;
        var (from, due) = (plannedStart, plannedStart);   // the span of the milestones due on `due`
        foreach (var m in milestones.OrderBy(m => m.BaselineDue))
        {
            if (m.BaselineDue > due) (from, due) = (due, m.BaselineDue);
            var start = from < m.BaselineDue ? from : m.BaselineDue;
            var fraction = at >= m.BaselineDue ? 1.0
                : at <= start ? 0.0
                : (at.DayNumber - start.DayNumber) / (double)(m.BaselineDue.DayNumber - start.DayNumber);
            planned += m.Weight / 100.0 * fraction;
        }
        return planned;
    }

    public static EarnedValueResult EarnedValue(ProjectInput p, DateOnly at)
    {
        var progress = Progress(p.Milestones);
        var planned = Planned(p.PlannedStart, p.Milestones, at);
        var bac = p.Budget?.Allocated ?? 0;
        var ac = p.Budget?.Spent ?? 0;
        var ev = (long)Math.Round(bac * progress);
        var pv = (long)Math.Round(bac * planned);
        double? spi = planned > 0 ? progress / planned : null;
        double? cpi = bac > 0 && ac > 0 ? ev / (double)ac : null;
        var eac = Eac(bac, cpi);
        return new EarnedValueResult(bac, pv, ev, ac, spi, cpi, eac, Rag(spi, cpi), progress, planned, bac > 0);
    }

    /// <summary>BAC/CPI; BAC while nothing is spent; unknown when money is spent and nothing earned.</summary>
    public static long? Eac(long bac, double? cpi) => cpi switch
    {
        > 0 => (long)Math.Round(bac / cpi.Value),
        null => bac,
        _ => null,
    };

    /// <summary>The worse of SPI and CPI; an index that cannot be computed is left out.</summary>
    public static RagStatus Rag(double? spi, double? cpi)
    {
        double?[] indices = [spi, cpi];
        var known = indices.Where(i => i is not null).Select(i => i!.Value).ToList();
        if (known.Count == 0) return RagStatus.NotAssessed;
        var worst = known.Min();
        return worst >= Green ? RagStatus.Green : worst >= Amber ? RagStatus.Amber : RagStatus.Red;
    }

    public static int Level(double score, IReadOnlyList<double> thresholds) => 1 + thresholds.Count(t => score >= t);

    public static Contribution Contribute(ProjectInput p, string dimension, int declaredWeight)
    {
        var targets = new List<TargetInput>(0);
        var sum = 0.0;
        for (var i = 0; i < p.Targets.Count; i++)
            if (p.Targets[i] is var t && t.Indicator.Dimension == dimension)
            {
                targets.Add(t);
                sum += Attainment(t);
            }
        var outcome = targets.Count == 0 ? 1.0 : sum / targets.Count;
        return new Contribution(p, declaredWeight, Progress(p.Milestones), p.Budget is { Allocated: > 0 }, outcome, targets.Count > 0, targets);
    }

    /// <summary>Σ contributions / Σ declared weights, in percent.</summary>
    public static double Score(IReadOnlyList<Contribution> contributions) =>
        contributions.Count == 0 ? 0 : 100 * contributions.Sum(c => c.Value) / contributions.Sum(c => c.DeclaredWeight / 100.0);

    public static MaturityResult Maturity(IReadOnlyList<ProjectInput> projects, IReadOnlyList<DimensionDefinition> dimensions,
        IReadOnlyList<double> thresholds)
    {
        var results = dimensions.Select(d => Dimension(projects, d, thresholds)).ToList();
        var evidenced = results.Where(r => r.Evidenced).ToList();
        return new MaturityResult(results, evidenced.Count == 0 ? 0 : evidenced.Min(r => r.Level));
    }

    public static DimensionResult Dimension(IReadOnlyList<ProjectInput> projects, DimensionDefinition dimension, IReadOnlyList<double> thresholds)
    {
        var contributing = new List<Contribution>();
        for (var i = 0; i < projects.Count; i++)
        {
            var p = projects[i];
            if (p.Cancelled) continue;
            for (var j = 0; j < p.Contributions.Count; j++)
                if (p.Contributions[j].Dimension == dimension.Code) contributing.Add(Contribute(p, dimension.Code, p.Contributions[j].Weight));
        }
        var contributions = contributing.OrderByDescending(c => c.Value).ThenBy(c => c.Project.Code, StringComparer.Ordinal).ToList();
        if (contributions.Count == 0) return new DimensionResult(dimension, false, 0, 0, [], [], thresholds[0], false);

        var score = Score(contributions);
        var level = Level(score, thresholds);
        if (level > thresholds.Count) return new DimensionResult(dimension, true, score, level, contributions, [], 100, false);
        var next = thresholds[level - 1];
        var (gaps, reached) = Gaps(dimension.Code, contributions, next);
        return new DimensionResult(dimension, true, score, level, contributions, gaps, next, !reached);
    }

    const int MaxGapSteps = 25;

    /// <summary>The fewest changes that lift the score to the threshold, chosen greedily: at each step the
    /// change with the largest gain, the score recomputed with the changes chosen so far. A change moves one project's
    /// contribution and the score's denominator (the declared weights) never moves, so a candidate's gain is its own
    /// contribution's change: weighing every candidate costs a pass over the portfolio per step, not a pass per
    /// candidate (which took 20 s at 1,000 projects and grew with the square of their number).</summary>
    static (IReadOnlyList<GapStep>, bool Reached) Gaps(string dimension, IReadOnlyList<Contribution> contributions, double threshold)
    {
        var current = contributions.ToList();
        var weights = current.Sum(c => c.DeclaredWeight / 100.0);
        var steps = new List<GapStep>();
        var score = Score(current);
        while (score < threshold && steps.Count < MaxGapSteps)
        {
            // Each candidate weighed by the value its contribution would take, computed in place (the same sums in the
            // same order as Contribute, so the same figures): a portfolio's candidates are made into projects only
            // once chosen, not each of them (which allocated gigabytes per maturity at 10,000 projects).
            (int Index, double Gain, object Change)? best = null;
            for (var i = 0; i < current.Count; i++)
            {
                var c = current[i];
                var milestones = c.Project.Milestones;
                for (var j = 0; j < milestones.Count; j++)
                    if (milestones[j] is { Completed: false } m) Consider(i, c.DeclaredWeight / 100.0 * ProgressWithCompleted(milestones, m) * c.Outcome, m);
                for (var j = 0; j < c.Targets.Count; j++)
                    if (c.Targets[j] is var t && Attainment(t) < 1) Consider(i, c.DeclaredWeight / 100.0 * c.Delivery * OutcomeWithReached(c.Targets, t), t);
            }
            if (best is not { } chosen) break;
            var project = current[chosen.Index].Project;
            current[chosen.Index] = Contribute(chosen.Change switch
            {
                MilestoneInput m => project with { Milestones = [.. project.Milestones.Select(x => x.Id == m.Id ? x with { Progress = 100, Completed = true } : x)] },
                TargetInput t => project with { Targets = [.. project.Targets.Select(x => x == t ? Reached(t) : x)] },
                _ => throw new InvalidOperationException(),
            }, dimension, current[chosen.Index].DeclaredWeight);
            score = Score(current);
            steps.Add(chosen.Change switch
            {
                MilestoneInput m => new CompleteMilestoneStep(project, m, score),
                TargetInput t => new ReachTargetStep(project, t, score),
                _ => throw new InvalidOperationException(),
            });

            void Consider(int index, double value, object change)
            {
                var gain = value - current[index].Value;
                if (100 * gain / weights > 1e-9 && (best is null || gain > best.Value.Gain)) best = (index, gain, change);
            }
        }
        return (steps, score >= threshold);
    }

    /// <summary><see cref="Progress"/> with one milestone completed.</summary>
    static double ProgressWithCompleted(IReadOnlyList<MilestoneInput> milestones, MilestoneInput completed)
    {
        var sum = 0.0;
        for (var i = 0; i < milestones.Count; i++)
        {
            var m = milestones[i];
            sum += m.Weight / 100.0 * (m.Completed || m.Id == completed.Id ? 100 : m.Progress) / 100.0;
        }
        return sum;
    }

    /// <summary>The mean attainment (Contribute's outcome) with one target reached.</summary>
    static double OutcomeWithReached(IReadOnlyList<TargetInput> targets, TargetInput reached)
    {
        var sum = 0.0;
        for (var i = 0; i < targets.Count; i++)
            sum += targets[i] is var t && t == reached ? Attainment(t.Baseline, t.Target, t.Target) : Attainment(t);
        return sum / targets.Count;
    }

    static TargetInput Reached(TargetInput t) =>
        t with { Latest = new Measurement(Guid.Empty, t.Indicator.Code, t.Target, DateTimeOffset.MaxValue, "gap: target reached") };

    /// <summary>"If nothing changes": every open milestone whose forecast date is on or before the date is completed by then.
    /// A project with none is itself, not a copy (a forecast of 10,000 projects is mostly projects it leaves as they are).</summary>
    public static ProjectInput Forecast(ProjectInput p, DateOnly at) =>
        p.Cancelled || !p.Milestones.Any(m => Due(m, at)) ? p : p with
        {
            Milestones = [.. p.Milestones.Select(m => Due(m, at) ? m with { Progress = 100, Completed = true } : m)],
        };

    static bool Due(MilestoneInput m, DateOnly at) => !m.Completed && m.Forecast <= at;
}
