// Runs one command against one event stream as a single transaction:
//   receipt of an earlier identical request? -> return its result, write nothing;
//   load the aggregate (checking expected_version) -> decide (pure) -> append events + receipt -> commit.
// A command either commits its events and its receipt together or writes nothing. (Marten inserts a
// document "on conflict do nothing" and reports the conflict only afterwards, so the receipt's insert is
// not what stops a duplicate: the receipt is looked up again under the stream's lock.) Without
// expected_version, writers to one stream queue on its row lock and each decides on the state its
// predecessor left; with it, a stale version is ABORTED.
using System.Security.Cryptography;
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

public sealed class CommandRunner(IDocumentStore store, TimeProvider time)
{
    const int AttemptsWithoutExpectedVersion = 3;

    /// <summary>Starts a new stream with the decided events.</summary>
    /// <param name="precheck">Reads that must hold before deciding (e.g. a unique code), inside the same session.</param>
    public Task<CommandResult> Start<TAggregate>(CommandEnvelope command, Guid streamId,
        Func<IQuerySession, Task> precheck, Func<Decision> decide) where TAggregate : class =>
        Run(command, streamId, lookFirst: true, mustExist: null, async (session, _) =>
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
    /// that does not is NOT_FOUND (the version check fails first, and a stale version would tell the caller to retry).</param>
    Task<CommandResult> Write<TAggregate>(CommandEnvelope command, Guid streamId, string? mustExist,
        Func<TAggregate?, Decision> decide) where TAggregate : class =>
        Run(command, streamId, lookFirst: false, mustExist, async (session, receiptId) =>
        {
            // One round trip: the stream (locked, or its version checked) and then, in the same batch so after the
            // lock is held, the receipt: a copy of this request that held the lock before us (a retry racing its
            // original) has committed its receipt, and its result is the answer.
            var batch = session.CreateBatchQuery();
            var fetched = command.ExpectedVersion is { } expected
                ? batch.Events.FetchForWriting<TAggregate>(streamId, expected)
                : batch.Events.FetchForExclusiveWriting<TAggregate>(streamId);
            var receipt = batch.Load<CommandReceipt>(receiptId);
            await batch.Execute();
            var stream = await fetched;
            if (await receipt is { } earlier) return (null, 0, earlier);
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
    /// looks under the stream's lock, or its expected version catches a repeat, which saves a round trip on the
    /// hot path (milestone updates).</param>
    /// <param name="write">Decides and appends; or returns the receipt of an earlier copy of the request found
    /// under the stream's lock, and writes nothing.</param>
    async Task<CommandResult> Run(CommandEnvelope command, Guid streamId, bool lookFirst, string? mustExist,
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
                receipt = new CommandReceipt
                {
                    Id = receiptId, RequestHash = hash, StreamId = streamId.ToString(), Version = version,
                    EntityId = decision!.EntityId, RecordedAt = time.GetUtcNow(),
                };
                session.Insert(receipt);
                await session.SaveChangesAsync();
            }
            catch (Exception e) when (e is DomainException || IsConflict(e))
            {
                // A copy of this request that ran first (a retry racing its original) has its receipt
                // now: that copy's result is the answer, whatever this copy ran into deciding again.
                await using var query = store.QuerySession();
                if (await Earlier(query, receiptId, hash) is { } winner) return winner;
                if (mustExist is not null && command.ExpectedVersion is not null && IsStreamConflict(e) &&
                    await query.Events.FetchStreamStateAsync(streamId) is null)
                    throw new NotFoundException(mustExist, streamId.ToString());
                // A unique value (a project's code) taken by another request that committed first: deciding again,
                // the checks that must hold see it and say which (ALREADY_EXISTS naming the resource).
                var taken = IsUniqueViolation(e);
                if (!IsStreamConflict(e) && !taken) throw;
                if (attempt >= attempts && taken) throw;
                if (attempt >= attempts)
                    throw new ConcurrencyConflictException(command.ExpectedVersion is null
                        ? "The stream kept changing under this request; retry it"
                        : $"expected_version {command.ExpectedVersion} is stale: the stream was changed by another request");
                continue;
            }
            return Result(receipt, replayed: false);
        }
    }

    static bool IsStreamConflict(Exception e) =>
        e is ConcurrencyException or EventStreamUnexpectedMaxEventIdException or Marten.Exceptions.ExistingStreamIdCollisionException or JasperFx.Events.ExistingStreamIdCollisionException;

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
