// The KPI service's composition: its Marten schema (catalogue, per-project indicators, the input
// cache), the Projects and Budget clients, the input sync, the catalogue seed, the gRPC service.
using JasperFx.Events.Projections;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Kpi;

public static class KpiApp
{
    public const string Schema = "kpi";

    /// <summary>Configuration: ConnectionStrings:Postgres, Services:Projects, Services:Budget, Maturity:*, Kpi:*.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = ServiceHosting.CreateBuilder<KpiGrpcService>(args, Schema, options =>
        {
            options.Projections.Snapshot<Indicator>(SnapshotLifecycle.Inline);
            options.Schema.For<Indicator>().UniqueIndex(i => i.Code);
            options.Projections.Snapshot<ProjectIndicators>(SnapshotLifecycle.Inline);
            options.Schema.For<CachedState>().Index(c => c.Feed);
            options.Schema.For<FeedCheckpoint>();
        });
        var services = builder.Services;
        services.Configure<MaturityOptions>(builder.Configuration.GetSection("Maturity"));
        services.Configure<KpiOptions>(builder.Configuration.GetSection("Kpi"));
        services.AddServiceClient<ProjectService.ProjectServiceClient>("Projects");
        services.AddServiceClient<BudgetService.BudgetServiceClient>("Budget");
        services.AddSingleton<InputSync>();
        services.AddSingleton<CurrentAnswers>();
        services.AddSingleton<Portfolio>();   // keeps the inputs it built last (incremental)
        services.AddHostedService<CatalogueSeed>();
        services.AddHostedService<InputSyncService>();
        var app = builder.Build();
        app.MapService<KpiGrpcService>(Regeneration.Kpi.V1.KpiService.Descriptor);
        return app;
    }
}

/// <summary>Puts the seeded indicators in the catalogue once (fixed request ids: a restart writes nothing).</summary>
sealed class CatalogueSeed(CommandRunner commands) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var context = new RequestContext("system:catalogue-seed", "catalogue-seed");
        foreach (var indicator in IndicatorCatalogue.Seed)
        {
            var request = new Regeneration.Kpi.V1.DefineIndicatorRequest { RequestId = $"catalogue:{indicator.Code}" };
            await commands.Start<Indicator>(new CommandEnvelope(request.RequestId, null, context, request),
                Indicator.StreamId(indicator.Code), _ => Task.CompletedTask, () => new object[] { indicator });
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The current inputs and the answers computed from them, kept until an input moves.</summary>
public sealed class CurrentAnswers
{
    public Memo<IReadOnlyList<ProjectInput>> Inputs { get; } = new();
    public Memo<Regeneration.Kpi.V1.GetKpiRollupResponse> Rollups { get; } = new();
    public Memo<MaturityResult> Maturities { get; } = new();
    /// <summary>The last maturity asked as of a past instant.</summary>
    public Memo<MaturityResult> PastMaturities { get; } = new();

    /// <summary>One maturity computed at a time (the gaps weigh every open milestone and target of the portfolio): on
    /// two cores more at once only share the CPU, and each would hold its own copy of the inputs (a forecast's are made
    /// when its turn comes) — with the as-of reads streamed, KPI's peak at 10,000 projects went from 379 to 327 MB.</summary>
    public SemaphoreSlim Computing { get; } = new(1, 1);
}
