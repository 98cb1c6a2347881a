// Calls to another Regeneration service, with the one translation of its failures into ours:
// unreachable or too slow is UNAVAILABLE (nothing was written here), NOT_FOUND stays NOT_FOUND.
using Grpc.Core;

namespace Regeneration.ServiceDefaults;

public static class Upstream
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    /// <summary>For a batch of projects read as of a past instant: streams changed since are folded from their events,
    /// which can take longer than an ordinary read (the gateway gives the whole read 60 s).</summary>
    public static readonly TimeSpan HistoryDeadline = TimeSpan.FromSeconds(30);

    public static DateTime NewDeadline() => DateTime.UtcNow + Deadline;

    public static DateTime NewHistoryDeadline() => DateTime.UtcNow + HistoryDeadline;

    /// <param name="dependency">The service called, e.g. "projects".</param>
    /// <param name="notFound">The resource (type, name) reported when the call is NOT_FOUND; null to let it through.</param>
    public static async Task<T> Call<T>(string dependency, Func<Task<T>> call, (string Type, string Name)? notFound = null)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && notFound is { } resource)
        {
            throw new NotFoundException(resource.Type, resource.Name);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            throw new DependencyUnavailableException(dependency,
                $"The {dependency} service cannot be reached; nothing was written, retry later", e);
        }
    }
}
