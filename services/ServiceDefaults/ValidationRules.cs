// Field rules shared by every service's request validators (proto3 fields arrive as "" or 0 when unset).
using System.Globalization;
using FluentValidation;

namespace Regeneration.ServiceDefaults;

public static class ValidationRules
{
    public static IRuleBuilderOptions<T, string> RequestId<T>(this IRuleBuilder<T, string> rule) =>
        rule.NotEmpty().WithMessage("is required (a client-chosen id that makes the command idempotent)")
            .MaximumLength(128);

    public static IRuleBuilderOptions<T, string> Uuid<T>(this IRuleBuilder<T, string> rule) =>
        rule.Must(v => Guid.TryParse(v, out _)).WithMessage("must be a UUID");

    public static IRuleBuilderOptions<T, string> Text<T>(this IRuleBuilder<T, string> rule, int max) =>
        rule.NotEmpty().WithMessage("is required").Must(v => v is null || v.Trim() == v).WithMessage("must not start or end with spaces")
            .MaximumLength(max).WithMessage($"must be at most {max} characters");

    public static IRuleBuilderOptions<T, string> IsoDate<T>(this IRuleBuilder<T, string> rule) =>
        rule.Must(v => TryDate(v, out _)).WithMessage("must be an ISO date (YYYY-MM-DD)");

    public static IRuleBuilderOptions<T, TEnum> KnownValue<T, TEnum>(this IRuleBuilder<T, TEnum> rule) where TEnum : struct, Enum =>
        rule.Must(v => Convert.ToInt32(v, CultureInfo.InvariantCulture) != 0 && Enum.IsDefined(v))
            .WithMessage(v => $"must be one of {string.Join(", ", Enum.GetNames<TEnum>().Skip(1))}");

    public static bool TryDate(string? value, out DateOnly date) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>For fields already validated: "" is null.</summary>
    public static DateOnly? OptionalDate(string? value) => TryDate(value, out var d) ? d : null;

    public static DateOnly Date(string value) => TryDate(value, out var d) ? d
        : throw new InvalidRequestException("date", $"'{value}' is not an ISO date");

    public static string Iso(this DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
