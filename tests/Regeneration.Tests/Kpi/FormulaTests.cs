// Attainment, earned value and maturity on hand-computed cases.
using Regeneration.Kpi;

namespace Regeneration.Tests.Kpi;

public class FormulaTests
{
    static readonly DateOnly Start = new(2025, 1, 1);
    static readonly Indicator Cameras = Indicator.From(Guid.NewGuid(), IndicatorCatalogue.Seed.Single(i => i.Code == "SAF-02"));
    static readonly Indicator Crime = Indicator.From(Guid.NewGuid(), IndicatorCatalogue.Seed.Single(i => i.Code == "SAF-01"));
    static readonly DimensionDefinition Safety = MaturityOptions.DefaultDimensions.Single(d => d.Code == "safety-resilience");
    static readonly double[] Thresholds = [20, 40, 60, 80];

    static MilestoneInput M(int weight, string due, int progress = 0, bool completed = false) =>
        new(Guid.NewGuid(), $"m{weight}-{due}", weight, DateOnly.Parse(due), DateOnly.Parse(due), progress, completed);

    static ProjectInput P(string code, IReadOnlyList<MilestoneInput> milestones, BudgetInput? budget = null,
        (string, int)[]? contributions = null, IReadOnlyList<TargetInput>? targets = null, bool cancelled = false) =>
        new(Guid.NewGuid(), code, code, "PROJECT_CATEGORY_SMART_SAFETY", "Jung-gu", cancelled ? "PROJECT_STATUS_CANCELLED" : "PROJECT_STATUS_ACTIVE",
            cancelled, Start, contributions ?? [("safety-resilience", 100)], milestones, 3, budget, targets ?? [], 0);

    static TargetInput T(Indicator indicator, double baseline, double target, double? value) =>
        new(indicator, baseline, target, new DateOnly(2027, 1, 1),
            value is { } v ? new Measurement(Guid.NewGuid(), indicator.Code, v, DateTimeOffset.UnixEpoch, "test") : null);

    [Theory]
    [InlineData(20, 80, 50, 0.5)]     // higher is better, half way
    [InlineData(20, 80, 95, 1.0)]     // beyond the target: clamped
    [InlineData(20, 80, 10, 0.0)]     // worse than the baseline: clamped
    [InlineData(40, 20, 30, 0.5)]     // lower is better, half way
    [InlineData(40, 20, 15, 1.0)]     // lower is better, target already met
    [InlineData(40, 20, 45, 0.0)]     // lower is better, got worse
    public void Attainment_is_the_clamped_share_of_the_way_from_baseline_to_target(double baseline, double target, double value, double expected) =>
        Assert.Equal(expected, Formulas.Attainment(baseline, target, value), 9);

    [Fact]
    public void Planned_value_rises_linearly_within_each_milestone_span()
    {
        // m1: 2025-01-01 .. 2025-01-11 (weight 40); m2: 2025-01-11 .. 2025-01-31 (weight 60).
        MilestoneInput[] ms = [M(40, "2025-01-11"), M(60, "2025-01-31")];
        Assert.Equal(0.0, Formulas.Planned(Start, ms, Start), 9);
        Assert.Equal(0.2, Formulas.Planned(Start, ms, new DateOnly(2025, 1, 6)), 9);          // 40 × 5/10
        Assert.Equal(0.4 + 0.3, Formulas.Planned(Start, ms, new DateOnly(2025, 1, 21)), 9);   // 40 + 60 × 10/20
        Assert.Equal(1.0, Formulas.Planned(Start, ms, new DateOnly(2026, 1, 1)), 9);
    }

    [Fact]
    public void Milestones_due_on_one_date_share_its_span_whatever_their_order()
    {
        // m1 (40) 2025-01-01 .. 2025-01-11; m2 (30) and m3 (30) both 2025-01-11 .. 2025-01-31, not one of them the whole
        // span and the other a step on the due date (which one got which followed their random ids).
        var (m2, m3) = (M(30, "2025-01-31"), M(30, "2025-01-31"));
        foreach (var ms in new MilestoneInput[][] { [M(40, "2025-01-11"), m2, m3], [M(40, "2025-01-11"), m3, m2] })
        {
            Assert.Equal(0.4 + 0.3, Formulas.Planned(Start, ms, new DateOnly(2025, 1, 21)), 9);   // 40 + (30 + 30) × 10/20
            Assert.Equal(1.0, Formulas.Planned(Start, ms, new DateOnly(2025, 1, 31)), 9);
        }
        // two milestones due on the same date as the first: the project's start to it, for both
        MilestoneInput[] same = [M(50, "2025-01-11"), M(50, "2025-01-11")];
        Assert.Equal(0.5, Formulas.Planned(Start, same, new DateOnly(2025, 1, 6)), 9);
    }

