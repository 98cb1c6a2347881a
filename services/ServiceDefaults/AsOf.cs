// Many streams' states at a past instant in one read: what a portfolio read "as of then" pages through, instead of
// one query (and one call) per project — the maturity as of a past instant took 14 s at 10,000 projects that way.
using JasperFx.Events;
using Marten;

namespace Regeneration.ServiceDefaults;

public static class AsOf
{
    /// <summary>Streams per read (and per batch call: GetProjectsAsOf, GetProjectBudgetsAsOf).</summary>
    public const int MaxStreams = 500;

    /// <summary>Each stream's state after every event recorded at or before <paramref name="at"/>, folded by the
    /// snapshot's own aggregator (the Create/Apply methods Marten runs inline and for <c>AggregateStreamAsync</c>);
    /// streams with no event by then are left out.</summary>
    public static async Task<IReadOnlyDictionary<Guid, T>> States<T>(IDocumentStore store, IReadOnlyCollection<Guid> ids, DateTimeOffset at,
        CancellationToken cancellation) where T : class
    {
        var aggregator = ((DocumentStore)store).Options.Projections.AggregatorFor<T>();
        await using var session = store.QuerySession();
        var streams = ids.Distinct().ToArray();
        var states = new Dictionary<Guid, T>();
        var run = new List<IEvent>();   // the current stream's events: one stream in memory at a time, not the batch's
        async Task Fold()
        {
            if (run.Count > 0 && await aggregator.BuildAsync(run, session, null, cancellation) is { } state) states[run[0].StreamId] = state;
            run.Clear();
        }
        await foreach (var e in session.Events.QueryAllRawEvents()
                           .Where(e => streams.Contains(e.StreamId) && e.Timestamp <= at)
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
