// The shape of every request: lengths, formats, enum values, date order, ranges. Rules that depend on
// the project's state (weights left, progress going back, transitions) live in the decider.
using FluentValidation;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using static Regeneration.ServiceDefaults.ValidationRules;

namespace Regeneration.Projects;

static class Limits
{
    public const int Name = 200, Description = 2000, District = 100, Owner = 100, Reason = 500, Contributions = 10;
    public const string CodePattern = "^[A-Z0-9][A-Z0-9-]{2,31}$";
    public const string DimensionPattern = "^[a-z][a-z0-9-]{1,63}$";
}

sealed class ContributionValidator : AbstractValidator<MaturityContribution>
{
    public ContributionValidator()
    {
        RuleFor(x => x.Dimension).Matches(Limits.DimensionPattern)
            .WithMessage("must be a dimension code such as 'safety-resilience' (a-z, 0-9, '-')");
        RuleFor(x => x.Weight).InclusiveBetween(1, 100);
    }
}

static class ContributionRules
{
    public static void Contributions<T>(this IRuleBuilderInitial<T, Google.Protobuf.Collections.RepeatedField<MaturityContribution>> rule) =>
        rule.Must(c => c.Count <= Limits.Contributions).WithMessage($"must have at most {Limits.Contributions} items")
            .Must(c => c.Select(x => x.Dimension).Distinct().Count() == c.Count).WithMessage("must name each dimension once")
            .ForEach(c => c.SetValidator(new ContributionValidator()));
}

sealed class ContributionListValidator : AbstractValidator<MaturityContributionList>
{
    public ContributionListValidator() => RuleFor(x => x.Items).Contributions();
}

sealed class RegisterProjectValidator : AbstractValidator<RegisterProjectRequest>
{
    public RegisterProjectValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.Code).NotEmpty().Matches(Limits.CodePattern)
            .WithMessage("must be 3..32 characters of A-Z, 0-9 and '-', e.g. WJ-2021-SR-03");
        RuleFor(x => x.Name).Text(Limits.Name);
        RuleFor(x => x.Description).MaximumLength(Limits.Description);
        RuleFor(x => x.District).Text(Limits.District);
        RuleFor(x => x.Owner).Text(Limits.Owner);
        RuleFor(x => x.Category).KnownValue();
        RuleFor(x => x.PlannedStart).IsoDate();
        RuleFor(x => x.PlannedEnd).IsoDate()
            .Must((x, end) => !TryDate(x.PlannedStart, out var s) || !TryDate(end, out var e) || e >= s)
            .WithMessage("must not be before planned_start");
        RuleFor(x => x.Contributions).Contributions();
    }
}

sealed class ReviseProjectDetailsValidator : AbstractValidator<ReviseProjectDetailsRequest>
{
    public ReviseProjectDetailsValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Name).Text(Limits.Name).When(x => x.HasName);
        RuleFor(x => x.Description).MaximumLength(Limits.Description).When(x => x.HasDescription);
        RuleFor(x => x.District).Text(Limits.District).When(x => x.HasDistrict);
        RuleFor(x => x.Owner).Text(Limits.Owner).When(x => x.HasOwner);
        RuleFor(x => x.PlannedStart).IsoDate().When(x => x.HasPlannedStart);
        RuleFor(x => x.PlannedEnd).IsoDate().When(x => x.HasPlannedEnd);
        RuleFor(x => x.Contributions).SetValidator(new ContributionListValidator());
        RuleFor(x => x).Must(x => x.HasName || x.HasDescription || x.HasDistrict || x.HasOwner || x.HasPlannedStart
                || x.HasPlannedEnd || x.Contributions is not null)
            .OverridePropertyName("request").WithMessage("must change at least one detail");
    }
}

sealed class ChangeProjectStatusValidator : AbstractValidator<ChangeProjectStatusRequest>
{
    public ChangeProjectStatusValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Status).KnownValue();
        RuleFor(x => x.Reason).MaximumLength(Limits.Reason);
        RuleFor(x => x.Reason).NotEmpty().WithMessage("is required to put a project on hold or cancel it")
            .When(x => x.Status is V1.ProjectStatus.OnHold or V1.ProjectStatus.Cancelled);
    }
}

sealed class PlanMilestoneValidator : AbstractValidator<PlanMilestoneRequest>
{
    public PlanMilestoneValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Name).Text(Limits.Name);
        RuleFor(x => x.Weight).InclusiveBetween(1, ProjectDecider.MaxTotalWeight);
        RuleFor(x => x.DueDate).IsoDate();
    }
}

sealed class ReportMilestoneProgressValidator : AbstractValidator<ReportMilestoneProgressRequest>
{
    public ReportMilestoneProgressValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.MilestoneId).Uuid();
        RuleFor(x => x.Progress).InclusiveBetween(0, 100);
        RuleFor(x => x.ForecastDate).IsoDate().When(x => x.ForecastDate.Length > 0);
        RuleFor(x => x.Reason).MaximumLength(Limits.Reason);
    }
}

sealed class CompleteMilestoneValidator : AbstractValidator<CompleteMilestoneRequest>
{
    public CompleteMilestoneValidator(TimeProvider time)
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.MilestoneId).Uuid();
        RuleFor(x => x.CompletedOn).IsoDateNotInFuture(time)
            .When(x => x.CompletedOn.Length > 0);
    }
}

