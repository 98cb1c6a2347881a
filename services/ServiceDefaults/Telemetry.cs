// OpenTelemetry for every process: traces across gateway -> services -> PostgreSQL (one trace id per
// request, carried by W3C traceparent) and metrics. Exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT
// is set; without it the trace id still flows and is recorded as the events' correlation id, and the
// database commands' spans (Npgsql, Marten) are not recorded at all: nobody would read them, and
// recording them cost a tenth of the Projects service's allocations per milestone update (BENCHMARKS.md, 1).
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Regeneration.ServiceDefaults;

public static class Telemetry
{
    public static IServiceCollection AddRegenerationTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var otlp = !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/healthz"))
                    .AddHttpClientInstrumentation();
                if (otlp) tracing.AddSource("Npgsql", "Marten").AddOtlpExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter("Marten", "Regeneration.*");
                if (otlp) metrics.AddOtlpExporter();
            });
        return services;
    }
}
