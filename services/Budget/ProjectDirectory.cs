// What the Budget service asks the Projects service, over gRPC: does the project exist, is it open,
// and (for portfolio totals) its category and district.
using Grpc.Core;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

public sealed record ProjectListing(Guid Id, string Category, string District);

public sealed class ProjectDirectory(ProjectService.ProjectServiceClient projects)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    public async Task<ProjectStanding> StandingOf(Guid projectId, CancellationToken cancellation)
    {
        var project = await Call(async () => (await projects.GetProjectAsync(
            new GetProjectRequest { ProjectId = projectId.ToString() },
            deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellation)).Project, projectId);
        return project.Status is ProjectStatus.Cancelled or ProjectStatus.Completed ? ProjectStanding.Closed : ProjectStanding.Open;
    }

    public async Task<IReadOnlyDictionary<Guid, ProjectListing>> All(CancellationToken cancellation)
    {
        var result = new Dictionary<Guid, ProjectListing>();
        var token = "";
        do
        {
            var page = await Call(() => projects.ListProjectsAsync(new ListProjectsRequest
            {
                Page = new Regeneration.Common.V1.PageRequest { PageSize = 500, PageToken = token },
            }, deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellation).ResponseAsync, null);
            foreach (var p in page.Projects)
                result[Guid.Parse(p.Id)] = new ProjectListing(Guid.Parse(p.Id), CategoryName(p.Category), p.District);
            token = page.NextPageToken;
        } while (token.Length > 0);
        return result;
    }

    /// <summary>The contract's name of a category, e.g. PROJECT_CATEGORY_SMART_SAFETY.</summary>
    static string CategoryName(ProjectCategory category) =>
        ProjectsReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("ProjectCategory")
            .FindValueByNumber((int)category)?.Name ?? category.ToString();

    static async Task<T> Call<T>(Func<Task<T>> call, Guid? projectId)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && projectId is not null)
        {
            throw new NotFoundException("project", projectId.Value.ToString());
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            throw new DependencyUnavailableException("projects",
                "The Projects service cannot be reached to check the project; nothing was written, retry later", e);
        }
    }
}
