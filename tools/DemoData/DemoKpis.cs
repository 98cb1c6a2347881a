// The demo indicators: targets and measurements chosen so that the city comes out at ISO 37106 Level 3
// overall, carried by integrated safety (CCTV control), mobility (ITS), privacy (personal-information
// management) and the digital platform at Level 4, with urban resources, citizen-centricity, benefits,
// vision and leadership at Level 3 — the profile of a certified "mature" city.
using Google.Protobuf.WellKnownTypes;
using Regeneration.Kpi.V1;

namespace Regeneration.DemoData;

static class DemoKpis
{
    public sealed record TargetPlan(string Indicator, double Baseline, double Target, string TargetDate, (string ObservedOn, double Value, string Source)[] Measurements);

    public static readonly IReadOnlyDictionary<string, TargetPlan[]> Plans = new Dictionary<string, TargetPlan[]>
    {
        ["WJ-2019-SS-01"] =
        [
            new("SAF-02", 35, 90, "2026-12-31", [("2024-06-30", 64, "CCTV control centre coverage map"), ("2026-06-30", 82, "CCTV control centre coverage map")]),
            new("SAF-03", 9.5, 6.0, "2026-12-31", [("2026-06-30", 7.0, "119 dispatch statistics")]),
        ],
        ["WJ-2020-SS-02"] = [new("SAF-01", 410, 330, "2026-12-31", [("2025-12-31", 370, "Police crime statistics")])],
        ["WJ-2019-MO-01"] = [new("TRA-01", 5, 60, "2022-12-31", [("2023-03-31", 58, "Traffic information centre inventory")])],
        ["WJ-2021-MO-02"] =
        [
            new("TRA-02", 20, 95, "2026-12-31", [("2026-06-30", 88, "Bus information system")]),
            new("TRA-03", 32, 27, "2026-12-31", [("2025-10-31", 30.5, "Household travel survey")]),
        ],
        ["WJ-2020-UR-01"] =
        [
            new("ENE-01", 3, 8, "2025-12-31", [("2026-06-30", 4.1, "KEPCO metering")]),
            new("GOV-03", 2, 12, "2025-12-31", [("2026-03-31", 9, "Residents' council register")]),
            new("HOU-01", 18, 8, "2026-12-31", [("2026-06-30", 13, "Commercial vacancy survey")]),
        ],
        ["WJ-2022-UR-04"] = [new("ECO-01", 0, 400, "2027-06-30", [("2026-06-30", 150, "Start-up space tenancy records")])],
        ["WJ-2020-DG-01"] =
        [
            new("DAT-01", 10, 100, "2024-12-31", [("2025-03-31", 80, "Privacy office register")]),
            new("DAT-02", 6, 0, "2024-12-31", [("2025-12-31", 3, "Privacy office incident log")]),
            new("GOV-05", 40, 100, "2024-12-31", [("2025-03-31", 70, "Smart-city steering committee minutes")]),
        ],
        ["WJ-2022-DG-02"] =
        [
            new("ICT-01", 5, 40, "2026-12-31", [("2026-06-30", 22, "Open data portal")]),
            new("GOV-04", 50, 90, "2026-12-31", [("2026-06-30", 66, "Road-map tracker")]),
        ],
        ["WJ-2021-EN-01"] = [new("WAT-01", 24, 12, "2026-06-30", [("2025-06-30", 18.5, "Water utility balance"), ("2026-06-30", 16.5, "Water utility balance")])],
        ["WJ-2023-EN-02"] = [new("ENV-01", 28, 18, "2026-03-31", [("2026-06-30", 23, "Air quality sensor network")])],
        ["WJ-2021-CS-01"] =
        [
            new("GOV-01", 45, 90, "2025-12-31", [("2026-06-30", 81, "Civil service catalogue")]),
            new("GOV-02", 62, 80, "2025-12-31", [("2026-06-30", 71, "Annual citizen survey")]),
        ],
        ["WJ-2020-DI-01"] = [new("GOV-04", 50, 90, "2025-12-31", [("2026-06-30", 74, "Road-map tracker")]),
                             new("ICT-02", 10, 60, "2025-12-31", [("2026-06-30", 41, "Wi-Fi coverage survey")])],
    };

    public static async Task SeedAsync(KpiService.KpiServiceClient kpi, string code, string projectId, DemoBudgets.Counts counts,
        Grpc.Core.CallOptions options)
    {
        if (!Plans.TryGetValue(code, out var plans)) return;
        void Count(Regeneration.Common.V1.CommandResult r) { if (r.Replayed) counts.Replayed++; else counts.Written++; }
        foreach (var plan in plans)
        {
            string Id(string step) => $"demo:{code}:kpi:{plan.Indicator}:{step}";
            Count((await kpi.SetTargetAsync(new SetTargetRequest
            {
                RequestId = Id("target"), ProjectId = projectId, IndicatorCode = plan.Indicator,
                Baseline = plan.Baseline, Target = plan.Target, TargetDate = plan.TargetDate,
            }, options)).Result);
            for (var i = 0; i < plan.Measurements.Length; i++)
            {
                var (observedOn, value, source) = plan.Measurements[i];
                Count((await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
                {
                    RequestId = Id($"m{i}"), ProjectId = projectId, IndicatorCode = plan.Indicator, Value = value, Source = source,
                    ObservedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(DateTime.Parse(observedOn), DateTimeKind.Utc)),
                }, options)).Result);
            }
        }
    }
}
