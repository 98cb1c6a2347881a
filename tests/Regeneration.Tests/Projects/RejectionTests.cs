// Every bad input gets the right status with details, and nothing is written: after each rejection
// the event store holds exactly the events it held before.
using Google.Rpc;
using Grpc.Core;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class RejectionTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    public static TheoryData<string, string> BadRegistrations => new()
    {
        { "empty name", "name" },
        { "overlong name", "name" },
        { "name with padding", "name" },
        { "overlong district", "district" },
        { "lowercase code", "code" },
        { "empty owner", "owner" },
        { "unspecified category", "category" },
        { "unknown category", "category" },
        { "malformed date", "planned_start" },
        { "end before start", "planned_end" },
        { "contribution weight over 100", "contributions[0].weight" },
        { "bad dimension code", "contributions[0].dimension" },
        { "duplicated dimension", "contributions" },
        { "missing request id", "request_id" },
    };

    static void Break(RegisterProjectRequest r, string how)
    {
        switch (how)
        {
            case "empty name": r.Name = ""; break;
            case "overlong name": r.Name = new string('x', 201); break;
            case "name with padding": r.Name = " CCTV "; break;
            case "overlong district": r.District = new string('d', 101); break;
            case "lowercase code": r.Code = "wj-2021-sr-03"; break;
            case "empty owner": r.Owner = ""; break;
            case "unspecified category": r.Category = ProjectCategory.Unspecified; break;
            case "unknown category": r.Category = (ProjectCategory)42; break;
            case "malformed date": r.PlannedStart = "31/12/2025"; break;
            case "end before start": r.PlannedStart = "2026-01-01"; r.PlannedEnd = "2025-12-31"; break;
            case "contribution weight over 100": r.Contributions[0].Weight = 101; break;
            case "bad dimension code": r.Contributions[0].Dimension = "Safety & Resilience"; break;
            case "duplicated dimension": r.Contributions.Add(r.Contributions[0].Clone()); break;
            case "missing request id": r.RequestId = ""; break;
        }
    }

    [Theory]
    [MemberData(nameof(BadRegistrations))]
    public async Task A_malformed_registration_is_invalid_argument_naming_the_field_and_writes_nothing(string how, string field)
    {
        var request = Register(r => Break(r, how));
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() => client.RegisterProjectAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(field, e.ViolatedFields());
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task A_duplicate_code_is_already_exists_and_writes_nothing()
    {
        var first = Register();
        await client.RegisterProjectAsync(first);
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            client.RegisterProjectAsync(Register(r => r.Code = first.Code)).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Equal(first.Code, e.Detail<ResourceInfo>()?.ResourceName);
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task Milestone_weights_over_100_are_invalid_argument_and_write_nothing()
    {
        var (projectId, _) = await RegisterActive(client);
        await Plan(client, projectId, weight: 70);
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() => client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Name = "Too much", Weight = 31, DueDate = "2026-01-01",
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["weight"], e.ViolatedFields());
        Assert.Equal(before, await EventCount());
    }

    [Theory]
    [InlineData(-1, "progress")]
    [InlineData(101, "progress")]
    public async Task Progress_outside_0_to_100_is_invalid_argument(int progress, string field)
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() => client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = progress,
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal([field], e.ViolatedFields());
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task Progress_going_back_without_a_reason_is_invalid_argument()
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 50,
        });
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() => client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 30,
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["reason"], e.ViolatedFields());
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task Unknown_projects_and_milestones_are_not_found()
    {
        var unknown = Guid.NewGuid().ToString();
        var get = await Assert.ThrowsAsync<RpcException>(() => client.GetProjectAsync(new GetProjectRequest { ProjectId = unknown }).ResponseAsync);
        var plan = await Assert.ThrowsAsync<RpcException>(() => client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = unknown, Name = "x", Weight = 1, DueDate = "2026-01-01",
        }).ResponseAsync);
        var history = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = unknown }).ResponseAsync);
        // with an expected version too: a project that does not exist is not found, not a stale version to retry
        var planAt = await Assert.ThrowsAsync<RpcException>(() => client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = unknown, ExpectedVersion = 3, Name = "x", Weight = 1, DueDate = "2026-01-01",
        }).ResponseAsync);

        var (projectId, _) = await RegisterActive(client);
        var before = await EventCount();
        var milestone = await Assert.ThrowsAsync<RpcException>(() => client.CompleteMilestoneAsync(new CompleteMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = Guid.NewGuid().ToString(),
        }).ResponseAsync);

        Assert.All(new[] { get, plan, history, milestone, planAt }, e => Assert.Equal(StatusCode.NotFound, e.StatusCode));
        Assert.Equal("project", plan.Detail<ResourceInfo>()?.ResourceType);
        Assert.Equal("project", planAt.Detail<ResourceInfo>()?.ResourceType);
        Assert.Equal("milestone", milestone.Detail<ResourceInfo>()?.ResourceType);
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task A_malformed_id_is_invalid_argument_not_not_found()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => client.GetProjectAsync(new GetProjectRequest { ProjectId = "42" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["project_id"], e.ViolatedFields());
    }

    [Fact]
    public async Task An_illegal_transition_is_failed_precondition_with_the_rule_and_writes_nothing()
    {
        var projectId = (await client.RegisterProjectAsync(Register())).Result.StreamId;
        var before = await EventCount();

        var e = await Assert.ThrowsAsync<RpcException>(() => client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = ProjectStatus.Completed,
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        var violation = Assert.Single(e.Detail<PreconditionFailure>()!.Violations);
        Assert.Equal(("ILLEGAL_TRANSITION", $"projects/{projectId}"), (violation.Type, violation.Subject));
        Assert.Equal(before, await EventCount());
    }

    [Fact]
    public async Task Putting_a_project_on_hold_needs_a_reason()
    {
        var (projectId, _) = await RegisterActive(client);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = ProjectStatus.OnHold,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["reason"], e.ViolatedFields());
    }

    [Theory]
    [InlineData("future")]
    [InlineData("2026-02-30")]   // not a date: reported under its own field, once, not as an unnamed "date"
    [InlineData("30/06/2026")]
    public async Task Completing_in_the_future_or_on_no_date_is_invalid_argument_on_completed_on(string completedOn)
    {
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.CompleteMilestoneAsync(new CompleteMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId,
            CompletedOn = completedOn == "future" ? DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd") : completedOn,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["completed_on"], e.ViolatedFields());
    }

    [Theory]
    [InlineData(0, -1)]
    [InlineData(0, 1_000_000_000)]
    [InlineData(253_402_300_800, 0)]   // 10000-01-01
    [InlineData(-62_135_596_801, 0)]   // before 0001-01-01
    public async Task An_as_of_instant_that_is_no_time_is_invalid_argument_on_as_of(long seconds, int nanos)
    {
        var (projectId, _) = await RegisterActive(client);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.GetProjectAsOfAsync(new GetProjectAsOfRequest
        {
            ProjectId = projectId, AsOf = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = seconds, Nanos = nanos },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["as_of"], e.ViolatedFields());
    }

    [Fact]
    public async Task A_revision_that_changes_nothing_is_invalid_argument()
    {
        var (projectId, _) = await RegisterActive(client);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ReviseProjectDetailsAsync(new ReviseProjectDetailsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["request"], e.ViolatedFields());
    }

    async Task<long> EventCount()
    {
        var count = 0L;
        using var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = 0, Follow = false });
        while (await feed.ResponseStream.MoveNext(default)) count++;
        return count;
    }
}
