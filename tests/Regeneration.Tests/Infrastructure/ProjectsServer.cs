// A real Projects service for a test class: the real composition (ProjectsApp), Kestrel on a free
// loopback port, HTTP/2, its own database; tests talk to it through a real gRPC channel.
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class ProjectsServer : IAsyncLifetime
{
    WebApplication? app;
    public GrpcChannel Channel { get; private set; } = null!;
    public ProjectService.ProjectServiceClient Client { get; private set; } = null!;
    public string Address { get; private set; } = "";
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync();
        app = ProjectsApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={ConnectionString}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        Address = app.Urls.First();
        Channel = GrpcChannel.ForAddress(Address);
        Client = new ProjectService.ProjectServiceClient(Channel);
    }

    /// <summary>A client that sends the given actor and correlation id with every call.</summary>
    public ProjectService.ProjectServiceClient ClientAs(string actor, string correlationId = "") =>
        new(Channel.Intercept(metadata =>
        {
            metadata.Add("x-actor", actor);
            if (correlationId.Length > 0) metadata.Add("x-correlation-id", correlationId);
            return metadata;
        }));

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (app is not null) await app.DisposeAsync();
    }
}
