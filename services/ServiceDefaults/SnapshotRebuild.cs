// Rebuilds a service's read models (its inline snapshots) from its events: after a change to how a snapshot is
// folded, or to repair one. `dotnet Regeneration.<Service>.dll --rebuild` runs it instead of serving (with the
// service stopped: commands during a rebuild would race it); the benchmarks measure it (BENCHMARKS.md, rebuild).
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using JasperFx.Events;
using JasperFx.Events.Aggregation;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Marten.Internal.Storage;
using Marten.Schema.BulkLoading;
using Marten.Storage;
using Npgsql;

namespace Regeneration.ServiceDefaults;

/// <summary>
/// Every inline snapshot of a store folded again in one pass over its events, stream by stream (read in stream order,
/// by the index on stream and version: a plan that needs no statistics): one thread reads and deserialises the
/// events, another makes them events and applies each stream's run of them with its snapshot's own aggregator (the
/// Create/Apply methods Marten runs inline), and the documents are copied (COPY) into a temporary table beside the
/// fold. One COPY runs at a time on the connection: once 1,000 documents are done, the type with the most of them is
/// copied as its streams end, in hand-overs of 100; the other types' documents are held and copied after it. Then each
/// type's documents replace the old ones, each given its revision (its stream's version, as the inline projection
/// writes it) on the way, all in one transaction: a rebuild that fails leaves every snapshot as it was. Marten's own
/// rebuild (its async daemon) reached 11–18 % of the speed of reading the events and deleted the documents before it
/// began (BENCHMARKS.md, rebuild).
/// </summary>
public static class SnapshotRebuild
{
    /// <summary>Rebuilds every inline snapshot of the store; returns their names.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(IDocumentStore store, CancellationToken cancellationToken)
    {
        var snapshots = Snapshots(store);
        // Event metadata (time, id, correlation, causation, user) only for a snapshot whose conventional methods
        // (Create, Apply, ShouldDelete, on the snapshot or its projection) take IEvent<T>: ours take the event's data
        // alone, and reading the metadata made KPI's rebuild 2.93–3.00 s instead of 2.37–2.80 (BENCHMARKS.md, rebuild).
        var metadata = snapshots.SelectMany(s => new[] { s.AggregateType, s.GetType() })
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static))
            .Where(m => m.Name is "Create" or "Apply" or "ShouldDelete")
            .SelectMany(m => m.GetParameters()).Any(p => typeof(IEvent).IsAssignableFrom(p.ParameterType));

        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var folds = snapshots.Select(s => (IFold)Activator.CreateInstance(typeof(Fold<>).MakeGenericType(s.AggregateType), store, transaction)!).ToList();
        // Which folds apply each event type (a stream's events all go to its own snapshot's fold), one array per set of
        // folds: a run (a stream's consecutive events) ends where its folds change, not at every change of event type.
        var targets = new List<IFold[]>();
        var route = snapshots.SelectMany(s => s.AllEventTypes).Distinct().ToDictionary(type => type, type =>
        {
            var folding = folds.Where((_, i) => snapshots[i].AllEventTypes.Contains(type)).ToArray();
            if (targets.FirstOrDefault(t => t.SequenceEqual(folding)) is { } same) return same;
            targets.Add(folding);
            return folding;
        });
        var mappings = route.Keys.Select(((EventGraph)store.Options.Events).EventMappingFor).ToArray();
        var tenant = ((DocumentStore)store).Options.Tenancy.Default.TenantId;
        var makers = mappings.Select(m => (EventMaker)Activator.CreateInstance(typeof(EventMaker<>).MakeGenericType(m.DocumentType), m, tenant)!).ToArray();

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batches = Channel.CreateBounded<Row[]>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        var reading = LongRunning(() => Read(store, mappings, metadata, batches.Writer, failed.Token), failed);
        IFold? live = null;
        try
        {
            await using var query = store.QuerySession();
            var run = new List<IEvent>();
            await foreach (var rows in batches.Reader.ReadAllAsync(failed.Token))
            {
                Apply(rows, makers, route, run, query, failed.Token);
                // One COPY at a time on the connection: once a batch of documents is done, the type with the most of
                // them (KPI: the projects' indicator sets, not the catalogue's 20 indicators) is copied as its streams
                // end; the others' documents are held and copied after it.
                if (live is null && folds.Sum(f => f.Done) >= ChooseAfter)
                {
                    live = folds.MaxBy(f => f.Done)!;
                    await live.StartCopyAsync(failed);
                }
            }
            foreach (var fold in folds) fold.Finish(failed.Token);   // each one's last stream
            if (live is not null) await live.EndCopyAsync(failed.Token);
            foreach (var fold in folds.Where(f => f != live)) await fold.CopyHeldAsync(failed.Token);
        }
        catch (Exception e)
        {
            failed.Cancel();   // a failure anywhere stops the reader and the copy
            await Task.WhenAll(reading, live?.Copying ?? Task.CompletedTask).ContinueWith(_ => { }, TaskScheduler.Default);
            // A cancellation we did not ask for only says that the reader or the copy failed: report their error.
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested &&
                new[] { reading, live?.Copying }.Select(t => t?.Exception?.InnerException).FirstOrDefault(x => x is not null and not OperationCanceledException) is { } cause)
                ExceptionDispatchInfo.Throw(cause);
            throw;
        }
        await reading;
        foreach (var fold in folds) await fold.ReplaceAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return [.. snapshots.Select(s => s.AggregateType.Name)];
    }

    /// <summary>How each event type a rebuild reads is stored and deserialised: the events of every inline snapshot.
    /// (The store knows an event type only once something has asked for it: its list of known types is not this.)</summary>
    public static IReadOnlyList<EventMapping> EventMappings(IDocumentStore store) =>
        [.. Snapshots(store).SelectMany(s => s.AllEventTypes).Distinct().Select(((EventGraph)store.Options.Events).EventMappingFor)];

    static List<IAggregateProjection> Snapshots(IDocumentStore store) =>
        [.. ((DocumentStore)store).Options.Projections.All.Where(p => p.Lifecycle == ProjectionLifecycle.Inline)
            .Select(p => p as IAggregateProjection is { Scope: AggregationScope.SingleStream } snapshot && snapshot.IdentityType == typeof(Guid)
                ? snapshot : throw new NotSupportedException($"{p.Name}: only snapshots of one stream (by Guid) are rebuilt"))];

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

    /// <summary>The events of the given types, stream by stream, deserialised, in batches (on its own thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Read(IDocumentStore store, EventMapping[] mappings, bool metadata, ChannelWriter<Row[]> batches, CancellationToken cancellationToken)
    {
        try
        {
            var serializer = store.Options.Serializer();
            using var connection = store.Storage.Database.CreateConnection(ConnectionUsage.Read);
            connection.Open();
            using var transaction = connection.BeginTransaction();
            // In stream order by the index on (stream_id, version), whatever the statistics say: right after a bulk
            // import there are none, and the planner would sort the whole table instead. array_position: each row's
            // type as its index in mappings (no string to allocate and look up).
            using (var plan = new NpgsqlCommand("set local enable_sort = off", connection, transaction)) plan.ExecuteNonQuery();
            using var read = new NpgsqlCommand(
                $"select stream_id, version, seq_id, array_position(@types, type), data{(metadata ? ", timestamp, id, correlation_id, causation_id, user_name" : "")} " +
                $"from {store.Options.Events.DatabaseSchemaName}.mt_events where type = any(@types) and is_archived = false order by stream_id, version", connection, transaction);
            read.Parameters.AddWithValue("types", mappings.Select(m => m.EventTypeName).ToArray());
            using var reader = read.ExecuteReader();
            var batch = new List<Row>(BatchSize);
            try
            {
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
            }
            catch
            {
                // A failure here or elsewhere (the cancellation): the query is cancelled first, or closing the reader
                // would read every row left (a failed rebuild of a large store would take as long to stop as to read).
                read.Cancel();
                throw;
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
    /// rebuild). Made uninitialised, as JasperFx's generated evolvers make a snapshot without a Create method; its Id
    /// stays empty (an event's equality is its Id's: nothing in a fold compares events).
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

    /// <summary>Events per batch from the reader; documents done before the type to copy as it goes is chosen;
    /// documents per hand-over to the copy (a wake-up of its thread per batch, not per document).</summary>
    const int BatchSize = 1000, ChooseAfter = 1000, HandOver = 100;

    interface IFold
    {
        /// <summary>Documents done (their streams ended).</summary>
        int Done { get; }
        Task? Copying { get; }
        void Apply(IReadOnlyList<IEvent> run, IQuerySession query, CancellationToken cancellationToken);
        void Finish(CancellationToken cancellationToken);
        Task StartCopyAsync(CancellationTokenSource failed);
        Task EndCopyAsync(CancellationToken cancellationToken);
        Task CopyHeldAsync(CancellationToken cancellationToken);
        Task ReplaceAsync(CancellationToken cancellationToken);
    }

    /// <summary>One snapshot type: its streams folded one after the other, each one's document held when the stream
    /// ends, or handed to a running COPY into a temporary table; then the table's documents replaced by the copy's.</summary>
    sealed class Fold<T>(IDocumentStore store, NpgsqlTransaction transaction) : IFold where T : class
    {
        readonly IAggregator<T, IQuerySession> aggregator = ((DocumentStore)store).Options.Projections.AggregatorFor<T>();
        readonly IBulkLoader<T> loader = ((MartenDocumentProvider<T>)store.Storage.Database.Providers.StorageFor<T>()).BulkLoader;
        readonly Tenant tenant = ((DocumentStore)store).Options.Tenancy.Default;
        readonly Weasel.Core.DbObjectName table = store.Options.FindOrResolveDocumentType(typeof(T)).TableName;
        readonly List<string> columns = [];   // the table's, in order, read with their defaults
        readonly List<Guid> ids = [];
        readonly List<long> versions = [];
        readonly List<T> held = [];
        (Guid Stream, T? Snapshot, long Version) current;
        BlockingCollection<T[]>? documents;   // to the copy, once it runs

        public int Done => ids.Count;
        public Task? Copying { get; private set; }

        public void Apply(IReadOnlyList<IEvent> run, IQuerySession query, CancellationToken cancellationToken)
        {
            var stream = run[0].StreamId;
            if (stream != current.Stream)
            {
                Finish(cancellationToken);
                current = (stream, null, 0);
            }
            var building = aggregator.BuildAsync(run, query, current.Snapshot, cancellationToken);
            // Done already for a fold without I/O (ours: Create and Apply); one that awaits would hold this thread, not fail.
            current = (stream, building.IsCompletedSuccessfully ? building.Result : building.AsTask().GetAwaiter().GetResult(), run[^1].Version);
        }

        /// <summary>The current stream has ended: its document goes to the copy, or is held for it.</summary>
        public void Finish(CancellationToken cancellationToken)
        {
            if (current.Snapshot is not { } snapshot) return;   // no stream yet, or its snapshot deleted
            ids.Add(current.Stream);
            versions.Add(current.Version);
            held.Add(snapshot);
            if (documents is not null && held.Count == HandOver) Hand(cancellationToken);
            current = default;
        }

        /// <summary>From now on the documents go to a COPY running beside the fold (the held ones first). The loader
        /// enumerates them synchronously: after its first await it holds a thread of the pool while it waits.</summary>
        public async Task StartCopyAsync(CancellationTokenSource failed)
        {
            await CreateTempTableAsync(failed.Token);
            documents = new BlockingCollection<T[]>(boundedCapacity: 16);
            var copied = documents.GetConsumingEnumerable(failed.Token).SelectMany(batch => batch);
            Hand(failed.Token);
            Copying = LongRunning(() => loader.LoadIntoTempTableAsync(tenant, store.Options.Serializer(), transaction.Connection!, copied, failed.Token)
                .GetAwaiter().GetResult(), failed);
        }

        void Hand(CancellationToken cancellationToken)
        {
            documents!.Add([.. held], cancellationToken);
            held.Clear();
        }

        public async Task EndCopyAsync(CancellationToken cancellationToken)
        {
            if (held.Count > 0) Hand(cancellationToken);
            documents!.CompleteAdding();
            await Copying!;
            documents.Dispose();
        }

        public async Task CopyHeldAsync(CancellationToken cancellationToken)
        {
            await CreateTempTableAsync(cancellationToken);
            await loader.LoadIntoTempTableAsync(tenant, store.Options.Serializer(), transaction.Connection!, held, cancellationToken);
        }

        /// <summary>Marten's temporary table for the copy (<c>{table}_temp</c>, for this connection), given the table's
        /// column defaults: a column the loader does not write gets its default, as in an insert, not null.</summary>
        async Task CreateTempTableAsync(CancellationToken cancellationToken)
        {
            await Execute(loader.CreateTempTableForCopying(), cancellationToken);
            var defaults = new List<string>();
            await using (var read = new NpgsqlCommand("select a.attname, pg_get_expr(d.adbin, d.adrelid) from pg_attribute a " +
                "left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum " +
                "where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum", transaction.Connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = table.QualifiedName });
                await using var found = await read.ExecuteReaderAsync(cancellationToken);
                while (await found.ReadAsync(cancellationToken))
                {
                    columns.Add($"\"{found.GetString(0)}\"");
                    if (!found.IsDBNull(1)) defaults.Add($"alter column {columns[^1]} set default {found.GetString(1)}");
                }
            }
            if (defaults.Count > 0) await Execute($"alter table {table.Name}_temp {string.Join(", ", defaults)}", cancellationToken);
        }

        /// <summary>The table's documents replaced by the copy's, each given its revision (mt_version) from its stream's
        /// version as the inline projection writes it (the loader writes 1, as an insert does) in the insert itself: no
        /// second write of the copy.</summary>
        public async Task ReplaceAsync(CancellationToken cancellationToken)
        {
            await Execute($"delete from {table.QualifiedName}", cancellationToken);
            var inserted = await Execute($"insert into {table.QualifiedName} ({string.Join(", ", columns)}) " +
                $"select {string.Join(", ", columns.Select(c => c == "\"mt_version\"" ? "r.version" : $"t.{c}"))} " +
                $"from {table.Name}_temp t join unnest($1::uuid[], $2::bigint[]) as r(id, version) on t.id = r.id",
                cancellationToken, ids.ToArray(), versions.ToArray());
            // Each document is its stream's: one whose id is not its stream's would be lost by the join.
            if (inserted != ids.Count)
                throw new InvalidOperationException($"{typeof(T).Name}: {inserted} of {ids.Count} folded snapshots written (is a snapshot's id not its stream's?)");
            await Execute($"drop table {table.Name}_temp", cancellationToken);
        }

        async Task<int> Execute(string sql, CancellationToken cancellationToken, params object[] parameters)
        {
            await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
            foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter });
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Work on a thread of its own; a failure cancels the rest.</summary>
    static Task LongRunning(Action work, CancellationTokenSource failed) =>
        Task.Factory.StartNew(() =>
        {
            try { work(); }
            catch { failed.Cancel(); throw; }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
