// Runs one command against one event stream as a single transaction:
//   receipt of an earlier identical request? -> return its result, write nothing;
//   load the aggregate (checking expected_version) -> decide (pure) -> append events + receipt -> commit.
// A command either commits its events and its receipt together or writes nothing. (Marten inserts a
// document "on conflict do nothing" and reports the conflict only afterwards, so the receipt's insert is
// not what stops a duplicate: the receipt is looked up again under the stream's lock.) Without
// expected_version, writers to one stream queue on its row lock and each decides on the state its
// predecessor left; with it, a stale version is ABORTED.
// Commands on a stream they do not start (Append, Write: a budget's first allocation included) that arrive together
// share one transaction (a group commit): their streams locked and their receipts read in one round trip, their events
// and receipts written in another, one commit for all. A group that fails as a whole writes nothing, and each of its
// commands then runs alone as above, so a group never changes what a command decides or answers, only how many commits
// it takes (BENCHMARKS.md, 1).
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using Marten;
using JasperFx;
using JasperFx.Events;
using Marten.Exceptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Regeneration.Common.V1;

namespace Regeneration.ServiceDefaults;

/// <summary>What a decider returns: the events to append, and the id of what they created, if anything.</summary>
public sealed record Decision(IReadOnlyList<object> Events, string EntityId = "")
{
    public static implicit operator Decision(object[] events) => new((IReadOnlyList<object>)events, "");
}

/// <summary>The stored result of a command, keyed by "{caller}/{request_id}": makes every command idempotent.</summary>
public sealed class CommandReceipt
{
    public string Id { get; set; } = "";
    public string RequestHash { get; set; } = "";
    public string StreamId { get; set; } = "";
    public long Version { get; set; }
    public string EntityId { get; set; } = "";
    public DateTimeOffset RecordedAt { get; set; }
}

public sealed record CommandEnvelope(string RequestId, long? ExpectedVersion, RequestContext Context, IMessage Request);

public sealed class CommandRunner : IAsyncDisposable
{
    const int AttemptsWithoutExpectedVersion = 3;
    /// <summary>Groups under way at a time (one reads and decides while the other waits on PostgreSQL), and the most
    /// commands in one. Two did as many commands a second as four, in groups twice as large, with (in most runs) a lower
    /// p99 flat out and less of the machine's CPU per command (alternated runs, BENCHMARKS.md 1, sixteenth session).</summary>
    public const int Committers = 2;
    const int MostPerGroup = 64;
    /// <summary>The longest a group waits for a stream's lock held elsewhere (a transaction left open on a stream):
    /// then it fails as a whole and each of its commands runs alone, so only the command on that stream waits for it,
    /// not every command of the group and the committer with them. Under load a group waits for another writer's
    /// commit, milliseconds.</summary>
    static readonly TimeSpan GroupLockWait = TimeSpan.FromSeconds(2);
    /// <summary>The longest a command alone waits for its stream's lock: then it is ABORTED (LOCK_TIMEOUT) and writes
    /// nothing, and gives its pooled connection back (eight per service: a few commands waiting on one stuck stream
    /// would otherwise hold them all, and every command of the service would wait for a connection). Writers queued on
    /// one stream wait for each other's commits, each milliseconds.</summary>
    static readonly TimeSpan AloneLockWait = TimeSpan.FromSeconds(5);

    readonly IDocumentStore store;
    readonly TimeProvider time;
    readonly Channel<GroupedWrite> waiting = Channel.CreateUnbounded<GroupedWrite>();
    readonly Task[] committers;
    readonly Histogram<int> groupSize;
    readonly Counter<long> alone;

