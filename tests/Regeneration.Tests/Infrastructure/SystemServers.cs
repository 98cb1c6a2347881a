// All three services on one database (each in its own schema), wired as in production. With Proxied,
// every call between services crosses a FaultProxy the test controls (Links["projects"] carries Budget's
// and KPI's calls to Projects, Links["budget"] KPI's calls to Budget); tests call the services directly.
using Regeneration.Budget;
using Regeneration.Budget.V1;
using Regeneration.Kpi;
using Regeneration.Kpi.V1;
using Regeneration.Projects;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public sealed class SystemServers : IAsyncLifetime
{
    readonly Dictionary<string, FaultProxy> links = [];

    public bool Proxied { get; init; }
    public ServiceHost Projects { get; private set; } = null!;
    public ServiceHost Budget { get; private set; } = null!;
    public ServiceHost Kpi { get; private set; } = null!;
    public ProjectService.ProjectServiceClient ProjectsClient { get; private set; } = null!;
    public BudgetService.BudgetServiceClient BudgetClient { get; private set; } = null!;
    public KpiService.KpiServiceClient KpiClient { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    public IReadOnlyDictionary<string, FaultProxy> Links => links;

    public async Task InitializeAsync()
    {
        var database = ConnectionString = await PostgresServer.CreateDatabaseAsync();
        Projects = await ServiceHost.StartAsync(ProjectsApp.Build, database);
        var projects = Route("projects", Projects);
        Budget = await ServiceHost.StartAsync(BudgetApp.Build, database, $"Services:Projects={projects}");
        Kpi = await ServiceHost.StartAsync(KpiApp.Build, database, $"Services:Projects={projects}",
            $"Services:Budget={Route("budget", Budget)}", "Kpi:SyncIntervalMilliseconds=250");
        ProjectsClient = new ProjectService.ProjectServiceClient(Projects.Admin);
        BudgetClient = new BudgetService.BudgetServiceClient(Budget.Admin);
        KpiClient = new KpiService.KpiServiceClient(Kpi.Admin);
    }

    /// <summary>The address other services use for this one: the service itself, or a proxy in front of it.</summary>
    string Route(string name, ServiceHost service)
    {
        if (!Proxied) return service.Address;
        var proxy = links[name] = new FaultProxy(service.Address);
        return proxy.Address;
    }

    public async Task DisposeAsync()
    {
        await Kpi.DisposeAsync();
        await Budget.DisposeAsync();
        await Projects.DisposeAsync();
        foreach (var link in links.Values) await link.DisposeAsync();
    }
}
