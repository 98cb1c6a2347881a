// Rebuilds a service's read models (its inline snapshots) from its events: after a change to how a snapshot is
// folded, or to repair one. `dotnet Regeneration.<Service>.dll --rebuild` runs it instead of serving (with the
// service stopped: commands during a rebuild would race it); the benchmarks measure it (BENCHMARKS.md, rebuild).
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace Regeneration.ServiceDefaults;

public static class SnapshotRebuild
{
    /// <summary>How the daemon writes during a rebuild (inline snapshots use these options for nothing else): each
    /// snapshot once per flush window of 5,000 snapshots instead of once per page of 500 events (measured: the
    /// rebuild 38 % faster at 3,000 projects; bigger pages as well made the KPI rebuild slower).</summary>
    public static void Tuned(AsyncOptions options)
    {
        options.RebuildFlushThreshold = 5_000;
    }

    /// <summary>Rebuilds every inline snapshot of the store; returns their names.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        // Current statistics first. Right after a bulk import the planner has none: it takes the events table
        // for a few rows and, for every page of 500 events the rebuild reads, sorts all the events after it
        // (measured: 40 ms a page instead of 0.4 ms, the rebuild 3× slower).
        var schema = store.Options.Events.DatabaseSchemaName;
        await using (var session = store.QuerySession())
            await session.ExecuteAsync(new NpgsqlCommand($"analyze {schema}.mt_events; analyze {schema}.mt_streams"), cancellationToken);

        var snapshots = ((DocumentStore)store).Options.Projections.All
            .Where(p => p.Lifecycle == ProjectionLifecycle.Inline).Select(p => p.Name).ToList();
        using var daemon = await store.BuildProjectionDaemonAsync();
        foreach (var name in snapshots)
            await daemon.RebuildProjectionAsync(name, TimeSpan.FromMinutes(30), cancellationToken);
        return snapshots;
    }
}
