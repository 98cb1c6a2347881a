// Crashes in the middle of concurrent writes — the Projects service process killed with SIGKILL, or
// PostgreSQL killed with SIGKILL — then restarted: every acknowledged command is in the event store
// exactly once, every command whose answer was lost lands exactly once when the client retries it with
// the same request_id, and the read model equals a replay of the project's events.
using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Npgsql;
using Regeneration.Projects;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using Testcontainers.PostgreSql;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

public class CrashRestartTests
{
    [Fact]
    public async Task After_a_sigkill_of_the_service_every_acknowledged_or_retried_command_is_stored_exactly_once()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var service = ServiceProcess.Start("Projects", $"ConnectionStrings:Postgres={database}");
        using var channel = GrpcChannel.ForAddress(service.Address);
        var client = new ProjectService.ProjectServiceClient(channel.Intercept(m => { m.Add("Authorization", $"Bearer {TestTokens.Admin}"); return m; }));
        await WaitUntilServing(client);

        await WriteThroughACrash(client, "SIGKILL of the Projects process under 8 concurrent writers, restart, client retries",
            crash: () => { service.Kill(); return Task.CompletedTask; },
            restart: () => { service.Start(); return Task.CompletedTask; });
    }

    [SkippableFact]
    public async Task After_a_sigkill_of_postgresql_every_acknowledged_or_retried_command_is_stored_exactly_once()
    {
        Skip.If(PostgresServer.IsExternal, "needs a PostgreSQL this test may kill (Testcontainers), not REGENERATION_TEST_POSTGRES");
        // A server of its own, on a fixed host port so that it comes back at the same address, with
        // production durability: Testcontainers turns it off by default, and with synchronous_commit off a crash
        // loses acknowledged commits (this test caught exactly that).
        var port = ServiceProcess.FreePort();
        await using var postgres = new PostgreSqlBuilder(PostgresServer.Image).WithPortBinding(port, 5432)
            .WithCommand(PostgresServer.ProductionDurability)
            .Build();
        await postgres.StartAsync();
        var connectionString = postgres.GetConnectionString();
        await using var service = await ServiceHost.StartAsync(ProjectsApp.Build, connectionString);
        var client = new ProjectService.ProjectServiceClient(service.Admin);

        await WriteThroughACrash(client, "SIGKILL of PostgreSQL under 8 concurrent writers, restart, client retries",
            crash: () => Docker("kill", "--signal", "KILL", postgres.Id),
            restart: async () =>
            {
                await Docker("start", postgres.Id);
                await WaitUntilAccepting(connectionString);
            });
    }

    /// <summary>8 writers plan milestones; after 20 acknowledgements the crash happens, then the restart;
    /// clients retry what they did not get an answer for; then exactly-once and replay are checked.</summary>
    static async Task WriteThroughACrash(ProjectService.ProjectServiceClient client, string scenario, Func<Task> crash, Func<Task> restart)
    {
        var (projectId, _) = await RegisterActive(client);
        var acknowledged = new ConcurrentDictionary<string, PlanMilestoneRequest>();
        var lost = new ConcurrentDictionary<string, PlanMilestoneRequest>();
        var failures = new ConcurrentBag<StatusCode>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var request = new PlanMilestoneRequest
                {
                    RequestId = NewRequestId(), ProjectId = projectId, Name = $"Writer {w} item {i}", Weight = 1, DueDate = "2027-01-31",
                };
                try
                {
                    await client.PlanMilestoneAsync(request, deadline: DateTime.UtcNow.AddSeconds(5));
                    acknowledged[request.RequestId] = request;
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument)
                {
                    return;   // the weights are used up: this writer is done
                }
                catch (RpcException e)
                {
                    failures.Add(e.StatusCode);
                    lost[request.RequestId] = request;   // the answer is lost: the client will retry
                    await Task.Delay(50);
                }
            }
        })).ToList();

        while (acknowledged.Count < 20) await Task.Delay(10);
        await crash();
        await Task.Delay(500);
        stop.Cancel();
        await Task.WhenAll(writers);
        await restart();
        await WaitUntilServing(client);

        // The clients retry every command whose answer they did not get, with the same request_id.
        foreach (var request in lost.Values)
        {
            for (var attempt = 0; ; attempt++)
            {
                try { await client.PlanMilestoneAsync(request); acknowledged[request.RequestId] = request; break; }
                catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument) { break; }   // weights used up by then
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < 10) { await Task.Delay(200); }
            }
        }

        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        var planned = history.Where(e => e.MilestonePlanned is not null).GroupBy(e => e.Envelope.CausationId).ToDictionary(g => g.Key, g => g.Count());
        var wrong = acknowledged.Keys.Count(id => planned.GetValueOrDefault(id) != 1) + planned.Keys.Count(id => !acknowledged.ContainsKey(id));
        ReliabilityFigures.Record(scenario, ReliabilityFigures.RequestsUnderFault, acknowledged.Count + lost.Count);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.FaultsInjected, 1);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, acknowledged.Count);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, wrong);

        Assert.NotEmpty(lost);   // the crash did cut answers off: the retries were exercised
        // A crash is reported as "unavailable" or a missed deadline, never as a server bug.
        Assert.All(failures, code => Assert.Contains(code, new[] { StatusCode.Unavailable, StatusCode.DeadlineExceeded }));
        Assert.All(acknowledged.Keys, id => Assert.Equal(1, planned.GetValueOrDefault(id)));
        Assert.All(planned.Values, count => Assert.Equal(1, count));
        Assert.Equal(acknowledged.Count, planned.Count);

        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        var replayed = (await client.GetProjectAsOfAsync(new GetProjectAsOfRequest
        {
            ProjectId = projectId, AsOf = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        })).Project;
        Assert.Equal(replayed, project);
        Assert.Equal(history.Count, project.Version);
    }

    static async Task WaitUntilServing(ProjectService.ProjectServiceClient client)
    {
        for (var attempt = 0; attempt < 150; attempt++)
        {
            try { await client.ListProjectsAsync(new ListProjectsRequest(), deadline: DateTime.UtcNow.AddSeconds(2)); return; }
            catch (RpcException) { await Task.Delay(200); }
        }
        Assert.Fail("the service did not come up");
    }

    static async Task WaitUntilAccepting(string connectionString)
    {
        for (var attempt = 0; attempt < 150; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                await ping.ExecuteScalarAsync();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException) { await Task.Delay(200); }
        }
        Assert.Fail("PostgreSQL did not come back");
    }

    static async Task Docker(params string[] args)
    {
        using var docker = Process.Start(new ProcessStartInfo("docker", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var error = await docker.StandardError.ReadToEndAsync();
        await docker.WaitForExitAsync();
        Assert.True(docker.ExitCode == 0, $"docker {string.Join(' ', args)}: {error}");
    }
}
