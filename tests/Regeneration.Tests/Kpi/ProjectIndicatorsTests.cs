// The indicators snapshot keeps each indicator's latest measurement (by observation time, then id) and no
// other, whatever order the measurements arrive in, so its size does not grow with their number.
using Regeneration.Kpi;

namespace Regeneration.Tests.Kpi;

public class ProjectIndicatorsTests
{
    static readonly Guid Project = Guid.NewGuid();
    static DateTimeOffset Day(int day) => new(2025, 3, day, 0, 0, 0, TimeSpan.Zero);

    static ProjectIndicators Fold(params object[] events) =>
        events.Aggregate((ProjectIndicators?)null, IndicatorsDecider.Evolve)!;

    [Fact]
    public void Only_the_latest_measurement_of_each_indicator_is_kept_whatever_the_arrival_order()
    {
        var state = Fold(
            new IndicatorsOpened(Project),
            new TargetSet("TRA-01", 10, 60, new DateOnly(2026, 12, 31)),
            new TargetSet("GOV-01", 20, 90, new DateOnly(2026, 12, 31)),
            new MeasurementRecorded(Guid.NewGuid(), "TRA-01", 30, Day(10), "a"),
            new MeasurementRecorded(Guid.NewGuid(), "TRA-01", 25, Day(5), "late report of an older figure"),
            new MeasurementRecorded(Guid.NewGuid(), "GOV-01", 40, Day(1), "b"),
            new MeasurementRecorded(Guid.NewGuid(), "TRA-01", 35, Day(12), "c"),
            new MeasurementRecorded(Guid.NewGuid(), "GOV-01", 45, Day(2), "d"));

        Assert.Equal(2, state.Measurements.Count);
        Assert.Equal(35, state.Latest("TRA-01", DateTimeOffset.MaxValue)!.Value);
        Assert.Equal(45, state.Latest("GOV-01", DateTimeOffset.MaxValue)!.Value);
    }

    [Fact]
    public void Of_two_measurements_observed_at_the_same_instant_the_one_with_the_greater_id_wins_in_either_order()
    {
        var low = new Guid("00000000-0000-0000-0000-000000000001");
        var high = new Guid("00000000-0000-0000-0000-000000000002");
        object[] opening = [new IndicatorsOpened(Project), new TargetSet("TRA-01", 10, 60, new DateOnly(2026, 12, 31))];
        var ascending = Fold([.. opening, new MeasurementRecorded(low, "TRA-01", 1, Day(3), "x"), new MeasurementRecorded(high, "TRA-01", 2, Day(3), "y")]);
        var descending = Fold([.. opening, new MeasurementRecorded(high, "TRA-01", 2, Day(3), "y"), new MeasurementRecorded(low, "TRA-01", 1, Day(3), "x")]);
        Assert.Equal(high, Assert.Single(ascending.Measurements).Id);
        Assert.Equal(high, Assert.Single(descending.Measurements).Id);
    }
}
