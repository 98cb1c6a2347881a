// The KPI service with the real Projects and Budget services over real gRPC, on real PostgreSQL:
// change a milestone or an expenditure and the rollup changes, with its explanation; the past stays
// as it was.
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Marten;
using Marten.Services;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Regeneration.Budget.V1;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Kpi;

public class KpiServiceTests(SystemServers servers) : IClassFixture<SystemServers>
{
    readonly KpiService.KpiServiceClient kpi = servers.KpiClient;
    readonly ProjectService.ProjectServiceClient projects = servers.ProjectsClient;
    readonly BudgetService.BudgetServiceClient budget = servers.BudgetClient;

    [Fact]
    public async Task A_repeat_of_a_command_that_committed_is_answered_while_the_projects_service_is_unreachable()
    {
        var (projectId, _) = await RegisterActive(projects);
        var committed = new SetTargetRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Baseline = 10, Target = 60, TargetDate = "2026-12-31",
        };
        var first = (await kpi.SetTargetAsync(committed)).Result;
        await using var cutOff = await ServiceHost.StartAsync(Regeneration.Kpi.KpiApp.Build, servers.ConnectionString,
            "Services:Projects=http://127.0.0.1:9", "Services:Budget=http://127.0.0.1:9");
        var isolated = new KpiService.KpiServiceClient(cutOff.Admin);

        var repeat = (await isolated.SetTargetAsync(committed)).Result;
        var fresh = await Assert.ThrowsAsync<RpcException>(() => isolated.SetTargetAsync(new SetTargetRequest(committed) { RequestId = NewRequestId() }).ResponseAsync);

