// What authenticating a call costs: the bearer token validated as the services' JWT bearer authentication validates
// it (signature, issuer, audience, lifetime, claims), in this process on one thread, with the time and the bytes
// allocated per call — CPU a service spends on every call before its own work (BENCHMARKS.md, 1).
using System.Globalization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Benchmarks;

public static class TokenBench
{
    public static async Task Run(int calls = 50_000, int rounds = 5)
    {
        var options = new AuthOptions();
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer, ValidAudience = options.Audience, IssuerSigningKey = options.Key(development: true),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256], NameClaimType = "sub", RoleClaimType = "role",
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        var (handler, token) = (new JsonWebTokenHandler { MapInboundClaims = false }, TestTokens.Admin);
        async Task<(double Us, double Bytes)> Once()
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < calls; i++)
                if (!(await handler.ValidateTokenAsync(token, parameters)).IsValid) throw new InvalidOperationException("the token was refused");
            return (clock.Elapsed.TotalMicroseconds / calls, (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)calls);
        }
        await Once();   // compiled and warm
        var runs = new List<(double Us, double Bytes)>();
        for (var r = 0; r < rounds; r++) runs.Add(await Once());
        var median = runs.OrderBy(r => r.Us).ElementAt(rounds / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bearer token validated (in-process, one thread, median of {rounds} rounds of {calls:N0}): {median.Us:0.0} µs and {median.Bytes:0} bytes allocated per call"));
    }
}
