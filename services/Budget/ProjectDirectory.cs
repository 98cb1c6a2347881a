// What the Budget service asks the Projects service, over gRPC: does the project exist, is it open,
// and (for portfolio totals) its category and district.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

public sealed record ProjectListing(Guid Id, string Category, string District);

/// <summary>The last portfolio answer, kept while the budget store and the project listing have not moved.</summary>
public sealed class PortfolioCache
{
    public Memo<GetPortfolioBudgetResponse> Answers { get; } = new();
}

/// <summary>
/// The projects' categories and districts for the portfolio totals, as Projects last listed them (20 pages at 10,000
/// projects). Listed again once older than <see cref="Lifetime"/>, in the background: callers go on with the listing
/// held meanwhile, so an answer waits for a listing only when there is none yet or the one held is older than
/// <see cref="MaxAge"/> (no caller for that long); a budget of a project it does not list has it listed again at once
/// (<see cref="ListAgain"/>). Its generation moves only when what it lists changed.
/// </summary>
public sealed class ProjectListings(IServiceProvider services, TimeProvider time, ILogger<ProjectListings> logger)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10), MaxAge = TimeSpan.FromSeconds(60);

    public sealed record Listing(long Generation, DateTimeOffset TakenAt, IReadOnlyDictionary<Guid, ProjectListing> Projects);

    readonly Lock gate = new();
    Listing? held;
    Task<Listing>? listing;   // the listing being taken, one at a time

    public Task<Listing> Current(CancellationToken cancellation)
    {
        Task<Listing> pending;
        lock (gate)
        {
            var age = held is null ? TimeSpan.MaxValue : time.GetUtcNow() - held.TakenAt;
            if (age < Lifetime) return Task.FromResult(held!);
            pending = listing ??= Task.Run(Take);
            if (age < MaxAge) return Task.FromResult(held!);
        }
        return pending.WaitAsync(cancellation);
    }

    /// <summary>The listing given is missing a project (a budget names one it does not list): listed again now, in the
    /// background, instead of when it is 10 s old. A listing that changed moves the generation, and so the totals.</summary>
    public void ListAgain(Listing seen)
    {
        lock (gate)
            if (ReferenceEquals(held, seen) && time.GetUtcNow() - seen.TakenAt < Lifetime)
                held = seen with { TakenAt = time.GetUtcNow() - Lifetime };
    }

    async Task<Listing> Take()
    {
        try
        {
            var taken = time.GetUtcNow();   // what it lists is at least this recent
            // A directory per listing: its gRPC client comes from the factory, which renews its connection handlers (one
            // held by this singleton for the process's life would never be).
            var projects = await services.GetRequiredService<ProjectDirectory>().All(CancellationToken.None);
            lock (gate)
            {
                var same = held is not null && held.Projects.Count == projects.Count &&
                    projects.All(p => held.Projects.TryGetValue(p.Key, out var before) && before == p.Value);
                return held = new Listing(same ? held!.Generation : (held?.Generation ?? 0) + 1, taken, same ? held!.Projects : projects);
            }
        }
        catch (Exception e)
        {
            // A caller waiting for it gets the failure (UNAVAILABLE); the others go on with the listing held.
            logger.LogWarning(e, "Listing the projects for the portfolio totals failed");
            throw;
        }
        finally
        {
            lock (gate) listing = null;
        }
    }
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
