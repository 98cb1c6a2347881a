// A synthetic national portfolio: projects spread over categories, districts and statuses, each with
// ten milestones at various stages and three indicators with monthly measurements, imported through the
// real gRPC API (ImportProjects, ImportIndicators).
using Google.Protobuf.WellKnownTypes;
using Regeneration.Common.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;

namespace Regeneration.Benchmarks;

public static class Generator
{
    public const int Batch = 250, Callers = 4, Milestones = 10;

    public sealed record Imported(int Number, string Code, string Id, ProjectStatus Status);

    /// <summary>Projects number <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    public static async Task<IReadOnlyList<Imported>> Import(ProjectService.ProjectServiceClient client, int from, int to)
    {
        var imported = new System.Collections.Concurrent.ConcurrentBag<Imported>();
        var batches = Enumerable.Range(from, to - from).Chunk(Batch);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = Callers }, async (numbers, ct) =>
        {
            var request = new ImportProjectsRequest();
            foreach (var n in numbers) request.Projects.Add(Project($"NAT-{n:D6}", n, Status(n), Milestones));
            var response = await client.ImportProjectsAsync(request, cancellationToken: ct);
            for (var i = 0; i < numbers.Length; i++)
            {
                var result = response.Results[i];
                if (result.OutcomeCase != ImportResult.OutcomeOneofCase.Result)
                    throw new InvalidOperationException($"{result.RequestId}: {result.Failure.Code} {result.Failure.Message}");
                imported.Add(new Imported(numbers[i], $"NAT-{numbers[i]:D6}", result.Result.StreamId, Status(numbers[i])));
            }
        });
        return [.. imported];
    }

    /// <summary>Each project's indicators: 3 targets and 26 monthly measurements (about 80 events a project).</summary>
    public static async Task ImportIndicators(KpiService.KpiServiceClient client, IReadOnlyList<Imported> projects)
    {
        await Parallel.ForEachAsync(projects.Chunk(Batch), new ParallelOptions { MaxDegreeOfParallelism = Callers }, async (batch, ct) =>
        {
            var request = new ImportIndicatorsRequest();
            foreach (var p in batch) request.Projects.Add(Indicators(p));
            var response = await client.ImportIndicatorsAsync(request, cancellationToken: ct);
            if (response.Results.FirstOrDefault(r => r.OutcomeCase != ImportResult.OutcomeOneofCase.Result) is { } failed)
                throw new InvalidOperationException($"{failed.RequestId}: {failed.Failure.Code} {failed.Failure.Message}");
        });
    }

    public const int Targets = 3, MeasurementsPerTarget = 26;
    static readonly string[] Percentages = ["TRA-01", "TRA-02", "ICT-02", "GOV-01", "GOV-02", "ENE-01", "DAT-01", "GOV-04", "GOV-05", "SAF-02"];

    static ProjectIndicatorsImport Indicators(Imported p)
    {
        var item = new ProjectIndicatorsImport { RequestId = $"bench-indicators-{p.Code}", ProjectId = p.Id };
        for (var t = 0; t < Targets; t++)
        {
            var code = Percentages[(p.Number + t * 3) % Percentages.Length];
            item.Targets.Add(new ImportedTarget { IndicatorCode = code, Baseline = 10, Target = 80, TargetDate = "2027-12-31" });
            for (var m = 0; m < MeasurementsPerTarget; m++)
                item.Measurements.Add(new ImportedMeasurement
                {
                    IndicatorCode = code, Value = 10 + (p.Number % 50 + m * 2) % 70, Source = "City data platform",
                    ObservedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2019, 1, 28, 0, 0, 0, TimeSpan.Zero).AddMonths(m + t)),
                });
        }
        return item;
    }

    static ProjectStatus Status(int n) => (n % 20) switch
    {
        0 => ProjectStatus.Planned,
        1 => ProjectStatus.OnHold,
        2 => ProjectStatus.Completed,
        _ => ProjectStatus.Active,
    };

    public static ImportedProject Project(string code, int n, ProjectStatus status, int milestones)
    {
        var start = 2015 + n % 6;   // completed milestones are in the past (2015..2024)
        var project = new ImportedProject
        {
            Project = new RegisterProjectRequest
            {
                RequestId = $"bench-import-{code}", Code = code, Name = $"Regeneration project {code}",
                Description = "Synthetic national-scale portfolio", District = $"District {n % 250:D3}",
                Category = (ProjectCategory)(1 + n % 7), Owner = $"pm.{n % 1000:D3}",
                PlannedStart = $"{start}-01-01", PlannedEnd = $"{start + 4}-12-31",
                Contributions =
                {
                    new MaturityContribution { Dimension = Dimensions[n % Dimensions.Length], Weight = 60 },
                    new MaturityContribution { Dimension = Dimensions[(n + 3) % Dimensions.Length], Weight = 40 },
                },
            },
            Status = status,
        };
        // Earlier milestones are done, the current one is under way, later ones are planned.
        var done = status switch { ProjectStatus.Planned => 0, ProjectStatus.Completed => milestones, _ => n % milestones };
        for (var m = 0; m < milestones; m++)
            project.Milestones.Add(new ImportedMilestone
            {
                Name = $"Stage {m + 1}", Weight = 100 / milestones, DueDate = $"{start + m * 5 / milestones}-{1 + m % 12:D2}-28",
                CompletedOn = m < done ? $"{start + m * 5 / milestones}-{1 + m % 12:D2}-20" : "",
                Progress = m == done && status != ProjectStatus.Planned ? 10 + n % 80 : 0,
            });
        return project;
    }

    static readonly string[] Dimensions =
        ["safety-resilience", "mobility", "digital-platform", "privacy-data", "urban-resources", "citizen-centricity", "vision-roadmap"];
}
