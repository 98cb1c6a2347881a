// `--rebuild`: a service's snapshots are folded again from its events, repairing a damaged or missing one, and
// writing, for thousands of streams, exactly what the commands wrote; a rebuild that fails changes nothing.
using Microsoft.Extensions.DependencyInjection;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using Regeneration.Projects;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;
using Domain = Regeneration.Projects;

namespace Regeneration.Tests.Projects;

public class RebuildTests
{
    [Fact]
    public async Task The_events_a_rebuild_reads_are_every_type_the_snapshot_folds_even_before_the_store_has_met_one()
    {
        // The benchmark deserialises these (its "read and deserialised only" line): a store lists an event type as
        // known only once something has asked for it, so its own list named almost none of them in a fresh process.
        await using var app = ProjectsApp.Build(["--environment=Development", "--ConnectionStrings:Postgres=Host=unused"]);
        var store = app.Services.GetRequiredService<Marten.IDocumentStore>();
        Type[] folded = [typeof(Domain.ProjectRegistered), typeof(Domain.ProjectDetailsRevised), typeof(Domain.ProjectStatusChanged),
            typeof(Domain.MilestonePlanned), typeof(Domain.MilestoneProgressReported), typeof(Domain.MilestoneCompleted), typeof(Domain.MilestoneRescheduled)];

        var mappings = Regeneration.ServiceDefaults.SnapshotRebuild.EventMappings(store);

        // every event of ours (the snapshot also folds the event store's own, archiving and compacting a stream)
        Assert.Subset(mappings.Select(m => m.DocumentType).ToHashSet(), folded.ToHashSet());
        Assert.Contains(mappings, m => m.EventTypeName == "milestone_progress_reported");
    }

    [Fact]
    public async Task Rebuild_folds_every_project_snapshot_again_from_the_events_and_commands_go_on_from_it()
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
        var orphanId = Guid.NewGuid();

