// The services authenticate every caller and authorise every command themselves, so a gRPC caller
// cannot bypass what the gateway enforces.
using Google.Rpc;
using Grpc.Core;
using Regeneration.Budget.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Security;

public class ServiceSecurityTests(SystemServers servers) : IClassFixture<SystemServers>
{
    ProjectService.ProjectServiceClient ProjectsAs(string token) => new(servers.Projects.As(token));

    public static TheoryData<string> BadTokens => new() { "none", "expired", "forged", "wrong audience", "garbage" };

    static string Token(string kind) => kind switch
    {
        "expired" => TestTokens.Expired("test-admin", [Roles.Admin]),
        "forged" => TestTokens.Forged("test-admin", [Roles.Admin]),
        "wrong audience" => TestTokens.For("test-admin", [Roles.Admin], audience: "someone-else"),
        "garbage" => "not.a.token",
        _ => "",
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Without_a_valid_token_every_service_answers_unauthenticated_and_writes_nothing(string kind)
    {
        var invoker = kind == "none" ? servers.Projects.Channel.CreateCallInvoker() : servers.Projects.As(Token(kind));
        var register = Register();
        var write = await Assert.ThrowsAsync<RpcException>(() => new ProjectService.ProjectServiceClient(invoker).RegisterProjectAsync(register).ResponseAsync);
        var budgetInvoker = kind == "none" ? servers.Budget.Channel.CreateCallInvoker() : servers.Budget.As(Token(kind));
        var read = await Assert.ThrowsAsync<RpcException>(() =>
            new BudgetService.BudgetServiceClient(budgetInvoker).GetPortfolioBudgetAsync(new GetPortfolioBudgetRequest()).ResponseAsync);
        var kpiInvoker = kind == "none" ? servers.Kpi.Channel.CreateCallInvoker() : servers.Kpi.As(Token(kind));
        var maturity = await Assert.ThrowsAsync<RpcException>(() =>
            new KpiService.KpiServiceClient(kpiInvoker).GetMaturityAsync(new GetMaturityRequest()).ResponseAsync);

        ReliabilityFigures.Record("Security matrix over gRPC (no/expired/forged/wrong-audience/garbage tokens, roles, BOLA, scopes, Production keys)", ReliabilityFigures.SecurityCases, 3);
        Assert.All(new[] { write, read, maturity }, e => Assert.Equal(StatusCode.Unauthenticated, e.StatusCode));
        var list = await servers.ProjectsClient.ListProjectsAsync(new ListProjectsRequest { Owner = register.Owner, District = register.District });
        Assert.DoesNotContain(list.Projects, p => p.Code == register.Code);
    }

    [Fact]
    public async Task A_project_manager_changes_his_own_projects_but_not_another_managers()
    {
        var kim = ProjectsAs(TestTokens.Manager("pm.kim"));
        var lee = ProjectsAs(TestTokens.Manager("pm.lee"));
        var kims = (await kim.RegisterProjectAsync(Register(r => r.Owner = "pm.kim"))).Result.StreamId;
        var milestone = (await kim.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = kims, Name = "Design", Weight = 20, DueDate = "2026-03-31",
        })).Result.EntityId;

