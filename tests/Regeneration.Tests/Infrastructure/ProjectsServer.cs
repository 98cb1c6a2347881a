// A Projects service with a database of its own, shared by the tests of one class.
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class ProjectsServer : IAsyncLifetime
{
    public ServiceHost Host { get; private set; } = null!;
    public GrpcChannel Channel => Host.Channel;
    public string Address => Host.Address;
    /// <summary>The service's database (for what only PostgreSQL shows, e.g. which transaction wrote a row).</summary>
    public string ConnectionString { get; private set; } = "";
    /// <summary>Calls as an admin.</summary>
    public ProjectService.ProjectServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync();
        Host = await ServiceHost.StartAsync(ProjectsApp.Build, ConnectionString);
        Client = new ProjectService.ProjectServiceClient(Host.Admin);
    }

    /// <summary>A client calling as the project manager of that name, with a correlation id if given.</summary>
    public ProjectService.ProjectServiceClient ClientAs(string manager, string correlationId = "") =>
        new(Host.As(TestTokens.Manager(manager)).Intercept(metadata =>
        {
            if (correlationId.Length > 0) metadata.Add("x-correlation-id", correlationId);
            return metadata;
        }));

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
