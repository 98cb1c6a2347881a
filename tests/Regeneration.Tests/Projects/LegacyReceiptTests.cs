// Receipts written before request ids were scoped to their caller (keyed by the bare request id) are
// re-keyed at start-up, so that a repeat of such an old command is still answered from its receipt and
// writes nothing.
using Npgsql;
using Regeneration.Projects;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class LegacyReceiptTests
{
    [Fact]
    public async Task A_receipt_keyed_by_the_bare_request_id_is_re_keyed_at_start_up_and_still_answers_a_repeat()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        await using var service = await ServiceHost.StartAsync(ProjectsApp.Build, database);
        var client = new ProjectService.ProjectServiceClient(service.Admin);
        var (projectId, _) = await RegisterActive(client);
        var plan = new PlanMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, Name = "Design", Weight = 10, DueDate = "2027-01-31" };
        var first = (await client.PlanMilestoneAsync(plan)).Result;

        // Make every receipt look like one written before the scoping: keyed by the bare request id.
        await service.StopAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var legacy = new NpgsqlCommand(
                "update projects.mt_doc_commandreceipt set id = substring(id from position('/' in id) + 1)", connection);
            Assert.True(await legacy.ExecuteNonQueryAsync() >= 3);
        }
        await service.RestartAsync();

        var repeat = (await client.PlanMilestoneAsync(plan)).Result;
        Assert.True(repeat.Replayed);
        Assert.Equal(first.EntityId, repeat.EntityId);
        Assert.Single((await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Milestones);
    }
}
