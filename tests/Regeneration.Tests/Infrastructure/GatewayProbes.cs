// What the fault tests ask the gateway: the whole rollup once every breaker has closed again, and a
// service's breaker state as /readyz reports it.
using System.Net.Http.Json;
using System.Text.Json;
using Regeneration.Gateway;

namespace Regeneration.Tests.Infrastructure;

public static class GatewayProbes
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Polls (bounded) until no part is missing: breakers left open by an earlier failure close by themselves.</summary>
    public static async Task<KpiRollupDto> WholeRollup(HttpClient executive)
    {
        KpiRollupDto? rollup = null;
        for (var attempt = 0; attempt < 50 && rollup is not { Missing.Count: 0 }; attempt++)
        {
            if (attempt > 0) await Task.Delay(200);
            rollup = await executive.GetFromJsonAsync<KpiRollupDto>("/api/v1/kpis", Json);
        }
        return rollup!;
    }

    /// <summary>"Closed", "Open" or "HalfOpen": /readyz answers 200 when every breaker is closed, 503 otherwise, and lists them either way.</summary>
    public static async Task<string?> Breaker(HttpClient anonymous, string service)
    {
        var ready = await (await anonymous.GetAsync("/readyz")).Content.ReadFromJsonAsync<JsonElement>(Json);
        return ready.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == service)
            .GetProperty("breaker").GetString();
    }
}
