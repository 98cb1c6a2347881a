// The one place where failures become gRPC statuses. Request validation runs here too, before the
// handler, so a handler only ever sees a well-formed request.
using FluentValidation;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using JasperFx;
using JasperFx.Events;
using Marten.Exceptions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Regeneration.ServiceDefaults;

public sealed class ErrorInterceptor(IServiceProvider services, ILogger<ErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Validate(request);
            return await continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw ToRpcException(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Validate(request);
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw ToRpcException(e, context);
        }
    }

    void Validate<TRequest>(TRequest request)
    {
        if (services.GetService(typeof(IValidator<TRequest>)) is not IValidator<TRequest> validator) return;
        var result = validator.Validate(request);
        if (!result.IsValid)
            throw new InvalidRequestException(
                result.Errors.Select(e => new FieldViolation(e.PropertyName, e.ErrorMessage)).ToList());
    }

    RpcException ToRpcException(Exception e, ServerCallContext context)
    {
        // The caller cancelled, its deadline passed or it went away: nobody reads the answer. A stream's next write
        // then fails however it fails (a change-feed subscriber that stops reading mid-stream: "the request is
        // complete", raised when the request is aborted and before the call's own token, which follows the abort, is
        // cancelled): an ordinary end of the call, not an unexpected failure.
        if (context.CancellationToken.IsCancellationRequested || context.GetHttpContext().RequestAborted.IsCancellationRequested)
        {
            logger.LogInformation(e is OperationCanceledException ? null : e, "{Method} ended: the caller cancelled or went away", context.Method);
            return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled"));
        }

        var status = Map(e);
        if (status is null)
        {
            logger.LogError(e, "Unhandled failure in {Method}", context.Method);
            status = new Google.Rpc.Status { Code = (int)Code.Internal, Message = "Internal error; the server log has the details" };
        }
        else
        {
            logger.LogInformation("{Method} rejected: {Code} {Message}", context.Method, (Code)status.Code, status.Message);
        }
        return status.ToRpcException();
    }

    /// <summary>The status a failure is answered with, or null for an unexpected one (INTERNAL, logged).
    /// For answers that carry several outcomes (a bulk import's per-item results).</summary>
    public static Google.Rpc.Status? ToStatus(Exception e) => Map(e);

    static Google.Rpc.Status? Map(Exception e) => e switch
    {
        InvalidRequestException x => Status(Code.InvalidArgument, x.Message, new BadRequest
        {
            FieldViolations =
            {
                x.Violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description })
            }
        }),
        RuleViolationException x => Status(Code.FailedPrecondition, x.Message, new PreconditionFailure
        {
            Violations = { new PreconditionFailure.Types.Violation { Type = x.Type, Subject = x.Subject, Description = x.Message } }
        }),
        NotFoundException x => Status(Code.NotFound, x.Message,
            new ResourceInfo { ResourceType = x.ResourceType, ResourceName = x.ResourceName, Description = x.Message }),
        AlreadyExistsException x => Status(Code.AlreadyExists, x.Message,
            new ResourceInfo { ResourceType = x.ResourceType, ResourceName = x.ResourceName, Description = x.Message }),
        ConcurrencyConflictException or ConcurrencyException or EventStreamUnexpectedMaxEventIdException =>
            Status(Code.Aborted, e is ConcurrencyConflictException ? e.Message
                : "The project was changed by another request; read it again and retry", "CONCURRENT_MODIFICATION"),
        PermissionDeniedException x => Status(Code.PermissionDenied, x.Message, x.Reason),
        DependencyUnavailableException x => Status(Code.Unavailable, x.Message,
            new ErrorInfo { Reason = "DEPENDENCY_UNAVAILABLE", Domain = "regeneration", Metadata = { ["dependency"] = x.Dependency } }),
        // A command waited too long for a lock held by another transaction (CommandRunner bounds the wait).
        PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable } => Status(Code.Aborted,
            "Another transaction held a lock this request needs for too long; nothing was written: retry later", "LOCK_TIMEOUT"),
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } x =>
            Status(Code.AlreadyExists, $"A unique value is already taken ({x.ConstraintName})", "UNIQUE_VIOLATION"),
        NpgsqlException { IsTransient: true } => Status(Code.Unavailable, "The database is unavailable; retry later", "DATABASE_UNAVAILABLE"),
        _ when e.InnerException is { } inner => Map(inner),
        _ => null,
    };

    static Google.Rpc.Status Status(Code code, string message, Google.Protobuf.IMessage detail) =>
        new() { Code = (int)code, Message = message, Details = { Any.Pack(detail) } };

    /// <summary>A status whose detail is the reason (the rich error model's ErrorInfo, in our domain): also for the
    /// answers made before any handler runs (<see cref="MessageGuard.Answer"/>).</summary>
    internal static Google.Rpc.Status Status(Code code, string message, string reason) =>
        Status(code, message, new ErrorInfo { Reason = reason, Domain = "regeneration" });
}
