// The decider as a specification: given events -> when command -> then events or error. No database.
using Regeneration.Projects;
using Regeneration.ServiceDefaults;

namespace Regeneration.Tests.Projects;

public class ProjectDeciderTests
{
    static readonly Guid ProjectId = Guid.NewGuid();
    static readonly DateOnly Day = new(2026, 3, 31);

    static Project Given(params object[] events)
    {
        var registered = new ProjectRegistered(ProjectId, "WJ-2021-SR-03", "Smart regeneration", "", "Wonju-dong",
            ProjectCategory.UrbanRegeneration, "pm.lee", new(2025, 1, 1), new(2027, 12, 31), [new("mobility", 50)]);
        var project = Project.Create(registered);
        foreach (var e in events)
            project = e switch
            {
                ProjectStatusChanged x => project.Apply(x),
                MilestonePlanned x => project.Apply(x),
                MilestoneProgressReported x => project.Apply(x),
                MilestoneCompleted x => project.Apply(x),
                MilestoneRescheduled x => project.Apply(x),
                ProjectDetailsRevised x => project.Apply(x),
                _ => throw new ArgumentException(e.GetType().Name),
            };
        return project;
    }

    static ProjectStatusChanged Moved(ProjectStatus from, ProjectStatus to) => new(from, to, "");
    static readonly Guid M1 = Guid.NewGuid(), M2 = Guid.NewGuid();
    static MilestonePlanned Planned(Guid id, int weight) => new(id, $"m-{id}", weight, Day);

    [Fact]
    public void Registering_a_project_records_every_detail_and_starts_it_planned()
    {
        var command = new RegisterProject(ProjectId, "WJ-1", "n", "d", "x", ProjectCategory.SmartMobility, "pm",
            new(2025, 1, 1), new(2025, 2, 1), [new("mobility", 10)]);
        var e = Assert.IsType<ProjectRegistered>(Assert.Single(ProjectDecider.Register(command)));
        Assert.Equal(command.Code, e.Code);
        Assert.Equal(ProjectStatus.Planned, Project.Create(e).Status);
    }

    [Theory]
    [InlineData(ProjectStatus.Planned, ProjectStatus.Active)]
    [InlineData(ProjectStatus.Planned, ProjectStatus.Cancelled)]
    [InlineData(ProjectStatus.Active, ProjectStatus.OnHold)]
    [InlineData(ProjectStatus.OnHold, ProjectStatus.Active)]
    [InlineData(ProjectStatus.Active, ProjectStatus.Completed)]
    [InlineData(ProjectStatus.OnHold, ProjectStatus.Cancelled)]
    public void Legal_status_moves_are_recorded(ProjectStatus from, ProjectStatus to)
    {
        // completing one takes its whole scope delivered: milestones weighing 100, all completed
        var project = Given([.. Path(from), .. to == ProjectStatus.Completed ? WholeScopeDelivered : []]);
        var e = Assert.IsType<ProjectStatusChanged>(Assert.Single(ProjectDecider.ChangeStatus(project, new(to, "why"))));
        Assert.Equal((from, to), (e.From, e.To));
    }

    [Theory]
    [InlineData(ProjectStatus.Planned, ProjectStatus.OnHold)]
    [InlineData(ProjectStatus.Planned, ProjectStatus.Completed)]
    [InlineData(ProjectStatus.Planned, ProjectStatus.Planned)]
    [InlineData(ProjectStatus.Active, ProjectStatus.Planned)]
    [InlineData(ProjectStatus.OnHold, ProjectStatus.Completed)]
    [InlineData(ProjectStatus.Completed, ProjectStatus.Active)]
    [InlineData(ProjectStatus.Cancelled, ProjectStatus.Active)]
    [InlineData(ProjectStatus.Completed, ProjectStatus.Cancelled)]
    public void Illegal_status_moves_are_rejected(ProjectStatus from, ProjectStatus to)
    {
        var project = Given(Path(from));
        var error = Assert.Throws<RuleViolationException>(() => ProjectDecider.ChangeStatus(project, new(to, "why")));
        Assert.Equal("ILLEGAL_TRANSITION", error.Type);
    }

    static object[] Path(ProjectStatus to) => to switch
    {
        ProjectStatus.Planned => [],
        ProjectStatus.Active => [Moved(ProjectStatus.Planned, ProjectStatus.Active)],
        ProjectStatus.OnHold => [Moved(ProjectStatus.Planned, ProjectStatus.Active), Moved(ProjectStatus.Active, ProjectStatus.OnHold)],
        ProjectStatus.Completed => [Moved(ProjectStatus.Planned, ProjectStatus.Active), Moved(ProjectStatus.Active, ProjectStatus.Completed)],
        _ => [Moved(ProjectStatus.Planned, ProjectStatus.Cancelled)],
    };

    static readonly object[] WholeScopeDelivered = [Planned(M1, 100), new MilestoneCompleted(M1, Day)];

    [Fact]
    public void A_project_whose_milestones_weigh_less_than_100_cannot_be_completed()
    {
        var active = Moved(ProjectStatus.Planned, ProjectStatus.Active);
        foreach (var project in new[] { Given(active), Given(active, Planned(M1, 40), new MilestoneCompleted(M1, Day)) })
        {
            var error = Assert.Throws<RuleViolationException>(() => ProjectDecider.ChangeStatus(project, new(ProjectStatus.Completed, "")));
            Assert.Equal("SCOPE_NOT_PLANNED", error.Type);
            Assert.Contains($"they sum to {project.Milestones.Sum(m => m.Weight)}", error.Message);
        }
    }

