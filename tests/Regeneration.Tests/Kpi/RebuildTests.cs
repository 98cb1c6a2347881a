// `--rebuild` of the KPI service: its two snapshot types (the indicator catalogue and each project's indicators) are
// folded again in one pass over the events, a damaged, lost or stray document repaired.
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using Regeneration.Kpi;
using Regeneration.Kpi.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Kpi;

public class RebuildTests
{
    static Timestamp At(string date) => Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(date + "T00:00:00Z"));

    static ImportedMeasurement Measured(string code, double value, string date) =>
        new() { IndicatorCode = code, Value = value, ObservedAt = At(date), Source = "City data platform" };

    [Fact]
    public async Task Rebuild_folds_the_catalogue_and_every_project_s_indicators_again_in_one_pass()
    {
        var servers = new SystemServers();
        await servers.InitializeAsync();
        try
        {
            var kpi = servers.KpiClient;
            var (damagedId, _) = await RegisterActive(servers.ProjectsClient);
            var (lostId, _) = await RegisterActive(servers.ProjectsClient);
            // Measurements out of observation order: the snapshot keeps each indicator's latest observed, not the
            // latest recorded (TRA-01's June value stays the latest after January's arrives).
            await kpi.ImportIndicatorsAsync(new ImportIndicatorsRequest
            {
                Projects =
                {
                    new ProjectIndicatorsImport
                    {
                        RequestId = NewRequestId(), ProjectId = damagedId,
                        Targets =
                        {
                            new ImportedTarget { IndicatorCode = "TRA-01", Baseline = 10, Target = 60, TargetDate = "2026-12-31" },
                            new ImportedTarget { IndicatorCode = "TRA-03", Baseline = 50, Target = 35, TargetDate = "2027-06-30" },
                        },
                        Measurements = { Measured("TRA-01", 35, "2025-06-30"), Measured("TRA-03", 48, "2025-03-31"), Measured("TRA-01", 20, "2025-01-31") },
                    },
                    new ProjectIndicatorsImport
                    {
                        RequestId = NewRequestId(), ProjectId = lostId,
                        Targets = { new ImportedTarget { IndicatorCode = "GOV-01", Baseline = 20, Target = 80, TargetDate = "2026-12-31" } },
                        Measurements = { Measured("GOV-01", 45, "2025-05-31") },
                    },
                },
            });
            // A later command on its own: the stream's run is applied on top of the import's.
            await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
            {
                RequestId = NewRequestId(), ProjectId = damagedId, IndicatorCode = "TRA-03", Value = 44, ObservedAt = At("2025-09-30"), Source = "Traffic centre",
            });
            var expected = (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = damagedId, Refresh = true })).Kpis;
            var expectedLost = (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = lostId, Refresh = true })).Kpis;
            var catalogue = (await kpi.ListIndicatorsAsync(new ListIndicatorsRequest())).Indicators;
            Assert.Equal([35, 44], expected.Indicators.OrderBy(i => i.IndicatorCode).Select(i => i.Latest.Value));
            var strayId = Guid.NewGuid();

            await servers.Kpi.StopAsync();
            await using (var connection = new NpgsqlConnection(servers.ConnectionString))
            {
                await connection.OpenAsync();
                await using var damage = new NpgsqlCommand(
                    $"update kpi.mt_doc_projectindicators set data = jsonb_set(data, '{{Measurements}}', '[]') where id = '{damagedId}';" +
                    // lost under its own id, and so a document left without any stream
                    $"update kpi.mt_doc_projectindicators set id = '{strayId}' where id = '{lostId}';" +
                    $"update kpi.mt_doc_indicator set data = jsonb_set(data, '{{Name}}', '\"damaged\"') where data ->> 'Code' = 'TRA-01'", connection);
                Assert.Equal(3, await damage.ExecuteNonQueryAsync());
            }
            Assert.Equal(0, (await ServiceHost.RebuildAsync(KpiApp.Build, servers.ConnectionString)).ExitCode);
            await servers.Kpi.RestartAsync();

            Assert.Equal(expected, (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = damagedId, Refresh = true })).Kpis);
            Assert.Equal(expectedLost, (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = lostId, Refresh = true })).Kpis);
            Assert.Equal(catalogue, (await kpi.ListIndicatorsAsync(new ListIndicatorsRequest())).Indicators);
            await using (var connection = new NpgsqlConnection(servers.ConnectionString))
            {
                await connection.OpenAsync();
                await using var stray = new NpgsqlCommand($"select count(*) from kpi.mt_doc_projectindicators where id = '{strayId}'", connection);
                Assert.Equal(0L, await stray.ExecuteScalarAsync());
                // every document of both types is its stream's, at its stream's version, as the commands wrote it
                await using var revisions = new NpgsqlCommand(
                    "select count(*) from (select id, mt_version from kpi.mt_doc_projectindicators union all select id, mt_version from kpi.mt_doc_indicator) d " +
                    "full join kpi.mt_streams s on s.id = d.id where d.mt_version is distinct from s.version", connection);
                Assert.Equal(0L, await revisions.ExecuteScalarAsync());
            }
        }
        finally
        {
            await servers.DisposeAsync();
        }
    }
}
