// One real service in the test process: its real composition, Kestrel on a free loopback port
// (HTTP/2), in the Development environment (the development signing key), reached through a real
// gRPC channel.
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Regeneration.Tests.Infrastructure;

public sealed class ServiceHost : IAsyncDisposable
{
    WebApplication? app;
    readonly Func<string[], WebApplication> build;
    readonly string[] args;

    ServiceHost(WebApplication app, string address, Func<string[], WebApplication> build, string[] args)
    {
        this.app = app;
        this.build = build;
        this.args = args;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
    }

    public string Address { get; }
    /// <summary>The running service's container (for in-process comparisons in the benchmarks).</summary>
    public IServiceProvider Services => app?.Services ?? throw new InvalidOperationException("The service is stopped");
    /// <summary>Unauthenticated: for health, reflection and the authentication tests.</summary>
    public GrpcChannel Channel { get; }
    /// <summary>Calls as an admin.</summary>
    public CallInvoker Admin => As(TestTokens.Admin);

    public CallInvoker As(string token) => Channel.Intercept(metadata =>
    {
        metadata.Add("Authorization", $"Bearer {token}");
        return metadata;
    });

    /// <param name="settings">Extra configuration as "Key=Value" (e.g. "Services:Projects=http://...").</param>
    public static async Task<ServiceHost> StartAsync(Func<string[], WebApplication> build, string connectionString,
        params string[] settings)
    {
        var args = Arguments(connectionString, settings);
        var app = build(["--urls=http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        var address = app.Urls.First();
        return new ServiceHost(app, address, build, [$"--urls={address}", .. args]);
    }

    /// <summary>The service's <c>--rebuild</c>, run in this process with the tests' settings: its exit code, what it
    /// printed and what it reported as an error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RebuildAsync(Func<string[], WebApplication> build, string connectionString)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Regeneration.ServiceDefaults.ServiceHosting.RebuildAsync(Arguments(connectionString), build, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    public static string[] Arguments(string connectionString, params string[] settings) =>
        [.. ServiceProcess.Defaults.Append($"ConnectionStrings:Postgres={connectionString}").Concat(settings).Select(s => "--" + s)];

    /// <summary>Stops the service (its port closes: callers see connection refused).</summary>
    public async Task StopAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }

    /// <summary>Starts it again on the same address.</summary>
    public async Task RestartAsync()
    {
        app = build(args);
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await StopAsync();
    }
}