    public CommandRunner(IDocumentStore store, TimeProvider time, IMeterFactory meters)
    {
        (this.store, this.time) = (store, time);
        var meter = meters.Create("Regeneration.Commands");
        groupSize = meter.CreateHistogram<int>("regeneration.commands.group.size", "{command}",
            "Commands committed together in one transaction by the group commit");
        alone = meter.CreateCounter<long>("regeneration.commands.alone", "{command}",
            "Commands that could have joined a group and ran in a transaction of their own; reason: stream (a second " +
            "command on a stream already in the group), version (an expected version not the stream's), decision (its " +
            "decision failed), group (its group's reads or writes failed), stopping (the service is stopping)");
        committers = [.. Enumerable.Range(0, Committers).Select(_ => Task.Run(CommitGroups))];
    }

    /// <summary>Commands already waiting still run (in groups) before the committers stop.</summary>
    public async ValueTask DisposeAsync()
    {
        waiting.Writer.TryComplete();
        await Task.WhenAll(committers);
    }

    /// <summary>Starts a new stream with the decided events.</summary>
    /// <param name="precheck">Reads that must hold before deciding (e.g. a unique code), inside the same session.</param>
    public Task<CommandResult> Start<TAggregate>(CommandEnvelope command, Guid streamId,
        Func<IQuerySession, Task> precheck, Func<Decision> decide) where TAggregate : class =>
        Run(command, streamId, lookFirst: true, async (session, _) =>
        {
            await precheck(session);
            var decision = decide();
            session.Events.StartStream<TAggregate>(streamId, decision.Events);
            return (decision, decision.Events.Count, null);
        });

    /// <summary>Appends the decided events to an existing stream (NOT_FOUND when there is none).</summary>
    public Task<CommandResult> Append<TAggregate>(CommandEnvelope command, Guid streamId, string resourceType,
        Func<TAggregate, Decision> decide) where TAggregate : class =>
        Write<TAggregate>(command, streamId, resourceType,
            aggregate => decide(aggregate ?? throw new NotFoundException(resourceType, streamId.ToString())));

    /// <summary>Appends the decided events to a stream that may not exist yet (the decider gets null).</summary>
    public Task<CommandResult> Write<TAggregate>(CommandEnvelope command, Guid streamId,
        Func<TAggregate?, Decision> decide) where TAggregate : class =>
        Write(command, streamId, mustExist: null, decide);

    /// <param name="mustExist">The resource the stream is, when it must exist: an expected version given for a stream
    /// that does not is NOT_FOUND, not a stale version (which would tell the caller to retry): WriteAlone checks it.</param>
    Task<CommandResult> Write<TAggregate>(CommandEnvelope command, Guid streamId, string? mustExist,
        Func<TAggregate?, Decision> decide) where TAggregate : class
    {
        var write = new GroupedWrite<TAggregate>(this, command, streamId, mustExist, decide);
        if (!waiting.Writer.TryWrite(write)) RunAlone(write, "stopping");   // no group forms any more
        return write.Done.Task;
    }

    /// <summary>One command (Append, Write) in its own transaction: the stream locked (its expected version, if any,
    /// checked under the lock) and the receipt read, decided, written.</summary>
    Task<CommandResult> WriteAlone<TAggregate>(CommandEnvelope command, Guid streamId, string? mustExist,
        Func<TAggregate?, Decision> decide) where TAggregate : class =>
        Run(command, streamId, lookFirst: false, async (session, receiptId) =>
        {
            // One round trip: the stream locked and then, in the same batch so after the lock is held, the receipt: a
            // copy of this request that held the lock before us (a retry racing its original) has committed its
            // receipt, and its result is the answer. An expected version is compared under the lock, as in a group: the
            // wait for the lock is the batch's, bounded by AloneLockWait (a lock taken by the append instead would be
            // waited for again, without the bound, when Marten retries the writes after a lock timeout).
            var batch = session.CreateBatchQuery();
            await WaitForLocksAtMost(session, batch, AloneLockWait);
            var fetched = batch.Events.FetchForExclusiveWriting<TAggregate>(streamId);
            var receipt = batch.Load<CommandReceipt>(receiptId);
            await batch.Execute();
            var stream = await fetched;
            if (await receipt is { } earlier) return (null, 0, earlier);
            if (command.ExpectedVersion is { } expected && (stream.StartingVersion ?? 0) != expected)
                throw mustExist is not null && stream.Aggregate is null && (stream.StartingVersion ?? 0) == 0
                    ? new NotFoundException(mustExist, streamId.ToString())
                    : new ConcurrencyConflictException(Stale(expected));
            var decision = decide(stream.Aggregate);
            stream.AppendMany(decision.Events);
            return (decision, (stream.StartingVersion ?? 0) + decision.Events.Count, null);
        });

