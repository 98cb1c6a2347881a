// A project's indicator targets and measurements: one stream per project (its id is the project id).
using Regeneration.ServiceDefaults;

namespace Regeneration.Kpi;

public sealed record IndicatorsOpened(Guid ProjectId);
public sealed record TargetSet(string IndicatorCode, double Baseline, double Target, DateOnly TargetDate);
public sealed record MeasurementRecorded(Guid MeasurementId, string IndicatorCode, double Value, DateTimeOffset ObservedAt, string Source);

public sealed record Target(string IndicatorCode, double Baseline, double Value, DateOnly TargetDate);
public sealed record Measurement(Guid Id, string IndicatorCode, double Value, DateTimeOffset ObservedAt, string Source);

public sealed record ProjectIndicators(Guid Id, IReadOnlyList<Target> Targets, IReadOnlyList<Measurement> Measurements) : IStreamSnapshot
{
    public long Version { get; set; }

    public static ProjectIndicators Create(IndicatorsOpened e) => new(e.ProjectId, [], []);

    public ProjectIndicators Apply(TargetSet e) => this with
    {
        Targets = [.. Targets.Where(t => t.IndicatorCode != e.IndicatorCode), new Target(e.IndicatorCode, e.Baseline, e.Target, e.TargetDate)],
    };

    /// <summary>Keeps the latest measurement of each indicator (by observation time, then id) and no other: every
    /// figure uses only that one (the history is the stream's events, and a state as of an instant is folded from
    /// the events up to it), so the document, and the rollup that reads every project's, stays the same size
    /// however many measurements a project gathers.</summary>
    public ProjectIndicators Apply(MeasurementRecorded e)
    {
        var current = Latest(e.IndicatorCode, DateTimeOffset.MaxValue);
        if (current is not null && (current.ObservedAt > e.ObservedAt || (current.ObservedAt == e.ObservedAt && current.Id.CompareTo(e.MeasurementId) > 0)))
            return this;
        return this with { Measurements = Replaced(Measurements, new Measurement(e.MeasurementId, e.IndicatorCode, e.Value, e.ObservedAt, e.Source)) };
    }

    /// <summary>The measurements with the given indicator's replaced by the new one, in one array (this runs for
    /// every measurement folded: a rebuild folds 780,000 of them at national scale).</summary>
    static Measurement[] Replaced(IReadOnlyList<Measurement> measurements, Measurement latest)
    {
        var kept = 0;
        foreach (var m in measurements) if (m.IndicatorCode != latest.IndicatorCode) kept++;
        var result = new Measurement[kept + 1];
        var i = 0;
        foreach (var m in measurements) if (m.IndicatorCode != latest.IndicatorCode) result[i++] = m;
        result[i] = latest;
        return result;
    }

    /// <summary>The latest measurement (by observation time) of an indicator observed at or before an instant.</summary>
    public Measurement? Latest(string code, DateTimeOffset at)
    {
        // One pass (it runs for every measurement folded): the last by (observation time, id).
        Measurement? latest = null;
        foreach (var m in Measurements)
            if (m.IndicatorCode == code && m.ObservedAt <= at &&
                (latest is null || m.ObservedAt > latest.ObservedAt || (m.ObservedAt == latest.ObservedAt && m.Id.CompareTo(latest.Id) >= 0)))
                latest = m;
        return latest;
    }
}

public sealed record SetTarget(string IndicatorCode, double Baseline, double Target, DateOnly TargetDate);
public sealed record RecordMeasurement(Guid MeasurementId, string IndicatorCode, double Value, DateTimeOffset ObservedAt, string Source);

