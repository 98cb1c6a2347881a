// Rebuilds a service's read models (its inline snapshots) from its events: after a change to how a snapshot is
// folded, or to repair one. `dotnet Regeneration.<Service>.dll --rebuild` runs it instead of serving (with the
// service stopped: commands during a rebuild would race it); the benchmarks measure it (BENCHMARKS.md, rebuild).
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using JasperFx.Events;
using JasperFx.Events.Aggregation;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Marten.Internal.Storage;
using Marten.Storage;
using Npgsql;

namespace Regeneration.ServiceDefaults;

/// <summary>
/// Every inline snapshot of a store folded again in one pass over its events, on two threads: one reads the events in
/// order (by the primary key, a plan that needs no statistics) and deserialises them, the other makes them events and
/// applies each stream's run of them with its snapshot's own aggregator (the Create/Apply methods Marten runs inline). All the snapshots
/// are held in memory at once (windows would bound that for a much larger store). Then, in one transaction, each
/// type's new documents are copied (COPY) into a temporary table and replace the old ones, each given its revision
/// (its stream's version, as the inline projection writes it) on the way: a rebuild that fails leaves every snapshot
/// as it was. Marten's own rebuild (its async daemon) reached 11–18 % of the speed of reading the events and deleted the
/// documents before it began (BENCHMARKS.md, rebuild).
/// </summary>
public static class SnapshotRebuild
{
    /// <summary>Rebuilds every inline snapshot of the store; returns their names.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        var snapshots = ((DocumentStore)store).Options.Projections.All.Where(p => p.Lifecycle == ProjectionLifecycle.Inline)
            .Select(p => p as IAggregateProjection is { Scope: AggregationScope.SingleStream } snapshot && snapshot.IdentityType == typeof(Guid)
                ? snapshot : throw new NotSupportedException($"{p.Name}: only snapshots of one stream (by Guid) are rebuilt"))
            .ToList();
        var folds = snapshots.Select(s => (IFold)Activator.CreateInstance(typeof(Fold<>).MakeGenericType(s.AggregateType), store)!).ToList();
        // Which folds apply each event type (a stream's events all go to its own snapshot's fold).
        var route = snapshots.SelectMany(s => s.AllEventTypes).Distinct()
            .ToDictionary(type => type, type => folds.Where((_, i) => snapshots[i].AllEventTypes.Contains(type)).ToArray());

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batches = Channel.CreateBounded<Row[]>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        // Event metadata (time, id, correlation, causation, user) only for a snapshot whose conventional methods
        // (Create, Apply, ShouldDelete, on the snapshot or its projection) take IEvent<T>: ours take the event's data
        // alone, and reading the metadata made KPI's rebuild 2.93–3.00 s instead of 2.37–2.80 (BENCHMARKS.md, rebuild).
        var metadata = snapshots.SelectMany(s => new[] { s.AggregateType, s.GetType() })
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static))
            .Where(m => m.Name is "Create" or "Apply" or "ShouldDelete")
            .SelectMany(m => m.GetParameters()).Any(p => typeof(IEvent).IsAssignableFrom(p.ParameterType));
        var mappings = route.Keys.Select(((EventGraph)store.Options.Events).EventMappingFor).ToArray();
        var tenant = ((DocumentStore)store).Options.Tenancy.Default.TenantId;
        var makers = mappings.Select(m => (EventMaker)Activator.CreateInstance(typeof(EventMaker<>).MakeGenericType(m.DocumentType), m, tenant)!).ToArray();
        var reading = Task.Factory.StartNew(() => Read(store, mappings, metadata, batches.Writer, failed.Token),
            failed.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await using var query = store.QuerySession();
            var run = new List<IEvent>();
            await foreach (var rows in batches.Reader.ReadAllAsync(cancellationToken)) Apply(rows, makers, route, run, query, cancellationToken);
        }
        finally
        {
            failed.Cancel();   // a failed fold stops the reader too
            await reading.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        await reading;

        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var fold in folds) await fold.ReplaceAsync(transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return [.. snapshots.Select(s => s.AggregateType.Name)];
    }

    /// <summary>A batch made events and applied, each stream's run of consecutive events (a command's, an import's) in
    /// one call. Synchronous and compiled optimised at once, as <see cref="Read"/>: a rebuild runs for seconds, most of
    /// them in these two loops (BENCHMARKS.md, rebuild).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Apply(Row[] rows, EventMaker[] makers, Dictionary<Type, IFold[]> route, List<IEvent> run, IQuerySession query, CancellationToken cancellationToken)
    {
        // Made events here, not on the reader's thread: the reader is the slower of the two.
        var batch = new IEvent[rows.Length];
        for (var i = 0; i < rows.Length; i++) batch[i] = rows[i].ToEvent(makers[rows[i].Type]);
        for (var i = 0; i < batch.Length;)
        {
            var (stream, targets) = (batch[i].StreamId, route[batch[i].EventType]);
            run.Clear();
            for (; i < batch.Length && batch[i].StreamId == stream && route[batch[i].EventType] == targets; i++) run.Add(batch[i]);
            foreach (var fold in targets) fold.Apply(run, query, cancellationToken);
        }
    }

    /// <summary>The events of the given types, in order, deserialised, in batches (on its own thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Read(IDocumentStore store, EventMapping[] mappings, bool metadata, ChannelWriter<Row[]> batches, CancellationToken cancellationToken)
    {
        try
        {
            var serializer = store.Options.Serializer();
            using var connection = store.Storage.Database.CreateConnection(ConnectionUsage.Read);
            connection.Open();
            using var transaction = connection.BeginTransaction();
            // In seq_id order by the primary key, whatever the statistics say: right after a bulk import there are
            // none, and the planner would sort the whole table instead. array_position: each row's type as its
            // index in mappings (no string to allocate and look up).
            using (var plan = new NpgsqlCommand("set local enable_sort = off", connection, transaction)) plan.ExecuteNonQuery();
            using var read = new NpgsqlCommand(
                $"select stream_id, version, seq_id, array_position(@types, type), data{(metadata ? ", timestamp, id, correlation_id, causation_id, user_name" : "")} " +
                $"from {store.Options.Events.DatabaseSchemaName}.mt_events where type = any(@types) and is_archived = false order by seq_id", connection, transaction);
            read.Parameters.AddWithValue("types", mappings.Select(m => m.EventTypeName).ToArray());
            using var reader = read.ExecuteReader();
            var batch = new List<Row>(BatchSize);
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var type = reader.GetInt32(3) - 1;
                var row = new Row(type, serializer.FromJson(mappings[type].DocumentType, reader, 4), reader.GetGuid(0), reader.GetInt64(1), reader.GetInt64(2));
                if (metadata)
                    row = row with
                    {
                        Metadata = new(reader.GetFieldValue<DateTimeOffset>(5), reader.GetGuid(6), reader.IsDBNull(7) ? null : reader.GetString(7),
                            reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9)),
                    };
                batch.Add(row);
                if (batch.Count == BatchSize) Write();
            }
            if (batch.Count > 0) Write();
            batches.Complete();

            void Write()
            {
                var full = batch.ToArray();
                if (!batches.TryWrite(full)) batches.WriteAsync(full, cancellationToken).AsTask().GetAwaiter().GetResult();
                batch.Clear();
            }
        }
        catch (Exception e)
        {
            batches.Complete(e);
            throw;
        }
    }

    /// <summary>An event as read: its type (an index into the mappings), its data deserialised, not yet wrapped.</summary>
    readonly record struct Row(int Type, object Data, Guid StreamId, long Version, long Sequence, Metadata? Metadata = null)
    {
        public IEvent ToEvent(EventMaker maker)
        {
            var e = maker.Make(Data);
            (e.StreamId, e.Version, e.Sequence) = (StreamId, Version, Sequence);
            if (Metadata is { } m) (e.Timestamp, e.Id, e.CorrelationId, e.CausationId, e.UserName) = (m.Timestamp, m.Id, m.CorrelationId, m.CausationId, m.UserName);
            return e;
        }
    }

    /// <summary>
    /// An event as Marten's <c>EventMapping.Wrap</c> makes it (its data, its type's names, the tenant), less the random
    /// id <c>Event&lt;T&gt;</c>'s constructor draws from the kernel for each one: a rebuild never reads it (the real id
    /// is read when a snapshot uses metadata), and drawing 820,000 of them was a tenth of KPI's rebuild (BENCHMARKS.md,
    /// rebuild). Made uninitialised, as JasperFx's generated evolvers make a snapshot without a Create method.
    /// </summary>
    abstract class EventMaker
    {
        public abstract IEvent Make(object data);
    }

    sealed class EventMaker<T>(EventMapping mapping, string tenant) : EventMaker where T : notnull
    {
        public override IEvent Make(object data)
        {
            var e = (Event<T>)RuntimeHelpers.GetUninitializedObject(typeof(Event<T>));
            (e.Data, e.EventTypeName, e.DotNetTypeName, e.TenantId) = ((T)data, mapping.EventTypeName, mapping.DotNetTypeName, tenant);
            return e;
        }
    }

    sealed record Metadata(DateTimeOffset Timestamp, Guid Id, string? CorrelationId, string? CausationId, string? UserName);

    const int BatchSize = 1000;

    interface IFold
    {
        void Apply(IReadOnlyList<IEvent> run, IQuerySession query, CancellationToken cancellationToken);
        Task ReplaceAsync(NpgsqlTransaction transaction, CancellationToken cancellationToken);
    }

    /// <summary>One snapshot type's documents, folded in memory, then written in place of the old ones.</summary>
    sealed class Fold<T>(IDocumentStore store) : IFold where T : class
    {
        readonly IAggregator<T, IQuerySession> aggregator = ((DocumentStore)store).Options.Projections.AggregatorFor<T>();
        readonly Dictionary<Guid, (T Snapshot, long Version)> folded = [];

        public void Apply(IReadOnlyList<IEvent> run, IQuerySession query, CancellationToken cancellationToken)
        {
            var stream = run[0].StreamId;
            var building = aggregator.BuildAsync(run, query, folded.GetValueOrDefault(stream).Snapshot, cancellationToken);
            // Done already for a fold without I/O (ours: Create and Apply); one that awaits would hold this thread, not fail.
            var snapshot = building.IsCompletedSuccessfully ? building.Result : building.AsTask().GetAwaiter().GetResult();
            if (snapshot is null) folded.Remove(stream);
            else folded[stream] = (snapshot, run[^1].Version);
        }

        public async Task ReplaceAsync(NpgsqlTransaction transaction, CancellationToken cancellationToken)
        {
            var connection = transaction.Connection!;
            var table = store.Options.FindOrResolveDocumentType(typeof(T)).TableName;
            var loader = ((MartenDocumentProvider<T>)store.Storage.Database.Providers.StorageFor<T>()).BulkLoader;
            async Task Execute(string sql, params object[] parameters)
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter });
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await Execute(loader.CreateTempTableForCopying());   // {table}_temp, for this connection
            await loader.LoadIntoTempTableAsync(((DocumentStore)store).Options.Tenancy.Default, store.Options.Serializer(), connection,
                folded.Values.Select(f => f.Snapshot), cancellationToken);
            // The table's columns, its revision (mt_version) taken from the stream's version as the inline projection
            // writes it (the loader writes 1, as an insert does), in the insert itself: no second write of the copy.
            var columns = new List<string>();
            await using (var read = new NpgsqlCommand("select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum", connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = table.QualifiedName });
                await using var names = await read.ExecuteReaderAsync(cancellationToken);
                while (await names.ReadAsync(cancellationToken)) columns.Add($"\"{names.GetString(0)}\"");
            }
            await Execute($"delete from {table.QualifiedName}");
            await Execute($"insert into {table.QualifiedName} ({string.Join(", ", columns)}) " +
                $"select {string.Join(", ", columns.Select(c => c == "\"mt_version\"" ? "r.version" : $"t.{c}"))} " +
                $"from {table.Name}_temp t join unnest($1::uuid[], $2::bigint[]) as r(id, version) on t.id = r.id",
                folded.Keys.ToArray(), folded.Values.Select(f => f.Version).ToArray());
            await Execute($"drop table {table.Name}_temp");
        }
    }
}
