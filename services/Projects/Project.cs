// The project aggregate: its events, its state (also the inline snapshot that list queries read) and
// the decider — pure functions from (state, command) to events. No I/O here.
using Regeneration.ServiceDefaults;

namespace Regeneration.Projects;

// Numeric values match the contract's enums.
public enum ProjectCategory
{
    SmartSafety = 1, SmartMobility = 2, UrbanRegeneration = 3, DataGovernance = 4,
    EnvironmentEnergy = 5, CitizenServices = 6, DigitalInfrastructure = 7,
}

public enum ProjectStatus { Planned = 1, Active = 2, OnHold = 3, Completed = 4, Cancelled = 5 }

public enum MilestoneStatus { NotStarted = 1, InProgress = 2, Completed = 3 }

public sealed record Contribution(string Dimension, int Weight);

// ---- Events ----
public sealed record ProjectRegistered(
    Guid ProjectId, string Code, string Name, string Description, string District, ProjectCategory Category,
    string Owner, DateOnly PlannedStart, DateOnly PlannedEnd, IReadOnlyList<Contribution> Contributions);

/// <summary>The details after the revision (all of them, so the event reads on its own).</summary>
public sealed record ProjectDetailsRevised(
    string Name, string Description, string District, string Owner, DateOnly PlannedStart, DateOnly PlannedEnd,
    IReadOnlyList<Contribution> Contributions);

public sealed record ProjectStatusChanged(ProjectStatus From, ProjectStatus To, string Reason);

public sealed record MilestonePlanned(Guid MilestoneId, string Name, int Weight, DateOnly DueDate);

public sealed record MilestoneProgressReported(
    Guid MilestoneId, int Progress, int PreviousProgress, DateOnly? ForecastDate, string Reason);

public sealed record MilestoneCompleted(Guid MilestoneId, DateOnly CompletedOn);

public sealed record MilestoneRescheduled(Guid MilestoneId, DateOnly PreviousDueDate, DateOnly NewDueDate, string Reason);

// ---- State ----
public sealed record Milestone(
    Guid Id, string Name, int Weight, DateOnly BaselineDueDate, DateOnly ForecastDate, int Progress,
    MilestoneStatus Status, DateOnly? CompletedOn, int RebaselineCount);

public sealed record Project(
    Guid Id, string Code, string Name, string Description, string District, ProjectCategory Category, string Owner,
    DateOnly PlannedStart, DateOnly PlannedEnd, ProjectStatus Status, IReadOnlyList<Contribution> Contributions,
    IReadOnlyList<Milestone> Milestones) : IStreamSnapshot
{
    /// <summary>The number of events in the stream; Marten keeps it on the snapshot.</summary>
    public long Version { get; set; }

    public static Project Create(ProjectRegistered e) => new(
        e.ProjectId, e.Code, e.Name, e.Description, e.District, e.Category, e.Owner, e.PlannedStart, e.PlannedEnd,
        ProjectStatus.Planned, e.Contributions, []);

    public Project Apply(ProjectDetailsRevised e) => this with
    {
        Name = e.Name, Description = e.Description, District = e.District, Owner = e.Owner,
        PlannedStart = e.PlannedStart, PlannedEnd = e.PlannedEnd, Contributions = e.Contributions,
    };

    public Project Apply(ProjectStatusChanged e) => this with { Status = e.To };

    public Project Apply(MilestonePlanned e) => this with
    {
        Milestones = [.. Milestones, new Milestone(e.MilestoneId, e.Name, e.Weight, e.DueDate, e.DueDate, 0,
            MilestoneStatus.NotStarted, null, 0)],
    };

    public Project Apply(MilestoneProgressReported e) => WithMilestone(e.MilestoneId, m => m with
    {
        Progress = e.Progress,
        Status = e.Progress > 0 ? MilestoneStatus.InProgress : MilestoneStatus.NotStarted,
        ForecastDate = e.ForecastDate ?? m.ForecastDate,
    });

    public Project Apply(MilestoneCompleted e) => WithMilestone(e.MilestoneId, m => m with
    {
        Progress = 100, Status = MilestoneStatus.Completed, CompletedOn = e.CompletedOn, ForecastDate = e.CompletedOn,
    });

    public Project Apply(MilestoneRescheduled e) => WithMilestone(e.MilestoneId, m => m with
    {
        BaselineDueDate = e.NewDueDate, ForecastDate = e.NewDueDate, RebaselineCount = m.RebaselineCount + 1,
    });

    Project WithMilestone(Guid id, Func<Milestone, Milestone> change)
    {
        // One array, no enumerator (a rebuild runs this for every milestone event).
        var milestones = new Milestone[Milestones.Count];
        for (var i = 0; i < milestones.Length; i++) milestones[i] = Milestones[i].Id == id ? change(Milestones[i]) : Milestones[i];
        return this with { Milestones = milestones };
    }

    public Milestone? FindMilestone(Guid id) => Milestones.FirstOrDefault(m => m.Id == id);
}

