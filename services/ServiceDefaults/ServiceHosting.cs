// How every Regeneration gRPC service is hosted: Kestrel speaking HTTP/2 (h2c), the error/validation
// interceptor, Marten in the service's own schema, gRPC health and reflection, HTTP /healthz.
using FluentValidation;
using JasperFx;
using JasperFx.Events;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Weasel.Core;

namespace Regeneration.ServiceDefaults;

public static class ServiceHosting
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>
    /// A web application builder for the gRPC service <typeparamref name="TService"/> (its assembly holds the
    /// request validators) whose events live in <paramref name="schema"/>.
    /// Configuration: ConnectionStrings:Postgres (required), the usual ASP.NET Core settings (--urls...).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder<TService>(string[] args, string schema, Action<StoreOptions> configureMarten)
        where TService : class
    {
        // appsettings.json is read from beside the binaries, wherever the process starts.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // gRPC needs HTTP/2; without TLS, Kestrel serves it to clients that speak it from the start.
            kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = 4 * 1024 * 1024;
        });

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.MaxReceiveMessageSize = 4 * 1024 * 1024;
            grpc.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        services.AddValidatorsFromAssemblyContaining<TService>(ServiceLifetime.Singleton, includeInternalTypes: true);
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : ProtoFieldName(member.Name);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : ProtoFieldName(member.Name);

        services.AddMarten(sp =>
        {
            var connectionString = sp.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionStringName)
                ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set");
            var options = new StoreOptions();
            options.Connection(ConnectionWithDefaults(connectionString));
            options.DatabaseSchemaName = schema;
            options.Events.DatabaseSchemaName = schema;
            options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
            options.UseSystemTextJsonForSerialization(EnumStorage.AsString);
            options.Events.MetadataConfig.CorrelationIdEnabled = true;
            options.Events.MetadataConfig.CausationIdEnabled = true;
            options.Events.MetadataConfig.UserNameEnabled = true;
            options.Events.StreamIdentity = StreamIdentity.AsGuid;
            // Event numbers taken inside the transaction that writes the events (Marten's append function), never
            // before it begins as its Rich mode does: the change feed's gap check sees a writer only by its open
            // transaction (ChangeFeed), and would skip a number taken by a writer that has not begun one yet.
            options.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
            // An append that checks a version locks its stream before it writes an event. Our commands lock their
            // stream when they read it (CommandRunner); this keeps any other append with a version from meeting a
            // command's event on the stream's version index while the command waits for its lock — PostgreSQL's
            // deadlock, seen once commands were grouped, when writers with an expected version did not lock first.
            options.Events.UseExclusiveLockOnConcurrentAppends = true;
            options.Schema.For<CommandReceipt>();
            configureMarten(options);
            return options;
        }).ApplyAllDatabaseChangesOnStartup();

        services.AddRegenerationAuthentication(builder.Configuration);
        services.AddRegenerationTelemetry(builder.Configuration, schema);
        services.AddSingleton<CommandRunner>();
        services.AddHostedService<LegacyReceiptMigration>();   // after Marten's schema, before any service's seeding
        services.AddSingleton<ChangeFeed>();
        services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres");
        services.AddGrpcHealthChecks();
        services.AddPerCallerRateLimit(builder.Configuration, RateLimits.RejectGrpc);
        return builder;
    }

    /// <summary>Maps the service (authenticated callers only) plus health (gRPC and HTTP /healthz) and reflection.</summary>
    public static WebApplication MapService<TService>(this WebApplication app, Google.Protobuf.Reflection.ServiceDescriptor contract)
        where TService : class
    {
        app.UseMessageGuard(contract, app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("Regeneration.ServiceDefaults.MessageGuard"));
        // Fails the start-up, not the first call, when the signing key is missing or refused.
        app.Services.GetRequiredService<TokenIssuer>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapGrpcService<TService>().RequireAuthorization().RequireRateLimiting(RateLimits.PerCaller);
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthChecks("/healthz", new HealthCheckOptions());
        return app;
    }

    /// <summary>
    /// Runs the service; or, with <c>--healthcheck URL</c>, probes a running one and exits 0 when it is healthy
    /// (container health checks need no curl in the image); or, with <c>--rebuild</c> (and the service's usual
    /// configuration), rebuilds its snapshots from its events and exits.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Func<string[], WebApplication> build)
    {
        if (args is ["--healthcheck", var url])
        {
            // gRPC services speak HTTP/2 only (h2c), the gateway HTTP/1.1 and HTTP/2: try both.
            foreach (var version in new[] { System.Net.HttpVersion.Version20, System.Net.HttpVersion.Version11 })
            {
                using var http = new HttpClient { DefaultRequestVersion = version,
                    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(3) };
                try { if ((await http.GetAsync(url)).IsSuccessStatusCode) return 0; }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
            }
            return 1;
        }
        if (args.Contains("--rebuild")) return await RebuildAsync([.. args.Where(a => a != "--rebuild")], build, Console.Out, Console.Error);
        await build(args).RunAsync();
        return 0;
    }

    /// <summary><c>--rebuild</c>: what it rebuilt, in how long, on <paramref name="output"/> (exit code 0); or why it
    /// failed, on <paramref name="error"/> (exit code 1) — a failed rebuild changes no snapshot. A failure to stop the
    /// process's services after a committed rebuild is reported on <paramref name="error"/> too, and the exit code
    /// stays 0: the snapshots are rebuilt.</summary>
    public static async Task<int> RebuildAsync(string[] args, Func<string[], WebApplication> build, TextWriter output, TextWriter error)
    {
        var clock = new System.Diagnostics.Stopwatch();
        IReadOnlyList<string> rebuilt = [];
        TimeSpan cpu = default;
        Exception? failure = null, stopping = null;
        WebApplication? app = null;
        try
        {
            app = build(args);
            var store = app.Services.GetRequiredService<IDocumentStore>();
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            cpu = Environment.CpuUsage.TotalTime;
            clock.Start();
            rebuilt = await SnapshotRebuild.RunAsync(store, CancellationToken.None);
            clock.Stop();
            cpu = Environment.CpuUsage.TotalTime - cpu;
        }
        catch (Exception e)
        {
            failure = e;
        }
        try
        {
            if (app is not null) await app.DisposeAsync();
        }
        catch (Exception e)
        {
            stopping = e;
        }
        var stopped = stopping is null ? "" : $"\nStopping the process's services afterwards failed too:\n{stopping}";
        if (failure is not null)
        {
            var when = clock.IsRunning ? $"after {clock.Elapsed.TotalSeconds:0.000} s" : "before it began";
            await error.WriteLineAsync($"The rebuild failed {when} and changed nothing: every snapshot is as it was.\n{failure}{stopped}");
            return 1;
        }
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        await output.WriteLineAsync($"Rebuilt {string.Join(", ", rebuilt)} from the events in {clock.Elapsed.TotalSeconds:0.000} s " +
            $"({cpu.TotalSeconds:0.000} s of this process's CPU, its peak memory {self.PeakWorkingSet64 >> 20} MB)");
        if (stopping is not null)
            await error.WriteLineAsync($"The rebuild is committed; stopping the process's services after it failed:\n{stopping}");
        return 0;
    }

    /// <summary>PascalCase member name (C# generated code) to the proto field name: PlannedStart -> planned_start.</summary>
    public static string ProtoFieldName(string member)
    {
        var sb = new System.Text.StringBuilder(member.Length + 4);
        for (var i = 0; i < member.Length; i++)
        {
            var c = member[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Our defaults for a service's connections to PostgreSQL, where the connection string does not set them:
    /// <list type="bullet">
    /// <item>the statements Marten repeats for every command (load the snapshot, lock the stream, append, upsert) are
    /// prepared once per pooled connection (Npgsql's automatic preparation) instead of parsed and planned each time:
    /// that was most of PostgreSQL's CPU per command;</item>
    /// <item>at most 8 connections per service: on the small database servers a city runs (2 cores), more commands in
    /// PostgreSQL at once than that only share its cores, so they queue in the pool instead (throughput up, p99 down
    /// by half).</item>
    /// </list>
    /// Both measured in BENCHMARKS.md (milestone updates). Maximum Pool Size / Max Auto Prepare in the connection
    /// string override them (a bigger database server wants a bigger pool).
    /// </summary>
    static string ConnectionWithDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var keys = connectionString.Replace(" ", "");
        bool Sets(string key) => keys.Contains(key + "=", StringComparison.OrdinalIgnoreCase);
        if (!Sets("MaxAutoPrepare")) builder.MaxAutoPrepare = 100;
        if (!Sets("MaximumPoolSize") && !Sets("MaxPoolSize")) builder.MaxPoolSize = 8;
        // A connection back in the pool keeps its session as it is (an open transaction is still rolled back): the
        // services keep no session state (no session SET, advisory lock, LISTEN or temporary table outside a
        // transaction), and Npgsql's reset — seven statements sent before the connection's next command — about
        // doubled the machine's CPU per one-row INSERT transaction (BENCHMARKS.md, 1).
        if (!Sets("NoResetOnClose")) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }
}

sealed class PostgresHealthCheck(IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var session = store.QuerySession();
            await session.QueryAsync<int>("select 1", cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (NpgsqlException e)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL does not answer", e);
        }
    }
}
