// Who is calling and on behalf of which request: recorded on every event (actor, correlation id,
// causation id = request_id).
using System.Diagnostics;
using Grpc.Core;

namespace Regeneration.ServiceDefaults;

public sealed record RequestContext(string Actor, string CorrelationId)
{
    public const string ActorHeader = "x-actor";
    public const string CorrelationHeader = "x-correlation-id";

    public static RequestContext From(ServerCallContext call)
    {
        var actor = call.GetHttpContext().User.Identity?.Name
            ?? Limit(call.RequestHeaders.GetValue(ActorHeader))
            ?? "anonymous";
        var correlation = Limit(call.RequestHeaders.GetValue(CorrelationHeader))
            ?? Activity.Current?.TraceId.ToString()
            ?? Guid.NewGuid().ToString("N");
        return new RequestContext(actor, correlation);
    }

    static string? Limit(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Length <= 100 ? value : value[..100];
}
