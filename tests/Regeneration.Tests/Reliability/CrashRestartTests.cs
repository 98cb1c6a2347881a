// The Projects service killed with SIGKILL in the middle of concurrent writes, then restarted: every
// acknowledged command is in the event store exactly once, every command whose answer was lost lands
// exactly once when the client retries it with the same request_id, and every read model equals a
// replay of its events. The service runs as a real separate process (its own build output).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using Regeneration.Tests.Projects;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Reliability;

public class CrashRestartTests
{
    sealed class ServiceProcess(string connectionString, int port) : IDisposable
    {
        Process? process;

        public void Start()
        {
            var configuration = typeof(CrashRestartTests).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
                .OfType<System.Reflection.AssemblyConfigurationAttribute>().Single().Configuration;
            var dll = Path.Combine(ExternalClientTests.RepositoryRoot(), "services", "Projects", "bin", configuration, "net10.0", "Regeneration.Projects.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first");
            process = Process.Start(new ProcessStartInfo("dotnet", [dll, $"--urls=http://127.0.0.1:{port}", "--environment=Development",
                $"--ConnectionStrings:Postgres={connectionString}", "--Logging:LogLevel:Default=Warning",
                "--RateLimits:PermitsPerSecond=100000", "--RateLimits:Burst=100000"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            })!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public void Kill()
        {
            process!.Kill();   // SIGKILL on Linux: no shutdown, no flushing
            process.WaitForExit();
        }

        public void Dispose()
        {
            if (process is { HasExited: false }) Kill();
            process?.Dispose();
        }
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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

    [Fact]
    public async Task After_a_sigkill_every_acknowledged_or_retried_command_is_stored_exactly_once()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        var port = FreePort();
        using var service = new ServiceProcess(database, port);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new ProjectService.ProjectServiceClient(channel.Intercept(m => { m.Add("Authorization", $"Bearer {TestTokens.Admin}"); return m; }));
        service.Start();
        await WaitUntilServing(client);

        var (projectId, _) = await RegisterActive(client);
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, PlanMilestoneRequest>();
        var lost = new System.Collections.Concurrent.ConcurrentDictionary<string, PlanMilestoneRequest>();
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
                catch (RpcException)
                {
                    lost[request.RequestId] = request;   // the answer is lost: the client will retry
                    await Task.Delay(50);
                }
            }
        })).ToList();

        while (acknowledged.Count < 20) await Task.Delay(10);
        service.Kill();
        await Task.Delay(300);
        stop.Cancel();
        await Task.WhenAll(writers);
        service.Start();
        await WaitUntilServing(client);

        // The clients retry every command whose answer they did not get, with the same request_id.
        foreach (var request in lost.Values)
        {
            try { await client.PlanMilestoneAsync(request); acknowledged[request.RequestId] = request; }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument) { }   // weights used up by then
        }

        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        var planned = history.Where(e => e.MilestonePlanned is not null).GroupBy(e => e.Envelope.CausationId).ToDictionary(g => g.Key, g => g.Count());
        Assert.NotEmpty(lost);   // the kill did cut answers off: the retries below were exercised
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
}