        var bola = await Assert.ThrowsAsync<RpcException>(() => lee.RebaselineMilestoneAsync(new RebaselineMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = kims, MilestoneId = milestone, NewDueDate = "2027-01-01", Reason = "Mine now",
        }).ResponseAsync);
        var registerForOther = await Assert.ThrowsAsync<RpcException>(() =>
            lee.RegisterProjectAsync(Register(r => r.Owner = "pm.kim")).ResponseAsync);

        ReliabilityFigures.Record("Security matrix over gRPC (no/expired/forged/wrong-audience/garbage tokens, roles, BOLA, scopes, Production keys)", ReliabilityFigures.SecurityCases, 2);
        Assert.Equal(StatusCode.PermissionDenied, bola.StatusCode);
        Assert.Equal("NOT_OWNER", bola.Detail<ErrorInfo>()?.Reason);
        Assert.Equal(StatusCode.PermissionDenied, registerForOther.StatusCode);
        var project = (await servers.ProjectsClient.GetProjectAsync(new GetProjectRequest { ProjectId = kims })).Project;
        Assert.Equal("2026-03-31", project.Milestones.Single().BaselineDueDate);
        Assert.Equal(2, project.Version);
    }

    [Fact]
    public async Task An_executive_reads_everything_and_changes_nothing()
    {
        var executive = ProjectsAs(TestTokens.Executive);
        var (projectId, _) = await RegisterActive(servers.ProjectsClient);
        Assert.NotNull((await executive.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project);
        var e = await Assert.ThrowsAsync<RpcException>(() => executive.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = Regeneration.Projects.V1.ProjectStatus.OnHold, Reason = "Because",
        }).ResponseAsync);
        var budget = await Assert.ThrowsAsync<RpcException>(() => new BudgetService.BudgetServiceClient(servers.Budget.As(TestTokens.Executive))
            .AllocateFundsAsync(new AllocateFundsRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 1,
            }).ResponseAsync);
        ReliabilityFigures.Record("Security matrix over gRPC (no/expired/forged/wrong-audience/garbage tokens, roles, BOLA, scopes, Production keys)", ReliabilityFigures.SecurityCases, 2);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, budget.StatusCode);
    }

    [Fact]
    public async Task An_integration_acts_only_within_its_scopes()
    {
        var (projectId, _) = await RegisterActive(servers.ProjectsClient);
        var finance = TestTokens.For("finance-system", [Roles.Integration], ["budget:write", "projects:read"]);
        var budget = new BudgetService.BudgetServiceClient(servers.Budget.As(finance));
        await budget.AllocateFundsAsync(new AllocateFundsRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 1_000,
        });
        Assert.NotNull((await ProjectsAs(finance).GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project);

        var escalation = await Assert.ThrowsAsync<RpcException>(() => ProjectsAs(finance).PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Name = "Sneaky", Weight = 1, DueDate = "2026-01-01",
        }).ResponseAsync);
        var unscoped = await Assert.ThrowsAsync<RpcException>(() => new KpiService.KpiServiceClient(servers.Kpi.As(finance))
            .GetMaturityAsync(new GetMaturityRequest()).ResponseAsync);

        ReliabilityFigures.Record("Security matrix over gRPC (no/expired/forged/wrong-audience/garbage tokens, roles, BOLA, scopes, Production keys)", ReliabilityFigures.SecurityCases, 2);
        Assert.Equal(StatusCode.PermissionDenied, escalation.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, unscoped.StatusCode);
    }

    [Fact]
    public async Task The_actor_on_every_event_is_the_authenticated_caller()
    {
        var kim = ProjectsAs(TestTokens.Manager("pm.kim"));
        var projectId = (await kim.RegisterProjectAsync(Register(r => r.Owner = "pm.kim"))).Result.StreamId;
        var history = (await servers.ProjectsClient.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        Assert.Equal("pm.kim", history.Single().Envelope.Actor);
    }

    [Fact]
    public async Task Two_callers_request_ids_never_meet_even_when_a_callers_name_holds_a_slash()
    {
        // "pm.a" with request id "b/c" and "pm.a/b" with request id "c": one receipt key each, not one for both.
        var a = ProjectsAs(TestTokens.Manager("pm.a"));
        var ab = ProjectsAs(TestTokens.Manager("pm.a/b"));
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var first = (await a.RegisterProjectAsync(Register(r => { r.Owner = "pm.a"; r.RequestId = $"b/{suffix}"; }))).Result;
        var second = (await ab.RegisterProjectAsync(Register(r => { r.Owner = "pm.a/b"; r.RequestId = suffix; }))).Result;

        Assert.False(second.Replayed);
        Assert.NotEqual(first.StreamId, second.StreamId);
    }

    [Fact]
    public async Task A_caller_over_its_rate_limit_gets_resource_exhausted_and_others_go_on()
    {
        await using var limited = await ServiceHost.StartAsync(ProjectsApp.Build, servers.ConnectionString,
            "RateLimits:PermitsPerSecond=1", "RateLimits:Burst=2");
        var flooder = new ProjectService.ProjectServiceClient(limited.As(TestTokens.Manager("pm.flood")));
        var statuses = new List<StatusCode>();
        var refusals = new List<RpcException>();
        for (var i = 0; i < 6; i++)
        {
            try { await flooder.ListProjectsAsync(new ListProjectsRequest()); statuses.Add(StatusCode.OK); }
            catch (RpcException e) { statuses.Add(e.StatusCode); refusals.Add(e); }
        }
        Assert.Contains(StatusCode.ResourceExhausted, statuses);
        // The reason says it is the rate limit (RESOURCE_EXHAUSTED also means a message over the size limit).
        Assert.All(refusals, e => Assert.Equal("RATE_LIMITED", e.Detail<ErrorInfo>()?.Reason));
        Assert.Contains(StatusCode.OK, statuses);
        Assert.NotNull(await new ProjectService.ProjectServiceClient(limited.As(TestTokens.Executive)).ListProjectsAsync(new ListProjectsRequest()));
    }

    [Theory]
    [InlineData("")]
    [InlineData(AuthOptions.DevelopmentSigningKey)]
    public void Production_refuses_to_start_without_a_key_of_its_own(string key)
    {
        ReliabilityFigures.Record("Security matrix over gRPC (no/expired/forged/wrong-audience/garbage tokens, roles, BOLA, scopes, Production keys)", ReliabilityFigures.SecurityCases, 1);
        var error = Assert.Throws<InvalidOperationException>(() => ProjectsApp.Build([
            "--environment=Production", "--urls=http://127.0.0.1:0", "--ConnectionStrings:Postgres=Host=127.0.0.1",
            $"--Auth:SigningKey={key}",
        ]));
        Assert.Contains("Production", error.Message);
    }
}
