// What the Budget service asks the Projects service, over gRPC: does the project exist, is it open,
// and (for portfolio totals) its category and district.
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

public sealed record ProjectListing(Guid Id, string Category, string District);

/// <summary>The last portfolio answer, kept while the budget store has not moved.</summary>
public sealed class PortfolioCache
{
    public static readonly TimeSpan ListingLifetime = TimeSpan.FromSeconds(10);
    public Memo<GetPortfolioBudgetResponse> Answers { get; } = new();
}

public sealed class ProjectDirectory(ProjectService.ProjectServiceClient projects)
{
    public async Task<ProjectStanding> StandingOf(Guid projectId, CancellationToken cancellation)
    {
        var project = await Upstream.Call("projects", async () => (await projects.GetProjectAsync(
            new GetProjectRequest { ProjectId = projectId.ToString() },
            deadline: Upstream.NewDeadline(), cancellationToken: cancellation)).Project, ("project", projectId.ToString()));
        return project.Status is ProjectStatus.Cancelled or ProjectStatus.Completed ? ProjectStanding.Closed : ProjectStanding.Open;
    }

    public async Task<IReadOnlyDictionary<Guid, ProjectListing>> All(CancellationToken cancellation)
    {
        var result = new Dictionary<Guid, ProjectListing>();
        var token = "";
        do
        {
            var page = await Upstream.Call("projects", () => projects.ListProjectsAsync(new ListProjectsRequest
            {
                Page = new Regeneration.Common.V1.PageRequest { PageSize = 500, PageToken = token },
            }, deadline: Upstream.NewDeadline(), cancellationToken: cancellation).ResponseAsync);
            foreach (var p in page.Projects)
                result[Guid.Parse(p.Id)] = new ProjectListing(Guid.Parse(p.Id), ContractNames.Of(p.Category), p.District);
            token = page.NextPageToken;
        } while (token.Length > 0);
        return result;
    }
}
