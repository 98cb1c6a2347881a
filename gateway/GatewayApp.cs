// The gateway's composition: JWT authentication (the same tokens the services accept, forwarded to
// them so they enforce ownership too), per-caller rate limits and request size limits, resilient gRPC
// clients, problem details, OpenAPI with an interactive page, health and readiness, telemetry.
using Grpc.Health.V1;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Regeneration.Budget.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Gateway;

public static class GatewayApp
{
    /// <summary>Configuration: Services:Projects|Budget|Kpi (URLs), Auth:*, Resilience:*, RateLimits:*.</summary>
    public static WebApplication Build(string[] args)
    {
        // appsettings.json is read from beside the binaries, wherever the process starts.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        });
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<RenderedAnswers>();
        services.AddRegenerationAuthentication(builder.Configuration);
        services.AddRegenerationTelemetry(builder.Configuration, "gateway");
        services.AddHttpContextAccessor();
        services.Configure<ResilienceOptions>(builder.Configuration.GetSection("Resilience"));
        services.AddDownstreamResilience();
        services.AddForwardingClient<ProjectService.ProjectServiceClient>("Projects");
        services.AddForwardingClient<BudgetService.BudgetServiceClient>("Budget");
        services.AddForwardingClient<KpiService.KpiServiceClient>("Kpi");
        foreach (var name in new[] { "Projects", "Budget", "Kpi" })
            services.AddGrpcClient<Health.HealthClient>(name, (sp, o) => o.Address = ServiceUrl(sp, name));
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemMapper>();
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Regeneration API";
            document.Info.Description = "Portfolio maturity (ISO 37106), KPI rollup with earned value, projects, milestones, budgets, " +
                "history and as-of queries. Authenticate with a JWT bearer token. Errors are RFC 9457 problem details. " +
                "ETag/If-Match carry a project's version; Idempotency-Key makes a command safe to retry.";
            return Task.CompletedTask;
        }).AddOperationTransformer((operation, context, _) =>
        {
            // The headers the commands read: documented on each command, so generated clients offer them.
            if (context.Description.HttpMethod == "POST" && context.Description.RelativePath?.Contains("/milestones") == true)
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(Header("Idempotency-Key",
                    "Any string of 1-128 characters chosen by the client: a retry with the same key answers from the first result and writes nothing."));
                operation.Parameters.Add(Header("If-Match", "The project's ETag (its version): the change applies only to that version (412 otherwise)."));
            }
            // The answers that carry the project's version as their ETag: the commands and the project itself.
            if ((context.Description.HttpMethod == "POST" || context.Description.RelativePath == "api/v1/projects/{projectId}")
                && operation.Responses?.GetValueOrDefault("200") is Microsoft.OpenApi.OpenApiResponse ok)
            {
                ok.Headers ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiHeader>();
                ok.Headers["ETag"] = new Microsoft.OpenApi.OpenApiHeader
                {
                    Description = "The project's version, quoted (e.g. \"7\"): send it back as If-Match to change only that version.",
                    Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String },
                };
            }
            return Task.CompletedTask;
        }));
        services.AddPerCallerRateLimit(builder.Configuration, async (context, _) =>
        {
            context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.HttpContext.Response.Headers.RetryAfter = "1";
            await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context.HttpContext,
                ProblemDetails = ProblemMapper.Problem(429, "too-many-requests", "Too many requests", "Slow down: the per-caller rate limit is reached."),
            });
        });

        var app = builder.Build();
        app.Services.GetRequiredService<TokenIssuer>();   // fail the start-up on a missing or refused key
        // The trace id of every answer (also of errors), the same the services record as events' correlation id.
        app.Use(async (http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                if (System.Diagnostics.Activity.Current is { } activity) http.Response.Headers["X-Trace-Id"] = activity.TraceId.ToString();
                return Task.CompletedTask;
            });
            await next();
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseDefaultFiles();
        app.UseStaticFiles();   // the dashboard (wwwroot): public files; its data comes from the authenticated API
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(ui =>
        {
            ui.RoutePrefix = "docs";
            ui.SwaggerEndpoint("/openapi/v1.json", "Regeneration API v1");
        });
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" })).ExcludeFromDescription();
        app.MapGet("/readyz", Readiness).ExcludeFromDescription();
        if (app.Environment.IsDevelopment()) app.MapGet("/dev/tokens", DemoTokens).ExcludeFromDescription();
        app.MapApi();
        return app;
    }

    static Uri ServiceUrl(IServiceProvider sp, string name) =>
        new(sp.GetRequiredService<IConfiguration>()[$"Services:{name}"]
            ?? throw new InvalidOperationException($"Services:{name} (the {name} service's URL) is not set"));

    /// <summary>A gRPC client that calls with the end user's own bearer token, so the service authorises the user.</summary>
    static void AddForwardingClient<TClient>(this IServiceCollection services, string name) where TClient : class =>
        services.AddGrpcClient<TClient>((sp, o) => o.Address = ServiceUrl(sp, name))
            .AddCallCredentials((_, metadata, sp) =>
            {
                var authorization = sp.GetRequiredService<IHttpContextAccessor>().HttpContext?.Request.Headers.Authorization.ToString();
                if (!string.IsNullOrEmpty(authorization)) metadata.Add("Authorization", authorization);
                return Task.CompletedTask;
            })
            .ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);

    static async Task<IResult> Readiness(IServiceProvider sp, Breakers breakers, CancellationToken cancellation)
    {
        var factory = sp.GetRequiredService<Grpc.Net.ClientFactory.GrpcClientFactory>();
        var checks = await Task.WhenAll(new[] { "Projects", "Budget", "Kpi" }.Select(async name =>
        {
            string status;
            try
            {
                var response = await factory.CreateClient<Health.HealthClient>(name)
                    .CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: cancellation);
                status = response.Status.ToString();
            }
            catch (Grpc.Core.RpcException e) { status = e.StatusCode.ToString(); }
            return new { service = name.ToLowerInvariant(), status, breaker = breakers.State(name.ToLowerInvariant()).ToString() };
        }));
        var ready = checks.All(c => c.status == nameof(HealthCheckResponse.Types.ServingStatus.Serving));
        return Results.Json(new { ready, services = checks }, statusCode: ready ? 200 : 503);
    }

    /// <summary>DEVELOPMENT ONLY: tokens for the demo users (the owners of the demo projects, an executive,
    /// an admin, two integrations), signed with the development key. Not mapped outside Development.</summary>
    static IResult DemoTokens(TokenIssuer issuer)
    {
        var lifetime = TimeSpan.FromHours(12);
        var users = new List<object>();
        foreach (var manager in new[] { "pm.kim", "pm.lee", "pm.park", "pm.han", "pm.yoon", "pm.seo", "pm.choi", "pm.jung", "pm.kang" })
            users.Add(new { user = manager, role = Roles.ProjectManager, token = issuer.Issue(manager, [Roles.ProjectManager], lifetime: lifetime) });
        users.Add(new { user = "exec.mayor", role = Roles.Executive, token = issuer.Issue("exec.mayor", [Roles.Executive], lifetime: lifetime) });
        users.Add(new { user = "admin", role = Roles.Admin, token = issuer.Issue("admin", [Roles.Admin], lifetime: lifetime) });
        users.Add(new { user = "national-regeneration-db", role = Roles.Integration,
            token = issuer.Issue("national-regeneration-db", [Roles.Integration], ["projects:read", "budget:read", "kpi:read"], lifetime) });
        users.Add(new { user = "finance-system", role = Roles.Integration,
            token = issuer.Issue("finance-system", [Roles.Integration], ["budget:write", "projects:read"], lifetime) });
        return Results.Ok(new { warning = "Development tokens, signed with the published development key.", users });
    }

    static Microsoft.OpenApi.OpenApiParameter Header(string name, string description) => new()
    {
        Name = name, In = Microsoft.OpenApi.ParameterLocation.Header, Required = false, Description = description,
        Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String },
    };
}
