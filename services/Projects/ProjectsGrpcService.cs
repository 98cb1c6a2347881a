// The gRPC face of the Projects service: proto in, decider + command runner, proto out. Requests
// arrive already validated (ErrorInterceptor); failures are thrown as domain exceptions.
using System.Text;
using Grpc.Core;
using Marten;
using Regeneration.Common.V1;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using static Regeneration.ServiceDefaults.ValidationRules;

namespace Regeneration.Projects;

public sealed class ProjectsGrpcService(CommandRunner commands, IDocumentStore store, ChangeFeed feed, TimeProvider time)
    : ProjectService.ProjectServiceBase
{
    const string Resource = "project", Area = "projects";

    public override async Task<RegisterProjectResponse> RegisterProject(RegisterProjectRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanWrite(Area, projectOwner: r.Owner, managersMay: true);
        var command = Registration(r);
        var result = await commands.Start<Project>(Envelope(r.RequestId, null, r, call), command.ProjectId,
            session => EnsureCodeIsFree(session, r.Code), () => ProjectDecider.Register(command));
        return new RegisterProjectResponse { Result = result };
    }

    static RegisterProject Registration(RegisterProjectRequest r) => new(Guid.CreateVersion7(), r.Code, r.Name, r.Description,
        r.District, (ProjectCategory)r.Category, r.Owner, Date(r.PlannedStart), Date(r.PlannedEnd), r.Contributions.ToDomain());

    static async Task EnsureCodeIsFree(IQuerySession session, string code)
    {
        if (await session.Query<Project>().AnyAsync(p => p.Code == code))
            throw new AlreadyExistsException(Resource, code, $"Project code '{code}' is already registered");
    }

    public override async Task<ImportProjectsResponse> ImportProjects(ImportProjectsRequest r, ServerCallContext call)
    {
        var caller = Caller.From(call);
        foreach (var item in r.Projects) caller.EnsureCanWrite(Area, projectOwner: item.Project.Owner, managersMay: true);
        var results = await BulkImport.Run(r.Projects, call, item => item.Project.RequestId, Import);
        return new ImportProjectsResponse { Results = { results } };
    }

    Task<CommandResult> Import(ImportedProject item, RequestContext context)
    {
        var command = new ImportProject(Registration(item.Project),
            item.Status == Regeneration.Projects.V1.ProjectStatus.Unspecified ? ProjectStatus.Planned : (ProjectStatus)item.Status,
            [.. item.Milestones.Select(m => new ImportMilestone(Guid.CreateVersion7(), m.Name, m.Weight, Date(m.DueDate), m.Progress,
                OptionalDate(m.ForecastDate), OptionalDate(m.CompletedOn)))]);
        return commands.Start<Project>(new CommandEnvelope(item.Project.RequestId, null, context, item), command.Registration.ProjectId,
            session => EnsureCodeIsFree(session, item.Project.Code), () => ProjectDecider.Import(command));
    }

    public override async Task<ReviseProjectDetailsResponse> ReviseProjectDetails(ReviseProjectDetailsRequest r, ServerCallContext call)
    {
        var command = new ReviseProjectDetails(
            r.HasName ? r.Name : null, r.HasDescription ? r.Description : null, r.HasDistrict ? r.District : null,
            r.HasOwner ? r.Owner : null, r.HasPlannedStart ? Date(r.PlannedStart) : null,
            r.HasPlannedEnd ? Date(r.PlannedEnd) : null, r.Contributions?.Items.ToDomain());
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => ProjectDecider.Revise(p, command)) };
    }

    public override async Task<ChangeProjectStatusResponse> ChangeProjectStatus(ChangeProjectStatusRequest r, ServerCallContext call)
    {
        var command = new ChangeProjectStatus((ProjectStatus)r.Status, r.Reason);
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => ProjectDecider.ChangeStatus(p, command)) };
    }

    public override async Task<PlanMilestoneResponse> PlanMilestone(PlanMilestoneRequest r, ServerCallContext call)
    {
        var command = new PlanMilestone(Guid.CreateVersion7(), r.Name, r.Weight, Date(r.DueDate));
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => new Decision(ProjectDecider.PlanMilestone(p, command), command.MilestoneId.ToString())) };
    }

    public override async Task<ReportMilestoneProgressResponse> ReportMilestoneProgress(ReportMilestoneProgressRequest r, ServerCallContext call)
    {
        var command = new ReportMilestoneProgress(Guid.Parse(r.MilestoneId), r.Progress, OptionalDate(r.ForecastDate), r.Reason);
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => ProjectDecider.ReportProgress(p, command)) };
    }

    public override async Task<CompleteMilestoneResponse> CompleteMilestone(CompleteMilestoneRequest r, ServerCallContext call)
    {
        var command = new CompleteMilestone(Guid.Parse(r.MilestoneId),
            OptionalDate(r.CompletedOn) ?? DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime));
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => ProjectDecider.Complete(p, command)) };
    }

    public override async Task<RebaselineMilestoneResponse> RebaselineMilestone(RebaselineMilestoneRequest r, ServerCallContext call)
    {
        var command = new RebaselineMilestone(Guid.Parse(r.MilestoneId), Date(r.NewDueDate), r.Reason);
        return new() { Result = await Append(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            p => ProjectDecider.Rebaseline(p, command)) };
    }

    public override async Task<GetProjectResponse> GetProject(GetProjectRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        var project = await session.LoadAsync<Project>(Guid.Parse(r.ProjectId), call.CancellationToken)
            ?? throw new NotFoundException(Resource, r.ProjectId);
        return new GetProjectResponse { Project = project.ToProto() };
    }

    public override async Task<BatchGetProjectsResponse> BatchGetProjects(BatchGetProjectsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var ids = r.ProjectIds.Select(Guid.Parse).Distinct().ToList();
        await using var session = store.QuerySession();
        var found = await AsOf.Current<Project>(session, ids, call.CancellationToken);
        return new BatchGetProjectsResponse { Projects = { found.InOrder(ids).Select(p => p.ToProto()) } };
    }

    public override async Task<ListProjectsResponse> ListProjects(ListProjectsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        IQueryable<Project> query = session.Query<Project>();
        if (r.Status != V1.ProjectStatus.Unspecified) { var s = (ProjectStatus)r.Status; query = query.Where(p => p.Status == s); }
        if (r.Category != V1.ProjectCategory.Unspecified) { var c = (ProjectCategory)r.Category; query = query.Where(p => p.Category == c); }
        if (r.District.Length > 0) query = query.Where(p => p.District == r.District);
        if (r.Owner.Length > 0) query = query.Where(p => p.Owner == r.Owner);
        var total = await query.CountAsync(call.CancellationToken);

        var size = Paging.Size(r.Page);
        if (Paging.After(r.Page) is { } after) query = query.Where(p => p.Code.CompareTo(after) > 0);
        var page = await query.OrderBy(p => p.Code).Take(size + 1).ToListAsync(call.CancellationToken);
        var response = new ListProjectsResponse { TotalSize = total, Projects = { page.Take(size).Select(p => p.ToProto()) } };
        if (page.Count > size) response.NextPageToken = Paging.Token(page[size - 1].Code);
        return response;
    }

    public override async Task<GetProjectHistoryResponse> GetProjectHistory(GetProjectHistoryRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(Guid.Parse(r.ProjectId), token: call.CancellationToken);
        if (events.Count == 0) throw new NotFoundException(Resource, r.ProjectId);
        return new GetProjectHistoryResponse { Events = { events.Select(e => e.ToProto()) } };
    }

    public override async Task<GetProjectAsOfResponse> GetProjectAsOf(GetProjectAsOfRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var id = Guid.Parse(r.ProjectId);
        var project = (await AsOf.States<Project>(store, [id], r.AsOf.ToDateTimeOffset(), call.CancellationToken)).GetValueOrDefault(id)
            ?? throw new NotFoundException(Resource, $"{r.ProjectId} as of {r.AsOf}");
        return new GetProjectAsOfResponse { Project = project.ToProto() };
    }

    public override async Task<GetProjectsAsOfResponse> GetProjectsAsOf(GetProjectsAsOfRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var ids = r.ProjectIds.Select(Guid.Parse).Distinct().ToList();
        var states = await AsOf.States<Project>(store, ids, r.AsOf.ToDateTimeOffset(), call.CancellationToken);
        return new GetProjectsAsOfResponse { Projects = { states.InOrder(ids).Select(p => p.ToProto()) } };
    }

    public override async Task SubscribePortfolioEvents(SubscribePortfolioEventsRequest r,
        IServerStreamWriter<SubscribePortfolioEventsResponse> stream, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await foreach (var e in feed.Read(r.AfterSequence, r.Follow, r.MaxEvents, call.CancellationToken))
            await stream.WriteAsync(new SubscribePortfolioEventsResponse { Event = e.ToProto() }, call.CancellationToken);
    }

    /// <summary>A command on an existing project: only its owner among project managers may issue it,
    /// checked on the state the command is decided on.</summary>
    Task<CommandResult> Append(string requestId, string projectId, long? expectedVersion,
        Google.Protobuf.IMessage request, ServerCallContext call, Func<Project, Decision> decide)
    {
        var caller = Caller.From(call);
        caller.EnsureCanWrite(Area, projectOwner: caller.Name, managersMay: true);   // could the caller write at all?
        return commands.Append<Project>(Envelope(requestId, expectedVersion, request, call), Guid.Parse(projectId), Resource, project =>
        {
            caller.EnsureCanWrite(Area, projectOwner: project.Owner, managersMay: true);
            return decide(project);
        });
    }

    static CommandEnvelope Envelope(string requestId, long? expectedVersion, Google.Protobuf.IMessage request, ServerCallContext call) =>
        new(requestId, expectedVersion, RequestContext.From(call), request);
}