// ---- Commands ----
public sealed record RegisterProject(
    Guid ProjectId, string Code, string Name, string Description, string District, ProjectCategory Category,
    string Owner, DateOnly PlannedStart, DateOnly PlannedEnd, IReadOnlyList<Contribution> Contributions);

/// <summary>Null fields stay as they are.</summary>
public sealed record ReviseProjectDetails(
    string? Name, string? Description, string? District, string? Owner, DateOnly? PlannedStart, DateOnly? PlannedEnd,
    IReadOnlyList<Contribution>? Contributions);

public sealed record ChangeProjectStatus(ProjectStatus To, string Reason);

public sealed record PlanMilestone(Guid MilestoneId, string Name, int Weight, DateOnly DueDate);

public sealed record ReportMilestoneProgress(Guid MilestoneId, int Progress, DateOnly? ForecastDate, string Reason);

public sealed record CompleteMilestone(Guid MilestoneId, DateOnly CompletedOn);

public sealed record RebaselineMilestone(Guid MilestoneId, DateOnly NewDueDate, string Reason);

/// <summary>A project imported whole from another system.</summary>
public sealed record ImportProject(RegisterProject Registration, ProjectStatus Status, IReadOnlyList<ImportMilestone> Milestones);

public sealed record ImportMilestone(Guid MilestoneId, string Name, int Weight, DateOnly DueDate, int Progress,
    DateOnly? ForecastDate, DateOnly? CompletedOn);

// ---- Decider ----
public static class ProjectDecider
{
    public const int MaxTotalWeight = 100;

    static readonly Dictionary<ProjectStatus, ProjectStatus[]> LegalMoves = new()
    {
        [ProjectStatus.Planned] = [ProjectStatus.Active, ProjectStatus.Cancelled],
        [ProjectStatus.Active] = [ProjectStatus.OnHold, ProjectStatus.Completed, ProjectStatus.Cancelled],
        [ProjectStatus.OnHold] = [ProjectStatus.Active, ProjectStatus.Cancelled],
        [ProjectStatus.Completed] = [],
        [ProjectStatus.Cancelled] = [],
    };

    public static object[] Register(RegisterProject c) =>
    [
        new ProjectRegistered(c.ProjectId, c.Code, c.Name, c.Description, c.District, c.Category, c.Owner,
            c.PlannedStart, c.PlannedEnd, c.Contributions),
    ];

    /// <summary>The events the single commands would have recorded one after the other — registered, made
    /// active, milestones planned, progress reported or completed, then moved to its status — each decided on
    /// the state the ones before it made, so an import breaks no rule a single command keeps.</summary>
    public static object[] Import(ImportProject c)
    {
        var events = new List<object>();
        Project? project = null;
        void Decide(Func<Project, object[]> decide)
        {
            foreach (var e in decide(project!))
            {
                events.Add(e);
                project = Evolve(project, e);
            }
        }
        foreach (var e in Register(c.Registration)) { events.Add(e); project = Evolve(project, e); }
        if (c.Status != ProjectStatus.Planned) Decide(p => ChangeStatus(p, new ChangeProjectStatus(ProjectStatus.Active, "Imported")));
        foreach (var m in c.Milestones)
        {
            Decide(p => PlanMilestone(p, new PlanMilestone(m.MilestoneId, m.Name, m.Weight, m.DueDate)));
            if (m.CompletedOn is { } completedOn) Decide(p => Complete(p, new CompleteMilestone(m.MilestoneId, completedOn)));
            else if (m.Progress > 0 || m.ForecastDate is not null)
                Decide(p => ReportProgress(p, new ReportMilestoneProgress(m.MilestoneId, m.Progress, m.ForecastDate, "")));
        }
        if (c.Status is not (ProjectStatus.Planned or ProjectStatus.Active))
            Decide(p => ChangeStatus(p, new ChangeProjectStatus(c.Status, "Imported")));
        return [.. events];
    }

    /// <summary>One event applied to the state (what Marten's snapshot does).</summary>
    public static Project Evolve(Project? p, object e) => e switch
    {
        ProjectRegistered x => Project.Create(x),
        ProjectDetailsRevised x => p!.Apply(x),
        ProjectStatusChanged x => p!.Apply(x),
        MilestonePlanned x => p!.Apply(x),
        MilestoneProgressReported x => p!.Apply(x),
        MilestoneCompleted x => p!.Apply(x),
        MilestoneRescheduled x => p!.Apply(x),
        _ => throw new ArgumentException($"Unknown event {e.GetType().Name}", nameof(e)),
    };

    public static object[] Revise(Project p, ReviseProjectDetails c)
    {
        EnsureOpen(p, "revised");
        var start = c.PlannedStart ?? p.PlannedStart;
        var end = c.PlannedEnd ?? p.PlannedEnd;
        if (end < start)
            throw new InvalidRequestException(c.PlannedEnd is null ? "planned_start" : "planned_end",
                $"planned_end {end:yyyy-MM-dd} is before planned_start {start:yyyy-MM-dd}");
        return
        [
            new ProjectDetailsRevised(c.Name ?? p.Name, c.Description ?? p.Description, c.District ?? p.District,
                c.Owner ?? p.Owner, start, end, c.Contributions ?? p.Contributions),
        ];
    }

