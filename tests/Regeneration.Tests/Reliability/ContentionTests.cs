// Many writers on one project: every call either lands or is ABORTED, nothing is lost, and the read
// model equals a replay of the events.
using Grpc.Core;
using Google.Protobuf.WellKnownTypes;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

public class ContentionTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    [Fact]
    public async Task Optimistic_writers_on_one_project_lose_no_update_and_the_read_model_equals_a_replay()
    {
        var (projectId, _) = await RegisterActive(client);
        const int writers = 16, updatesEach = 5;
        var milestones = new string[writers];
        for (var w = 0; w < writers; w++) milestones[w] = await Plan(client, projectId, weight: 5, name: $"Package {w}");

        // Each writer raises its own milestone's progress step by step, always with the version it last read,
        // and on ABORTED reads again and retries: a read-modify-write loop under contention.
        var aborted = 0;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var step = 1; step <= updatesEach; step++)
            {
                while (true)
                {
                    var version = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Version;
                    try
                    {
                        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
                        {
                            RequestId = NewRequestId(), ProjectId = projectId, ExpectedVersion = version,
                            MilestoneId = milestones[w], Progress = step * 10,
                        });
                        break;
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.Aborted)
                    {
                        Interlocked.Increment(ref aborted);
                    }
                }
            }
        })));

        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        const string scenario = "16 optimistic writers on one project, 5 updates each, ABORTED and retried";
        ReliabilityFigures.Record(scenario, ReliabilityFigures.RequestsUnderFault, writers * updatesEach + aborted);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, writers * updatesEach);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated,
            Math.Abs(history.Count(e => e.MilestoneProgressReported is not null) - writers * updatesEach)
            + project.Milestones.Count(m => m.Progress != updatesEach * 10));
        Assert.All(project.Milestones, m => Assert.Equal(updatesEach * 10, m.Progress));
        Assert.Equal(writers * updatesEach, history.Count(e => e.MilestoneProgressReported is not null));
        Assert.Equal(history.Count, project.Version);
        Assert.True(aborted > 0, "the writers never collided: the test did not test contention");

        // The read model (the inline snapshot) equals the state folded from the events.
        var replayed = (await client.GetProjectAsOfAsync(new GetProjectAsOfRequest
        {
            ProjectId = projectId, AsOf = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        })).Project;
        Assert.Equal(replayed, project);
    }
}
