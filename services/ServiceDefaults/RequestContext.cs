// Who is calling and on behalf of which request: recorded on every event (actor, correlation id,
// causation id = request_id).
using System.Diagnostics;
using Grpc.Core;

namespace Regeneration.ServiceDefaults;

public sealed record RequestContext(string Actor, string CorrelationId)
{
    public const string CorrelationHeader = "x-correlation-id";

    /// <summary>The actor is the authenticated subject; the correlation id is the caller's x-correlation-id,
    /// else the trace id (the same across gateway, services and event store).</summary>
    public static RequestContext From(ServerCallContext call)
    {
        var actor = call.GetHttpContext().User.Identity?.Name ?? "anonymous";
        var correlation = Limit(call.RequestHeaders.GetValue(CorrelationHeader))
            ?? Activity.Current?.TraceId.ToString()
            ?? Guid.NewGuid().ToString("N");
        return new RequestContext(actor, correlation);
    }

    static string? Limit(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Length <= 100 ? value : value[..100];
}
