// The bulk import external systems use: each project registered whole (status, milestones with progress
// or completed) in one write, each with its own request_id and outcome; a retried call writes only what is
// missing; a malformed item rejects the call; a project-level rule failure loses only that project.
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class ImportTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    static ImportedProject Item(ProjectStatus status, params ImportedMilestone[] milestones) =>
        new() { Project = Register(r => r.Owner = "pm.import"), Status = status, Milestones = { milestones } };

    static ImportedMilestone Milestone(string name, int weight, int progress = 0, string completedOn = "") =>
        new() { Name = name, Weight = weight, DueDate = "2026-06-30", Progress = progress, CompletedOn = completedOn };

    async Task<Project?> ByCode(string code) =>
        (await client.ListProjectsAsync(new ListProjectsRequest { Owner = "pm.import", Page = new() { PageSize = 500 } }))
            .Projects.SingleOrDefault(p => p.Code == code);

    [Fact]
    public async Task A_batch_imports_each_project_whole_and_a_retry_writes_nothing_more()
    {
        var request = new ImportProjectsRequest
        {
            Projects =
            {
                Item(ProjectStatus.Planned, Milestone("Design", 30)),
                Item(ProjectStatus.Active, Milestone("Design", 20, completedOn: "2025-03-31"), Milestone("Build", 50, progress: 40), Milestone("Handover", 30)),
                Item(ProjectStatus.Completed, Milestone("All of it", 100, completedOn: "2025-12-31")),
                Item(ProjectStatus.OnHold, Milestone("Survey", 10, progress: 5)),
            },
        };
        var first = await client.ImportProjectsAsync(request);
        Assert.Equal(request.Projects.Select(p => p.Project.RequestId), first.Results.Select(r => r.RequestId));
        Assert.All(first.Results, r => Assert.False(r.Result.Replayed));

        var active = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = first.Results[1].Result.StreamId })).Project;
        Assert.Equal(ProjectStatus.Active, active.Status);
        Assert.Equal([MilestoneStatus.Completed, MilestoneStatus.InProgress, MilestoneStatus.NotStarted], active.Milestones.Select(m => m.Status));
        Assert.Equal([100, 40, 0], active.Milestones.Select(m => m.Progress));
        Assert.Equal("2025-03-31", active.Milestones[0].CompletedOn);
        Assert.Equal(ProjectStatus.Planned, (await ByCode(request.Projects[0].Project.Code))!.Status);
        Assert.Equal(ProjectStatus.Completed, (await ByCode(request.Projects[2].Project.Code))!.Status);
        Assert.Equal(ProjectStatus.OnHold, (await ByCode(request.Projects[3].Project.Code))!.Status);

        // Registered, activated, three planned, one completed, one progress: the events single commands record.
        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = active.Id })).Events;
        Assert.Equal(["ProjectRegistered", "ProjectStatusChanged", "MilestonePlanned", "MilestoneCompleted", "MilestonePlanned",
            "MilestoneProgressReported", "MilestonePlanned"], history.Select(e => e.Envelope.Type));
        Assert.All(history, e => Assert.Equal(request.Projects[1].Project.RequestId, e.Envelope.CausationId));
        Assert.Equal(history.Count, active.Version);

        var again = await client.ImportProjectsAsync(request);
        Assert.All(again.Results, r => Assert.True(r.Result.Replayed));
        Assert.Equal(first.Results.Select(r => r.Result.Version), again.Results.Select(r => r.Result.Version));
        Assert.Equal(history.Count, (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = active.Id })).Events.Count);
    }

    [Fact]
    public async Task The_items_of_a_batch_run_side_by_side_and_each_records_the_calls_correlation_id()
    {
        // A batch's items are written four at a time; each reads who is calling and the correlation id. The call's
        // headers are built on first read and are not safe to read from several threads: items racing to read them
        // failed a call now and then with INTERNAL (a NullReferenceException in Grpc.AspNetCore: 2 of about 560 calls
        // in the benchmark's imports) or recorded another correlation id than the caller's. Many small calls, each
        // with forty headers before the correlation id (a longer window for the race).
        var calls = Enumerable.Range(0, 600).Select(async i =>
        {
            var correlation = $"import-race-{i}-{Guid.NewGuid():N}";
            var caller = new ProjectService.ProjectServiceClient(server.Host.As(TestTokens.Manager("pm.import")).Intercept(metadata =>
            {
                for (var h = 0; h < 40; h++) metadata.Add($"x-filler-{h}", "x");
                metadata.Add("x-correlation-id", correlation);
                return metadata;
            }));
            var response = await caller.ImportProjectsAsync(new ImportProjectsRequest
            {
                Projects = { Enumerable.Range(0, 4).Select(_ => Item(ProjectStatus.Planned, Milestone("Design", 30))) },
            });
            Assert.All(response.Results, r => Assert.Null(r.Failure));
            return (correlation, response.Results.Select(r => r.Result.StreamId).ToList());
        });
        foreach (var (correlation, projects) in await Task.WhenAll(calls))
            foreach (var project in projects)
                Assert.All((await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = project })).Events,
                    e => Assert.Equal(correlation, e.Envelope.CorrelationId));
    }

    [Fact]
    public async Task A_project_that_breaks_a_rule_fails_alone_with_its_status_and_the_others_are_imported()
    {
        var taken = $"IMP-{Guid.NewGuid():N}"[..20].ToUpperInvariant();
        await RegisterActive(client, r => { r.Code = taken; r.Owner = "pm.import"; });
        var duplicate = Item(ProjectStatus.Active);
        duplicate.Project.Code = taken;
        var workOnPlanned = Item(ProjectStatus.Planned, Milestone("Design", 30, progress: 10));   // progress needs an active project
        var fine = Item(ProjectStatus.Active, Milestone("Design", 30));

        var response = await client.ImportProjectsAsync(new ImportProjectsRequest { Projects = { duplicate, workOnPlanned, fine } });

        var already = response.Results[0].Failure;
        Assert.Equal((int)StatusCode.AlreadyExists, already.Code);
        Assert.Equal(taken, already.Details.Single(d => d.Is(ResourceInfo.Descriptor)).Unpack<ResourceInfo>().ResourceName);
        var notActive = response.Results[1].Failure;
        Assert.Equal((int)StatusCode.FailedPrecondition, notActive.Code);
        Assert.Equal("PROJECT_NOT_ACTIVE", notActive.Details.Single().Unpack<PreconditionFailure>().Violations.Single().Type);
        Assert.NotNull(response.Results[2].Result);
        // The failed projects wrote nothing; the ImportFailure bytes read as a google.rpc.Status.
        Assert.Null(await ByCode(workOnPlanned.Project.Code));
        Assert.Equal(StatusCode.FailedPrecondition, (StatusCode)Google.Rpc.Status.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(notActive)).Code);
        Assert.Equal(ProjectStatus.Active, (await ByCode(fine.Project.Code))!.Status);
    }

    [Fact]
    public async Task A_malformed_item_rejects_the_whole_call_with_its_field_paths_and_writes_nothing()
    {
        var good = Item(ProjectStatus.Active, Milestone("Design", 30));
        var bad = Item(ProjectStatus.Active, Milestone("Design", 60), Milestone("Build", 60));   // weights sum to 120
        bad.Project.Code = "lower-case";
        bad.Milestones[1].DueDate = "31/12/2026";

        var e = await Assert.ThrowsAsync<RpcException>(() => client.ImportProjectsAsync(new ImportProjectsRequest { Projects = { good, bad } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("projects[1].project.code", e.ViolatedFields());
        Assert.Contains("projects[1].milestones", e.ViolatedFields());
        Assert.Contains("projects[1].milestones[1].due_date", e.ViolatedFields());
        Assert.Null(await ByCode(good.Project.Code));

        var tooMany = new ImportProjectsRequest();
        for (var i = 0; i < 501; i++) tooMany.Projects.Add(Item(ProjectStatus.Planned));
        var e2 = await Assert.ThrowsAsync<RpcException>(() => client.ImportProjectsAsync(tooMany).ResponseAsync);
        Assert.Equal(["projects"], e2.ViolatedFields());
    }

    [Fact]
    public async Task A_project_manager_imports_only_his_own_projects()
    {
        var mine = Item(ProjectStatus.Planned);
        mine.Project.Owner = "pm.lim";
        var theirs = Item(ProjectStatus.Planned);
        theirs.Project.Owner = "pm.other";
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            server.ClientAs("pm.lim").ImportProjectsAsync(new ImportProjectsRequest { Projects = { mine, theirs } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Empty((await client.ListProjectsAsync(new ListProjectsRequest { Owner = "pm.lim" })).Projects);

        var ok = await server.ClientAs("pm.lim").ImportProjectsAsync(new ImportProjectsRequest { Projects = { mine } });
        Assert.NotNull(ok.Results.Single().Result);
    }
}
