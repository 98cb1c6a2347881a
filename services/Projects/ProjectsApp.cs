// The Projects service's composition: its Marten schema, read model indexes and gRPC service.
using Marten;
using JasperFx.Events.Projections;
using Microsoft.AspNetCore.Builder;
using Regeneration.ServiceDefaults;

namespace Regeneration.Projects;

public static class ProjectsApp
{
    public const string Schema = "projects";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceHosting.CreateBuilder<ProjectsGrpcService>(args, Schema, options =>
        {
            // The project snapshot is written in the same transaction as its events: reads and the
            // code's uniqueness are always current.
            options.Projections.Snapshot<Project>(SnapshotLifecycle.Inline);
            options.Schema.For<Project>()
                .UniqueIndex(p => p.Code)
                .Index(p => p.Status)
                .Index(p => p.Category)
                .Index(p => p.District)
                .Index(p => p.Owner);
        });
        var app = builder.Build();
        app.MapService<ProjectsGrpcService>(Regeneration.Projects.V1.ProjectService.Descriptor);
        return app;
    }
}
