// Valid requests with unique ids and codes, for tests to start from and change one field.
using Google.Rpc;
using Grpc.Core;
using Regeneration.Projects.V1;

namespace Regeneration.Tests.Infrastructure;

public static class Requests
{
    static int counter;

    public static string NewRequestId() => $"req-{Guid.NewGuid():N}";

    public static string NewCode() => $"T-{Interlocked.Increment(ref counter):D4}-{Guid.NewGuid().ToString("N")[..6].ToUpperInvariant()}";

    public static RegisterProjectRequest Register(Action<RegisterProjectRequest>? change = null)
    {
        var request = new RegisterProjectRequest
        {
            RequestId = NewRequestId(), Code = NewCode(), Name = "Integrated CCTV control centre",
            Description = "One control room for 3,000 cameras", District = "Jung-gu",
            Category = ProjectCategory.SmartSafety, Owner = "pm.kim", PlannedStart = "2025-01-01", PlannedEnd = "2027-12-31",
            Contributions = { new MaturityContribution { Dimension = "safety-resilience", Weight = 80 } },
        };
        change?.Invoke(request);
        return request;
    }

    public static async Task<(string ProjectId, long Version)> RegisterActive(ProjectService.ProjectServiceClient client,
        Action<RegisterProjectRequest>? change = null)
    {
        var registered = (await client.RegisterProjectAsync(Register(change))).Result;
        var activated = await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = registered.StreamId, Status = ProjectStatus.Active,
        });
        return (registered.StreamId, activated.Result.Version);
    }

    public static async Task<string> Plan(ProjectService.ProjectServiceClient client, string projectId,
        int weight = 25, string dueDate = "2026-06-30", string? name = null)
    {
        var response = await client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Name = name ?? $"Milestone {Guid.NewGuid():N}",
            Weight = weight, DueDate = dueDate,
        });
        return response.Result.EntityId;
    }

    /// <summary>The google.rpc details of a failed call.</summary>
    public static T? Detail<T>(this RpcException e) where T : class, Google.Protobuf.IMessage<T>, new() =>
        e.GetRpcStatus()?.GetDetail<T>();

    public static IReadOnlyList<string> ViolatedFields(this RpcException e) =>
        e.Detail<BadRequest>()?.FieldViolations.Select(v => v.Field).ToList() ?? [];
}
