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

    [Fact]
    public void A_resource_held_too_long_by_another_transaction_is_a_409_of_its_own_even_for_a_conditional_request()
    {
        var locked = Failure(StatusCode.Aborted, "Another transaction held a lock this request needs for too long; nothing was written: retry later",
            new ErrorInfo { Reason = "LOCK_TIMEOUT", Domain = "regeneration" });
        var stale = Failure(StatusCode.Aborted, "expected_version 3 is stale: the stream was changed by another request",
            new ErrorInfo { Reason = "CONCURRENT_MODIFICATION", Domain = "regeneration" });

        foreach (var conditional in new[] { false, true })
        {
            var problem = ProblemMapper.ToProblem(locked, conditional);
            Assert.Equal((409, "urn:regeneration:problem:resource-locked", "LOCK_TIMEOUT"), (problem.Status, problem.Type, problem.Extensions["reason"]));
        }
        Assert.Equal(409, ProblemMapper.ToProblem(stale).Status);
        Assert.Equal(412, ProblemMapper.ToProblem(stale, conditional: true).Status);
    }
}
