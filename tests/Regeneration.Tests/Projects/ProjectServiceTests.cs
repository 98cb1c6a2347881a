// Every command and query of the Projects service, through a real gRPC channel to the real service
// on a real PostgreSQL.
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class ProjectServiceTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    [Fact]
    public async Task A_registered_project_reads_back_with_its_details_and_version_1()
    {
        var request = Register();
        var result = (await client.RegisterProjectAsync(request)).Result;

        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = result.StreamId })).Project;
        Assert.Equal(1, result.Version);
        Assert.False(result.Replayed);
        Assert.Equal((request.Code, request.Name, request.District, request.Owner, ProjectStatus.Planned, 1L),
            (project.Code, project.Name, project.District, project.Owner, project.Status, project.Version));
        Assert.Equal((request.PlannedStart, request.PlannedEnd), (project.PlannedStart, project.PlannedEnd));
        Assert.Equal("safety-resilience", Assert.Single(project.Contributions).Dimension);
    }

    [Fact]
    public async Task A_milestone_is_planned_progressed_rebaselined_and_completed()
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId, weight: 40, dueDate: "2026-05-31", name: "Control room fit-out");

        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 35, ForecastDate = "2026-07-15",
        });
        await client.RebaselineMilestoneAsync(new RebaselineMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, NewDueDate = "2026-08-31",
            Reason = "Camera supply delayed by the national tender",
        });
        var reported = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Milestones.Single();
        Assert.Equal((35, MilestoneStatus.InProgress, "2026-08-31", 1), (reported.Progress, reported.Status, reported.BaselineDueDate, reported.RebaselineCount));

        var completed = await client.CompleteMilestoneAsync(new CompleteMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, CompletedOn = "2026-01-20",
        });
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        var m = project.Milestones.Single();
        Assert.Equal((100, MilestoneStatus.Completed, "2026-01-20"), (m.Progress, m.Status, m.CompletedOn));
        Assert.Equal(completed.Result.Version, project.Version);
        Assert.Equal(6, project.Version);
    }

    [Fact]
    public async Task Revising_changes_only_the_fields_that_are_set()
    {
        var (projectId, _) = await RegisterActive(client);
        await client.ReviseProjectDetailsAsync(new ReviseProjectDetailsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Name = "Integrated control centre, phase 2",
            Contributions = new MaturityContributionList { Items = { new MaturityContribution { Dimension = "digital-platform", Weight = 30 } } },
        });
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Equal(("Integrated control centre, phase 2", "Jung-gu", "pm.kim"), (project.Name, project.District, project.Owner));
        Assert.Equal("digital-platform", Assert.Single(project.Contributions).Dimension);
    }

    [Fact]
    public async Task The_portfolio_is_filtered_and_paged_in_code_order()
    {
        var district = $"District-{Guid.NewGuid():N}"[..20];
        var codes = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var request = Register(r => { r.District = district; r.Category = ProjectCategory.SmartMobility; });
            codes.Add(request.Code);
            await client.RegisterProjectAsync(request);
        }
        await client.RegisterProjectAsync(Register(r => { r.District = district; r.Category = ProjectCategory.EnvironmentEnergy; }));

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await client.ListProjectsAsync(new ListProjectsRequest
            {
                District = district, Category = ProjectCategory.SmartMobility,
                Page = new Regeneration.Common.V1.PageRequest { PageSize = 2, PageToken = token },
            });
            Assert.Equal(5, page.TotalSize);
            Assert.True(page.Projects.Count <= 2);
            seen.AddRange(page.Projects.Select(p => p.Code));
            token = page.NextPageToken;
        } while (token.Length > 0);

        Assert.Equal(codes.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task History_lists_every_event_with_time_actor_and_correlation_id()
    {
        var pm = server.ClientAs("pm.park", correlationId: "corr-42");
        var register = Register(r => r.Owner = "pm.park");
        var projectId = (await pm.RegisterProjectAsync(register)).Result.StreamId;
        var milestoneId = await Plan(pm, projectId);

        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;

        Assert.Equal(["ProjectRegistered", "MilestonePlanned"], history.Select(e => e.Envelope.Type));
        Assert.Equal([1L, 2L], history.Select(e => e.Envelope.Version));
        Assert.All(history, e => Assert.Equal(("pm.park", "corr-42"), (e.Envelope.Actor, e.Envelope.CorrelationId)));
        Assert.Equal(register.RequestId, history[0].Envelope.CausationId);
        Assert.True(history[0].Envelope.Sequence < history[1].Envelope.Sequence);
        Assert.True(history[0].Envelope.RecordedAt.ToDateTimeOffset() <= history[1].Envelope.RecordedAt.ToDateTimeOffset());
        Assert.Equal(register.Code, history[0].ProjectRegistered.Code);
        Assert.Equal(milestoneId, history[1].MilestonePlanned.MilestoneId);
    }

    [Fact]
    public async Task The_state_as_of_a_past_instant_is_rebuilt_from_the_events_recorded_until_then()
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 20,
        });
        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 70,
        });
        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        // The instants come from the events themselves, so the test does not depend on the clock.
        var afterFirstReport = history.Single(e => e.MilestoneProgressReported?.Progress == 20).Envelope.RecordedAt;

        var then = (await client.GetProjectAsOfAsync(new GetProjectAsOfRequest { ProjectId = projectId, AsOf = afterFirstReport })).Project;
        var now = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;

        Assert.Equal((20, 4L), (then.Milestones.Single().Progress, then.Version));
        Assert.Equal((70, 5L), (now.Milestones.Single().Progress, now.Version));

        var beforeRegistration = Timestamp.FromDateTimeOffset(history[0].Envelope.RecordedAt.ToDateTimeOffset().AddSeconds(-1));
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetProjectAsOfAsync(new GetProjectAsOfRequest { ProjectId = projectId, AsOf = beforeRegistration }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);

        // Many projects in one call (a portfolio read as of then): each as the single read gives it, in the order asked;
        // one registered afterwards and an unknown id are left out.
        var (later, _) = await RegisterActive(client);
        var other = (await client.GetProjectAsOfAsync(new GetProjectAsOfRequest { ProjectId = later, AsOf = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(1)) })).Project;
        var batch = (await client.GetProjectsAsOfAsync(new GetProjectsAsOfRequest
        {
            AsOf = afterFirstReport, ProjectIds = { later, Guid.NewGuid().ToString(), projectId },
        })).Projects;
        Assert.Equal([then], batch);
        var both = (await client.GetProjectsAsOfAsync(new GetProjectsAsOfRequest
        {
            AsOf = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(1)), ProjectIds = { later, projectId },
        })).Projects;
        Assert.Equal([other, now], both);

        // After the instant one project changes and the other does not: the changed one is as it stood then, the
        // other as it stands now, in the batch as in the single reads.
        var laterReady = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = later })).Events[^1].Envelope.RecordedAt;
        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 90,
        });
        var mixed = (await client.GetProjectsAsOfAsync(new GetProjectsAsOfRequest { AsOf = laterReady, ProjectIds = { projectId, later } })).Projects;
        var laterNow = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = later })).Project;
        Assert.Equal([now, laterNow], mixed);
        Assert.Equal(now, (await client.GetProjectAsOfAsync(new GetProjectAsOfRequest { ProjectId = projectId, AsOf = laterReady })).Project);
        Assert.Equal((90, 6L), ((await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Milestones.Single().Progress,
            (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Version));
        var invalid = await Assert.ThrowsAsync<RpcException>(() => client.GetProjectsAsOfAsync(new GetProjectsAsOfRequest
        {
            AsOf = afterFirstReport, ProjectIds = { projectId, "P-1" },
        }).ResponseAsync);
        Assert.Equal(["project_ids[1]"], invalid.ViolatedFields());
    }

    [Fact]
    public async Task Many_projects_read_in_one_call_in_the_order_asked_without_unknown_ids()
    {
        var (first, _) = await RegisterActive(client);
        var (second, _) = await RegisterActive(client);
        await Plan(client, second);

        var batch = (await client.BatchGetProjectsAsync(new BatchGetProjectsRequest { ProjectIds = { second, Guid.NewGuid().ToString(), first, second } })).Projects;
        Assert.Equal([(await client.GetProjectAsync(new GetProjectRequest { ProjectId = second })).Project,
            (await client.GetProjectAsync(new GetProjectRequest { ProjectId = first })).Project], batch);
        Assert.Equal((3L, 1), (batch[0].Version, batch[0].Milestones.Count));

        foreach (var (ids, field) in new[] { (new[] { first, "P-1" }, "project_ids[1]"), ([], "project_ids"),
                     ([.. Enumerable.Range(0, 501).Select(_ => Guid.NewGuid().ToString())], "project_ids") })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => client.BatchGetProjectsAsync(new BatchGetProjectsRequest { ProjectIds = { ids } }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal([field], e.ViolatedFields());
        }
    }

    [Fact]
    public async Task A_project_completes_once_all_its_milestones_are_completed()
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId, weight: 100);
        var early = await Assert.ThrowsAsync<RpcException>(() => client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = ProjectStatus.Completed,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);

        await client.CompleteMilestoneAsync(new CompleteMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId });
        await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = ProjectStatus.Completed,
        });
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Equal(ProjectStatus.Completed, project.Status);
    }
}