    /// <summary>Asks another service what a command needs before it runs (<paramref name="ask"/>). Should that service
    /// be unreachable, a repeat of a command that committed is still answered, from its receipt (the second item),
    /// instead of failing UNAVAILABLE; looked up only then, so the command's usual path costs no extra round trip.</summary>
    public async Task<(T Answer, CommandResult? Replayed)> Ask<T>(CommandEnvelope command, Func<Task<T>> ask)
    {
        try
        {
            return (await ask(), null);
        }
        catch (DependencyUnavailableException)
        {
            await using var query = store.QuerySession();
            if (await Earlier(query, ReceiptId(command), Hash(command.Request)) is { } earlier) return (default!, earlier);
            throw;
        }
    }

    /// <summary>Request ids are the caller's own: two callers' ids never meet. The caller's name up to the first "/", the
    /// request id after it: a "/" (and "%") in the name escaped, so that "a" with id "b/c" and "a/b" with id "c" differ
    /// (a name without either is written as it is, as in the receipts stored before).</summary>
    static string ReceiptId(CommandEnvelope command) =>
        $"{command.Context.Actor.Replace("%", "%25").Replace("/", "%2F")}/{command.RequestId}";

    /// <param name="lookFirst">Look the receipt up before anything else. A new stream needs it (its id is new on
    /// every copy of the request, so nothing else would stop a repeat); an existing stream does not: its writer
    /// looks under the stream's lock, which saves a round trip on the hot path (milestone updates).</param>
    /// <param name="write">Decides and appends; or returns the receipt of an earlier copy of the request found
    /// under the stream's lock, and writes nothing.</param>
    async Task<CommandResult> Run(CommandEnvelope command, Guid streamId, bool lookFirst,
        Func<IDocumentSession, string, Task<(Decision? Decision, long Version, CommandReceipt? Earlier)>> write)
    {
        var hash = Hash(command.Request);
        var receiptId = ReceiptId(command);
        var attempts = command.ExpectedVersion is null ? AttemptsWithoutExpectedVersion : 1;
        for (var attempt = 1; ; attempt++)
        {
            CommandReceipt receipt;
            try
            {
                await using var session = store.LightweightSession();
                if (lookFirst && await Earlier(session, receiptId, hash) is { } earlier) return earlier;

                session.CorrelationId = command.Context.CorrelationId;
                session.CausationId = command.RequestId;
                session.LastModifiedBy = command.Context.Actor;
                var (decision, version, earlierUnderLock) = await write(session, receiptId);
                if (earlierUnderLock is not null) return Replay(earlierUnderLock, hash);
                receipt = Receipt(receiptId, hash, streamId, version, decision!);
                session.Insert(receipt);
                await session.SaveChangesAsync();
            }
            catch (Exception e) when (e is DomainException || IsConflict(e))
            {
                // A copy of this request that ran first (a retry racing its original) has its receipt
                // now: that copy's result is the answer, whatever this copy ran into deciding again.
                await using var query = store.QuerySession();
                if (await Earlier(query, receiptId, hash) is { } winner) return winner;
                // A unique value (a project's code) taken by another request that committed first: deciding again,
                // the checks that must hold see it and say which (ALREADY_EXISTS naming the resource).
                var taken = IsUniqueViolation(e);
                if (!IsStreamConflict(e) && !taken) throw;
                if (attempt >= attempts && taken) throw;
                if (attempt >= attempts)
                    throw new ConcurrencyConflictException(command.ExpectedVersion is null
                        ? "The stream kept changing under this request; retry it"
                        : Stale(command.ExpectedVersion.Value));
                continue;
            }
            return Result(receipt, replayed: false);
        }
    }

