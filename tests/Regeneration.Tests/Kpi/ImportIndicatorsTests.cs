// The KPI bulk import: each project's targets and measurements in one write, decided as the single
// commands would decide them, each project with its own request_id and outcome; a retried call writes
// nothing more; a malformed item rejects the call; a project that breaks a rule fails alone.
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Kpi;

public class ImportIndicatorsTests(SystemServers servers) : IClassFixture<SystemServers>
{
    readonly KpiService.KpiServiceClient kpi = servers.KpiClient;

    static Timestamp At(string date) => Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(date + "T00:00:00Z"));

    static ProjectIndicatorsImport Item(string projectId) => new()
    {
        RequestId = NewRequestId(), ProjectId = projectId,
        Targets = { new ImportedTarget { IndicatorCode = "TRA-01", Baseline = 10, Target = 60, TargetDate = "2026-12-31" } },
        Measurements =
        {
            new ImportedMeasurement { IndicatorCode = "TRA-01", Value = 20, ObservedAt = At("2025-01-31"), Source = "Traffic centre" },
            new ImportedMeasurement { IndicatorCode = "TRA-01", Value = 35, ObservedAt = At("2025-06-30"), Source = "Traffic centre" },
        },
    };

    async Task<IReadOnlyList<string>> EventTypes(string projectId)
    {
        var types = new List<string>();
        using var call = kpi.SubscribeKpiEvents(new SubscribeKpiEventsRequest());
        while (await call.ResponseStream.MoveNext(default))
            if (call.ResponseStream.Current.Event.Envelope.StreamId == projectId) types.Add(call.ResponseStream.Current.Event.Envelope.Type);
        return types;
    }

    [Fact]
    public async Task Targets_and_measurements_are_imported_per_project_and_a_retry_writes_nothing_more()
    {
        var (first, _) = await RegisterActive(servers.ProjectsClient);
        var (second, _) = await RegisterActive(servers.ProjectsClient);
        var request = new ImportIndicatorsRequest { Projects = { Item(first), Item(second) } };

        var response = await kpi.ImportIndicatorsAsync(request);
        Assert.All(response.Results, r => Assert.False(r.Result.Replayed));
        Assert.Equal(["IndicatorsOpened", "TargetSet", "MeasurementRecorded", "MeasurementRecorded"], await EventTypes(first));

        var indicators = (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = first, Refresh = true })).Kpis.Indicators;
        var traffic = Assert.Single(indicators);
        Assert.Equal("TRA-01", traffic.IndicatorCode);
        Assert.Equal(35, traffic.Latest.Value);

        var again = await kpi.ImportIndicatorsAsync(request);
        Assert.All(again.Results, r => Assert.True(r.Result.Replayed));
        Assert.Equal(4, (await EventTypes(first)).Count);
    }

    [Fact]
    public async Task A_project_that_breaks_a_rule_fails_alone_and_a_malformed_item_rejects_the_call()
    {
        var (good, _) = await RegisterActive(servers.ProjectsClient);
        var (noTarget, _) = await RegisterActive(servers.ProjectsClient);
        var (badValue, _) = await RegisterActive(servers.ProjectsClient);
        var withoutTarget = Item(noTarget);
        withoutTarget.Targets.Clear();
        var outOfRange = Item(badValue);
        outOfRange.Measurements[1].Value = 250;   // a percentage
        var unknownProject = Item(Guid.NewGuid().ToString());

        var response = await kpi.ImportIndicatorsAsync(new ImportIndicatorsRequest { Projects = { Item(good), withoutTarget, outOfRange, unknownProject } });

        Assert.NotNull(response.Results[0].Result);
        Assert.Equal((int)StatusCode.FailedPrecondition, response.Results[1].Failure.Code);
        Assert.Equal("NO_TARGET", response.Results[1].Failure.Details.Single().Unpack<PreconditionFailure>().Violations.Single().Type);
        Assert.Equal((int)StatusCode.InvalidArgument, response.Results[2].Failure.Code);
        Assert.Equal("measurements[1].value", response.Results[2].Failure.Details.Single().Unpack<BadRequest>().FieldViolations.Single().Field);
        Assert.Equal((int)StatusCode.NotFound, response.Results[3].Failure.Code);
        Assert.Empty(await EventTypes(noTarget));
        Assert.Empty(await EventTypes(badValue));

        var malformed = Item(good);
        malformed.Measurements[0].ObservedAt = null;
        malformed.Targets[0].TargetDate = "someday";
        var e = await Assert.ThrowsAsync<RpcException>(() => kpi.ImportIndicatorsAsync(new ImportIndicatorsRequest { Projects = { malformed } }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("projects[0].measurements[0].observed_at", e.ViolatedFields());
        Assert.Contains("projects[0].targets[0].target_date", e.ViolatedFields());
    }
}
