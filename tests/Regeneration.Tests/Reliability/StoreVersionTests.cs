// The store version keys every kept answer (the rollup, the maturity, the portfolio budget): it must move
// with every commit, including one that finishes while an older transaction is still open and one whose
// event sequence is lower than a commit already counted; it is counted again only when the database's
// snapshot moved, so these are the cases where a cheaper check would go wrong.
using Marten;
using Npgsql;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Reliability;

public class StoreVersionTests
{
    [Fact]
    public async Task The_store_version_moves_with_every_commit_whatever_else_is_open_and_stays_while_nothing_commits()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        await using var store = DocumentStore.For(o =>
        {
            o.Connection(database);
            o.DatabaseSchemaName = "versioned";
            o.Events.DatabaseSchemaName = "versioned";
        });
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        await using (var session = store.LightweightSession())
        {
            session.Events.StartStream(first, new Noted("a"));
            session.Events.StartStream(second, new Noted("b"), new Noted("c"));
            await session.SaveChangesAsync();
        }
        Assert.Equal(3, await StoreVersion.Current(store, default));
        Assert.Equal(3, await StoreVersion.Current(store, default));

        // An unrelated transaction that holds a transaction id and stays open to the end: the oldest one running.
        await using var older = await Open(database);
        await using var olderTransaction = await older.BeginTransactionAsync();
        await Execute(older, "create table unrelated (id int)");

        // A command that appends while the version is read, and commits after: not counted before, counted after.
        await using var pending = await Open(database);
        await using (var transaction = await pending.BeginTransactionAsync())
        {
            await Execute(pending, $"update versioned.mt_streams set version = version + 1 where id = '{first}'");
            Assert.Equal(3, await StoreVersion.Current(store, default));
            await transaction.CommitAsync();
        }
        Assert.Equal(4, await StoreVersion.Current(store, default));

        // Two appends through Marten, one after the other: each counted.
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(second, new Noted("d"));
            await session.SaveChangesAsync();
        }
        Assert.Equal(5, await StoreVersion.Current(store, default));
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(first, new Noted("e"));
            await session.SaveChangesAsync();
        }
        Assert.Equal(6, await StoreVersion.Current(store, default));

        // A commit elsewhere moves the snapshot, not the version; a rolled-back append moves neither.
        await Execute(pending, "create table elsewhere (id int)");
        Assert.Equal(6, await StoreVersion.Current(store, default));
        await using (var rolledBack = await pending.BeginTransactionAsync())
        {
            await Execute(pending, $"update versioned.mt_streams set version = version + 1 where id = '{second}'");
            await rolledBack.RollbackAsync();
        }
        Assert.Equal(6, await StoreVersion.Current(store, default));
        await olderTransaction.RollbackAsync();
    }

    public sealed record Noted(string Text);

    static async Task<NpgsqlConnection> Open(string database)
    {
        var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        return connection;
    }

    static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
