// All three services on one database (each in its own schema), wired as in production.
using Regeneration.Budget;
using Regeneration.Budget.V1;
using Regeneration.Kpi;
using Regeneration.Kpi.V1;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class SystemServers : IAsyncLifetime
{
    public ServiceHost Projects { get; private set; } = null!;
    public ServiceHost Budget { get; private set; } = null!;
    public ServiceHost Kpi { get; private set; } = null!;
    public ProjectService.ProjectServiceClient ProjectsClient { get; private set; } = null!;
    public BudgetService.BudgetServiceClient BudgetClient { get; private set; } = null!;
    public KpiService.KpiServiceClient KpiClient { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var database = ConnectionString = await PostgresServer.CreateDatabaseAsync();
        Projects = await ServiceHost.StartAsync(ProjectsApp.Build, database);
        Budget = await ServiceHost.StartAsync(BudgetApp.Build, database, $"Services:Projects={Projects.Address}");
        Kpi = await ServiceHost.StartAsync(KpiApp.Build, database, $"Services:Projects={Projects.Address}",
            $"Services:Budget={Budget.Address}", "Kpi:SyncIntervalMilliseconds=250");
        ProjectsClient = new ProjectService.ProjectServiceClient(Projects.Admin);
        BudgetClient = new BudgetService.BudgetServiceClient(Budget.Admin);
        KpiClient = new KpiService.KpiServiceClient(Kpi.Admin);
    }

    public async Task DisposeAsync()
    {
        await Kpi.DisposeAsync();
        await Budget.DisposeAsync();
        await Projects.DisposeAsync();
    }
}