    [Fact]
    public void A_project_with_open_milestones_cannot_be_completed()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Active), Planned(M1, 40));
        var error = Assert.Throws<RuleViolationException>(() => ProjectDecider.ChangeStatus(project, new(ProjectStatus.Completed, "")));
        Assert.Equal("OPEN_MILESTONES", error.Type);
    }

    [Fact]
    public void Milestone_weights_may_sum_to_exactly_100_but_not_more()
    {
        var project = Given(Planned(M1, 60));
        Assert.Single(ProjectDecider.PlanMilestone(project, new(M2, "second", 40, Day)));
        var error = Assert.Throws<InvalidRequestException>(() => ProjectDecider.PlanMilestone(project, new(M2, "second", 41, Day)));
        Assert.Equal("weight", Assert.Single(error.Violations).Field);
        Assert.Contains("at most 40", error.Message);
    }

    [Fact]
    public void Planning_two_milestones_with_the_same_name_is_rejected()
    {
        var project = Given(new MilestonePlanned(M1, "Design", 10, Day));
        Assert.Throws<AlreadyExistsException>(() => ProjectDecider.PlanMilestone(project, new(M2, "design", 10, Day)));
    }

    [Fact]
    public void Progress_moves_a_milestone_in_progress_and_may_update_its_forecast()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Active), Planned(M1, 50));
        var events = ProjectDecider.ReportProgress(project, new(M1, 30, Day.AddDays(10), ""));
        var after = project.Apply(Assert.IsType<MilestoneProgressReported>(Assert.Single(events)));
        var m = after.FindMilestone(M1)!;
        Assert.Equal((30, MilestoneStatus.InProgress, Day.AddDays(10), Day), (m.Progress, m.Status, m.ForecastDate, m.BaselineDueDate));
    }

    [Fact]
    public void Progress_going_backwards_needs_a_reason()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Active), Planned(M1, 50),
            new MilestoneProgressReported(M1, 60, 0, null, ""));
        var error = Assert.Throws<InvalidRequestException>(() => ProjectDecider.ReportProgress(project, new(M1, 40, null, "")));
        Assert.Equal("reason", Assert.Single(error.Violations).Field);
        var e = Assert.IsType<MilestoneProgressReported>(Assert.Single(
            ProjectDecider.ReportProgress(project, new(M1, 40, null, "Survey found rework"))));
        Assert.Equal((40, 60), (e.Progress, e.PreviousProgress));
    }

    [Fact]
    public void Work_is_only_reported_on_an_active_project()
    {
        var project = Given(Planned(M1, 50));
        var error = Assert.Throws<RuleViolationException>(() => ProjectDecider.ReportProgress(project, new(M1, 10, null, "")));
        Assert.Equal("PROJECT_NOT_ACTIVE", error.Type);
        Assert.Throws<RuleViolationException>(() => ProjectDecider.Complete(project, new(M1, Day)));
    }

    [Fact]
    public void Completing_a_milestone_twice_is_rejected()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Active), Planned(M1, 50), new MilestoneCompleted(M1, Day));
        Assert.Equal((100, MilestoneStatus.Completed, Day), (project.Milestones[0].Progress, project.Milestones[0].Status, project.Milestones[0].CompletedOn));
        var error = Assert.Throws<RuleViolationException>(() => ProjectDecider.Complete(project, new(M1, Day)));
        Assert.Equal("MILESTONE_COMPLETED", error.Type);
    }

    [Fact]
    public void Re_baselining_moves_the_baseline_and_counts_it()
    {
        var project = Given(Planned(M1, 50));
        var e = Assert.IsType<MilestoneRescheduled>(Assert.Single(
            ProjectDecider.Rebaseline(project, new(M1, Day.AddMonths(3), "Contractor insolvency"))));
        Assert.Equal((Day, Day.AddMonths(3), "Contractor insolvency"), (e.PreviousDueDate, e.NewDueDate, e.Reason));
        var m = project.Apply(e).FindMilestone(M1)!;
        Assert.Equal((Day.AddMonths(3), 1), (m.BaselineDueDate, m.RebaselineCount));
    }

    [Fact]
    public void An_unknown_milestone_is_not_found()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Active));
        Assert.Throws<NotFoundException>(() => ProjectDecider.Complete(project, new(M2, Day)));
    }

    [Fact]
    public void Revising_keeps_unchanged_details_and_checks_the_resulting_dates()
    {
        var project = Given();
        var e = Assert.IsType<ProjectDetailsRevised>(Assert.Single(
            ProjectDecider.Revise(project, new("New name", null, null, null, null, null, null))));
        Assert.Equal(("New name", project.District, project.PlannedEnd), (e.Name, e.District, e.PlannedEnd));
        var error = Assert.Throws<InvalidRequestException>(() =>
            ProjectDecider.Revise(project, new(null, null, null, null, new DateOnly(2030, 1, 1), null, null)));
        Assert.Equal("planned_start", Assert.Single(error.Violations).Field);
    }

    [Fact]
    public void A_cancelled_project_takes_no_more_plans()
    {
        var project = Given(Moved(ProjectStatus.Planned, ProjectStatus.Cancelled));
        Assert.Throws<RuleViolationException>(() => ProjectDecider.PlanMilestone(project, new(M1, "late", 10, Day)));
        Assert.Throws<RuleViolationException>(() => ProjectDecider.Revise(project, new("x", null, null, null, null, null, null)));
    }
}
