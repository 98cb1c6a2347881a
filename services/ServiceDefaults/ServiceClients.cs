// How a service calls another one: a gRPC client from the factory, addressed by configuration
// (Services:<Name>), with retries of transient failures that gRPC itself decides are safe: the
// retry policy only retries UNAVAILABLE, and only before any response arrived. Callers set deadlines.
using Grpc.Core;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Regeneration.ServiceDefaults;

public static class ServiceClients
{
    public static IHttpClientBuilder AddServiceClient<TClient>(this IServiceCollection services, string name) where TClient : class =>
        services.AddGrpcClient<TClient>((sp, options) =>
            {
                var url = sp.GetRequiredService<IConfiguration>()[$"Services:{name}"]
                    ?? throw new InvalidOperationException($"Services:{name} (the {name} service's URL) is not set");
                options.Address = new Uri(url);
            })
            .ConfigureChannel(channel => channel.ServiceConfig = new ServiceConfig
            {
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1),
                            BackoffMultiplier = 2, RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            });
}
