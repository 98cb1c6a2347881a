// The provenance of an event as the contract shows it, the same for every service.
using Google.Protobuf.WellKnownTypes;
using JasperFx.Events;
using Regeneration.Common.V1;

namespace Regeneration.ServiceDefaults;

public static class EventEnvelopes
{
    public static EventEnvelope ToEnvelope(this IEvent e) => new()
    {
        Sequence = e.Sequence, StreamId = e.StreamId.ToString(), Version = e.Version, Type = e.EventType.Name,
        RecordedAt = Timestamp.FromDateTimeOffset(e.Timestamp), Actor = e.UserName ?? "",
        CorrelationId = e.CorrelationId ?? "", CausationId = e.CausationId ?? "",
    };
}
