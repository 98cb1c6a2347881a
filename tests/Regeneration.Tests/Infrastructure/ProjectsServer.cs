// A Projects service with a database of its own, shared by the tests of one class.
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class ProjectsServer : IAsyncLifetime
{
    ServiceHost host = null!;
    public GrpcChannel Channel => host.Channel;
    public string Address => host.Address;
    public ProjectService.ProjectServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        host = await ServiceHost.StartAsync(ProjectsApp.Build, await PostgresServer.CreateDatabaseAsync());
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

    public async Task DisposeAsync() => await host.DisposeAsync();
}