    /// <summary>Forms groups from the commands waiting (at most one per stream: a second command on a stream already in
    /// the group runs alone, after the group, on the stream's lock) and commits each.</summary>
    async Task CommitGroups()
    {
        var (group, streams) = (new List<GroupedWrite>(MostPerGroup), new HashSet<Guid>());
        while (await waiting.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            streams.Clear();
            while (group.Count < MostPerGroup && waiting.Reader.TryRead(out var write))
                if (streams.Add(write.StreamId)) group.Add(write);
                else RunAlone(write, "stream");
            if (group.Count > 0) await Commit(group).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One transaction for the group. Its streams are locked in the order of their ids, each one's receipt read after
    /// its lock, all in one round trip: as alone, a command decides on the state its stream's last writer left and sees
    /// the receipt of a copy of itself that came first; two groups under way never wait on each other in a cycle, and a
    /// writer alone holds one stream's lock and waits on nothing a group holds. (Without the locks, a group's events
    /// met a writer alone's on the stream's version index and each waited for the other: PostgreSQL's deadlock.) Each
    /// command is decided; every event and receipt is written and committed at once. A command whose decision fails (a
    /// rule, a permission, a missing stream, an expected version not the stream's), and every command of a group whose
    /// reads or writes fail (a lost connection, a stream's lock held elsewhere beyond <see cref="GroupLockWait"/>), runs
    /// alone instead: its own transaction gives it the answer, and the error, it would have had without the group. A
    /// repeat of a command that committed is answered from its receipt.
    /// </summary>
    async Task Commit(List<GroupedWrite> group)
    {
        group.Sort((a, b) => a.StreamId.CompareTo(b.StreamId));
        var written = new List<(GroupedWrite Write, CommandReceipt Receipt)>(group.Count);
        try
        {
            await using var session = store.LightweightSession();
            var batch = session.CreateBatchQuery();
            await WaitForLocksAtMost(session, batch, GroupLockWait).ConfigureAwait(false);   // a lock held longer fails the group
            foreach (var write in group) write.Fetch(batch);
            await batch.Execute().ConfigureAwait(false);
            foreach (var write in group)
            {
                try
                {
                    var (receipt, answer) = await write.Decide().ConfigureAwait(false);
                    if (answer is not null) write.Answer(answer);
                    else if (receipt is null) RunAlone(write, "version");
                    else
                    {
                        session.Insert(receipt);
                        written.Add((write, receipt));
                    }
                }
                catch (Exception)
                {
                    RunAlone(write, "decision");
                }
            }
            if (written.Count > 0) await session.SaveChangesAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            foreach (var write in group) if (!write.Settled) RunAlone(write, "group");
            return;
        }
        if (written.Count > 0) groupSize.Record(written.Count);
        foreach (var (write, receipt) in written) write.Answer(Result(receipt, replayed: false));
    }

    void RunAlone(GroupedWrite write, string reason)
    {
        alone.Add(1, new KeyValuePair<string, object?>("reason", reason));
        write.RunAlone();
    }

    /// <summary>A command (Append, Write) waiting for its group.</summary>
    abstract class GroupedWrite(CommandEnvelope command, Guid streamId)
    {
        public Guid StreamId => streamId;
        public CommandEnvelope Command => command;
        public string ReceiptId { get; } = CommandRunner.ReceiptId(command);
        public string Hash { get; } = CommandRunner.Hash(command.Request);
        public TaskCompletionSource<CommandResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Answered, or sent to run alone: nothing more for its group to do.</summary>
        public bool Settled { get; private set; }

        /// <summary>Its stream and its receipt, added to the group's reads.</summary>
        public abstract void Fetch(Marten.Services.BatchQuerying.IBatchedQuery batch);

        /// <summary>After the reads: the receipt to write with its events (appended to its stream), or the answer of an
        /// earlier copy of the request; neither when it must run alone (its expected version is not the stream's).</summary>
        public abstract Task<(CommandReceipt? Receipt, CommandResult? Answer)> Decide();

        protected abstract Task<CommandResult> Alone();

        public void Answer(CommandResult result)
        {
            Settled = true;
            Done.TrySetResult(result);
        }

        /// <summary>Runs in its own transaction, on its own (the caller gets its answer or its error).</summary>
        public void RunAlone()
        {
            Settled = true;
            _ = Task.Run(async () =>
            {
                try { Done.TrySetResult(await Alone()); }
                catch (Exception e) { Done.TrySetException(e); }
            });
        }
    }

    sealed class GroupedWrite<TAggregate>(CommandRunner runner, CommandEnvelope command, Guid streamId, string? mustExist,
        Func<TAggregate?, Decision> decide) : GroupedWrite(command, streamId) where TAggregate : class
    {
        Task<IEventStream<TAggregate>>? stream;
        Task<CommandReceipt?>? receipt;

        public override void Fetch(Marten.Services.BatchQuerying.IBatchedQuery batch)
        {
            // An expected version is compared after the reads, not by Marten's fetch: a stale one would fail the group's.
            stream = batch.Events.FetchForExclusiveWriting<TAggregate>(StreamId);
            receipt = batch.Load<CommandReceipt>(ReceiptId);
        }

        public override async Task<(CommandReceipt? Receipt, CommandResult? Answer)> Decide()
        {
            var fetched = await stream!;
            if (await receipt! is { } earlier) return (null, Replay(earlier, Hash));
            if (Command.ExpectedVersion is { } expected && (fetched.StartingVersion ?? 0) != expected) return (null, null);
            var decision = decide(fetched.Aggregate);
            fetched.AppendMany(decision.Events);
            // The events carry their own command's who and why (alone, the session's; here the session is the group's).
            foreach (var e in fetched.Events)
                (e.CorrelationId, e.CausationId, e.UserName) = (Command.Context.CorrelationId, Command.RequestId, Command.Context.Actor);
            return (runner.Receipt(ReceiptId, Hash, StreamId, (fetched.StartingVersion ?? 0) + decision.Events.Count, decision), null);
        }

        protected override Task<CommandResult> Alone() => runner.WriteAlone(Command, StreamId, mustExist, decide);
    }

    static string Stale(long expected) => $"expected_version {expected} is stale: the stream was changed by another request";

    /// <summary>PostgreSQL's lock_timeout for the session's transaction, set first in the batch's round trip: a wait for
    /// a lock beyond it fails the statement (55P03, lock_not_available). The transaction is begun first (Npgsql sends the
    /// BEGIN with the batch), so that the batch runs in the transaction that writes. Only the batch's waits are bounded
    /// in effect: a lock met at the writes fails them too, but Marten's commit retry runs them again in a new transaction,
    /// without the setting (our commands hold their stream's lock from the batch on, so they meet one only on a row
    /// another session locked, such as a snapshot's).</summary>
    static async Task WaitForLocksAtMost(IDocumentSession session, Marten.Services.BatchQuerying.IBatchedQuery batch, TimeSpan wait)
    {
        await session.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
        _ = batch.Query<string>($"select set_config('lock_timeout', '{(long)wait.TotalMilliseconds}', true)");
    }

    /// <summary>Another writer came first; or PostgreSQL chose this command to break a cycle of writers waiting on each
    /// other (none is known to arise; tried again, or ABORTED, rather than INTERNAL).</summary>
    static bool IsStreamConflict(Exception e) =>
        e is ConcurrencyException or EventStreamUnexpectedMaxEventIdException or Marten.Exceptions.ExistingStreamIdCollisionException or JasperFx.Events.ExistingStreamIdCollisionException ||
        (e as PostgresException ?? e.InnerException as PostgresException)?.SqlState == PostgresErrorCodes.DeadlockDetected;

    /// <summary>What a command that wrote leaves for its repeats: its request and its result.</summary>
    CommandReceipt Receipt(string id, string hash, Guid streamId, long version, Decision decision) => new()
    {
        Id = id, RequestHash = hash, StreamId = streamId.ToString(), Version = version, EntityId = decision.EntityId,
        RecordedAt = time.GetUtcNow(),
    };

    static bool IsConflict(Exception e) => IsStreamConflict(e) || e is DocumentAlreadyExistsException || IsUniqueViolation(e);

    static bool IsUniqueViolation(Exception e) =>
        (e as PostgresException ?? e.InnerException as PostgresException)?.SqlState == PostgresErrorCodes.UniqueViolation;

    /// <summary>The result of an earlier copy of the request, from its receipt (ALREADY_EXISTS if the id was used for a
    /// different request); null if there is none.</summary>
    static async Task<CommandResult?> Earlier(IQuerySession session, string receiptId, string hash) =>
        await session.LoadAsync<CommandReceipt>(receiptId) is { } receipt ? Replay(receipt, hash) : null;

    static CommandResult Replay(CommandReceipt receipt, string hash) => receipt.RequestHash == hash
        ? Result(receipt, replayed: true)
        : throw new AlreadyExistsException("request", receipt.Id[(receipt.Id.IndexOf('/') + 1)..],
            $"request_id '{receipt.Id[(receipt.Id.IndexOf('/') + 1)..]}' was already used for a different request");

    static CommandResult Result(CommandReceipt receipt, bool replayed) => new()
    {
        StreamId = receipt.StreamId, Version = receipt.Version, EntityId = receipt.EntityId, Replayed = replayed,
    };

    /// <summary>The method and the serialized request (C# protobuf serialization is deterministic).</summary>
    static string Hash(IMessage request)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(request.Descriptor.FullName);
        return Convert.ToHexString(SHA256.HashData([.. name, .. request.ToByteArray()]));
    }
}

/// <summary>
/// Receipts stored before request ids were scoped to their caller were keyed by the bare request id. At start-up,
/// each such receipt is re-keyed "{actor}/{request_id}" (a "/" or "%" in the actor escaped, as CommandRunner keys
/// it), the actor taken from the events its command recorded (their causation id is the request id), so that a
/// repeat of an old command is still answered from its receipt and writes nothing. Idempotent: a database without
/// such receipts is left as it is.
/// </summary>
public sealed class LegacyReceiptMigration(IDocumentStore store, ILogger<LegacyReceiptMigration> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var schema = store.Options.Events.DatabaseSchemaName;
        var table = $"{store.Options.DatabaseSchemaName}.mt_doc_commandreceipt";
        const string idPath = "{Id}";
        await using var session = store.QuerySession();
        await using var command = new NpgsqlCommand(
            $"""
            update {table} r
               set id = legacy.actor || '/' || r.id,
                   data = jsonb_set(r.data, '{idPath}', to_jsonb(legacy.actor || '/' || r.id))
              from (select l.id, (select replace(replace(e.user_name, '%', '%25'), '/', '%2F') from {schema}.mt_events e
                                   where e.causation_id = l.id and e.user_name is not null order by e.seq_id limit 1) as actor
                      from {table} l where position('/' in l.id) = 0) legacy
             where r.id = legacy.id and legacy.actor is not null
               and not exists (select 1 from {table} taken where taken.id = legacy.actor || '/' || r.id)
            """);
        var moved = await session.ExecuteAsync(command, cancellationToken);
        if (moved > 0) logger.LogInformation("Re-keyed {Count} command receipts to their callers", moved);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
