// The version of a service's own event store: how many events it has committed. Answers computed from the
// store's state can be kept until it moves.
using System.Runtime.CompilerServices;
using Marten;

namespace Regeneration.ServiceDefaults;

public static class StoreVersion
{
    /// <summary>The version last counted for a store and the database snapshot it was counted in.</summary>
    sealed record Counted(string Snapshot, long Version);
    static readonly ConditionalWeakTable<IDocumentStore, StrongBox<Counted?>> counted = new();

    /// <summary>The number of events committed: the sum of the streams' versions (a stream's version moves in the
    /// transaction that appends to it). Not the highest event sequence: PostgreSQL hands sequence numbers out before
    /// commit, so a command holding 101 can commit after one holding 102, and an answer kept under "102" would never
    /// see 101's change. The sum reads every stream (about 2 ms at 10,000 on the benchmark machine, and every kept
    /// answer asks for it), so it is counted again only when the database's snapshot moved: a snapshot
    /// (<c>pg_current_snapshot()</c>: the transactions finished and in progress) is the same at two instants only
    /// if no transaction finished between them, and then every query sees the same rows. Any finished transaction
    /// of any schema moves it, so this never answers from a count older than the last commit.</summary>
    public static async Task<long> Current(IDocumentStore store, CancellationToken cancellation)
    {
        var last = counted.GetValue(store, _ => new StrongBox<Counted?>());
        await using var session = store.QuerySession();
        if (Volatile.Read(ref last.Value) is { } seen
            && (await session.QueryAsync<string>("select pg_current_snapshot()::text", cancellation))[0] == seen.Snapshot)
            return seen.Version;
        // The snapshot and the sum from one statement: read in the same snapshot.
        var schema = store.Options.Events.DatabaseSchemaName;
        var row = (await session.QueryAsync<string>(
            $"select pg_current_snapshot()::text || ' ' || coalesce(sum(version), 0)::bigint from {schema}.mt_streams", cancellation))[0];
        var space = row.LastIndexOf(' ');
        var now = new Counted(row[..space], long.Parse(row[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Volatile.Write(ref last.Value, now);
        return now.Version;
    }

    /// <summary>The version callers are given for an answer kept under <paramref name="key"/> (a store version and
    /// what else the answer depends on): the key hashed, so that it is compared, never parsed.</summary>
    public static string Name(string key) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)), 0, 16);
}

/// <summary>One computed answer per key, replaced when the key changes (e.g. the store version moved). The
/// answer for a new key is computed once, on the thread pool, however many callers ask for it at the same time
/// (they all wait for that one computation); so the computation must not depend on any one caller's
/// cancellation. A computation that failed is tried again by the next caller.</summary>
public sealed class Memo<T> where T : class
{
    sealed record Entry(string Key, Task<T> Value);
    readonly Lock gate = new();
    Entry? entry;

    public Task<T> Get(string key, Func<Task<T>> compute)
    {
        if (Usable(Volatile.Read(ref entry), key) is { } ready) return ready;
        lock (gate)
        {
            if (Usable(entry, key) is { } raced) return raced;
            var computing = Task.Run(compute);
            Volatile.Write(ref entry, new Entry(key, computing));
            return computing;
        }
    }

    static Task<T>? Usable(Entry? e, string key) =>
        e is not null && e.Key == key && !e.Value.IsFaulted && !e.Value.IsCanceled ? e.Value : null;
}
