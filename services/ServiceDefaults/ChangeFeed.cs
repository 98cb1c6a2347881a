// The resumable change feed: every event of the service's store after a given global sequence, in
// sequence order, delivered once.
//
// PostgreSQL hands out sequence numbers before commit, so a reader can see 12 committed while 11 is
// still in flight, or 11 may never come (its transaction rolled back). Delivering 12 and moving on
// would lose 11 for good. So the feed stops at a gap until it is settled: no transaction that was open
// when the gap was first seen and is writing this store's events is still open (then 11 either
// committed, and is read, or never will) — plus a short grace for the moment between taking a sequence
// number and writing the row. A writer of events holds a write lock on the events table (ROW EXCLUSIVE,
// from its insert) or on the streams table (ROW SHARE from locking its stream first, as our commands do,
// or ROW EXCLUSIVE) until it ends, and takes its numbers inside that transaction (the append mode set in
// ServiceHosting: Marten's Rich mode would take them before the transaction begins, unseen here);
// transactions writing anything else in the database (another service's schema, an administrator's
// session) do not hold the feed back. pg_stat_activity shows other sessions' transaction start to the
// same role (or to one with pg_read_all_stats): the services must use such a role.
using System.Runtime.CompilerServices;
using JasperFx.Events;
using Marten;

namespace Regeneration.ServiceDefaults;

public sealed class ChangeFeed(IDocumentStore store, TimeProvider time)
{
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
    static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(250);
    const int BatchSize = 500;
    readonly string schema = store.Options.Events.DatabaseSchemaName;

    /// <param name="maxEvents">At most this many events, then the end (a page of the feed); 0 for no limit.</param>
    public async IAsyncEnumerable<IEvent> Read(long afterSequence, bool follow, int maxEvents,
        [EnumeratorCancellation] CancellationToken cancellation)
    {
        var last = afterSequence;
        var left = maxEvents > 0 ? maxEvents : long.MaxValue;
        (DateTimeOffset Local, DateTimeOffset Database, long BatchMax)? gapSeen = null;
        // Gaps at or below this sequence are known to be final. Every number below the highest one of the
        // batch read before a gap was first seen was taken before that moment, so one settled check covers
        // every gap up to there: a burst of rolled-back commands costs one wait, not one per gap.
        var settledThrough = 0L;
        while (!cancellation.IsCancellationRequested)
        {
            IReadOnlyList<IEvent> batch;
            await using (var session = store.QuerySession())
            {
                batch = await session.Events.QueryAllRawEvents()
                    .Where(e => e.Sequence > last)
                    .OrderBy(e => e.Sequence)
                    .Take((int)Math.Min(BatchSize, left))
                    .ToListAsync(cancellation);
            }

            var delivered = 0;
            foreach (var e in batch)
            {
                if (e.Sequence != last + 1 && e.Sequence > settledThrough)
                {
                    gapSeen ??= (time.GetUtcNow(), await DatabaseNow(cancellation), batch[^1].Sequence);
                    if (!await GapSettled((gapSeen.Value.Local, gapSeen.Value.Database), cancellation)) break;
                    settledThrough = gapSeen.Value.BatchMax;
                }
                gapSeen = null;
                last = e.Sequence;
                delivered++;
                yield return e;
                if (--left == 0) yield break;
            }

            if (delivered == BatchSize) continue;
            if (batch.Count == 0 && !follow) yield break;
            await Task.Delay(PollInterval, time, cancellation);
        }
    }

    async Task<DateTimeOffset> DatabaseNow(CancellationToken cancellation)
    {
        await using var session = store.QuerySession();
        return (await session.QueryAsync<DateTimeOffset>("select clock_timestamp()", cancellation))[0];
    }

    // Database time is compared with database time: the service and PostgreSQL clocks may differ.
    async Task<bool> GapSettled((DateTimeOffset Local, DateTimeOffset Database) firstSeen, CancellationToken cancellation)
    {
        if (time.GetUtcNow() - firstSeen.Local < Grace) return false;
        await using var session = store.QuerySession();
        var open = await session.QueryAsync<int>(
            "select count(*)::int from pg_locks l join pg_stat_activity a on a.pid = l.pid " +
            "where l.locktype = 'relation' and l.relation in (?::regclass, ?::regclass) and l.mode in ('RowShareLock', 'RowExclusiveLock') " +
            "and l.pid <> pg_backend_pid() and a.xact_start < ?", cancellation, $"{schema}.mt_events", $"{schema}.mt_streams", firstSeen.Database);
        return open[0] == 0;
    }
}
