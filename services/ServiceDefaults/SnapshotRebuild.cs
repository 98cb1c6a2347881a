// Rebuilds a service's read models (its inline snapshots) from its events: after a change to how a snapshot is
// folded, or to repair one. `dotnet Regeneration.<Service>.dll --rebuild` runs it instead of serving (with the
// service stopped: commands during a rebuild would race it); the benchmarks measure it (BENCHMARKS.md, rebuild).
using System.Reflection;
using JasperFx.Events;
using JasperFx.Events.Aggregation;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Marten.Storage;
using Npgsql;

namespace Regeneration.ServiceDefaults;

public static class SnapshotRebuild
{
    /// <summary>Rebuilds every inline snapshot of the store; returns their names.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        // Current statistics first: right after a bulk import the planner has none for the events it reads
        // (measured at 10,000 projects, one run each: the KPI rebuild 3.9 s without, 3.3 s with).
        var schema = store.Options.Events.DatabaseSchemaName;
        await using (var session = store.QuerySession())
            await session.ExecuteAsync(new NpgsqlCommand($"analyze {schema}.mt_events"), cancellationToken);

        var snapshots = ((DocumentStore)store).Options.Projections.All.Where(p => p.Lifecycle == ProjectionLifecycle.Inline)
            .Select(p => (p.Name, Snapshot: p as IAggregateProjection is { Scope: AggregationScope.SingleStream } snapshot && snapshot.IdentityType == typeof(Guid)
                ? snapshot : throw new NotSupportedException($"{p.Name}: only snapshots of one stream (by Guid) are rebuilt")))
            .ToList();
        var fold = typeof(SnapshotRebuild).GetMethod(nameof(FoldAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
        foreach (var (_, snapshot) in snapshots)
            await (Task)fold.MakeGenericMethod(snapshot.AggregateType).Invoke(null, [store, snapshot.AllEventTypes, cancellationToken])!;
        return [.. snapshots.Select(s => s.Name)];
    }

    /// <summary>
    /// One snapshot type folded again from its events in a single pass: its events read once, in order, each applied
    /// by the snapshot's own aggregator (the Create/Apply methods Marten runs inline), every snapshot of the type held
    /// in memory at once (windows would bound that for a much larger store), then all the documents replaced in one
    /// transaction: a rebuild that fails leaves the snapshots as they were. Marten's daemon rebuilt at 11–18 % of the
    /// speed of reading the events, waiting on PostgreSQL page by page, and deleted the documents before it began
    /// (BENCHMARKS.md, rebuild). COPY would write faster (10,000 projects in 1.0 s instead of 1.5–1.8) but not in the
    /// same transaction as the delete.
    /// </summary>
    static async Task FoldAsync<T>(IDocumentStore store, Type[] eventTypes, CancellationToken cancellationToken) where T : class
    {
        var options = ((DocumentStore)store).Options;
        var events = (EventGraph)options.Events;
        var serializer = options.Serializer();
        var aggregator = options.Projections.AggregatorFor<T>();
        var mappings = eventTypes.Select(events.EventMappingFor).ToDictionary(m => m.EventTypeName);

        var folded = new Dictionary<Guid, (T? Snapshot, long Version)>();
        await using (var query = store.QuerySession())
        await using (var connection = store.Storage.Database.CreateConnection(ConnectionUsage.Read))
        {
            await connection.OpenAsync(cancellationToken);
            await using var read = new NpgsqlCommand(
                "select stream_id, version, seq_id, timestamp, id, correlation_id, causation_id, user_name, type, data " +
                $"from {events.DatabaseSchemaName}.mt_events where type = any(@types) and is_archived = false order by seq_id", connection);
            read.Parameters.AddWithValue("types", mappings.Keys.ToArray());
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            var one = new IEvent[1];
            while (await reader.ReadAsync(cancellationToken))
            {
                var mapping = mappings[reader.GetString(8)];
                var e = mapping.Wrap(serializer.FromJson(mapping.DocumentType, reader, 9));
                e.StreamId = reader.GetGuid(0);
                e.Version = reader.GetInt64(1);
                e.Sequence = reader.GetInt64(2);
                e.Timestamp = reader.GetFieldValue<DateTimeOffset>(3);
                e.Id = reader.GetGuid(4);
                e.CorrelationId = reader.IsDBNull(5) ? null : reader.GetString(5);
                e.CausationId = reader.IsDBNull(6) ? null : reader.GetString(6);
                e.UserName = reader.IsDBNull(7) ? null : reader.GetString(7);
                one[0] = e;
                var snapshot = await aggregator.BuildAsync(one, query, folded.GetValueOrDefault(e.StreamId).Snapshot, cancellationToken);
                folded[e.StreamId] = (snapshot, e.Version);
            }
        }

        var snapshots = folded.Where(f => f.Value.Snapshot is not null).ToList();
        await using var session = store.LightweightSession();
        session.DeleteWhere<T>(_ => true);
        session.Insert(snapshots.Select(f => f.Value.Snapshot!));
        // Each document's revision is its stream's version, as the inline projection writes it (an insert writes 1).
        session.QueueSqlCommand($"update {store.Options.FindOrResolveDocumentType(typeof(T)).TableName.QualifiedName} d set mt_version = r.version " +
            "from unnest(?::uuid[], ?::bigint[]) as r(id, version) where d.id = r.id",
            snapshots.Select(f => f.Key).ToArray(), snapshots.Select(f => f.Value.Version).ToArray());
        await session.SaveChangesAsync(cancellationToken);
    }
}
