// The Budget service's composition: its Marten schema, the Projects client, the gRPC service.
using JasperFx.Events.Projections;
using Marten;
using Microsoft.AspNetCore.Builder;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

public static class BudgetApp
{
    public const string Schema = "budget";

    /// <summary>Configuration: ConnectionStrings:Postgres, Services:Projects (the Projects service's URL).</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = ServiceHosting.CreateBuilder<BudgetGrpcService>(args, Schema, options =>
        {
            options.Projections.Snapshot<ProjectBudget>(SnapshotLifecycle.Inline);
        });
        builder.Services.AddServiceClient<ProjectService.ProjectServiceClient>("Projects");
        builder.Services.AddTransient<ProjectDirectory>();
        builder.Services.AddSingleton<PortfolioCache>();
        builder.Services.AddSingleton<ProjectListings>();
        var app = builder.Build();
        app.MapService<BudgetGrpcService>(Regeneration.Budget.V1.BudgetService.Descriptor);
        return app;
    }
}
