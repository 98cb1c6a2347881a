// Event streams locked by a transaction of the test's own, as a session left open elsewhere (an operator's, a client's
// gone mid-transaction) holds them: what a service's commands then wait for.
using Npgsql;

namespace Regeneration.Tests.Infrastructure;

public sealed class StreamLocks : IAsyncDisposable
{
    readonly NpgsqlConnection connection;
    readonly NpgsqlTransaction transaction;

    StreamLocks(NpgsqlConnection connection, NpgsqlTransaction transaction) => (this.connection, this.transaction) = (connection, transaction);

    /// <summary>Locks the rows of the given streams in the schema's streams table (as a command locks its stream).</summary>
    public static async Task<StreamLocks> HoldAsync(string connectionString, string schema, params string[] streamIds)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var lockRows = new NpgsqlCommand($"select 1 from {schema}.mt_streams where id = any($1) for update", connection, transaction);
        lockRows.Parameters.AddWithValue(streamIds.Select(Guid.Parse).ToArray());
        await lockRows.ExecuteNonQueryAsync();
        return new(connection, transaction);
    }

    /// <summary>Ends the transaction, which wrote nothing: the streams are free.</summary>
    public Task ReleaseAsync() => transaction.RollbackAsync();

    public async ValueTask DisposeAsync()
    {
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