sealed class RebaselineMilestoneValidator : AbstractValidator<RebaselineMilestoneRequest>
{
    public RebaselineMilestoneValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.MilestoneId).Uuid();
        RuleFor(x => x.NewDueDate).IsoDate();
        RuleFor(x => x.Reason).Text(Limits.Reason);
    }
}

sealed class GetProjectValidator : AbstractValidator<GetProjectRequest>
{
    public GetProjectValidator() => RuleFor(x => x.ProjectId).Uuid();
}

sealed class GetProjectHistoryValidator : AbstractValidator<GetProjectHistoryRequest>
{
    public GetProjectHistoryValidator() => RuleFor(x => x.ProjectId).Uuid();
}

sealed class BatchGetProjectsValidator : AbstractValidator<BatchGetProjectsRequest>
{
    public BatchGetProjectsValidator()
    {
        RuleFor(x => x.ProjectIds).Batch();
        RuleForEach(x => x.ProjectIds).Uuid();
    }
}

sealed class GetProjectsAsOfValidator : AbstractValidator<GetProjectsAsOfRequest>
{
    public GetProjectsAsOfValidator()
    {
        RuleFor(x => x.ProjectIds).Batch();
        RuleForEach(x => x.ProjectIds).Uuid();
        RuleFor(x => x.AsOf).NotNull().WithMessage("is required").Instant();
    }
}

sealed class GetProjectAsOfValidator : AbstractValidator<GetProjectAsOfRequest>
{
    public GetProjectAsOfValidator()
    {
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.AsOf).NotNull().WithMessage("is required").Instant();
    }
}

sealed class ListProjectsValidator : AbstractValidator<ListProjectsRequest>
{
    public ListProjectsValidator()
    {
        RuleFor(x => x.Page).SetValidator(new PageRequestValidator());
        RuleFor(x => x.Status).Must(s => Enum.IsDefined(s)).WithMessage("is not a known status");
        RuleFor(x => x.Category).Must(c => Enum.IsDefined(c)).WithMessage("is not a known category");
        RuleFor(x => x.District).MaximumLength(Limits.District);
        RuleFor(x => x.Owner).MaximumLength(Limits.Owner);
    }
}

sealed class SubscribePortfolioEventsValidator : AbstractValidator<SubscribePortfolioEventsRequest>
{
    public SubscribePortfolioEventsValidator()
    {
        RuleFor(x => x.AfterSequence).GreaterThanOrEqualTo(0);
        RuleFor(x => x.MaxEvents).GreaterThanOrEqualTo(0);
    }
}

sealed class ImportProjectsValidator : AbstractValidator<ImportProjectsRequest>
{
    public const int MaxProjects = 500;

    public ImportProjectsValidator(TimeProvider time)
    {
        RuleFor(x => x.Projects)
            .Must(p => p.Count is >= 1 and <= MaxProjects).WithMessage($"must have 1..{MaxProjects} projects")
            .Must(p => p.Select(i => i.Project?.RequestId).Distinct().Count() == p.Count).WithMessage("must give each project its own request_id")
            .Must(p => p.Select(i => i.Project?.Code).Distinct().Count() == p.Count).WithMessage("must give each project its own code");
        RuleForEach(x => x.Projects).SetValidator(new ImportedProjectValidator(time));
    }
}

sealed class ImportedProjectValidator : AbstractValidator<ImportedProject>
{
    public const int MaxMilestones = 50;
    static readonly V1.ProjectStatus[] Importable =
    [
        V1.ProjectStatus.Unspecified, V1.ProjectStatus.Planned, V1.ProjectStatus.Active, V1.ProjectStatus.OnHold,
        V1.ProjectStatus.Completed, V1.ProjectStatus.Cancelled,
    ];

    public ImportedProjectValidator(TimeProvider time)
    {
        RuleFor(x => x.Project).NotNull().WithMessage("is required").SetValidator(new RegisterProjectValidator());
        RuleFor(x => x.Status).Must(s => Importable.Contains(s)).WithMessage("must be a project status");
        RuleFor(x => x.Milestones)
            .Must(m => m.Count <= MaxMilestones).WithMessage($"must have at most {MaxMilestones} milestones")
            .Must(m => m.Select(x => x.Name.ToUpperInvariant()).Distinct().Count() == m.Count).WithMessage("must name each milestone once")
            .Must(m => m.Sum(x => (long)x.Weight) <= ProjectDecider.MaxTotalWeight)
            .WithMessage($"must have weights that sum to at most {ProjectDecider.MaxTotalWeight}");
        RuleForEach(x => x.Milestones).SetValidator(new ImportedMilestoneValidator(time));
    }
}

sealed class ImportedMilestoneValidator : AbstractValidator<ImportedMilestone>
{
    public ImportedMilestoneValidator(TimeProvider time)
    {
        RuleFor(x => x.Name).Text(Limits.Name);
        RuleFor(x => x.Weight).InclusiveBetween(1, ProjectDecider.MaxTotalWeight);
        RuleFor(x => x.DueDate).IsoDate();
        RuleFor(x => x.Progress).InclusiveBetween(0, 100);
        RuleFor(x => x.ForecastDate).IsoDate().When(x => x.ForecastDate.Length > 0);
        RuleFor(x => x.CompletedOn).IsoDateNotInFuture(time)
            .When(x => x.CompletedOn.Length > 0);
    }
}