    [Fact]
    public void Earned_value_spi_cpi_and_eac_on_a_hand_computed_project()
    {
        // BAC 1,000,000; at 2025-01-21 planned 70 %; progress 40 % + 60 % × 25 % = 55 %; AC 500,000.
        var p = P("EVM", [M(40, "2025-01-11", completed: true), M(60, "2025-01-31", progress: 25)], new BudgetInput(1_000_000, 500_000, 5));
        var e = Formulas.EarnedValue(p, new DateOnly(2025, 1, 21));
        Assert.Equal((1_000_000L, 700_000L, 550_000L, 500_000L), (e.Bac, e.Pv, e.Ev, e.Ac));
        Assert.Equal(0.55 / 0.7, e.Spi!.Value, 9);
        Assert.Equal(1.1, e.Cpi!.Value, 9);
        Assert.Equal(909_091L, e.Eac);
        Assert.Equal(RagStatus.Red, e.Rag);   // SPI 0.786 < 0.85
    }

    [Fact]
    public void Without_a_budget_schedule_performance_still_shows_and_cost_is_not_assessed()
    {
        var p = P("NOBUDGET", [M(100, "2025-01-31", progress: 90)]);
        var e = Formulas.EarnedValue(p, new DateOnly(2025, 1, 31));
        Assert.Equal((0L, 0L, 0L), (e.Bac, e.Ev, e.Ac));
        Assert.Equal(0.9, e.Spi!.Value, 9);
        Assert.Null(e.Cpi);
        Assert.Equal(RagStatus.Amber, e.Rag);
        Assert.False(e.HasBudget);
    }

    [Fact]
    public void Before_anything_is_planned_the_project_is_not_assessed()
    {
        var e = Formulas.EarnedValue(P("EARLY", [M(100, "2025-12-31")], new BudgetInput(1_000, 0, 1)), Start);
        Assert.Equal((0L, null, null, RagStatus.NotAssessed), (e.Pv, e.Spi, e.Cpi, e.Rag));
        Assert.Equal(1_000, e.Eac);
    }

    [Fact]
    public void Money_spent_with_nothing_earned_leaves_the_estimate_at_completion_unknown()
    {
        var e = Formulas.EarnedValue(P("STUCK", [M(100, "2025-12-31")], new BudgetInput(1_000, 400, 2)), new DateOnly(2025, 6, 30));
        Assert.Equal((0L, 400L, 0.0), (e.Ev, e.Ac, e.Cpi));
        Assert.Null(e.Eac);
        Assert.Equal(RagStatus.Red, e.Rag);
    }

