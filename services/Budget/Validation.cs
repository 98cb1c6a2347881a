// The shape of every request; the money rules that depend on the budget live in the decider.
using FluentValidation;
using Regeneration.Budget.V1;
using Regeneration.ServiceDefaults;

namespace Regeneration.Budget;

static class BudgetRules
{
    public const string RefPattern = "^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$";

    public static IRuleBuilderOptions<T, long> Amount<T>(this IRuleBuilder<T, long> rule, long min) =>
        rule.InclusiveBetween(min, BudgetDecider.MaxAmount)
            .WithMessage($"must be whole won between {min:N0} and {BudgetDecider.MaxAmount:N0}");

    public const int MinYear = 2000, MaxYear = 2100;

    public static IRuleBuilderOptions<T, int> FiscalYear<T>(this IRuleBuilder<T, int> rule) =>
        rule.InclusiveBetween(MinYear, MaxYear).WithMessage($"must be a year between {MinYear} and {MaxYear}");

    public static IRuleBuilderOptions<T, string> Reference<T>(this IRuleBuilder<T, string> rule) =>
        rule.Matches(RefPattern).WithMessage("must be 1..64 characters of A-Z, a-z, 0-9 and - _ / .");
}

sealed class AllocateFundsValidator : AbstractValidator<AllocateFundsRequest>
{
    public AllocateFundsValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Source).KnownValue();
        RuleFor(x => x.FiscalYear).FiscalYear();
        RuleFor(x => x.AmountWon).Amount(1);
    }
}

sealed class ReviseAllocationValidator : AbstractValidator<ReviseAllocationRequest>
{
    public ReviseAllocationValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Source).KnownValue();
        RuleFor(x => x.FiscalYear).FiscalYear();
        RuleFor(x => x.NewAmountWon).Amount(0);
        RuleFor(x => x.Reason).Text(500);
    }
}

sealed class CommitFundsValidator : AbstractValidator<CommitFundsRequest>
{
    public CommitFundsValidator()
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.Source).KnownValue();
        RuleFor(x => x.FiscalYear).FiscalYear();
        RuleFor(x => x.ContractRef).Reference();
        RuleFor(x => x.AmountWon).Amount(1);
        RuleFor(x => x.Description).MaximumLength(200);
    }
}

sealed class RecordExpenditureValidator : AbstractValidator<RecordExpenditureRequest>
{
    public RecordExpenditureValidator(TimeProvider time)
    {
        RuleFor(x => x.RequestId).RequestId();
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.InvoiceRef).Reference();
        RuleFor(x => x.ContractRef).Reference();
        RuleFor(x => x.AmountWon).Amount(1);
        // Its year is the fiscal year the spending counts in (the budget's lines by year): within fiscal_year's range.
        RuleFor(x => x.SpentOn).IsoDateNotInFuture(time)
            .Must(v => !ValidationRules.TryDate(v, out var d) || d.Year is >= BudgetRules.MinYear and <= BudgetRules.MaxYear)
            .WithMessage($"must be in a year between {BudgetRules.MinYear} and {BudgetRules.MaxYear}");
    }
}

sealed class GetPortfolioBudgetValidator : AbstractValidator<GetPortfolioBudgetRequest>
{
    public GetPortfolioBudgetValidator() => RuleFor(x => x.IfNoneMatch).AnswerVersion();
}

sealed class GetProjectBudgetValidator : AbstractValidator<GetProjectBudgetRequest>
{
    public GetProjectBudgetValidator() => RuleFor(x => x.ProjectId).Uuid();
}

sealed class BatchGetProjectBudgetsValidator : AbstractValidator<BatchGetProjectBudgetsRequest>
{
    public BatchGetProjectBudgetsValidator()
    {
        RuleFor(x => x.ProjectIds).Batch();
        RuleForEach(x => x.ProjectIds).Uuid();
    }
}

sealed class GetProjectBudgetsAsOfValidator : AbstractValidator<GetProjectBudgetsAsOfRequest>
{
    public GetProjectBudgetsAsOfValidator()
    {
        RuleFor(x => x.ProjectIds).Batch();
        RuleForEach(x => x.ProjectIds).Uuid();
        RuleFor(x => x.AsOf).NotNull().WithMessage("is required").Instant();
    }
}

sealed class GetProjectBudgetAsOfValidator : AbstractValidator<GetProjectBudgetAsOfRequest>
{
    public GetProjectBudgetAsOfValidator()
    {
        RuleFor(x => x.ProjectId).Uuid();
        RuleFor(x => x.AsOf).NotNull().WithMessage("is required").Instant();
    }
}

sealed class GetBudgetHistoryValidator : AbstractValidator<GetBudgetHistoryRequest>
{
    public GetBudgetHistoryValidator() => RuleFor(x => x.ProjectId).Uuid();
}

sealed class SubscribeBudgetEventsValidator : AbstractValidator<SubscribeBudgetEventsRequest>
{
    public SubscribeBudgetEventsValidator()
    {
        RuleFor(x => x.AfterSequence).GreaterThanOrEqualTo(0);
        RuleFor(x => x.MaxEvents).GreaterThanOrEqualTo(0);
    }
}
