// What a service logs, for the tests of what it logs. Registered with a running service's logger factory; its
// level is its own (LogLevel for the provider "Regeneration.Tests.Infrastructure.LogCollector"), not the console's.
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Regeneration.Tests.Infrastructure;

public sealed class LogCollector : ILoggerProvider
{
    public const string Everything = "Logging:Regeneration.Tests.Infrastructure.LogCollector:LogLevel:Default=Trace";

    readonly ConcurrentQueue<Entry> entries = new();

    public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception);

    public IReadOnlyList<Entry> Entries => [.. entries];

    /// <summary>Collects from now on what the service logs (started with <see cref="Everything"/> to see every level).</summary>
    public static LogCollector On(ServiceHost host) => On(host.Services);

    /// <summary>Collects from now on what the application logs.</summary>
    public static LogCollector On(IServiceProvider services)
    {
        var collector = new LogCollector();
        services.GetRequiredService<ILoggerFactory>().AddProvider(collector);
        return collector;
    }

    /// <summary>Waits until what was logged meets the condition, or fails after the timeout.</summary>
    public async Task WaitUntil(Func<IReadOnlyList<Entry>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Entries))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not logged within {timeout.TotalSeconds} s; logged:\n{string.Join("\n", Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"))}");
            await Task.Delay(20);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    sealed class Logger(LogCollector collector, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            collector.entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
    }
}
