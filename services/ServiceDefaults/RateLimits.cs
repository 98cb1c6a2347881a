// One rate limit per caller (the authenticated subject, else the client address): a token bucket,
// configured as RateLimits:PermitsPerSecond and RateLimits:Burst. Used by the gateway (answers 429
// problem details) and the services (answer RESOURCE_EXHAUSTED), so integrators calling gRPC directly
// are limited too.
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Regeneration.ServiceDefaults;

public sealed class RateLimitOptions
{
    public int PermitsPerSecond { get; set; } = 200;
    public int Burst { get; set; } = 400;
}

public static class RateLimits
{
    public const string PerCaller = "per-caller";

    public static IServiceCollection AddPerCallerRateLimit(this IServiceCollection services, IConfiguration configuration,
        Func<OnRejectedContext, CancellationToken, ValueTask> onRejected)
    {
        services.Configure<RateLimitOptions>(configuration.GetSection("RateLimits"));
        services.AddRateLimiter(o =>
        {
            o.OnRejected = onRejected;
            o.AddPolicy(PerCaller, http =>
            {
                // The services' own calls to each other (KPI reading the feeds, as-of queries) are not throttled.
                if (http.User.IsInRole(Roles.Service)) return RateLimitPartition.GetNoLimiter("services");
                var limits = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                var caller = http.User.Identity?.Name ?? http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                return RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.Burst, TokensPerPeriod = limits.PermitsPerSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0, AutoReplenishment = true,
                });
            });
        });
        return services;
    }

    /// <summary>A trailers-only gRPC answer: RESOURCE_EXHAUSTED.</summary>
    public static ValueTask RejectGrpc(OnRejectedContext context, CancellationToken _)
    {
        MessageGuard.Answer(context.HttpContext, 8, "Rate limit reached for this caller; slow down", "RATE_LIMITED");
        return ValueTask.CompletedTask;
    }
}
