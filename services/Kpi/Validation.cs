// The shape of every KPI request.
using FluentValidation;
using Regeneration.Kpi.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Kpi;

static class KpiRules
{
    public const string CodePattern = "^[A-Z0-9][A-Z0-9.-]{1,39}$";
    public const string DimensionPattern = "^[a-z][a-z0-9-]{1,63}$";
    /// <summary>Contributions listed per dimension in a maturity answer: 20 unless asked, at most 500.</summary>
    public const int DefaultContributions = 20, MaxContributions = 500;
}

sealed class IndicatorValidator : AbstractValidator<V1.Indicator>
{
    public IndicatorValidator()
    {
        RuleFor(x => x.Code).Matches(KpiRules.CodePattern).WithMessage("must be 2..40 characters of A-Z, 0-9, '.' and '-'");
        RuleFor(x => x.Name).Text(300);
        RuleFor(x => x.Unit).Text(50);
        RuleFor(x => x.Polarity).KnownValue();
        RuleFor(x => x.Theme).Text(50);
        RuleFor(x => x.Dimension).Matches(KpiRules.DimensionPattern).WithMessage("must be a dimension code such as 'mobility'");
        RuleFor(x => x.MinValue).Must(double.IsFinite).WithMessage("must be a finite number");
        RuleFor(x => x.MaxValue).Must(double.IsFinite).WithMessage("must be a finite number")
            .GreaterThan(x => x.MinValue).WithMessage("must be greater than min_value");
    }
}

sealed class DefineIndicatorValidator : AbstractValidator<DefineIndicatorRequest>
{
    public DefineIndicatorValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.Indicator).NotNull().WithMessage("is required").SetValidator(new IndicatorValidator()!);
    }
}

sealed class SetTargetValidator : AbstractValidator<SetTargetRequest>
{
    public SetTargetValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.IndicatorCode).Matches(KpiRules.CodePattern).WithMessage("must be an indicator code");
        RuleFor(x => x.Baseline).Must(double.IsFinite).WithMessage("must be a finite number");
        RuleFor(x => x.Target).Must(double.IsFinite).WithMessage("must be a finite number");
        RuleFor(x => x.TargetDate).IsoDate();
    }
}

sealed class RecordMeasurementValidator : AbstractValidator<RecordMeasurementRequest>
{
    public RecordMeasurementValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.IndicatorCode).Matches(KpiRules.CodePattern).WithMessage("must be an indicator code");
        RuleFor(x => x.Value).Must(double.IsFinite).WithMessage("must be a finite number");
        RuleFor(x => x.ObservedAt).NotNull().WithMessage("is required").Instant();
        RuleFor(x => x.Source).Text(200);
    }
}

sealed class ImportIndicatorsValidator : AbstractValidator<ImportIndicatorsRequest>
{
    public const int MaxProjects = 500, MaxTargets = 20, MaxMeasurements = 1000;

    public ImportIndicatorsValidator()
    {
        RuleFor(x => x.Projects)
            .Must(p => p.Count is >= 1 and <= MaxProjects).WithMessage($"must have 1..{MaxProjects} projects")
            .Must(p => p.Select(i => i.RequestId).Distinct().Count() == p.Count).WithMessage("must give each project its own request_id")
            .Must(p => p.Select(i => i.ProjectId).Distinct().Count() == p.Count).WithMessage("must name each project once");
        RuleForEach(x => x.Projects).SetValidator(new ProjectIndicatorsImportValidator());
    }
}

sealed class ProjectIndicatorsImportValidator : AbstractValidator<ProjectIndicatorsImport>
{
    public ProjectIndicatorsImportValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Targets).Must(t => t.Count <= ImportIndicatorsValidator.MaxTargets)
            .WithMessage($"must have at most {ImportIndicatorsValidator.MaxTargets} targets");
        RuleFor(x => x.Measurements).Must(m => m.Count <= ImportIndicatorsValidator.MaxMeasurements)
            .WithMessage($"must have at most {ImportIndicatorsValidator.MaxMeasurements} measurements");
        RuleForEach(x => x.Targets).ChildRules(t =>
        {
            t.RuleFor(x => x.IndicatorCode).Matches(KpiRules.CodePattern).WithMessage("must be an indicator code");
            t.RuleFor(x => x.Baseline).Must(double.IsFinite).WithMessage("must be a finite number");
            t.RuleFor(x => x.Target).Must(double.IsFinite).WithMessage("must be a finite number");
            t.RuleFor(x => x.TargetDate).IsoDate();
        });
        RuleForEach(x => x.Measurements).ChildRules(m =>
        {
            m.RuleFor(x => x.IndicatorCode).Matches(KpiRules.CodePattern).WithMessage("must be an indicator code");
            m.RuleFor(x => x.Value).Must(double.IsFinite).WithMessage("must be a finite number");
            m.RuleFor(x => x.ObservedAt).NotNull().WithMessage("is required").Instant();
            m.RuleFor(x => x.Source).Text(200);
        });
    }
}

sealed class GetKpiRollupValidator : AbstractValidator<GetKpiRollupRequest>
{
    public GetKpiRollupValidator()
    {
        RuleFor(x => x.At).Instant();
        RuleFor(x => x.Page).SetValidator(new PageRequestValidator());
        RuleFor(x => x.IfNoneMatch).AnswerVersion();
    }
}

sealed class GetMaturityValidator : AbstractValidator<GetMaturityRequest>
{
    public GetMaturityValidator()
    {
        RuleFor(x => x.At).Instant();
        RuleFor(x => x.MaxContributions).InclusiveBetween(0, KpiRules.MaxContributions);
        RuleFor(x => x.IfNoneMatch).AnswerVersion();
    }
}

sealed class ListDimensionContributionsValidator : AbstractValidator<ListDimensionContributionsRequest>
{
    public ListDimensionContributionsValidator()
    {
        RuleFor(x => x.Dimension).Matches(KpiRules.DimensionPattern).WithMessage("must be a dimension code");
        RuleFor(x => x.At).Instant();
        RuleFor(x => x.Page).SetValidator(new PageRequestValidator());
    }
}

sealed class GetProjectKpisValidator : AbstractValidator<GetProjectKpisRequest>
{
    public GetProjectKpisValidator() => RuleFor(x => x.ProjectId).Uuid();
}

sealed class GetMaturityTrendValidator : AbstractValidator<GetMaturityTrendRequest>
{
    public GetMaturityTrendValidator()
    {
        RuleFor(x => x.From).NotNull().WithMessage("is required").Instant();
        RuleFor(x => x.To).NotNull().WithMessage("is required").Instant()
            .Must((r, to) => r.From is null || to is null || !ValidationRules.IsInstant(r.From) || !ValidationRules.IsInstant(to) ||
                             to.ToDateTimeOffset() > r.From.ToDateTimeOffset())
            .WithMessage("must be after from");
        RuleFor(x => x.MaxContributions).InclusiveBetween(0, KpiRules.MaxContributions);
    }
}

sealed class SubscribeKpiEventsValidator : AbstractValidator<SubscribeKpiEventsRequest>
{
    public SubscribeKpiEventsValidator()
    {
        RuleFor(x => x.AfterSequence).GreaterThanOrEqualTo(0);
        RuleFor(x => x.MaxEvents).GreaterThanOrEqualTo(0);
    }
}