    [Theory]
    [InlineData(1.0, 0.95, RagStatus.Green)]
    [InlineData(0.96, 0.94, RagStatus.Amber)]
    [InlineData(0.85, 1.2, RagStatus.Amber)]
    [InlineData(1.2, 0.8499, RagStatus.Red)]
    public void Rag_is_the_worse_of_spi_and_cpi(double spi, double cpi, RagStatus expected) =>
        Assert.Equal(expected, Formulas.Rag(spi, cpi));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(19.99, 1)]
    [InlineData(20, 2)]
    [InlineData(59.9, 3)]
    [InlineData(60, 4)]
    [InlineData(80, 5)]
    [InlineData(100, 5)]
    public void Levels_follow_the_thresholds(double score, int level) => Assert.Equal(level, Formulas.Level(score, Thresholds));

    [Fact]
    public void A_dimension_score_weighs_delivery_and_outcome_by_declared_weight()
    {
        // A: weight 80, delivery 0.5, outcome mean(0.5, 1.0) = 0.75 -> 0.8 × 0.5 × 0.75 = 0.30
        // B: weight 20, delivery 1.0, no indicator -> outcome 1 (flagged) -> 0.2
        // C: cancelled: left out. Score = (0.30 + 0.20) / (0.8 + 0.2) = 50 % -> level 3.
        var a = P("A", [M(50, "2025-06-30", completed: true), M(50, "2025-12-31")], new BudgetInput(100, 10, 1),
            [("safety-resilience", 80)], [T(Cameras, 20, 80, 50), T(Crime, 40, 20, 10)]);
        var b = P("B", [M(100, "2025-06-30", completed: true)], contributions: [("safety-resilience", 20)]);
        var c = P("C", [M(100, "2025-06-30")], contributions: [("safety-resilience", 100)], cancelled: true);

        var d = Formulas.Dimension([a, b, c], Safety, Thresholds);

        Assert.Equal(50.0, d.Score, 9);
        Assert.Equal(3, d.Level);
        Assert.Equal(["A", "B"], d.Contributions.Select(x => x.Project.Code));
        Assert.Equal((0.5, 0.75, true), (d.Contributions[0].Delivery, d.Contributions[0].Outcome, d.Contributions[0].OutcomeDefined));
        Assert.Equal((1.0, false), (d.Contributions[1].Outcome, d.Contributions[1].OutcomeDefined));
        Assert.True(d.Contributions[0].DeliveryFromBudget);
        Assert.False(d.Contributions[1].DeliveryFromBudget);
    }

    [Fact]
    public void Gaps_list_the_fewest_changes_to_the_next_level_largest_gain_first()
    {
        // Score 50 %, level 3; level 4 needs 60 %. Completing A's open milestone: A delivery 1.0 -> 0.8 × 0.75 = 0.6,
        // score 80 %: one change is enough, and it is the largest gain.
        var a = P("A", [M(50, "2025-06-30", completed: true), M(50, "2025-12-31")], null,
            [("safety-resilience", 80)], [T(Cameras, 20, 80, 50), T(Crime, 40, 20, 10)]);
        var b = P("B", [M(100, "2025-06-30", completed: true)], contributions: [("safety-resilience", 20)]);

        var d = Formulas.Dimension([a, b], Safety, Thresholds);

        Assert.Equal(60, d.NextThreshold);
        var step = Assert.IsType<CompleteMilestoneStep>(Assert.Single(d.Gaps));
        Assert.Equal(("A", 80.0), (step.Project.Code, Math.Round(step.ScoreAfter, 9)));
        Assert.False(d.GapsInsufficient);
    }

    [Fact]
    public void Reaching_a_target_counts_as_a_gap_action_when_it_lifts_the_score_most()
    {
        // Delivery complete, outcome 0.25: reaching the target (attainment 1) lifts the score from 25 % to 100 %.
        var a = P("A", [M(100, "2025-06-30", completed: true)], targets: [T(Cameras, 0, 100, 25)]);
        var d = Formulas.Dimension([a], Safety, Thresholds);
        Assert.Equal(2, d.Level);
        var step = Assert.IsType<ReachTargetStep>(Assert.Single(d.Gaps));
        Assert.Equal("SAF-02", step.Target.Indicator.Code);
    }

    [Fact]
    public void A_dimension_without_contributing_projects_is_not_evidenced_and_does_not_set_the_overall_level()
    {
        var a = P("A", [M(100, "2025-06-30", completed: true)]);   // safety 100 %: level 5
        var dims = new[] { Safety, MaturityOptions.DefaultDimensions.Single(d => d.Code == "mobility") };
        var m = Formulas.Maturity([a], dims, Thresholds);
        Assert.Equal((true, 5), (m.Dimensions[0].Evidenced, m.Dimensions[0].Level));
        Assert.Equal((false, 0), (m.Dimensions[1].Evidenced, m.Dimensions[1].Level));
        Assert.Equal(5, m.OverallLevel);
        Assert.Equal(0, Formulas.Maturity([], dims, Thresholds).OverallLevel);
    }

    [Fact]
    public void The_overall_level_is_the_lowest_level_of_the_evidenced_dimensions()
    {
        var safe = P("S", [M(100, "2025-06-30", completed: true)]);
        var mobile = P("M", [M(100, "2025-06-30", progress: 45)], contributions: [("mobility", 100)]);
        var m = Formulas.Maturity([safe, mobile], [Safety, MaturityOptions.DefaultDimensions.Single(d => d.Code == "mobility")], Thresholds);
        Assert.Equal([5, 3], m.Dimensions.Select(d => d.Level));
        Assert.Equal(3, m.OverallLevel);
    }

    [Fact]
    public void A_forecast_completes_the_open_milestones_due_by_the_date()
    {
        var p = P("F", [M(50, "2026-03-31", progress: 60), M(50, "2027-06-30", progress: 10)]);
        var f = Formulas.Forecast(p, new DateOnly(2026, 12, 31));
        Assert.Equal([(100, true), (10, false)], f.Milestones.Select(m => (m.Progress, m.Completed)));
        Assert.Equal(0.55, Formulas.Progress(f.Milestones), 9);
    }

    [Fact]
    public void Gaps_are_the_steps_a_greedy_search_rescoring_the_whole_portfolio_for_every_candidate_finds()
    {
        // The definition, written out: at each step try every open milestone completed and every unmet target reached,
        // re-score the whole dimension for each, keep the best. The service weighs a candidate by its own
        // contribution's change instead; both must choose the same steps with the same scores.
        var random = new Random(37106);
        for (var portfolio = 0; portfolio < 40; portfolio++)
        {
            var projects = Enumerable.Range(0, random.Next(1, 30)).Select(i => P($"P{i:D2}",
                [.. Enumerable.Range(0, random.Next(1, 5)).Select(m => M(random.Next(5, 40), $"2025-0{1 + m}-15", random.Next(0, 100), random.Next(4) == 0))],
                random.Next(3) == 0 ? new BudgetInput(random.Next(1, 1000) * 1_000_000L, 0, 1) : null,
                [("safety-resilience", random.Next(10, 100))],
                [.. Enumerable.Range(0, random.Next(0, 3)).Select(_ => T(random.Next(2) == 0 ? Cameras : Crime, 0, 100, random.Next(3) == 0 ? null : random.NextDouble() * 120))],
                cancelled: random.Next(10) == 0)).ToList();
            var thresholds = new[] { 20.0, 40, 60, 80 }.Select(t => t + random.NextDouble() * 15).ToArray();

            var d = Formulas.Dimension(projects, Safety, thresholds);

            if (!d.Evidenced || d.Level > thresholds.Length) { Assert.Empty(d.Gaps); continue; }
            var (expected, reached) = GreedyRescoringEverything(d.Contributions, d.NextThreshold);
            Assert.Equal(expected.Count, d.Gaps.Count);
            foreach (var (want, got) in expected.Zip(d.Gaps))
            {
                Assert.Equal(want.GetType(), got.GetType());
                Assert.Equal(want.ScoreAfter, got.ScoreAfter, 9);
                Assert.Equal(Describe(want), Describe(got));
            }
            Assert.Equal(!reached, d.GapsInsufficient);
        }

        static string Describe(GapStep step) => step switch
        {
            CompleteMilestoneStep m => $"{m.Project.Code} completes {m.Milestone.Id}",
            ReachTargetStep t => $"{t.Project.Code} reaches {t.Target.Indicator.Code} from {t.Target.Latest?.Value}",
            _ => step.ToString(),
        };
    }

    static (List<GapStep>, bool) GreedyRescoringEverything(IReadOnlyList<Contribution> contributions, double threshold)
    {
        var projects = contributions.Select(c => c.Project).ToList();
        double Rescore(List<ProjectInput> ps) =>
            Formulas.Score([.. contributions.Select((c, i) => Formulas.Contribute(ps[i], "safety-resilience", c.DeclaredWeight))]);
        var steps = new List<GapStep>();
        var score = Rescore(projects);
        while (score < threshold && steps.Count < 25)
        {
            (GapStep Step, List<ProjectInput> Projects)? best = null;
            for (var i = 0; i < projects.Count; i++)
            {
                var p = projects[i];
                var candidates = p.Milestones.Where(m => !m.Completed).Select(m => ((GapStep)new CompleteMilestoneStep(p, m, 0),
                        p with { Milestones = [.. p.Milestones.Select(x => x.Id == m.Id ? x with { Progress = 100, Completed = true } : x)] }))
                    .Concat(p.Targets.Where(t => t.Indicator.Dimension == "safety-resilience" && Formulas.Attainment(t) < 1).Select(t => ((GapStep)new ReachTargetStep(p, t, 0),
                        p with { Targets = [.. p.Targets.Select(x => x == t ? t with { Latest = new Measurement(Guid.Empty, t.Indicator.Code, t.Target, DateTimeOffset.MaxValue, "") } : x)] })));
                foreach (var (step, changed) in candidates)
                {
                    var ps = new List<ProjectInput>(projects) { [i] = changed };
                    var after = Rescore(ps);
                    if (after > score + 1e-9 && (best is null || after > best.Value.Step.ScoreAfter + 1e-12)) best = (step with { ScoreAfter = after }, ps);
                }
            }
            if (best is not { } chosen) break;
            steps.Add(chosen.Step);
            (projects, score) = (chosen.Projects, chosen.Step.ScoreAfter);
        }
        return (steps, score >= threshold);
    }
}
