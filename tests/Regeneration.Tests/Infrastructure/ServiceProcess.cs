// One service (or the gateway) as a real separate process started from its build output: for what an
// in-process host cannot show — a SIGKILL, the process's own memory (RSS), its real console log.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace Regeneration.Tests.Infrastructure;

public sealed class ServiceProcess(string project, string[] settings) : IDisposable
{
    readonly StringBuilder log = new();
    Process? process;

    /// <summary>Every test service's settings (in process or not): Development (its signing key), warnings only,
    /// and rate limits out of the way (tests drive the services hard from one caller; a test that wants the limit
    /// sets its own).</summary>
    public static readonly string[] Defaults =
        ["environment=Development", "Logging:LogLevel:Default=Warning", "RateLimits:PermitsPerSecond=100000", "RateLimits:Burst=100000"];

    /// <summary>The loopback port the process listens on; the same across restarts.</summary>
    public int Port { get; } = FreePort();
    public string Address => $"http://127.0.0.1:{Port}";
    public bool IsRunning => process is { HasExited: false };

    /// <summary>What the process wrote to stdout and stderr so far (all runs).</summary>
    public string Log { get { lock (log) return log.ToString(); } }

    /// <param name="project">"Projects", "Budget", "Kpi" or "Gateway".</param>
    /// <param name="settings">Configuration as "Key=Value"; the defaults below are for tests (Development, warnings only).</param>
    public static ServiceProcess Start(string project, params string[] settings)
    {
        var service = new ServiceProcess(project, settings);
        service.Start();
        return service;
    }

    public void Start()
    {
        var dll = BuildOutput(project);
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build the solution first", dll);
        // Later arguments win, so a test's settings override the defaults.
        var start = new ProcessStartInfo("dotnet", [dll, $"--urls={Address}", .. Defaults.Concat(settings).Select(s => "--" + s)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The project's program in its build output (this test build's configuration).</summary>
    public static string BuildOutput(string project)
    {
        var configuration = typeof(ServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var folder = project == "Gateway" ? "gateway" : Path.Combine("services", project);
        return Path.Combine(Repository.Root(), folder, "bin", configuration, "net10.0", $"Regeneration.{project}.dll");
    }

    void Append(string? line)
    {
        if (line is null) return;
        lock (log) log.AppendLine(line);
    }

    /// <summary>SIGKILL on Linux: no shutdown, no flushing.</summary>
    public void Kill()
    {
        process!.Kill();
        process.WaitForExit();
    }

    /// <summary>SIGTERM and wait: a graceful shutdown that flushes the log.</summary>
    public async Task Stop()
    {
        if (!IsRunning) return;
        using (var kill = Process.Start("kill", ["-TERM", process!.Id.ToString()])) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>Waits for a process that ends by itself (a <c>--rebuild</c>) and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync()
    {
        await process!.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>The operating system's id of the running process.</summary>
    public int ProcessId => process!.Id;

    /// <summary>Resident set size now, in bytes.</summary>
    public long ResidentBytes()
    {
        process!.Refresh();
        return process.WorkingSet64;
    }

    /// <summary>Polls the health endpoint until it answers (bounded).</summary>
    public async Task WaitUntilHealthy()
    {
        // The services speak HTTP/2 only (h2c, prior knowledge); the gateway also speaks HTTP/1.1.
        using var http = new HttpClient
        {
            BaseAddress = new Uri(Address), Timeout = TimeSpan.FromSeconds(2),
            DefaultRequestVersion = project == "Gateway" ? HttpVersion.Version11 : HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (!IsRunning) throw new InvalidOperationException($"{project} exited:\n{Log}");
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{project} did not become healthy:\n{Log}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (IsRunning) Kill();
        process?.Dispose();
    }
}
