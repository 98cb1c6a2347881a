// The one PostgreSQL of a test run. REGENERATION_TEST_POSTGRES (a connection string) points the tests
// at an existing server; otherwise Testcontainers starts REGENERATION_POSTGRES_IMAGE
// (default postgres:17-alpine) once per test process. Each test class gets a database of its own.
using Npgsql;
using Testcontainers.PostgreSql;

namespace Regeneration.Tests.Infrastructure;

public static class PostgresServer
{
    static readonly Lazy<Task<string>> Server = new(StartAsync);
    static PostgreSqlContainer? container;

    public static bool IsExternal => Environment.GetEnvironmentVariable("REGENERATION_TEST_POSTGRES") is { Length: > 0 };

    /// <summary>PostgreSQL's defaults, as the compose file runs it, which Testcontainers turns off: a commit waits for its
    /// WAL flush (fsync, synchronous_commit), and a page's first change after a checkpoint writes the whole page to the
    /// WAL (full_page_writes: without it a crash in the middle of a page's write can leave it torn).</summary>
    public static readonly string[] ProductionDurability = ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"];

    public static bool Durable => Environment.GetEnvironmentVariable("REGENERATION_POSTGRES_DURABLE") == "1";

    public static string Mode => Environment.GetEnvironmentVariable("REGENERATION_TEST_POSTGRES") is { Length: > 0 }
        ? "external server (REGENERATION_TEST_POSTGRES)"
        : $"Testcontainers ({Image}, {(Durable ? "fsync and synchronous_commit on" : "fsync and synchronous_commit off")})";

    public static string Image => Environment.GetEnvironmentVariable("REGENERATION_POSTGRES_IMAGE") is { Length: > 0 } image
        ? image : "postgres:17-alpine";

    /// <summary>A connection string to a new, empty database.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var server = await Server.Value;
        var name = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("REGENERATION_TEST_POSTGRES") is { Length: > 0 } external)
            return external;
        var builder = new PostgreSqlBuilder(Image).WithCommand("-c", "max_connections=500");
        // Testcontainers turns the three of ProductionDurability off for speed; the benchmarks measure with them on.
        if (Durable) builder = builder.WithCommand(ProductionDurability);
        // REGENERATION_POSTGRES_STATEMENTS=1: pg_stat_statements loaded, for profiling the benchmarks' SQL.
        if (Environment.GetEnvironmentVariable("REGENERATION_POSTGRES_STATEMENTS") == "1")
            builder = builder.WithCommand("-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all");
        container = builder.Build();
        await container.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // REGENERATION_POSTGRES_DIRECT=1: connect to the container's own address on the Docker bridge, as the
        // services of the compose deployment do, instead of the published port (Docker's userland proxy, which
        // costs CPU on every round trip).
        return Environment.GetEnvironmentVariable("REGENERATION_POSTGRES_DIRECT") == "1"
            ? new NpgsqlConnectionStringBuilder(container.GetConnectionString()) { Host = container.IpAddress, Port = 5432 }.ConnectionString
            : container.GetConnectionString();
    }
}
