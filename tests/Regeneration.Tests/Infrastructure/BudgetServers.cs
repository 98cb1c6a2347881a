// The Budget service and the Projects service it asks, on one database (each in its own schema).
using Regeneration.Budget;
using Regeneration.Budget.V1;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class BudgetServers : IAsyncLifetime
{
    public ServiceHost Projects { get; private set; } = null!;
    public ServiceHost Budget { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    public ProjectService.ProjectServiceClient ProjectsClient { get; private set; } = null!;
    public BudgetService.BudgetServiceClient BudgetClient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync();
        Projects = await ServiceHost.StartAsync(ProjectsApp.Build, ConnectionString);
        Budget = await ServiceHost.StartAsync(BudgetApp.Build, ConnectionString, $"Services:Projects={Projects.Address}");
        ProjectsClient = new ProjectService.ProjectServiceClient(Projects.Admin);
        BudgetClient = new BudgetService.BudgetServiceClient(Budget.Admin);
    }

    public async Task DisposeAsync()
    {
        await Budget.DisposeAsync();
        await Projects.DisposeAsync();
    }
}
