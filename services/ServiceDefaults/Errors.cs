// The failures a command or query can end in, in domain terms. ErrorInterceptor is the one place that
// turns them into gRPC statuses with google.rpc details.
namespace Regeneration.ServiceDefaults;

/// <summary>A request field that breaks a rule: becomes INVALID_ARGUMENT with a BadRequest field violation.</summary>
public sealed record FieldViolation(string Field, string Description);

public abstract class DomainException(string message) : Exception(message);

/// <summary>The request is malformed, whatever the state: INVALID_ARGUMENT.</summary>
public sealed class InvalidRequestException(IReadOnlyList<FieldViolation> violations)
    : DomainException(string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}")))
{
    public InvalidRequestException(string field, string description) : this([new FieldViolation(field, description)]) { }

    public IReadOnlyList<FieldViolation> Violations { get; } = violations;
}

/// <summary>The request is well formed but the current state forbids it: FAILED_PRECONDITION.</summary>
/// <param name="Type">A stable machine-readable kind, e.g. "ILLEGAL_TRANSITION".</param>
/// <param name="Subject">What the rule is about, e.g. "projects/{id}".</param>
public sealed class RuleViolationException(string type, string subject, string message) : DomainException(message)
{
    public string Type { get; } = type;
    public string Subject { get; } = subject;
}

/// <summary>NOT_FOUND.</summary>
public sealed class NotFoundException(string resourceType, string resourceName)
    : DomainException($"{resourceType} '{resourceName}' was not found")
{
    public string ResourceType { get; } = resourceType;
    public string ResourceName { get; } = resourceName;
}

/// <summary>ALREADY_EXISTS.</summary>
public sealed class AlreadyExistsException(string resourceType, string resourceName, string message)
    : DomainException(message)
{
    public string ResourceType { get; } = resourceType;
    public string ResourceName { get; } = resourceName;
}

/// <summary>Another writer changed the stream first, or expected_version is stale: ABORTED.</summary>
public sealed class ConcurrencyConflictException(string message) : DomainException(message);

/// <summary>A service this one depends on cannot answer now: UNAVAILABLE (retry later; nothing was written).</summary>
public sealed class DependencyUnavailableException(string dependency, string message, Exception? inner = null)
    : DomainException(message)
{
    public string Dependency { get; } = dependency;
    public Exception? Cause { get; } = inner;
}

/// <summary>The caller is authenticated but may not do this: PERMISSION_DENIED.</summary>
public sealed class PermissionDeniedException(string message, string reason) : DomainException(message)
{
    public string Reason { get; } = reason;
}
