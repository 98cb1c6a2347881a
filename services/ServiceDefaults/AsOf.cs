// Many streams' states at a past instant in one read: what a portfolio read "as of then" pages through, instead of
// one query (and one call) per project — the maturity as of a past instant took 14 s at 10,000 projects that way.
using JasperFx.Events;
using Marten;

namespace Regeneration.ServiceDefaults;

/// <summary>A stream's inline snapshot: the stream it folds and the number of that stream's events folded into it.</summary>
public interface IStreamSnapshot
{
    Guid Id { get; }
    long Version { get; }
}

public static class AsOf
{
    /// <summary>Streams per read (and per batch call: BatchGetProjects, GetProjectsAsOf and their Budget twins).</summary>
    public const int MaxStreams = 500;

    /// <summary>Each stream's snapshot as it stands now; streams without one are left out.</summary>
    public static async Task<Dictionary<Guid, T>> Current<T>(IQuerySession session, IEnumerable<Guid> ids, CancellationToken cancellation)
        where T : class, IStreamSnapshot =>
        (await session.LoadManyAsync<T>(cancellation, ids.Distinct().ToArray())).ToDictionary(s => s.Id);

    /// <summary>The states in the order of <paramref name="ids"/>, the ids without one left out: what a batch read answers.</summary>
    public static IEnumerable<T> InOrder<T>(this IReadOnlyDictionary<Guid, T> states, IEnumerable<Guid> ids) =>
        ids.Where(states.ContainsKey).Select(id => states[id]);

    /// <summary>Each stream's state after every event recorded at or before <paramref name="at"/>; streams with no
    /// event by then are left out. A stream none of whose events folded into its snapshot was recorded after the
    /// instant stood then as its snapshot stands now: the snapshot is read, not folded again. The others (changed
    /// since) are folded from their events up to the instant by the snapshot's own aggregator (the Create/Apply
    /// methods Marten runs inline and for <c>AggregateStreamAsync</c>). A recent instant so reads a few streams'
    /// events, not all of them (a batch holding streams of thousands of events ran past the callers' deadline).</summary>
    public static async Task<IReadOnlyDictionary<Guid, T>> States<T>(IDocumentStore store, IReadOnlyCollection<Guid> ids, DateTimeOffset at,
        CancellationToken cancellation) where T : class, IStreamSnapshot
    {
        await using var session = store.QuerySession();
        var streams = ids.Distinct().ToArray();
        var states = await Current<T>(session, streams, cancellation);
        // The snapshots' own events only: one appended after they were read is not in them whenever it was recorded.
        var kept = states.Values.ToArray();
        var changed = kept.Length == 0 ? [] : await session.QueryAsync<Guid>(
            $"select distinct e.stream_id from {store.Options.Events.DatabaseSchemaName}.mt_events e " +
            "join unnest(?, ?) s(id, version) on e.stream_id = s.id and e.version <= s.version where e.timestamp > ?",
            cancellation, kept.Select(s => s.Id).ToArray(), kept.Select(s => s.Version).ToArray(), at.ToUniversalTime());
        var folded = streams.Where(id => !states.ContainsKey(id)).Concat(changed).ToArray();
        foreach (var id in changed) states.Remove(id);
        if (folded.Length == 0) return states;

        var aggregator = ((DocumentStore)store).Options.Projections.AggregatorFor<T>();
        var run = new List<IEvent>();   // the current stream's events: one stream in memory at a time, not the batch's
        async Task Fold()
        {
            if (run.Count > 0 && await aggregator.BuildAsync(run, session, null, cancellation) is { } state) states[run[0].StreamId] = state;
            run.Clear();
        }
        await foreach (var e in session.Events.QueryAllRawEvents()
                           .Where(e => folded.Contains(e.StreamId) && e.Timestamp <= at)
                           .OrderBy(e => e.StreamId).ThenBy(e => e.Version)
                           .ToAsyncEnumerable(cancellation))
        {
            if (run.Count > 0 && run[0].StreamId != e.StreamId) await Fold();
            run.Add(e);
        }
        await Fold();
        return states;
    }
}
