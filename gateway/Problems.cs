// The one place where failures become HTTP answers: RFC 9457 problem details, with the gRPC error's
// details carried over (field violations as "errors", with the REST field names; the rule broken;
// the reason).
using System.Text.RegularExpressions;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Regeneration.Gateway;

public sealed partial class ProblemMapper(IProblemDetailsService problems, ILogger<ProblemMapper> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var problem = ToProblem(exception, conditional: http.Request.Headers.IfMatch.Count > 0);
        if (problem.Status >= 500 && exception is not (BrokenCircuitException or RpcException { StatusCode: StatusCode.Unavailable }))
            logger.LogError(exception, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
        if (exception is BrokenCircuitException { RetryAfter: { } retry })
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString();
        http.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    public static ProblemDetails ToProblem(Exception exception, bool conditional = false) => exception switch
    {
        // A conditional request (If-Match) whose version is stale: 412; otherwise a conflict. (A resource held too long
        // by another transaction is not a version that no longer matches.)
        RpcException { StatusCode: StatusCode.Aborted } e when conditional && !LockTimeout(e) => Retitle(FromRpc(e), 412, "version-conflict",
            "The resource changed: its version no longer matches If-Match"),
        RpcException e => FromRpc(e),
        BrokenCircuitException => Problem(503, "service-unavailable", "A service is unavailable",
            "The service this answer needs is failing; its circuit breaker is open. Retry later."),
        TimeoutRejectedException => Problem(504, "timeout", "A service did not answer in time", "Retry later."),
        BadHttpRequestException e => Problem(e.StatusCode, "bad-request", "The request is malformed", e.Message),
        GatewayProblem e => e.Problem,
        _ => Problem(500, "internal", "Internal error", "The gateway log has the details."),
    };

    static bool LockTimeout(RpcException e) => e.GetRpcStatus()?.GetDetail<ErrorInfo>() is { Reason: "LOCK_TIMEOUT" };

    static ProblemDetails FromRpc(RpcException e)
    {
        var (status, kind, title) = e.StatusCode switch
        {
            StatusCode.InvalidArgument => (400, "invalid-argument", "The request is invalid"),
            StatusCode.NotFound => (404, "not-found", "Not found"),
            StatusCode.AlreadyExists => (409, "already-exists", "Already exists"),
            StatusCode.FailedPrecondition => (409, "rule-violated", "The request breaks a rule"),
            StatusCode.Aborted when LockTimeout(e) => (409, "resource-locked", "Another transaction held the resource too long"),
            StatusCode.Aborted => (409, "concurrent-change", "The resource changed under the request"),
            StatusCode.PermissionDenied => (403, "forbidden", "Not allowed"),
            StatusCode.Unauthenticated => (401, "unauthenticated", "Not authenticated"),
            // A service's rate limit says so; any other RESOURCE_EXHAUSTED is a message over gRPC's size limit between
            // the gateway and a service (the answer too large for the gateway's client, say): no fault of the caller's.
            StatusCode.ResourceExhausted when e.GetRpcStatus()?.GetDetail<ErrorInfo>() is { Reason: "RATE_LIMITED" } =>
                (429, "too-many-requests", "Too many requests"),
            StatusCode.ResourceExhausted => (502, "message-too-large", "A message between the gateway and a service exceeded the size limit"),
            StatusCode.Unavailable => (503, "service-unavailable", "A service is unavailable"),
            StatusCode.DeadlineExceeded => (504, "timeout", "A service did not answer in time"),
            _ => (502, "upstream-error", "A service failed"),
        };
        var problem = Problem(status, kind, title, e.Status.Detail);
        if (e.GetRpcStatus() is not { } rich) return problem;
        if (rich.GetDetail<BadRequest>() is { } bad)
            problem.Extensions["errors"] = bad.FieldViolations.GroupBy(v => RestName(v.Field))
                .ToDictionary(g => g.Key, g => g.Select(v => v.Description).ToArray());
        if (rich.GetDetail<PreconditionFailure>() is { } failure)
            problem.Extensions["violations"] = failure.Violations.Select(v => new { v.Type, v.Subject, v.Description }).ToArray();
        if (rich.GetDetail<ErrorInfo>() is { } info) problem.Extensions["reason"] = info.Reason;
        if (rich.GetDetail<ResourceInfo>() is { } resource)
            problem.Extensions["resource"] = new { type = resource.ResourceType, name = resource.ResourceName };
        return problem;
    }

    static ProblemDetails Retitle(ProblemDetails problem, int status, string kind, string title)
    {
        problem.Status = status;
        problem.Type = $"urn:regeneration:problem:{kind}";
        problem.Title = title;
        return problem;
    }

    public static ProblemDetails Problem(int status, string kind, string title, string detail) => new()
    {
        Status = status, Type = $"urn:regeneration:problem:{kind}", Title = title, Detail = detail,
    };

    /// <summary>forecast_date -> forecastDate, contributions[0].weight -> contributions[0].weight; the paging fields,
    /// one message in gRPC (page.page_size), are plain query parameters here (pageSize).</summary>
    public static string RestName(string field) =>
        SnakeSegment().Replace(field.StartsWith("page.", StringComparison.Ordinal) ? field["page.".Length..] : field, m => m.Groups[1].Value.ToUpperInvariant());

    [GeneratedRegex("_([a-z0-9])")]
    private static partial Regex SnakeSegment();
}

/// <summary>A problem the gateway itself finds (a bad header, a forbidden change).</summary>
public sealed class GatewayProblem(ProblemDetails problem) : Exception(problem.Detail)
{
    public ProblemDetails Problem { get; } = problem;

    public static GatewayProblem Invalid(string field, string message)
    {
        var problem = ProblemMapper.Problem(400, "invalid-argument", "The request is invalid", $"{field}: {message}");
        problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [message] };
        return new GatewayProblem(problem);
    }

    public static GatewayProblem Forbidden(string reason, string message)
    {
        var problem = ProblemMapper.Problem(403, "forbidden", "Not allowed", message);
        problem.Extensions["reason"] = reason;
        return new GatewayProblem(problem);
    }
}
