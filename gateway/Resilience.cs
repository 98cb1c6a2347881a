// The gateway's calls to the services: one Polly pipeline per service — an overall timeout, retries
// with jittered backoff, a circuit breaker, and a timeout per attempt — and a gRPC deadline on every
// call. Retrying is safe for every call the gateway makes: queries read, and commands carry a
// request_id (the client's Idempotency-Key, or one the gateway makes), so a repeat is answered from the
// first result and never writes twice.
using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;

namespace Regeneration.Gateway;

public sealed class ResilienceOptions
{
    public double AttemptTimeoutSeconds { get; set; } = 2;
    public double TotalTimeoutSeconds { get; set; } = 5;
    public int MaxRetries { get; set; } = 2;
    public double BreakSeconds { get; set; } = 10;
    public double FailureRatio { get; set; } = 0.5;
    public int MinimumThroughput { get; set; } = 4;
    /// <summary>Reads computed over the whole portfolio at an instant the caller names (as of a past instant, from its
    /// history; a forecast; the trend): one attempt this long, retried only when the service cannot be reached — a read
    /// that ran out of time is not run again.</summary>
    public double HistoryReadSeconds { get; set; } = 60;
}

public static class Downstream
{
    public const string Projects = "projects", Budget = "budget", Kpi = "kpi";
    public static readonly string[] All = [Projects, Budget, Kpi];

    /// <summary>Failures that say the service, not the request, is the problem.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RpcException r => r.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded,
        TimeoutRejectedException => true,
        HttpRequestException => true,
        _ => false,
    };

    /// <summary>The pipeline of a service's reads over the whole portfolio's history (its own breaker: a slow history
    /// read does not stop the service's ordinary calls).</summary>
    public static string History(string service) => service + HistorySuffix;

    public static bool IsHistory(string pipeline) => pipeline.EndsWith(HistorySuffix, StringComparison.Ordinal);

    const string HistorySuffix = ":history";

    /// <summary>The pipeline for a read at <paramref name="at"/>: a past instant reads the whole portfolio's history, a
    /// future one forecasts the whole portfolio — each computed for the call (the maturity at 10,000 projects 1.0–1.7 s
    /// p50 with 8 callers queued: BENCHMARKS.md, 2), not a kept answer to fetch within 2 s.</summary>
    public static string ForInstant(string service, DateTimeOffset? at) => at is null ? service : History(service);

    /// <summary>Unreachable, as opposed to too slow.</summary>
    static bool IsUnreachable(Exception e) => e is RpcException { StatusCode: StatusCode.Unavailable } or HttpRequestException;

    public static IServiceCollection AddDownstreamResilience(this IServiceCollection services)
    {
        services.AddSingleton<Breakers>();
        services.AddSingleton<ServiceCalls>();
        foreach (var name in All.Concat(All.Select(History)))
            services.AddResiliencePipeline(name, (pipeline, context) =>
            {
                var o = context.ServiceProvider.GetRequiredService<IOptions<ResilienceOptions>>().Value;
                var history = IsHistory(name);
                var transient = new PredicateBuilder().Handle<Exception>(IsTransient);
                pipeline
                    .AddTimeout(TimeSpan.FromSeconds(history ? o.HistoryReadSeconds + 5 : o.TotalTimeoutSeconds))
                    .AddRetry(new RetryStrategyOptions
                    {
                        ShouldHandle = history ? new PredicateBuilder().Handle<Exception>(IsUnreachable) : transient,
                        MaxRetryAttempts = o.MaxRetries, UseJitter = true,
                        BackoffType = DelayBackoffType.Exponential, Delay = TimeSpan.FromMilliseconds(100),
                    })
                    .AddCircuitBreaker(new CircuitBreakerStrategyOptions
                    {
                        ShouldHandle = transient, FailureRatio = o.FailureRatio, MinimumThroughput = o.MinimumThroughput,
                        SamplingDuration = TimeSpan.FromSeconds(Math.Max(2, o.BreakSeconds)),
                        BreakDuration = TimeSpan.FromSeconds(o.BreakSeconds),
                        // A pipeline may be rebuilt (e.g. when its options reload): each build gets its own state provider.
                        StateProvider = context.ServiceProvider.GetRequiredService<Breakers>().NewFor(name),
                    })
                    .AddTimeout(TimeSpan.FromSeconds(history ? o.HistoryReadSeconds : o.AttemptTimeoutSeconds));
            });
        return services;
    }
}

/// <summary>Runs a call to a service through its pipeline, with a deadline on the gRPC call itself.</summary>
public sealed class ServiceCalls(ResiliencePipelineProvider<string> pipelines, IOptions<ResilienceOptions> options, Breakers breakers)
{
    public CircuitState Breaker(string service) => breakers.State(service);

    public async Task<T> Run<T>(string service, Func<CallOptions, Task<T>> call, CancellationToken cancellation)
    {
        var attempt = TimeSpan.FromSeconds(Downstream.IsHistory(service) ? options.Value.HistoryReadSeconds : options.Value.AttemptTimeoutSeconds);
        return await pipelines.GetPipeline(service).ExecuteAsync(async token =>
        {
            try
            {
                return await call(new CallOptions(deadline: DateTime.UtcNow + attempt, cancellationToken: token));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && token.IsCancellationRequested)
            {
                // gRPC reports a call cancelled through its token as CANCELLED; Polly recognises its own
                // attempt timeout (a transient failure) only as an OperationCanceledException on its token.
                // (A deadline that fires first stays DEADLINE_EXCEEDED, transient too.)
                throw new OperationCanceledException(e.Message, e, token);
            }
        }, cancellation);
    }
}

/// <summary>The circuit breakers' states, one per service, for readiness and answers.</summary>
public sealed class Breakers
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, CircuitBreakerStateProvider> providers = new();

    public CircuitBreakerStateProvider NewFor(string service) => providers[service] = new CircuitBreakerStateProvider();

    /// <summary>Closed until the service's pipeline is first used.</summary>
    public CircuitState State(string service)
    {
        if (!providers.TryGetValue(service, out var provider)) return CircuitState.Closed;
        try { return provider.CircuitState; }
        catch (InvalidOperationException) { return CircuitState.Closed; }   // not bound to a breaker yet
    }
}