        Assert.Equal((first.StreamId, first.Version, true), (repeat.StreamId, repeat.Version, repeat.Replayed));
        Assert.Equal(StatusCode.Unavailable, fresh.StatusCode);
    }

    /// <summary>A project serving a dimension of its own (so tests do not disturb each other), with one
    /// milestone done and one half way, a budget, a contract and a target with a measurement.</summary>
    async Task<(string ProjectId, string Open, string Dimension)> Project()
    {
        var dimension = "mobility";
        var (projectId, _) = await RegisterActive(projects, r =>
        {
            r.Category = Regeneration.Projects.V1.ProjectCategory.SmartMobility;
            r.PlannedStart = "2024-01-01";
            r.Contributions.Clear();
            r.Contributions.Add(new MaturityContribution { Dimension = dimension, Weight = 100 });
        });
        var done = await Plan(projects, projectId, weight: 50, dueDate: "2024-12-31", name: "Detectors");
        var open = await Plan(projects, projectId, weight: 50, dueDate: "2025-12-31", name: "Adaptive control");
        await projects.CompleteMilestoneAsync(new CompleteMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = done, CompletedOn = "2024-12-20" });
        await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = open, Progress = 50 });
        await budget.AllocateFundsAsync(new AllocateFundsRequest { RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, AmountWon = 1_000_000 });
        await budget.CommitFundsAsync(new CommitFundsRequest { RequestId = NewRequestId(), ProjectId = projectId, Source = FundingSource.National, FiscalYear = 2025, ContractRef = "CT-1", AmountWon = 1_000_000 });
        await budget.RecordExpenditureAsync(new RecordExpenditureRequest { RequestId = NewRequestId(), ProjectId = projectId, ContractRef = "CT-1", InvoiceRef = "INV-1", AmountWon = 500_000, SpentOn = "2025-03-01" });
        await kpi.SetTargetAsync(new SetTargetRequest { RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Baseline = 10, Target = 60, TargetDate = "2026-12-31" });
        await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Value = 35, Source = "Signal inventory",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 6, 30, 0, 0, 0, DateTimeKind.Utc)),
        });
        return (projectId, open, dimension);
    }

    async Task<ProjectKpis> Kpis(string projectId) =>
        (await kpi.GetProjectKpisAsync(new GetProjectKpisRequest { ProjectId = projectId, Refresh = true })).Kpis;

    [Fact]
    public async Task Earned_value_and_attainment_come_from_the_three_services()
    {
        var (projectId, _, _) = await Project();

        var k = await Kpis(projectId);

        Assert.Equal((1_000_000L, 750_000L, 500_000L), (k.EarnedValue.BacWon, k.EarnedValue.EvWon, k.EarnedValue.AcWon));
        Assert.Equal(1.5, k.EarnedValue.Cpi, 9);
        Assert.Equal(0.75, k.EarnedValue.Progress, 9);
        var indicator = Assert.Single(k.Indicators);
        Assert.Equal(("TRA-01", 0.5, true), (indicator.IndicatorCode, indicator.Attainment, indicator.Measured));
        Assert.Equal(35, indicator.Latest.Value);
        Assert.True(k.ProjectVersion >= 5 && k.BudgetVersion >= 4 && k.IndicatorsVersion >= 3);
    }

    [Fact]
    public async Task The_rollup_kept_current_change_by_change_equals_the_one_a_freshly_started_service_computes()
    {
        var (first, firstOpen, _) = await Project();
        var (second, _, _) = await Project();
        async Task<GetKpiRollupResponse> Rollup()
        {
            var rollup = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Refresh = true, Page = new Regeneration.Common.V1.PageRequest { PageSize = 500 } });
            rollup.At = null;
            rollup.Freshness = null;
            return rollup;
        }
        // The rollup once it shows a change (the feeds bring upstream changes within moments).
        async Task<GetKpiRollupResponse> RollupShowing(Func<GetKpiRollupResponse, bool> change)
        {
            for (var attempt = 0; ; attempt++)
            {
                var rollup = await Rollup();
                if (change(rollup)) return rollup;
                Assert.True(attempt < 50, "the rollup never showed the change");
                await Task.Delay(100);
            }
        }
        ProjectKpis Of(GetKpiRollupResponse rollup, string id) => rollup.Projects.Single(p => p.ProjectId == id);
        await Rollup();

        // A change to each of the three inputs, one at a time, each seen by a rollup before the next: the service
        // builds again only what changed since the answer before.
        await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest { RequestId = NewRequestId(), ProjectId = first, MilestoneId = firstOpen, Progress = 80 });
        await RollupShowing(r => Math.Abs(Of(r, first).EarnedValue.Progress - 0.9) < 1e-9);
        await budget.RecordExpenditureAsync(new RecordExpenditureRequest { RequestId = NewRequestId(), ProjectId = second, ContractRef = "CT-1", InvoiceRef = "INV-2", AmountWon = 200_000, SpentOn = "2025-04-01" });
        await RollupShowing(r => Of(r, second).EarnedValue.AcWon == 700_000);
        await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = second, IndicatorCode = "TRA-01", Value = 55, Source = "Signal inventory",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 9, 30, 0, 0, 0, DateTimeKind.Utc)),
        });
        var kept = await Rollup();   // KPI's own write: no feed to wait for
        Assert.Equal(55, Of(kept, second).Indicators.Single().Latest.Value);

        await servers.Kpi.StopAsync();
        await servers.Kpi.RestartAsync();
        Assert.Equal(await Rollup(), kept);
    }

    [Fact]
    public async Task Completing_a_milestone_raises_the_rollup_and_the_maturity_with_the_explanation()
    {
        var (projectId, open, dimension) = await Project();
        var before = await Contribution(projectId, dimension);

        await projects.CompleteMilestoneAsync(new CompleteMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = open });
        var after = await Contribution(projectId, dimension);
        var rollup = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest());

        Assert.Equal(0.75, before.Delivery, 9);
        Assert.Equal(1.0, after.Delivery, 9);
        Assert.Equal("EV/BAC", after.DeliveryBasis);
        Assert.Equal(0.5, after.Outcome, 9);
        Assert.Equal(0.5, after.Contribution, 9);
        Assert.Contains(after.Milestones, m => m.MilestoneId == open && m.Status == "COMPLETED");
        Assert.Equal("TRA-01", Assert.Single(after.Indicators).IndicatorCode);
        Assert.Equal(1_000_000, rollup.Projects.Single(p => p.ProjectId == projectId).EarnedValue.EvWon);
    }

    [Fact]
    public async Task An_expenditure_changes_the_cost_performance()
    {
        var (projectId, _, _) = await Project();
        Assert.Equal(1.5, (await Kpis(projectId)).EarnedValue.Cpi, 9);

        await budget.RecordExpenditureAsync(new RecordExpenditureRequest { RequestId = NewRequestId(), ProjectId = projectId, ContractRef = "CT-1", InvoiceRef = "INV-2", AmountWon = 500_000, SpentOn = "2025-04-01" });

        var k = await Kpis(projectId);
        Assert.Equal(1_000_000, k.EarnedValue.AcWon);
        Assert.Equal(0.75, k.EarnedValue.Cpi, 9);
        Assert.Equal(Rag.Red, k.EarnedValue.Rag);
    }

    [Fact]
    public async Task The_maturity_as_of_a_past_instant_shows_the_earlier_picture()
    {
        var (projectId, open, dimension) = await Project();
        var history = (await projects.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        var beforeCompletion = history[^1].Envelope.RecordedAt;
        await projects.CompleteMilestoneAsync(new CompleteMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = open });
        await Contribution(projectId, dimension);   // synced

        var then = await kpi.GetMaturityAsync(new GetMaturityRequest { At = beforeCompletion });
        var past = then.Dimensions.Single(d => d.Dimension.Code == dimension).Contributions.Single(c => c.ProjectId == projectId);

        Assert.Equal(Basis.AsOf, then.Basis);
        Assert.Equal(0.75, past.Delivery, 9);
        var trend = await kpi.GetMaturityTrendAsync(new GetMaturityTrendRequest
        {
            From = beforeCompletion, To = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });
        double Delivery(GetMaturityResponse m) =>
            m.Dimensions.Single(d => d.Dimension.Code == dimension).Contributions.Single(c => c.ProjectId == projectId).Delivery;
        Assert.Equal((0.75, 1.0), (Delivery(trend.From), Delivery(trend.To)));
        Assert.Contains(trend.Dimensions, d => d.Dimension == dimension);
    }

    [Fact]
    public async Task The_rollup_as_of_an_instant_shows_each_input_as_it_was_then_whether_it_changed_since_or_not()
    {
        var (unchanged, _, _) = await Project();
        var (progressed, progressedOpen, _) = await Project();
        var (spent, _, _) = await Project();
        var (measured, _, _) = await Project();
        string[] ids = [unchanged, progressed, spent, measured];
        async Task<Dictionary<string, ProjectKpis>> Rollup(Timestamp? at = null)
        {
            var rollup = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { At = at, Refresh = at is null, Page = new Regeneration.Common.V1.PageRequest { PageSize = 500 } });
            return rollup.Projects.Where(p => ids.Contains(p.ProjectId)).ToDictionary(p => p.ProjectId);
        }
        var before = await Rollup();   // the current inputs built, as the as-of answer below may share them
        Assert.Equal(4, before.Count);
        var then = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        await Task.Delay(50);

        // One input of each of three projects changes; the fourth keeps the versions it had then.
        await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest { RequestId = NewRequestId(), ProjectId = progressed, MilestoneId = progressedOpen, Progress = 80 });
        await budget.RecordExpenditureAsync(new RecordExpenditureRequest { RequestId = NewRequestId(), ProjectId = spent, ContractRef = "CT-1", InvoiceRef = "INV-2", AmountWon = 200_000, SpentOn = "2025-04-01" });
        await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = measured, IndicatorCode = "TRA-01", Value = 55, Source = "Signal inventory",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 9, 30, 0, 0, 0, DateTimeKind.Utc)),
        });
        for (var attempt = 0; ; attempt++)
        {
            var now = await Rollup();
            if (Math.Abs(now[progressed].EarnedValue.Progress - 0.9) < 1e-9 && now[spent].EarnedValue.AcWon == 700_000
                && now[measured].Indicators.Single().Latest.Value == 55) break;
            Assert.True(attempt < 50, "the rollup never showed the changes");
            await Task.Delay(100);
        }

        Assert.Equal(before, await Rollup(then));
    }

    [Fact]
    public async Task A_forecast_completes_open_milestones_due_by_the_date()
    {
        var (projectId, open, dimension) = await Project();
        await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = open, Progress = 60, ForecastDate = "2027-03-31",
        });

        var early = await kpi.GetMaturityAsync(new GetMaturityRequest { At = Timestamp.FromDateTime(new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc)), Refresh = true });
        var late = await kpi.GetMaturityAsync(new GetMaturityRequest { At = Timestamp.FromDateTime(new DateTime(2027, 6, 1, 0, 0, 0, DateTimeKind.Utc)) });

        Assert.Equal(Basis.Forecast, early.Basis);
        Assert.Equal(0.8, early.Dimensions.Single(d => d.Dimension.Code == dimension).Contributions.Single(c => c.ProjectId == projectId).Delivery, 9);
        Assert.Equal(1.0, late.Dimensions.Single(d => d.Dimension.Code == dimension).Contributions.Single(c => c.ProjectId == projectId).Delivery, 9);
    }

    [Fact]
    public async Task Every_answer_says_how_fresh_its_inputs_are()
    {
        await Project();
        var maturity = await kpi.GetMaturityAsync(new GetMaturityRequest { Refresh = true });
        Assert.Equal(["projects", "budget"], maturity.Freshness.Feeds.Select(f => f.Feed));
        Assert.All(maturity.Freshness.Feeds, f => Assert.True(f.LastSequence > 0 && f.LastSyncedAt is not null && f.LastError == ""));
        Assert.False(maturity.Freshness.Stale);
        Assert.Contains("lowest level", maturity.OverallRule);
    }

    [Fact]
    public async Task The_catalogue_is_seeded_and_admins_add_indicators_with_unique_codes()
    {
        var catalogue = (await kpi.ListIndicatorsAsync(new ListIndicatorsRequest())).Indicators;
        Assert.True(catalogue.Count >= 15);
        Assert.Contains(catalogue, i => i.Code == "SAF-02" && i.Dimension == "safety-resilience");

        var indicator = new Regeneration.Kpi.V1.Indicator
        {
            Code = $"TST-{Guid.NewGuid().ToString("N")[..6].ToUpperInvariant()}", Name = "Share of smart parking bays", Unit = "%",
            Polarity = Polarity.HigherIsBetter, Theme = "transportation", Dimension = "mobility", MinValue = 0, MaxValue = 100,
        };
        await kpi.DefineIndicatorAsync(new DefineIndicatorRequest { RequestId = NewRequestId(), Indicator = indicator });
        var duplicate = await Assert.ThrowsAsync<RpcException>(() =>
            kpi.DefineIndicatorAsync(new DefineIndicatorRequest { RequestId = NewRequestId(), Indicator = indicator }).ResponseAsync);
        indicator.MaxValue = -1;
        var invalid = await Assert.ThrowsAsync<RpcException>(() =>
            kpi.DefineIndicatorAsync(new DefineIndicatorRequest { RequestId = NewRequestId(), Indicator = indicator }).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("indicator.max_value", invalid.ViolatedFields());
    }

    [Fact]
    public async Task Targets_and_measurements_are_checked_and_rejections_write_nothing()
    {
        var (projectId, _, _) = await Project();
        var before = (await Kpis(projectId)).IndicatorsVersion;

        async Task<RpcException> Fails(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);
        var wrongSide = await Fails(() => kpi.SetTargetAsync(new SetTargetRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "SAF-01", Baseline = 300, Target = 350, TargetDate = "2027-01-01",
        }).ResponseAsync);
        var unknownIndicator = await Fails(() => kpi.SetTargetAsync(new SetTargetRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "NOPE-1", Baseline = 1, Target = 2, TargetDate = "2027-01-01",
        }).ResponseAsync);
        var outOfRange = await Fails(() => kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Value = 140, Source = "x",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc)),
        }).ResponseAsync);
        var future = await Fails(() => kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Value = 40, Source = "x",
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(3)),
        }).ResponseAsync);
        var noTarget = await Fails(() => kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-02", Value = 40, Source = "x",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc)),
        }).ResponseAsync);
        var unknownProject = await Fails(() => kpi.SetTargetAsync(new SetTargetRequest
        {
            RequestId = NewRequestId(), ProjectId = Guid.NewGuid().ToString(), IndicatorCode = "TRA-01", Baseline = 1, Target = 2, TargetDate = "2027-01-01",
        }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "target"), (wrongSide.StatusCode, wrongSide.ViolatedFields().Single()));
        Assert.Equal(StatusCode.NotFound, unknownIndicator.StatusCode);
        Assert.Equal((StatusCode.InvalidArgument, "value"), (outOfRange.StatusCode, outOfRange.ViolatedFields().Single()));
        Assert.Equal((StatusCode.InvalidArgument, "observed_at"), (future.StatusCode, future.ViolatedFields().Single()));
        Assert.Equal("NO_TARGET", noTarget.Detail<PreconditionFailure>()!.Violations.Single().Type);
        Assert.Equal(("project", StatusCode.NotFound), (unknownProject.Detail<ResourceInfo>()?.ResourceType, unknownProject.StatusCode));
        Assert.Equal(before, (await Kpis(projectId)).IndicatorsVersion);
    }

    [Fact]
    public async Task A_repeated_measurement_is_recorded_once()
    {
        var (projectId, _, _) = await Project();
        var request = new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Value = 50, Source = "Signal inventory",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 9, 30, 0, 0, 0, DateTimeKind.Utc)),
        };
        var first = (await kpi.RecordMeasurementAsync(request)).Result;
        var again = (await kpi.RecordMeasurementAsync(request)).Result;
        Assert.Equal((first.EntityId, first.Version, true), (again.EntityId, again.Version, again.Replayed));
        Assert.Equal(0.8, (await Kpis(projectId)).Indicators.Single().Attainment, 9);
    }

    async Task<ProjectContribution> Contribution(string projectId, string dimension)
    {
        var maturity = await kpi.GetMaturityAsync(new GetMaturityRequest { Refresh = true });
        var d = maturity.Dimensions.Single(x => x.Dimension.Code == dimension);
        Assert.Contains(projectId, d.Contributions.Select(c => c.ProjectId));
        return d.Contributions.Single(c => c.ProjectId == projectId);
    }

    [Fact]
    public async Task The_rollup_pages_its_projects_in_code_order_and_keeps_the_groups_whole()
    {
        for (var i = 0; i < 5; i++) await RegisterActive(projects);
        var whole = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Refresh = true, Page = new() { PageSize = 500 } });
        Assert.True(whole.Projects.Count >= 5);
        Assert.Empty(whole.NextPageToken);

        var paged = new List<ProjectKpis>();
        var token = "";
        do
        {
            var page = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Page = new() { PageSize = 2, PageToken = token } });
            Assert.True(page.Projects.Count <= 2);
            Assert.Equal(whole.Portfolio, page.Portfolio);
            Assert.Equal(whole.ByCategory, page.ByCategory);
            Assert.Equal(whole.ByDistrict, page.ByDistrict);
            paged.AddRange(page.Projects);
            token = page.NextPageToken;
        } while (token.Length > 0);

        Assert.Equal(whole.Projects, paged);
        Assert.Equal(whole.Portfolio.ProjectCount, paged.Count);
        Assert.Equal(paged.Select(p => p.Code).Order(StringComparer.Ordinal), paged.Select(p => p.Code));

        var badToken = await Assert.ThrowsAsync<RpcException>(() => kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Page = new() { PageToken = "%%%" } }).ResponseAsync);
        var tooBig = await Assert.ThrowsAsync<RpcException>(() => kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Page = new() { PageSize = 501 } }).ResponseAsync);
        Assert.Equal(["page.page_token"], badToken.ViolatedFields());
        Assert.Equal(["page.page_size"], tooBig.ViolatedFields());
    }

    [Fact]
    public async Task The_maturity_lists_each_dimensions_largest_contributions_and_pages_through_all_of_them()
    {
        // A national portfolio's full evidence does not fit in one answer (it exceeded gRPC's 4 MB at 10,000 projects):
        // the maturity lists the largest contributions, ListDimensionContributions every one of them.
        const string dimension = "benefits-realisation";
        for (var i = 0; i < 23; i++)
        {
            var (projectId, _) = await RegisterActive(projects, r =>
            {
                r.Contributions.Clear();
                r.Contributions.Add(new MaturityContribution { Dimension = dimension, Weight = 10 + i });
            });
            var milestone = await Plan(projects, projectId, weight: 100, dueDate: "2026-12-31", name: "Rollout");
            await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestone, Progress = 1 + i * 37 % 97,
            });
        }
        var everything = (await kpi.GetMaturityAsync(new GetMaturityRequest { Refresh = true, MaxContributions = 500 }))
            .Dimensions.Single(d => d.Dimension.Code == dimension);
        Assert.True(everything.ContributionCount >= 23);
        Assert.Equal(everything.ContributionCount, everything.Contributions.Count);
        Assert.Equal(everything.Contributions.Select(c => c.Contribution).OrderDescending(), everything.Contributions.Select(c => c.Contribution));

        var byDefault = (await kpi.GetMaturityAsync(new GetMaturityRequest())).Dimensions.Single(d => d.Dimension.Code == dimension);
        Assert.Equal(everything.Contributions.Take(20), byDefault.Contributions);
        Assert.Equal((everything.ContributionCount, everything.Score, everything.Level, everything.Gaps),
            (byDefault.ContributionCount, byDefault.Score, byDefault.Level, byDefault.Gaps));
        var three = (await kpi.GetMaturityAsync(new GetMaturityRequest { MaxContributions = 3 })).Dimensions.Single(d => d.Dimension.Code == dimension);
        Assert.Equal(everything.Contributions.Take(3), three.Contributions);

        var paged = new List<ProjectContribution>();
        var token = "";
        do
        {
            var page = await kpi.ListDimensionContributionsAsync(new ListDimensionContributionsRequest
            {
                Dimension = dimension, Page = new() { PageSize = 5, PageToken = token },
            });
            Assert.Equal(everything.ContributionCount, page.ContributionCount);
            Assert.Equal(Basis.Current, page.Basis);
            Assert.InRange(page.Contributions.Count, 1, 5);
            paged.AddRange(page.Contributions);
            token = page.NextPageToken;
        } while (token.Length > 0);
        Assert.Equal(everything.Contributions.OrderBy(c => c.Code, StringComparer.Ordinal), paged);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => kpi.ListDimensionContributionsAsync(
            new ListDimensionContributionsRequest { Dimension = "not-a-dimension" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        foreach (var (call, field) in new (Func<Task>, string)[]
        {
            (() => kpi.ListDimensionContributionsAsync(new ListDimensionContributionsRequest { Dimension = "Not A Code" }).ResponseAsync, "dimension"),
            (() => kpi.GetMaturityAsync(new GetMaturityRequest { MaxContributions = 501 }).ResponseAsync, "max_contributions"),
            (() => kpi.GetMaturityAsync(new GetMaturityRequest { At = new Timestamp { Seconds = 0, Nanos = -1 } }).ResponseAsync, "at"),
            (() => kpi.GetKpiRollupAsync(new GetKpiRollupRequest { At = new Timestamp { Seconds = 253_402_300_800 } }).ResponseAsync, "at"),
            (() => kpi.GetMaturityTrendAsync(new GetMaturityTrendRequest
            {
                From = Timestamp.FromDateTime(DateTime.UnixEpoch), To = new Timestamp { Seconds = 253_402_300_800 },
            }).ResponseAsync, "to"),
        })
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal([field], e.ViolatedFields());
        }
    }

    [Fact]
    public async Task The_maturity_kept_as_of_a_past_instant_takes_in_a_change_dated_before_it_that_commits_after()
    {
        var (projectId, _, dimension) = await Project();
        // Recorded (dated) now, committed only after the maturity as of a later instant has been asked.
        await using var late = await MeasurementHeldBack(projectId, 60, DateTimeOffset.UtcNow.AddMinutes(-1));
        await Task.Delay(100);
        var then = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        async Task<double> Outcome()
        {
            var contributions = new List<ProjectContribution>();
            var token = "";
            do
            {
                var page = await kpi.ListDimensionContributionsAsync(new ListDimensionContributionsRequest
                {
                    Dimension = dimension, At = then, Page = new() { PageSize = 500, PageToken = token },
                });
                Assert.Equal(Basis.AsOf, page.Basis);
                contributions.AddRange(page.Contributions);
                token = page.NextPageToken;
            } while (token.Length > 0);
            return contributions.Single(c => c.ProjectId == projectId).Outcome;
        }

        Assert.Equal((0.5, 0.5), (await Outcome(), await Outcome()));   // (35 - 10) / (60 - 10), asked twice
        await late.Transaction.CommitAsync();
        Assert.Equal(1.0, await Outcome(), 9);
    }

    [Fact]
    public async Task A_rollup_page_the_caller_holds_comes_back_not_modified_until_one_of_its_inputs_moves()
    {
        var (projectId, _, _) = await Project();
        var all = new Regeneration.Common.V1.PageRequest { PageSize = 500 };
        var first = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Refresh = true, Page = all });
        Assert.NotEmpty(first.Version);
        Assert.False(first.NotModified);

        var again = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = first.Version, Page = all });
        Assert.True(again.NotModified);
        Assert.Equal(first.Version, again.Version);
        Assert.Empty(again.Projects);
        Assert.Empty(again.ByCategory);
        Assert.Null(again.Portfolio);
        Assert.Equal(Basis.Current, again.Basis);
        Assert.NotNull(again.At);
        Assert.Equal(2, again.Freshness.Feeds.Count);

        // Another page of the same answer is another version.
        var other = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = first.Version, Page = new() { PageSize = 1 } });
        Assert.False(other.NotModified);
        Assert.NotEqual(first.Version, other.Version);
        Assert.Single(other.Projects);

        // An input from another service (through its feed), then one of this service's own: each a new version, the page whole.
        await budget.RecordExpenditureAsync(new RecordExpenditureRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, ContractRef = "CT-1", InvoiceRef = "INV-2", AmountWon = 500_000, SpentOn = "2025-04-01",
        });
        var spent = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = first.Version, Refresh = true, Page = all });
        Assert.False(spent.NotModified);
        Assert.NotEqual(first.Version, spent.Version);
        Assert.Equal(1_000_000, spent.Projects.Single(p => p.ProjectId == projectId).EarnedValue.AcWon);
        await kpi.RecordMeasurementAsync(new RecordMeasurementRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, IndicatorCode = "TRA-01", Value = 50, Source = "Signal inventory",
            ObservedAt = Timestamp.FromDateTime(new DateTime(2025, 9, 30, 0, 0, 0, DateTimeKind.Utc)),
        });
        var measured = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = spent.Version, Page = all });
        Assert.False(measured.NotModified);
        Assert.NotEqual(spent.Version, measured.Version);
        Assert.Equal(50, measured.Projects.Single(p => p.ProjectId == projectId).Indicators.Single(i => i.IndicatorCode == "TRA-01").Latest.Value);

        // As of a past instant nothing is kept: no version, never "not modified".
        var past = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest
        {
            At = first.At, IfNoneMatch = measured.Version, Page = all,
        });
        Assert.Empty(past.Version);
        Assert.False(past.NotModified);
        Assert.NotEmpty(past.Projects);
        var tooLong = await Assert.ThrowsAsync<RpcException>(() => kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = new string('a', 65) }).ResponseAsync);
        Assert.Equal(["if_none_match"], tooLong.ViolatedFields());
    }

    [Fact]
    public async Task A_maturity_the_caller_holds_comes_back_not_modified_until_one_of_its_inputs_moves()
    {
        var (projectId, _, _) = await Project();
        var first = await kpi.GetMaturityAsync(new GetMaturityRequest { Refresh = true, MaxContributions = 5 });
        Assert.NotEmpty(first.Version);
        Assert.NotEmpty(first.Dimensions);

        var again = await kpi.GetMaturityAsync(new GetMaturityRequest { IfNoneMatch = first.Version, MaxContributions = 5 });
        Assert.True(again.NotModified);
        Assert.Equal((first.Version, Basis.Current), (again.Version, again.Basis));
        Assert.Empty(again.Dimensions);
        Assert.Empty(again.Explanation);
        Assert.Equal(2, again.Freshness.Feeds.Count);
        // Listed otherwise, it is another answer.
        var longer = await kpi.GetMaturityAsync(new GetMaturityRequest { IfNoneMatch = first.Version, MaxContributions = 6 });
        Assert.False(longer.NotModified);
        Assert.NotEqual(first.Version, longer.Version);

        await projects.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = (await projects.GetProjectAsync(new GetProjectRequest { ProjectId = projectId }))
                .Project.Milestones.Single(m => m.Status != MilestoneStatus.Completed).Id, Progress = 80,
        });
        var moved = await kpi.GetMaturityAsync(new GetMaturityRequest { IfNoneMatch = first.Version, Refresh = true, MaxContributions = 5 });
        Assert.False(moved.NotModified);
        Assert.NotEqual(first.Version, moved.Version);
        Assert.NotEmpty(moved.Dimensions);

        // The trend never answers "not modified" (it sends no version): both instants whole.
        var trend = await kpi.GetMaturityTrendAsync(new GetMaturityTrendRequest { From = first.At, To = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)) });
        Assert.NotEmpty(trend.From.Dimensions);
        Assert.NotEmpty(trend.To.Dimensions);
    }

    [Fact]
    public async Task A_change_that_commits_after_a_later_one_still_reaches_the_kept_answers()
    {
        // PostgreSQL hands event numbers out before commit: a command can take 101, another 102 and commit first. An
        // answer kept under the highest number (102) would never see 101's change.
        var (projectId, _, _) = await Project();
        // The late one: its event number taken now, its commit held back.
        await using var late = await MeasurementHeldBack(projectId, 60, DateTimeOffset.UtcNow);
        // A later one commits first, and the rollup is computed and kept.
        var (other, _, _) = await Project();
        var kept = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { Refresh = true, Page = new() { PageSize = 500 } });
        Assert.Contains(kept.Projects, p => p.ProjectId == other);
        Assert.Equal(35, kept.Projects.Single(p => p.ProjectId == projectId).Indicators.Single(i => i.IndicatorCode == "TRA-01").Latest.Value);

        await late.Transaction.CommitAsync();
        var after = await kpi.GetKpiRollupAsync(new GetKpiRollupRequest { IfNoneMatch = kept.Version, Page = new() { PageSize = 500 } });
        Assert.False(after.NotModified);
        Assert.Equal(60, after.Projects.Single(p => p.ProjectId == projectId).Indicators.Single(i => i.IndicatorCode == "TRA-01").Latest.Value);
    }

    sealed record HeldBack(NpgsqlConnection Connection, NpgsqlTransaction Transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }

    /// <summary>A measurement written in KPI's store in a transaction left open: its event number (and its time) taken
    /// now, its commit when the test says.</summary>
    async Task<HeldBack> MeasurementHeldBack(string projectId, double value, DateTimeOffset observedAt)
    {
        await Kpis(projectId);   // KPI has the project from the feeds
        var store = servers.Kpi.Services.GetRequiredService<IDocumentStore>();
        var connection = new NpgsqlConnection(servers.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var late = store.LightweightSession(SessionOptions.ForTransaction(transaction));
        late.Events.Append(Guid.Parse(projectId), new Regeneration.Kpi.MeasurementRecorded(Guid.NewGuid(), "TRA-01", value, observedAt, "late"));
        await late.SaveChangesAsync();
        return new HeldBack(connection, transaction);
    }
}
