// What operators and tools rely on: gRPC health, reflection, HTTP /healthz.
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Projects;

public class HostingTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    [Fact]
    public async Task Grpc_health_reports_serving()
    {
        var health = new Health.HealthClient(server.Channel);
        var response = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_lists_the_public_services()
    {
        var reflection = new ServerReflection.ServerReflectionClient(server.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(default));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("regeneration.projects.v1.ProjectService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task The_http_health_probe_succeeds_against_a_running_service_and_fails_without_one()
    {
        Assert.Equal(0, await ServiceHosting.RunAsync(["--healthcheck", $"{server.Address}/healthz"], _ => throw new InvalidOperationException()));
        Assert.Equal(1, await ServiceHosting.RunAsync(["--healthcheck", "http://127.0.0.1:9/healthz"], _ => throw new InvalidOperationException()));
    }
}