public static class IndicatorsDecider
{
    public static object[] SetTarget(Guid projectId, ProjectIndicators? state, Indicator indicator, SetTarget c)
    {
        var violations = new List<FieldViolation>();
        if (!InRange(indicator, c.Baseline)) violations.Add(new("baseline", RangeMessage(indicator)));
        if (!InRange(indicator, c.Target)) violations.Add(new("target", RangeMessage(indicator)));
        if (c.Target == c.Baseline) violations.Add(new("target", "must differ from the baseline"));
        else if (indicator.Polarity == Polarity.HigherIsBetter ? c.Target < c.Baseline : c.Target > c.Baseline)
            violations.Add(new("target", $"must be {(indicator.Polarity == Polarity.HigherIsBetter ? "above" : "below")} the baseline: " +
                $"{indicator.Code} is {(indicator.Polarity == Polarity.HigherIsBetter ? "higher" : "lower")}-is-better"));
        if (violations.Count > 0) throw new InvalidRequestException(violations);
        return [.. Opening(projectId, state), new TargetSet(indicator.Code, c.Baseline, c.Target, c.TargetDate)];
    }

    public static object[] RecordMeasurement(Guid projectId, ProjectIndicators? state, Indicator indicator, RecordMeasurement c, DateTimeOffset now)
    {
        if (!InRange(indicator, c.Value)) throw new InvalidRequestException("value", RangeMessage(indicator));
        if (c.ObservedAt > now) throw new InvalidRequestException("observed_at", "must not be in the future");
        if (state?.Targets.Any(t => t.IndicatorCode == indicator.Code) != true)
            throw new RuleViolationException("NO_TARGET", $"projects/{projectId}/indicators/{indicator.Code}",
                $"The project has no target for {indicator.Code}; set one before recording measurements");
        return [new MeasurementRecorded(c.MeasurementId, indicator.Code, c.Value, c.ObservedAt, c.Source)];
    }

    /// <summary>An import: the targets, then the measurements, each decided as SetTarget and RecordMeasurement
    /// would decide it, on the state the ones before it made. A violation names its item ("targets[2].target").</summary>
    public static object[] Import(Guid projectId, ProjectIndicators? state, IReadOnlyDictionary<string, Indicator> catalogue,
        IReadOnlyList<SetTarget> targets, IReadOnlyList<RecordMeasurement> measurements, DateTimeOffset now)
    {
        var events = new List<object>();
        void Decide(string item, Func<object[]> decide)
        {
            object[] decided;
            try { decided = decide(); }
            catch (InvalidRequestException e)
            {
                throw new InvalidRequestException([.. e.Violations.Select(v => new FieldViolation($"{item}.{v.Field}", v.Description))]);
            }
            foreach (var e in decided)
            {
                events.Add(e);
                state = Evolve(state, e);
            }
        }
        Indicator Known(string code) => catalogue.GetValueOrDefault(code) ?? throw new NotFoundException("indicator", code);
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            Decide($"targets[{i}]", () => SetTarget(projectId, state, Known(target.IndicatorCode), target));
        }
        for (var i = 0; i < measurements.Count; i++)
        {
            var measurement = measurements[i];
            Decide($"measurements[{i}]", () => RecordMeasurement(projectId, state, Known(measurement.IndicatorCode), measurement, now));
        }
        return [.. events];
    }

    /// <summary>One event applied to the state (what Marten's snapshot does).</summary>
    public static ProjectIndicators Evolve(ProjectIndicators? state, object e) => e switch
    {
        IndicatorsOpened x => ProjectIndicators.Create(x),
        TargetSet x => state!.Apply(x),
        MeasurementRecorded x => state!.Apply(x),
        _ => throw new ArgumentException($"Unknown event {e.GetType().Name}", nameof(e)),
    };

    static bool InRange(Indicator i, double v) => double.IsFinite(v) && v >= i.MinValue && v <= i.MaxValue;
    static string RangeMessage(Indicator i) => $"must be between {i.MinValue} and {i.MaxValue} {i.Unit}";
    static object[] Opening(Guid projectId, ProjectIndicators? state) => state is null ? [new IndicatorsOpened(projectId)] : [];
}