    public static object[] ChangeStatus(Project p, ChangeProjectStatus c)
    {
        if (!LegalMoves[p.Status].Contains(c.To))
            throw new RuleViolationException("ILLEGAL_TRANSITION", Subject(p),
                $"A project cannot move from {p.Status} to {c.To}; from {p.Status} it can move to " +
                (LegalMoves[p.Status].Length == 0 ? "nothing (final state)" : string.Join(", ", LegalMoves[p.Status])));
        if (c.To == ProjectStatus.Completed && p.Milestones.FirstOrDefault(m => m.Status != MilestoneStatus.Completed) is { } open)
            throw new RuleViolationException("OPEN_MILESTONES", Subject(p),
                $"A project with open milestones cannot be completed: '{open.Name}' is {open.Status}");
        // A project's milestones are its whole scope: completed, they must weigh 100, or its delivery (and what it
        // contributes to the city's maturity) would stay short of complete for good.
        if (c.To == ProjectStatus.Completed && p.Milestones.Sum(m => m.Weight) is var planned && planned != MaxTotalWeight)
            throw new RuleViolationException("SCOPE_NOT_PLANNED", Subject(p),
                $"A project is completed when its milestones' weights sum to {MaxTotalWeight}; they sum to {planned}: plan the rest of its scope first");
        return [new ProjectStatusChanged(p.Status, c.To, c.Reason)];
    }

    public static object[] PlanMilestone(Project p, PlanMilestone c)
    {
        EnsureOpen(p, "planned");
        if (p.Milestones.Any(m => string.Equals(m.Name, c.Name, StringComparison.OrdinalIgnoreCase)))
            throw new AlreadyExistsException("milestone", c.Name, $"The project already has a milestone named '{c.Name}'");
        var planned = p.Milestones.Sum(m => m.Weight);
        if (planned + c.Weight > MaxTotalWeight)
            throw new InvalidRequestException("weight",
                $"The milestones' weights would sum to {planned + c.Weight}; at most {MaxTotalWeight - planned} is left");
        return [new MilestonePlanned(c.MilestoneId, c.Name, c.Weight, c.DueDate)];
    }

    public static object[] ReportProgress(Project p, ReportMilestoneProgress c)
    {
        var m = WorkableMilestone(p, c.MilestoneId);
        if (c.Progress < m.Progress && string.IsNullOrWhiteSpace(c.Reason))
            throw new InvalidRequestException("reason",
                $"Progress goes back from {m.Progress} to {c.Progress}: a reason is required");
        return [new MilestoneProgressReported(m.Id, c.Progress, m.Progress, c.ForecastDate, c.Reason)];
    }

    public static object[] Complete(Project p, CompleteMilestone c)
    {
        var m = WorkableMilestone(p, c.MilestoneId);
        return [new MilestoneCompleted(m.Id, c.CompletedOn)];
    }

    public static object[] Rebaseline(Project p, RebaselineMilestone c)
    {
        EnsureOpen(p, "re-baselined");
        var m = Milestone(p, c.MilestoneId);
        if (m.Status == MilestoneStatus.Completed)
            throw new RuleViolationException("MILESTONE_COMPLETED", Subject(p, m), $"Milestone '{m.Name}' is already completed");
        if (c.NewDueDate == m.BaselineDueDate)
            throw new InvalidRequestException("new_due_date", $"The baseline due date is already {c.NewDueDate:yyyy-MM-dd}");
        return [new MilestoneRescheduled(m.Id, m.BaselineDueDate, c.NewDueDate, c.Reason)];
    }

    // Work is reported only on active projects, on milestones not yet completed.
    static Milestone WorkableMilestone(Project p, Guid milestoneId)
    {
        var m = Milestone(p, milestoneId);
        if (p.Status != ProjectStatus.Active)
            throw new RuleViolationException("PROJECT_NOT_ACTIVE", Subject(p),
                $"Work can only be reported on an active project; this one is {p.Status}");
        if (m.Status == MilestoneStatus.Completed)
            throw new RuleViolationException("MILESTONE_COMPLETED", Subject(p, m), $"Milestone '{m.Name}' is already completed");
        return m;
    }

    static Milestone Milestone(Project p, Guid id) =>
        p.FindMilestone(id) ?? throw new NotFoundException("milestone", $"{Subject(p)}/milestones/{id}");

    static void EnsureOpen(Project p, string what)
    {
        if (p.Status is ProjectStatus.Completed or ProjectStatus.Cancelled)
            throw new RuleViolationException("PROJECT_CLOSED", Subject(p), $"A {p.Status} project cannot be {what}");
    }

    static string Subject(Project p) => $"projects/{p.Id}";
    static string Subject(Project p, Milestone m) => $"projects/{p.Id}/milestones/{m.Id}";
}
