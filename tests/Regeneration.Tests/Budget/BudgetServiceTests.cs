// The Budget service through real gRPC, with the real Projects service it checks, on real PostgreSQL.
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using BudgetDecider = Regeneration.Budget.BudgetDecider;
using BudgetApp = Regeneration.Budget.BudgetApp;
using Regeneration.Budget.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Budget;

public class BudgetServiceTests(BudgetServers servers) : IClassFixture<BudgetServers>
{
    readonly BudgetService.BudgetServiceClient budget = servers.BudgetClient;
    readonly ProjectService.ProjectServiceClient projects = servers.ProjectsClient;

    Task<CommandResultOf> Allocate(string projectId, FundingSource source, long amount, int year = 2025, string? requestId = null) =>
        Run(budget.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = requestId ?? NewRequestId(), ProjectId = projectId, Source = source, FiscalYear = year, AmountWon = amount,
        }).ResponseAsync, r => r.Result);

    Task<CommandResultOf> Commit(string projectId, string contract, FundingSource source, long amount, int year = 2025) =>
        Run(budget.CommitFundsAsync(new CommitFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, ContractRef = contract, Source = source, FiscalYear = year, AmountWon = amount,
        }).ResponseAsync, r => r.Result);

    RecordExpenditureRequest Spend(string projectId, string invoice, string contract, long amount, string on = "2025-06-30") => new()
    {
        RequestId = NewRequestId(), ProjectId = projectId, InvoiceRef = invoice, ContractRef = contract, AmountWon = amount, SpentOn = on,
    };

    public sealed record CommandResultOf(Regeneration.Common.V1.CommandResult Result);
    static async Task<CommandResultOf> Run<T>(Task<T> call, Func<T, Regeneration.Common.V1.CommandResult> result) => new(result(await call));

    async Task<ProjectBudget> Budget(string projectId) =>
        (await budget.GetProjectBudgetAsync(new GetProjectBudgetRequest { ProjectId = projectId })).Budget;

    async Task<int> EventCount(string projectId)
    {
        try { return (await budget.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId })).Events.Count; }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { return 0; }
    }

    [Fact]
    public async Task Co_funded_allocations_commitments_and_expenditures_add_up_by_source_and_year()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.National, 6_000_000_000);
        await Allocate(projectId, FundingSource.Provincial, 1_500_000_000);
        await Allocate(projectId, FundingSource.Municipal, 2_500_000_000);
        await Allocate(projectId, FundingSource.National, 1_000_000_000, year: 2026);
        await Commit(projectId, "CT-2025-001", FundingSource.National, 4_000_000_000);
        await Commit(projectId, "CT-2025-002", FundingSource.Municipal, 2_000_000_000);
        await budget.RecordExpenditureAsync(Spend(projectId, "INV-0001", "CT-2025-001", 1_250_000_000));
        var last = await budget.RecordExpenditureAsync(Spend(projectId, "INV-0002", "CT-2025-002", 300_000_000, on: "2026-01-15"));

        var b = await Budget(projectId);

        Assert.Equal((11_000_000_000L, 6_000_000_000L, 1_550_000_000L, 5_000_000_000L, 9_450_000_000L),
            (b.Totals.AllocatedWon, b.Totals.CommittedWon, b.Totals.SpentWon, b.Totals.UncommittedWon, b.Totals.RemainingWon));
        var national = b.BySource.Single(s => s.Source == FundingSource.National).Amounts;
        Assert.Equal((7_000_000_000L, 4_000_000_000L, 1_250_000_000L), (national.AllocatedWon, national.CommittedWon, national.SpentWon));
        var municipal2026 = b.BySourceAndYear.Single(s => s.Source == FundingSource.Municipal && s.FiscalYear == 2026).Amounts;
        Assert.Equal(300_000_000, municipal2026.SpentWon);
        Assert.Equal((2, last.Result.Version), (b.InvoiceCount, b.Version));
        Assert.Equal(1_250_000_000, b.Contracts.Single(c => c.ContractRef == "CT-2025-001").SpentWon);
    }

    [Fact]
    public async Task Portfolio_totals_the_caller_holds_come_back_not_modified_until_money_moves()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.National, 1_000_000);
        // The totals' version also moves when the projects, listed again every 10 s, changed (another test's project):
        // a second look may fall just after such a turn, three in a row cannot.
        GetPortfolioBudgetResponse held = null!, again = null!;
        for (var attempt = 0; attempt < 3 && again?.NotModified != true; attempt++)
        {
            held = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest());
            Assert.NotEmpty(held.Version);
            Assert.False(held.NotModified);
            again = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest { IfNoneMatch = held.Version });
        }
        Assert.True(again.NotModified);
        Assert.Equal(held.Version, again.Version);
        Assert.Null(again.Totals);
        Assert.Empty(again.ByDistrict);

        await Allocate(projectId, FundingSource.National, 2_000_000);
        var moved = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest { IfNoneMatch = held.Version });
        Assert.False(moved.NotModified);
        Assert.NotEqual(held.Version, moved.Version);
        Assert.Equal(held.Totals.AllocatedWon + 2_000_000, moved.Totals.AllocatedWon);

        var tooLong = await Assert.ThrowsAsync<RpcException>(() => budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest { IfNoneMatch = new string('a', 65) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Equal(["if_none_match"], tooLong.ViolatedFields());
    }

    [Fact]
    public async Task A_new_project_shows_in_the_portfolio_totals_at_once_and_a_revised_district_once_the_projects_are_listed_again()
    {
        // A first project shown by district: the listing Budget holds was taken after it, moments ago.
        var first = $"D-{Guid.NewGuid():N}"[..10];
        var (firstId, _) = await RegisterActive(projects, r => r.District = first);
        await Allocate(firstId, FundingSource.National, 5_000_000);
        var held = await PortfolioUntil("", a => a.ByDistrict.Any(d => d.Name == first));

        // A project registered since: its budget names a project the listing lacks, which has the projects listed again
        // at once — not when the listing held is 10 s old.
        var district = $"D-{Guid.NewGuid():N}"[..10];
        var (projectId, _) = await RegisterActive(projects, r => r.District = district);
        await Allocate(projectId, FundingSource.National, 7_000_000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        held = await PortfolioUntil(held.Version, a => a.ByDistrict.Any(d => d.Name == district));
        Assert.True(clock.Elapsed < Regeneration.Budget.ProjectListings.Lifetime / 2, $"listed after {clock.Elapsed}");

        // A district revised in Projects shows once the projects are listed again (every 10 s).
        var moved = district + "-moved";
        await projects.ReviseProjectDetailsAsync(new ReviseProjectDetailsRequest { RequestId = NewRequestId(), ProjectId = projectId, District = moved });
        var after = await PortfolioUntil(held.Version, a => a.ByDistrict.Any(d => d.Name == moved));

        Assert.Equal(7_000_000, after.ByDistrict.Single(d => d.Name == moved).Amounts.AllocatedWon);
        Assert.DoesNotContain(after.ByDistrict, d => d.Name == district);
        Assert.NotEqual(held.Version, after.Version);
    }

    /// <summary>The portfolio totals, asked again ("not modified" while they are the same) until they satisfy the
    /// condition: at most three times the listing's lifetime.</summary>
    async Task<GetPortfolioBudgetResponse> PortfolioUntil(string version, Func<GetPortfolioBudgetResponse, bool> done)
    {
        var deadline = DateTime.UtcNow + 3 * Regeneration.Budget.ProjectListings.Lifetime;
        for (GetPortfolioBudgetResponse? last = null; ; await Task.Delay(250))
        {
            var answer = await budget.GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest { IfNoneMatch = version });
            if (!answer.NotModified) (last, version) = (answer, answer.Version);
            if (last is not null && done(last)) return last;
            Assert.True(DateTime.UtcNow < deadline, $"the portfolio totals did not move in time: {last}");
        }
    }

    [Fact]
    public async Task Over_commitment_is_failed_precondition_with_the_amounts_and_writes_nothing()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.National, 1_000_000);
        var before = await EventCount(projectId);

        var e = await Assert.ThrowsAsync<RpcException>(() => Commit(projectId, "CT-1", FundingSource.National, 1_000_001));

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("1,000,001 won", e.Status.Detail);
        Assert.Contains("1,000,000 won allocated", e.Status.Detail);
        Assert.Equal("OVER_COMMITMENT", e.Detail<PreconditionFailure>()!.Violations.Single().Type);
        Assert.Equal(before, await EventCount(projectId));
    }

    [Fact]
    public async Task Over_spending_is_failed_precondition_and_writes_nothing()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.Private, 500);
        await Commit(projectId, "CT-9", FundingSource.Private, 400);
        var before = await EventCount(projectId);

        var e = await Assert.ThrowsAsync<RpcException>(() => budget.RecordExpenditureAsync(Spend(projectId, "INV-1", "CT-9", 401)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("401 won", e.Status.Detail);
        Assert.Equal(before, await EventCount(projectId));
    }

    public static TheoryData<string, string> BadAllocations => new()
    {
        { "zero amount", "amount_won" },
        { "negative amount", "amount_won" },
        { "amount over the ceiling", "amount_won" },
        { "unspecified source", "source" },
        { "unknown source", "source" },
        { "fiscal year 1999", "fiscal_year" },
        { "project id not a uuid", "project_id" },
    };

    [Theory]
    [MemberData(nameof(BadAllocations))]
    public async Task A_malformed_allocation_is_invalid_argument_and_writes_nothing(string how, string field)
    {
        var (projectId, _) = await RegisterActive(projects);
        var request = new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 1_000,
        };
        switch (how)
        {
            case "zero amount": request.AmountWon = 0; break;
            case "negative amount": request.AmountWon = -5; break;
            case "amount over the ceiling": request.AmountWon = BudgetDecider.MaxAmount + 1; break;
            case "unspecified source": request.Source = FundingSource.Unspecified; break;
            case "unknown source": request.Source = (FundingSource)9; break;
            case "fiscal year 1999": request.FiscalYear = 1999; break;
            case "project id not a uuid": request.ProjectId = "P-1"; break;
        }

        var e = await Assert.ThrowsAsync<RpcException>(() => budget.AllocateFundsAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(field, e.ViolatedFields());
        Assert.Equal(0, await EventCount(projectId));
    }

    [Theory]
    [InlineData("", "spent_on")]
    [InlineData("2025-02-30", "spent_on")]   // not a date: reported under its own field, not as an unnamed "date"
    [InlineData("in the future", "spent_on")]
    [InlineData("1999-12-31", "spent_on")]   // its year is the spending's fiscal year: 2000..2100, as fiscal_year
    public async Task An_expenditure_without_a_real_past_date_is_invalid_argument_on_its_field(string spentOn, string field)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => budget.RecordExpenditureAsync(Spend(Guid.NewGuid().ToString(), "INV-1", "CT-1", 10,
            spentOn == "in the future" ? DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd") : spentOn)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal([field], e.ViolatedFields());
    }

    [Fact]
    public async Task A_budget_as_of_no_time_is_invalid_argument_on_as_of()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => budget.GetProjectBudgetAsOfAsync(new GetProjectBudgetAsOfRequest
        {
            ProjectId = Guid.NewGuid().ToString(), AsOf = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 0, Nanos = -1 },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["as_of"], e.ViolatedFields());
    }

    [Fact]
    public async Task Money_for_an_unknown_project_is_not_found()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Allocate(Guid.NewGuid().ToString(), FundingSource.National, 10));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("project", e.Detail<ResourceInfo>()?.ResourceType);
    }

    [Fact]
    public async Task A_cancelled_project_takes_no_new_money_but_still_pays_its_contracts()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.Municipal, 10_000);
        await Commit(projectId, "CT-7", FundingSource.Municipal, 8_000);
        await projects.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = Regeneration.Projects.V1.ProjectStatus.Cancelled, Reason = "Council vote",
        });

        var allocate = await Assert.ThrowsAsync<RpcException>(() => Allocate(projectId, FundingSource.Municipal, 1));
        var commit = await Assert.ThrowsAsync<RpcException>(() => Commit(projectId, "CT-8", FundingSource.Municipal, 1));
        await budget.RecordExpenditureAsync(Spend(projectId, "INV-77", "CT-7", 8_000));

        Assert.Equal(StatusCode.FailedPrecondition, allocate.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, commit.StatusCode);
        Assert.Equal("PROJECT_CLOSED", allocate.Detail<PreconditionFailure>()!.Violations.Single().Type);
        Assert.Equal(8_000, (await Budget(projectId)).Totals.SpentWon);
    }

    [Fact]
    public async Task When_the_projects_service_is_unreachable_money_does_not_move_and_the_answer_is_unavailable()
    {
        var (projectId, _) = await RegisterActive(projects);
        var committed = new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 500,
        };
        var first = (await budget.AllocateFundsAsync(committed)).Result;
        var before = await EventCount(projectId);
        await using var cutOff = await ServiceHost.StartAsync(BudgetApp.Build, servers.ConnectionString,
            "Services:Projects=http://127.0.0.1:9");
        var isolated = new BudgetService.BudgetServiceClient(cutOff.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => isolated.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 100,
        }).ResponseAsync);
        // a repeat of a command that committed is still answered: its result, from its receipt
        var repeat = (await isolated.AllocateFundsAsync(committed)).Result;

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("DEPENDENCY_UNAVAILABLE", e.Detail<ErrorInfo>()?.Reason);
        Assert.Equal((first.StreamId, first.Version, true), (repeat.StreamId, repeat.Version, repeat.Replayed));
        Assert.Equal(before, await EventCount(projectId));
    }

    [Fact]
    public async Task Concurrent_duplicate_expenditures_are_counted_exactly_once()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.National, 1_000_000);
        await Commit(projectId, "CT-1", FundingSource.National, 1_000_000);
        var retried = Spend(projectId, "INV-42", "CT-1", 250_000);

        // The same invoice, sent as retries of one request and as separate requests, all at once.
        var calls = Enumerable.Range(0, 16).Select(i => (Retry: i % 2 == 0, Request: i % 2 == 0 ? retried : Spend(projectId, "INV-42", "CT-1", 250_000)))
            .Select(c => Task.Run(async () =>
            {
                try { return (c.Retry, Outcome: (await budget.RecordExpenditureAsync(c.Request)).Result.Replayed ? "replayed" : "written"); }
                catch (RpcException e) { return (c.Retry, Outcome: e.StatusCode.ToString()); }
            }));
        var outcomes = await Task.WhenAll(calls);

        // Exactly one call wrote. Every retry of a request gets that request's one result: written or replayed if it
        // is the winner, ALREADY_EXISTS (the invoice is taken) if another request won.
        var winner = Assert.Single(outcomes, o => o.Outcome == "written");
        Assert.All(outcomes.Where(o => o.Retry), o => Assert.Contains(o.Outcome,
            winner.Retry ? new[] { "written", "replayed" } : new[] { nameof(StatusCode.AlreadyExists) }));
        Assert.All(outcomes.Where(o => !o.Retry && o != winner), o => Assert.Equal(nameof(StatusCode.AlreadyExists), o.Outcome));
        var b = await Budget(projectId);
        Assert.Equal((250_000L, 1), (b.Totals.SpentWon, b.InvoiceCount));
    }

    [Fact]
    public async Task A_retried_command_returns_the_first_result_and_a_stale_version_is_aborted()
    {
        var (projectId, _) = await RegisterActive(projects);
        var requestId = NewRequestId();
        var first = await Allocate(projectId, FundingSource.National, 700, requestId: requestId);
        var again = await Allocate(projectId, FundingSource.National, 700, requestId: requestId);
        Assert.Equal((first.Result.Version, true), (again.Result.Version, again.Result.Replayed));
        Assert.Equal(700, (await Budget(projectId)).Totals.AllocatedWon);

        await Allocate(projectId, FundingSource.National, 1);
        var e = await Assert.ThrowsAsync<RpcException>(() => budget.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, ExpectedVersion = first.Result.Version,
            Source = FundingSource.National, FiscalYear = 2025, AmountWon = 5,
        }).ResponseAsync);
        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        Assert.Equal(701, (await Budget(projectId)).Totals.AllocatedWon);
    }

    [Fact]
    public async Task The_budget_as_of_a_past_instant_and_its_history_come_from_the_events()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.National, 5_000);
        await Commit(projectId, "CT-1", FundingSource.National, 3_000);
        await budget.ReviseAllocationAsync(new ReviseAllocationRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025,
            NewAmountWon = 4_000, Reason = "Supplementary budget cut",
        });

        var history = (await budget.GetBudgetHistoryAsync(new GetBudgetHistoryRequest { ProjectId = projectId })).Events;
        Assert.Equal(["BudgetOpened", "FundsAllocated", "FundsCommitted", "AllocationRevised"], history.Select(e => e.Envelope.Type));
        // each event's payload is its own case of the contract's oneof, the first one too
        Assert.Equal([BudgetEvent.PayloadOneofCase.BudgetOpened, BudgetEvent.PayloadOneofCase.FundsAllocated,
            BudgetEvent.PayloadOneofCase.FundsCommitted, BudgetEvent.PayloadOneofCase.AllocationRevised], history.Select(e => e.PayloadCase));
        Assert.Equal(projectId, history[0].BudgetOpened.ProjectId);
        Assert.Equal((5_000L, 4_000L, "Supplementary budget cut"),
            (history[3].AllocationRevised.PreviousAmountWon, history[3].AllocationRevised.NewAmountWon, history[3].AllocationRevised.Reason));

        var then = (await budget.GetProjectBudgetAsOfAsync(new GetProjectBudgetAsOfRequest
        {
            ProjectId = projectId, AsOf = history[1].Envelope.RecordedAt,
        })).Budget;
        Assert.Equal((5_000L, 0L, 2L), (then.Totals.AllocatedWon, then.Totals.CommittedWon, then.Version));
        Assert.Equal((4_000L, 3_000L), ((await Budget(projectId)).Totals.AllocatedWon, (await Budget(projectId)).Totals.CommittedWon));

        // Many budgets in one call (a portfolio read as of then): each as the single read gives it; a project without a
        // budget then (here: one allocated afterwards, and an unknown id) is left out.
        var (later, _) = await RegisterActive(projects);
        await Allocate(later, FundingSource.Municipal, 700);
        var batch = (await budget.GetProjectBudgetsAsOfAsync(new GetProjectBudgetsAsOfRequest
        {
            AsOf = history[1].Envelope.RecordedAt, ProjectIds = { Guid.NewGuid().ToString(), later, projectId },
        })).Budgets;
        Assert.Equal([then], batch);
        var nowBatch = (await budget.GetProjectBudgetsAsOfAsync(new GetProjectBudgetsAsOfRequest
        {
            AsOf = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(1)), ProjectIds = { projectId, later },
        })).Budgets;
        Assert.Equal([await Budget(projectId), await Budget(later)], nowBatch);
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => budget.GetProjectBudgetsAsOfAsync(new GetProjectBudgetsAsOfRequest
        {
            AsOf = history[1].Envelope.RecordedAt, ProjectIds = { Enumerable.Range(0, 501).Select(_ => Guid.NewGuid().ToString()) },
        }).ResponseAsync);
        Assert.Equal(["project_ids"], tooMany.ViolatedFields());
    }

    [Fact]
    public async Task Many_budgets_read_in_one_call_in_the_order_asked_without_projects_lacking_one()
    {
        var (first, _) = await RegisterActive(projects);
        var (second, _) = await RegisterActive(projects);
        var (unfunded, _) = await RegisterActive(projects);
        await Allocate(first, FundingSource.National, 1_000);
        await Allocate(second, FundingSource.Private, 2_000);

        var batch = (await budget.BatchGetProjectBudgetsAsync(new BatchGetProjectBudgetsRequest { ProjectIds = { second, unfunded, first, second } })).Budgets;
        Assert.Equal([await Budget(second), await Budget(first)], batch);

        foreach (var (ids, field) in new[] { (new[] { first, "B-1" }, "project_ids[1]"), ([], "project_ids"),
                     ([.. Enumerable.Range(0, 501).Select(_ => Guid.NewGuid().ToString())], "project_ids") })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => budget.BatchGetProjectBudgetsAsync(new BatchGetProjectBudgetsRequest { ProjectIds = { ids } }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal([field], e.ViolatedFields());
        }
    }

    [Fact]
    public async Task The_change_feed_resumes_after_the_last_sequence_without_gaps_or_repeats()
    {
        var (projectId, _) = await RegisterActive(projects);
        await Allocate(projectId, FundingSource.Provincial, 900);
        await Commit(projectId, "CT-1", FundingSource.Provincial, 900);
        await Assert.ThrowsAsync<RpcException>(() => Commit(projectId, "CT-2", FundingSource.Provincial, 1));
        await budget.RecordExpenditureAsync(Spend(projectId, "INV-1", "CT-1", 100));

        var all = await Feed(0);
        var mine = all.Where(e => e.Envelope.StreamId == projectId).ToList();
        var resumed = await Feed(mine[1].Envelope.Sequence);

        Assert.Equal(["BudgetOpened", "FundsAllocated", "FundsCommitted", "ExpenditureRecorded"], mine.Select(e => e.Envelope.Type));
        Assert.Equal(all.SkipWhile(e => e.Envelope.Sequence <= mine[1].Envelope.Sequence).Select(e => e.Envelope.Sequence),
            resumed.Select(e => e.Envelope.Sequence));
    }

    async Task<List<BudgetEvent>> Feed(long after)
    {
        var events = new List<BudgetEvent>();
        using var call = budget.SubscribeBudgetEvents(new SubscribeBudgetEventsRequest { AfterSequence = after });
        while (await call.ResponseStream.MoveNext(default)) events.Add(call.ResponseStream.Current.Event);
        return events;
    }
}
