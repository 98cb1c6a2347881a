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
            // The searched fields are columns of their own (indexed there), not indexes on the JSON: no index
            // reads the document, so a milestone update can rewrite it as a HOT update, without touching an index —
            // when its page has room for the new version: pages are filled to 70 % (a full page sent 79-82 % of the
            // rewrites to another page, each with six index entries and more WAL: BENCHMARKS.md, 1).
            options.Schema.For<Project>()
                .FillFactor(70)
                .Duplicate(p => p.Code, configure: index => index.IsUnique = true)
                .Duplicate(p => p.Status)
                .Duplicate(p => p.Category)
                .Duplicate(p => p.District)
                .Duplicate(p => p.Owner);
        });
        var app = builder.Build();
        app.MapService<ProjectsGrpcService>(Regeneration.Projects.V1.ProjectService.Descriptor);
        return app;
    }
}
