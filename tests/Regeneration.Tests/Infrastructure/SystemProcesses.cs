// The whole system as four real processes (Projects, Budget, KPI, gateway) on one database, wired as in
// production: for the soak and the benchmarks, where each process's memory must be its own.
namespace Regeneration.Tests.Infrastructure;

public sealed class SystemProcesses : IDisposable
{
    SystemProcesses(ServiceProcess projects, ServiceProcess budget, ServiceProcess kpi, ServiceProcess gateway)
    {
        Projects = projects;
        Budget = budget;
        Kpi = kpi;
        Gateway = gateway;
        All = new Dictionary<string, ServiceProcess> { ["projects"] = projects, ["budget"] = budget, ["kpi"] = kpi, ["gateway"] = gateway };
    }

    public ServiceProcess Projects { get; }
    public ServiceProcess Budget { get; }
    public ServiceProcess Kpi { get; }
    public ServiceProcess Gateway { get; }
    public IReadOnlyDictionary<string, ServiceProcess> All { get; }

    public static async Task<SystemProcesses> StartAsync(string connectionString)
    {
        var db = $"ConnectionStrings:Postgres={connectionString}";
        var projects = ServiceProcess.Start("Projects", db);
        await projects.WaitUntilHealthy();
        var budget = ServiceProcess.Start("Budget", db, $"Services:Projects={projects.Address}");
        var kpi = ServiceProcess.Start("Kpi", db, $"Services:Projects={projects.Address}", $"Services:Budget={budget.Address}");
        await budget.WaitUntilHealthy();
        await kpi.WaitUntilHealthy();
        var gateway = ServiceProcess.Start("Gateway", $"Services:Projects={projects.Address}", $"Services:Budget={budget.Address}",
            $"Services:Kpi={kpi.Address}");
        await gateway.WaitUntilHealthy();
        return new SystemProcesses(projects, budget, kpi, gateway);
    }

    public void Dispose()
    {
        foreach (var process in All.Values) process.Dispose();
    }
}
