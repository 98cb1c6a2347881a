// Malformed and hostile gRPC input: random bytes, truncated messages, invalid UTF-8, huge strings and
// repeated fields, sent to every command and query of the three services. Never a crash, never an
// unexplained INTERNAL, never a write.
using Google.Protobuf;
using Grpc.Core;
using Regeneration.Budget.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Reliability;

public class HostileInputTests(SystemServers servers) : IClassFixture<SystemServers>
{
    static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    /// <summary>Every unary method of a service, by its descriptor.</summary>
    static IEnumerable<(string Service, string Method)> UnaryMethods(Google.Protobuf.Reflection.ServiceDescriptor service) =>
        service.Methods.Where(m => !m.IsServerStreaming && !m.IsClientStreaming).Select(m => (service.FullName, m.Name));

    static IEnumerable<byte[]> HostilePayloads(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 6; i++)
        {
            var bytes = new byte[random.Next(1, 300)];
            random.NextBytes(bytes);
            yield return bytes;
        }
        var valid = new RegisterProjectRequest { RequestId = "r", Code = "HOSTILE-1", Name = "x", District = "d", Owner = "o" }.ToByteArray();
        yield return valid[..^3];                                           // truncated
        yield return [0x12, 0x03, 0xC3, 0x28, 0xA0];                       // field 2, invalid UTF-8
        yield return [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];                 // a length far beyond the message
        yield return [.. Enumerable.Repeat((byte)0x08, 1), .. Enumerable.Repeat((byte)0xFF, 12)];   // a varint that never ends
    }

    [Fact]
    public async Task Random_truncated_and_invalid_messages_to_every_method_are_rejected_cleanly_and_write_nothing()
    {
        var before = await EventCounts();
        var seen = new Dictionary<StatusCode, int>();
        var targets = new (ServiceHost Host, Google.Protobuf.Reflection.ServiceDescriptor Service)[]
        {
            (servers.Projects, ProjectService.Descriptor), (servers.Budget, BudgetService.Descriptor), (servers.Kpi, KpiService.Descriptor),
        };
        var seed = 0;
        var tried = 0;
        foreach (var (host, service) in targets)
        foreach (var (serviceName, methodName) in UnaryMethods(service))
        foreach (var payload in HostilePayloads(seed++))
        {
            var method = new Method<byte[], byte[]>(MethodType.Unary, serviceName, methodName, Raw, Raw);
            tried++;
            try
            {
                await host.Admin.AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), payload);
                seen[StatusCode.OK] = seen.GetValueOrDefault(StatusCode.OK) + 1;
            }
            catch (RpcException e)
            {
                seen[e.StatusCode] = seen.GetValueOrDefault(e.StatusCode) + 1;
                Assert.True(e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition
                    or StatusCode.AlreadyExists, $"{serviceName}/{methodName} answered {e.StatusCode}: {e.Status.Detail}");
            }
        }

        ReliabilityFigures.Record("Random, truncated and invalid protobuf messages to every unary method of the three services",
            ReliabilityFigures.BadInputs, tried);
        Assert.True(seen.GetValueOrDefault(StatusCode.InvalidArgument) > 0);
        Assert.Equal(before, await EventCounts());
        var health = new Grpc.Health.V1.Health.HealthClient(servers.Projects.Channel);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new())).Status);
    }

    [Fact]
    public async Task Huge_strings_and_repeated_fields_are_invalid_argument_or_resource_exhausted_and_write_nothing()
    {
        var before = await EventCounts();
        var huge = Requests.Register(r => r.Name = new string('x', 1_000_000));
        var many = Requests.Register();
        for (var i = 0; i < 50_000; i++) many.Contributions.Add(new MaturityContribution { Dimension = $"d{i}", Weight = 1 });
        var tooBig = Requests.Register(r => r.Description = new string('y', 5_000_000));

        var e1 = await Assert.ThrowsAsync<RpcException>(() => servers.ProjectsClient.RegisterProjectAsync(huge).ResponseAsync);
        var e2 = await Assert.ThrowsAsync<RpcException>(() => servers.ProjectsClient.RegisterProjectAsync(many).ResponseAsync);
        var e3 = await Assert.ThrowsAsync<RpcException>(() => servers.ProjectsClient.RegisterProjectAsync(tooBig).ResponseAsync);

        ReliabilityFigures.Record("1 MB strings, 50,000 repeated items and a 5 MB message over gRPC", ReliabilityFigures.BadInputs, 3);
        Assert.Equal(StatusCode.InvalidArgument, e1.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, e2.StatusCode);
        Assert.Equal((StatusCode.ResourceExhausted, "MESSAGE_TOO_LARGE"), (e3.StatusCode, e3.Detail<Google.Rpc.ErrorInfo>()?.Reason));
        Assert.Equal(before, await EventCounts());
    }

    async Task<(long, long, long)> EventCounts()
    {
        static async Task<long> Count<T>(AsyncServerStreamingCall<T> call)
        {
            var n = 0L;
            using (call) while (await call.ResponseStream.MoveNext(default)) n++;
            return n;
        }
        return (await Count(servers.ProjectsClient.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest())),
            await Count(servers.BudgetClient.SubscribeBudgetEvents(new SubscribeBudgetEventsRequest())),
            await Count(servers.KpiClient.SubscribeKpiEvents(new SubscribeKpiEventsRequest())));
    }
}
