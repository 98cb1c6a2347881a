// `--rebuild`: a service's snapshots are folded again from its events, repairing a damaged or missing one.
using Npgsql;
using Regeneration.Projects;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class RebuildTests
{
    [Fact]
    public async Task Rebuild_folds_every_project_snapshot_again_from_the_events()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        await using var service = await ServiceHost.StartAsync(ProjectsApp.Build, database);
        var client = new ProjectService.ProjectServiceClient(service.Admin);
        var (damagedId, _) = await RegisterActive(client);
        var milestone = await Plan(client, damagedId, weight: 10, name: "Design");
        await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = damagedId, MilestoneId = milestone, Progress = 40, Reason = "Survey done",
        });
        var (lostId, _) = await RegisterActive(client);
        var expected = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = damagedId })).Project;
        var expectedLost = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = lostId })).Project;

        await service.StopAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var damage = new NpgsqlCommand(
                $"update projects.mt_doc_project set data = jsonb_set(data, '{{Name}}', '\"damaged\"') where id = '{damagedId}';" +
                $"delete from projects.mt_doc_project where id = '{lostId}'", connection);
            Assert.Equal(2, await damage.ExecuteNonQueryAsync());
        }
        Assert.Equal(0, await ServiceHosting.RunAsync(
            ["--rebuild", .. ServiceProcess.Defaults.Append($"ConnectionStrings:Postgres={database}").Select(s => "--" + s)], ProjectsApp.Build));
        await service.RestartAsync();

        Assert.Equal(expected, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = damagedId })).Project);
        Assert.Equal(expectedLost, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = lostId })).Project);
        var listed = await client.ListProjectsAsync(new ListProjectsRequest { Status = Regeneration.Projects.V1.ProjectStatus.Active });
        Assert.Contains(listed.Projects, p => p.Id == lostId);
    }
}
