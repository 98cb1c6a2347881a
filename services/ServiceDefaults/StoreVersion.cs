// The position of a service's own event store: the highest event sequence committed. Answers computed
// from the store's state can be kept until it moves.
using Marten;

namespace Regeneration.ServiceDefaults;

public static class StoreVersion
{
    public static async Task<long> Current(IDocumentStore store, CancellationToken cancellation)
    {
        await using var session = store.QuerySession();
        var schema = store.Options.Events.DatabaseSchemaName;
        return (await session.QueryAsync<long>($"select coalesce(max(seq_id), 0) from {schema}.mt_events", cancellation))[0];
    }
}

/// <summary>One computed answer per key, replaced when the key changes (e.g. the store version moved).</summary>
public sealed class Memo<T> where T : class
{
    sealed record Entry(string Key, T Value);
    Entry? entry;

    public async Task<T> Get(string key, Func<Task<T>> compute)
    {
        if (Volatile.Read(ref entry) is { } e && e.Key == key) return e.Value;
        var value = await compute();
        Volatile.Write(ref entry, new Entry(key, value));
        return value;
    }
}
