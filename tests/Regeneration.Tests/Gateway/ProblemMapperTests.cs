// The gateway's one mapping from a service's gRPC failure to problem details, on the failures that share a code.
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Regeneration.Gateway;

namespace Regeneration.Tests.Gateway;

public class ProblemMapperTests
{
    static RpcException Failure(StatusCode code, string message, IMessage? detail = null)
    {
        var trailers = new Metadata();
        if (detail is not null)
            trailers.Add("grpc-status-details-bin", new Google.Rpc.Status { Code = (int)code, Message = message, Details = { Any.Pack(detail) } }.ToByteArray());
        return new RpcException(new Grpc.Core.Status(code, message), trailers);
    }

    [Fact]
    public void A_services_rate_limit_is_429_and_a_message_over_the_size_limit_is_502()
    {
        var limited = ProblemMapper.ToProblem(Failure(StatusCode.ResourceExhausted, "Rate limit reached for this caller; slow down",
            new ErrorInfo { Reason = "RATE_LIMITED", Domain = "regeneration" }));
        // What the gateway's own client raises for an answer over its receive limit: no details.
        var tooLarge = ProblemMapper.ToProblem(Failure(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."));
        var requestTooLarge = ProblemMapper.ToProblem(Failure(StatusCode.ResourceExhausted, "The request message is larger than the limit (4 MB)",
            new ErrorInfo { Reason = "MESSAGE_TOO_LARGE", Domain = "regeneration" }));

        Assert.Equal((429, "urn:regeneration:problem:too-many-requests"), (limited.Status, limited.Type));
        Assert.Equal((502, "urn:regeneration:problem:message-too-large"), (tooLarge.Status, tooLarge.Type));
        Assert.Equal((502, "MESSAGE_TOO_LARGE"), (requestTooLarge.Status, requestTooLarge.Extensions["reason"]));
    }
}
