// The whole system in the test process: the three services and the REST gateway, each on its own
// loopback port over real HTTP, with the demo portfolio loaded through the gRPC API. With Proxied, the
// gateway reaches each service through a FaultProxy (GatewayLinks) and the services reach each other
// through theirs (System.Links).
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Regeneration.DemoData;
using Regeneration.Gateway;

namespace Regeneration.Tests.Infrastructure;

public class GatewayServers : IAsyncLifetime
{
    SystemServers system = null!;
    readonly Dictionary<string, FaultProxy> gatewayLinks = [];
    WebApplication? gateway;

    public SystemServers System => system;
    public IReadOnlyDictionary<string, FaultProxy> GatewayLinks => gatewayLinks;

    /// <summary>Whether every call between the parts crosses a FaultProxy.</summary>
    protected virtual bool Proxied => false;
    public string GatewayAddress { get; private set; } = "";
    public IServiceProvider GatewayServices => gateway!.Services;

    /// <summary>Gateway settings a fixture may change, as "Key=Value".</summary>
    protected virtual string[] GatewaySettings => ["RateLimits:PermitsPerSecond=1000", "RateLimits:Burst=2000"];

    public async Task InitializeAsync()
    {
        system = new SystemServers { Proxied = Proxied };
        await system.InitializeAsync();
        await DemoPortfolio.SeedAsync(system.ProjectsClient, system.BudgetClient, system.KpiClient);
        // The KPI service follows the other two through their change feeds: wait (bounded) until it has
        // every project, so that no test starts from a rollup that is still catching up.
        var projects = (await system.ProjectsClient.ListProjectsAsync(new() { Page = new() { PageSize = 500 } })).Projects.Count;
        for (var attempt = 0; attempt < 150; attempt++)
        {
            var rollup = await system.KpiClient.GetKpiRollupAsync(new() { Refresh = true });
            if (rollup.Projects.Count == projects && !rollup.Freshness.Stale) break;
            await Task.Delay(200);
        }
        gateway = await StartGateway(GatewaySettings);
        GatewayAddress = gateway.Urls.First();
    }

    public async Task<WebApplication> StartGateway(params string[] settings)
    {
        var app = GatewayApp.Build([
            "--urls=http://127.0.0.1:0", "--environment=Development", "--Logging:LogLevel:Default=Warning",
            $"--Services:Projects={Route("projects", system.Projects)}", $"--Services:Budget={Route("budget", system.Budget)}",
            $"--Services:Kpi={Route("kpi", system.Kpi)}",
            .. settings.Select(s => "--" + s),
        ]);
        await app.StartAsync();
        return app;
    }

    string Route(string name, ServiceHost service)
    {
        if (!Proxied) return service.Address;
        if (!gatewayLinks.TryGetValue(name, out var proxy)) gatewayLinks[name] = proxy = new FaultProxy(service.Address);
        return proxy.Address;
    }

    /// <summary>An HTTP client for the gateway, with a bearer token when given.</summary>
    public HttpClient Http(string? token = null, string? address = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(address ?? GatewayAddress), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async Task DisposeAsync()
    {
        if (gateway is not null) await gateway.DisposeAsync();
        foreach (var link in gatewayLinks.Values) await link.DisposeAsync();
        await system.DisposeAsync();
    }
}

/// <summary>A gateway whose breakers open after a couple of failures and close again after one second.</summary>
public class FaultyGatewayServers : GatewayServers
{
    protected override string[] GatewaySettings =>
    [
        "Resilience:AttemptTimeoutSeconds=1", "Resilience:TotalTimeoutSeconds=3", "Resilience:MaxRetries=1",
        "Resilience:BreakSeconds=1", "Resilience:MinimumThroughput=2", "Resilience:FailureRatio=0.5",
        "RateLimits:PermitsPerSecond=1000", "RateLimits:Burst=2000",
    ];
}

/// <summary>The faulty gateway's settings, with a FaultProxy on every link between the parts.</summary>
public sealed class ProxiedGatewayServers : FaultyGatewayServers
{
    protected override bool Proxied => true;
}
