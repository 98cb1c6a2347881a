// How a service calls another one: a gRPC client from the factory, addressed by configuration
// (Services:<Name>), authenticated with the calling service's own token, with retries of transient
// failures that gRPC itself decides are safe: the retry policy only retries UNAVAILABLE, and only
// before any response arrived. Callers set deadlines.
using Grpc.Core;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
            .AddCallCredentials((_, metadata, sp) =>
            {
                var service = sp.GetRequiredService<IHostEnvironment>().ApplicationName;
                metadata.Add("Authorization", $"Bearer {sp.GetRequiredService<TokenIssuer>().ServiceToken(service)}");
                return Task.CompletedTask;
            })
            .ConfigureChannel(channel =>
            {
                // Between services on a private network, without TLS (h2c): call credentials need the flag.
                channel.UnsafeUseInsecureChannelCallCredentials = true;
                channel.ServiceConfig = RetryUnavailable;
            });

    public static readonly ServiceConfig RetryUnavailable = new()
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
    };
}