        await service.StopAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var damage = new NpgsqlCommand(
                $"update projects.mt_doc_project set data = jsonb_set(data, '{{Name}}', '\"damaged\"') where id = '{damagedId}';" +
                // lost under its own id, and a snapshot left without any stream
                $"update projects.mt_doc_project set id = '{orphanId}' where id = '{lostId}'", connection);
            Assert.Equal(2, await damage.ExecuteNonQueryAsync());
        }
        var (exitCode, output, error) = await ServiceHost.RebuildAsync(ProjectsApp.Build, database);
        Assert.Equal(0, exitCode);
        Assert.StartsWith("Rebuilt Project from the events in ", output);
        Assert.Empty(error);
        await service.RestartAsync();

        Assert.Equal(expected, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = damagedId })).Project);
        Assert.Equal(expectedLost, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = lostId })).Project);
        var listed = await client.ListProjectsAsync(new ListProjectsRequest { Status = Regeneration.Projects.V1.ProjectStatus.Active });
        Assert.Contains(listed.Projects, p => p.Id == lostId);
        Assert.DoesNotContain(listed.Projects, p => p.Id == orphanId.ToString());
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand($"select count(*) from projects.mt_doc_project where id = '{orphanId}'", connection);
            Assert.Equal(0L, await count.ExecuteScalarAsync());
            // each document's revision is its stream's version again, as the commands wrote it
            await using var revision = new NpgsqlCommand($"select mt_version from projects.mt_doc_project where id = '{damagedId}'", connection);
            Assert.Equal(expected.Version, Convert.ToInt64(await revision.ExecuteScalarAsync()));
        }

        // Commands go on from the rebuilt snapshot: the expected version holds, a stale one is refused.
        await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = damagedId, ExpectedVersion = expected.Version, Status = Regeneration.Projects.V1.ProjectStatus.OnHold, Reason = "Budget freeze",
        });
        var stale = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = damagedId, ExpectedVersion = expected.Version, Status = Regeneration.Projects.V1.ProjectStatus.Active, Reason = "Funds found",
        }).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.Aborted, stale.StatusCode);
        var after = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = damagedId })).Project;
        Assert.Equal((Regeneration.Projects.V1.ProjectStatus.OnHold, expected.Version + 1, expected.Name), (after.Status, after.Version, after.Name));
    }

    [Fact]
    public async Task A_rebuild_of_thousands_of_streams_writes_what_the_commands_wrote_and_one_that_fails_writes_nothing()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        await using var service = await ServiceHost.StartAsync(ProjectsApp.Build, database);
        var client = new ProjectService.ProjectServiceClient(service.Admin);
        // 2,500 projects of 4 events each: the rebuild starts its COPY once 1,000 documents are done (half way) and
        // hands the rest over as their streams end.
        for (var call = 0; call < 10; call++)
        {
            var request = new ImportProjectsRequest();
            for (var i = 0; i < 250; i++)
                request.Projects.Add(new ImportedProject
                {
                    Project = Register(), Status = Regeneration.Projects.V1.ProjectStatus.Active,
                    Milestones = { new ImportedMilestone { Name = "Build", Weight = 100, DueDate = "2026-06-30", Progress = 10 } },
                });
            await client.ImportProjectsAsync(request);
        }
        await service.StopAsync();

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        async Task<string> Snapshots()
        {
            await using var checksum = new NpgsqlCommand(
                "select count(*) || ':' || md5(string_agg(id::text || ':' || mt_version || ':' || data::text || ':' || (mt_last_modified is not null) || mt_dotnet_type, ',' order by id)) " +
                "from projects.mt_doc_project", connection);
            return (string)(await checksum.ExecuteScalarAsync())!;
        }
        Task<(int ExitCode, string Output, string Error)> Rebuild() => ServiceHost.RebuildAsync(ProjectsApp.Build, database);
        var before = await Snapshots();
        Assert.StartsWith("2500:", before);

        // Every document as the commands wrote it: its id, its revision, its JSON, its metadata.
        Assert.Equal(0, (await Rebuild()).ExitCode);
        Assert.Equal(before, await Snapshots());

        // Two streams, one early and the last one read, now registered with the same code: the swap fails on the
        // unique code after the copy has run, and no document changes.
        await using (var damage = new NpgsqlCommand(
            "update projects.mt_events e set data = jsonb_set(e.data, '{Code}', (select data -> 'Code' from projects.mt_events where type = 'project_registered' order by stream_id limit 1)) " +
            "where e.type = 'project_registered' and e.stream_id = (select id from projects.mt_streams order by id desc limit 1)", connection))
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
        var failure = await Rebuild();
        Assert.Equal(1, failure.ExitCode);
        Assert.StartsWith("The rebuild failed after ", failure.Error);
        Assert.Contains($"Npgsql.PostgresException (0x80004005): {PostgresErrorCodes.UniqueViolation}:", failure.Error);
        Assert.Equal(before, await Snapshots());

        // An event it cannot read, in the last stream, while the COPY runs: the reader's error, and again nothing written.
        await using (var damage = new NpgsqlCommand(
            "update projects.mt_events set data = '{\"ProjectId\": \"not a guid\"}' " +
            "where type = 'project_registered' and stream_id = (select id from projects.mt_streams order by id desc limit 1)", connection))
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
        failure = await Rebuild();
        Assert.Equal(1, failure.ExitCode);
        Assert.Contains("changed nothing: every snapshot is as it was.\nSystem.Text.Json.JsonException:", failure.Error);
        Assert.Equal(before, await Snapshots());
    }

    [Fact]
    public async Task A_rebuild_whose_process_fails_to_stop_after_its_commit_says_so_and_still_exits_with_code_0()
    {
        // A store of project snapshots in a schema of its own, in a host with one more service that throws when the
        // host disposes it (nothing in the real services does: this is the path for whatever might).
        var database = await PostgresServer.CreateDatabaseAsync();
        WebApplication Build(string[] args)
        {
            var builder = ServiceHosting.CreateBuilder<ProjectsGrpcService>(args, "stopping",
                options => options.Projections.Snapshot<Domain.Project>(SnapshotLifecycle.Inline));
            builder.Services.AddSingleton<FailsToStop>();
            var app = builder.Build();
            app.Services.GetRequiredService<FailsToStop>();   // made, so the host disposes it
            return app;
        }
        var projectId = Guid.NewGuid();
        var seeding = Build(ServiceHost.Arguments(database));
        try
        {
            var store = seeding.Services.GetRequiredService<IDocumentStore>();
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            await using var session = store.LightweightSession();
            session.Events.StartStream<Domain.Project>(projectId, new Domain.ProjectRegistered(projectId, "RB-1", "Plaza", "", "Jung-gu",
                Domain.ProjectCategory.UrbanRegeneration, "pm", new DateOnly(2026, 1, 1), new DateOnly(2027, 1, 1), []));
            await session.SaveChangesAsync();
        }
        finally
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => seeding.DisposeAsync().AsTask());
        }
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using (var damage = new NpgsqlCommand($"update stopping.mt_doc_project set data = jsonb_set(data, '{{Name}}', '\"damaged\"')", connection))
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());

        var (exitCode, output, error) = await ServiceHost.RebuildAsync(Build, database);

        Assert.Equal(0, exitCode);
        Assert.StartsWith("Rebuilt Project from the events in ", output);
        Assert.StartsWith("The rebuild is committed; stopping the process's services after it failed:", error);
        Assert.Contains(FailsToStop.Message, error);
        await using var name = new NpgsqlCommand($"select data ->> 'Name' from stopping.mt_doc_project where id = '{projectId}'", connection);
        Assert.Equal("Plaza", await name.ExecuteScalarAsync());
    }

    sealed class FailsToStop : IAsyncDisposable
    {
        public const string Message = "this service cannot be stopped";
        public ValueTask DisposeAsync() => throw new InvalidOperationException(Message);
    }

    [Fact]
    public async Task A_rebuild_that_cannot_reach_its_database_says_so_and_exits_with_code_1()
    {
        // Nothing listens on port 1: the connection is refused before anything is read or written.
        var (exitCode, output, error) = await ServiceHost.RebuildAsync(ProjectsApp.Build, "Host=127.0.0.1;Port=1;Username=postgres;Password=x;Database=none");
        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.StartsWith("The rebuild failed before it began and changed nothing: every snapshot is as it was.", error);
        Assert.Contains("Npgsql.NpgsqlException", error);
    }
}
