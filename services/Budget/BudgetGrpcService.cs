// The gRPC face of the Budget service. Before money moves, the project is checked with the Projects
// service (outside the transaction: a remote call never holds a stream lock).
using Grpc.Core;
using Marten;
using Regeneration.Budget.V1;
using Regeneration.Common.V1;
using Regeneration.ServiceDefaults;
using static Regeneration.ServiceDefaults.ValidationRules;

namespace Regeneration.Budget;

public sealed class BudgetGrpcService(CommandRunner commands, IDocumentStore store, ChangeFeed feed, ProjectDirectory projects,
    ProjectListings listings, PortfolioCache cache)
    : BudgetService.BudgetServiceBase
{
    const string Resource = "budget", Area = "budget";

    public override async Task<AllocateFundsResponse> AllocateFunds(AllocateFundsRequest r, ServerCallContext call)
    {
        var command = new AllocateFunds((FundingSource)r.Source, r.FiscalYear, r.AmountWon);
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (id, standing, b) => BudgetDecider.Allocate(id, b, standing, command)) };
    }

    public override async Task<ReviseAllocationResponse> ReviseAllocation(ReviseAllocationRequest r, ServerCallContext call)
    {
        var command = new ReviseAllocation((FundingSource)r.Source, r.FiscalYear, r.NewAmountWon, r.Reason);
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (id, standing, b) => BudgetDecider.Revise(id, b, standing, command)) };
    }

    public override async Task<CommitFundsResponse> CommitFunds(CommitFundsRequest r, ServerCallContext call)
    {
        var command = new CommitFunds(r.ContractRef, (FundingSource)r.Source, r.FiscalYear, r.AmountWon, r.Description);
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (id, standing, b) => BudgetDecider.Commit(id, b, standing, command)) };
    }

    public override async Task<RecordExpenditureResponse> RecordExpenditure(RecordExpenditureRequest r, ServerCallContext call)
    {
        var command = new RecordExpenditure(r.InvoiceRef, r.ContractRef, r.AmountWon, Date(r.SpentOn));
        return new() { Result = await Run(r.RequestId, r.ProjectId, r.HasExpectedVersion ? r.ExpectedVersion : null, r, call,
            (id, _, b) => BudgetDecider.RecordExpenditure(id, b, command)) };
    }

    public override async Task<GetProjectBudgetResponse> GetProjectBudget(GetProjectBudgetRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        var budget = await session.LoadAsync<ProjectBudget>(Guid.Parse(r.ProjectId), call.CancellationToken)
            ?? throw new NotFoundException(Resource, r.ProjectId);
        return new GetProjectBudgetResponse { Budget = budget.ToProto() };
    }

    public override async Task<BatchGetProjectBudgetsResponse> BatchGetProjectBudgets(BatchGetProjectBudgetsRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var ids = r.ProjectIds.Select(Guid.Parse).Distinct().ToList();
        await using var session = store.QuerySession();
        var found = await AsOf.Current<ProjectBudget>(session, ids, call.CancellationToken);
        return new BatchGetProjectBudgetsResponse { Budgets = { found.InOrder(ids).Select(b => b.ToProto()) } };
    }

    public override async Task<GetProjectBudgetAsOfResponse> GetProjectBudgetAsOf(GetProjectBudgetAsOfRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var id = Guid.Parse(r.ProjectId);
        var budget = (await AsOf.States<ProjectBudget>(store, [id], r.AsOf.ToDateTimeOffset(), call.CancellationToken)).GetValueOrDefault(id)
            ?? throw new NotFoundException(Resource, $"{r.ProjectId} as of {r.AsOf}");
        return new GetProjectBudgetAsOfResponse { Budget = budget.ToProto() };
    }

    public override async Task<GetProjectBudgetsAsOfResponse> GetProjectBudgetsAsOf(GetProjectBudgetsAsOfRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        var ids = r.ProjectIds.Select(Guid.Parse).Distinct().ToList();
        var states = await AsOf.States<ProjectBudget>(store, ids, r.AsOf.ToDateTimeOffset(), call.CancellationToken);
        return new GetProjectBudgetsAsOfResponse { Budgets = { states.InOrder(ids).Select(b => b.ToProto()) } };
    }

    public override async Task<GetPortfolioBudgetResponse> GetPortfolioBudget(GetPortfolioBudgetRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        // The totals move with the budget store and with the projects' categories and districts (see ProjectListings).
        var version = await StoreVersion.Current(store, call.CancellationToken);
        var listing = await listings.Current(call.CancellationToken);
        var key = $"{version}/{listing.Generation}";
        var named = StoreVersion.Name(key);
        if (r.IfNoneMatch == named) return new GetPortfolioBudgetResponse { Version = named, NotModified = true };
        // Computed once for every caller waiting on it (see Memo): not cancelled with any one of them.
        return await cache.Answers.Get(key, async () =>
        {
            IReadOnlyList<ProjectBudget> budgets;
            await using (var session = store.QuerySession())
                budgets = await session.Query<ProjectBudget>().ToListAsync();
            var answer = ProtoMapping.ToPortfolio(budgets, listing.Projects);
            // A project registered since the listing counts under UNKNOWN until listed: have it listed now.
            if (budgets.Any(b => !listing.Projects.ContainsKey(b.Id))) listings.ListAgain(listing);
            answer.Version = named;
            return answer;
        });
    }

    public override async Task<GetBudgetHistoryResponse> GetBudgetHistory(GetBudgetHistoryRequest r, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(Guid.Parse(r.ProjectId), token: call.CancellationToken);
        if (events.Count == 0) throw new NotFoundException(Resource, r.ProjectId);
        return new GetBudgetHistoryResponse { Events = { events.Select(e => e.ToProto()) } };
    }

    public override async Task SubscribeBudgetEvents(SubscribeBudgetEventsRequest r,
        IServerStreamWriter<SubscribeBudgetEventsResponse> stream, ServerCallContext call)
    {
        Caller.From(call).EnsureCanRead(Area);
        await foreach (var e in feed.Read(r.AfterSequence, r.Follow, r.MaxEvents, call.CancellationToken))
            await stream.WriteAsync(new SubscribeBudgetEventsResponse { Event = e.ToProto() }, call.CancellationToken);
    }

    /// <summary>A command on a project's budget: the caller's right to write, the project's standing asked of Projects
    /// (a repeat of a command that committed answered from its receipt while Projects cannot be reached), the command
    /// run.</summary>
    async Task<CommandResult> Run(string requestId, string projectId, long? expectedVersion, Google.Protobuf.IMessage request,
        ServerCallContext call, Func<Guid, ProjectStanding, ProjectBudget?, Decision> decide)
    {
        Caller.From(call).EnsureCanWrite(Area);
        var id = Guid.Parse(projectId);
        var command = new CommandEnvelope(requestId, expectedVersion, RequestContext.From(call), request);
        var (standing, earlier) = await commands.Ask(command, () => projects.StandingOf(id, call.CancellationToken));
        return earlier ?? await commands.Write(command, id, (ProjectBudget? budget) => decide(id, standing, budget));
    }
}
