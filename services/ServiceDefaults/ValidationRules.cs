// Field rules shared by every service's request validators (proto3 fields arrive as "" or 0 when unset).
using System.Globalization;
using FluentValidation;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Regeneration.ServiceDefaults;

public static class ValidationRules
{
    public static IRuleBuilderOptions<T, string> RequestId<T>(this IRuleBuilder<T, string> rule) =>
        rule.NotEmpty().WithMessage("is required (a client-chosen id that makes the command idempotent)")
            .MaximumLength(128);

    /// <summary>An if_none_match: empty, or a version this service gave (<see cref="StoreVersion.Name"/>).</summary>
    public static IRuleBuilderOptions<T, string> AnswerVersion<T>(this IRuleBuilder<T, string> rule) =>
        rule.MaximumLength(64).WithMessage("must be a version this service gave");

    public static IRuleBuilderOptions<T, string> Uuid<T>(this IRuleBuilder<T, string> rule) =>
        rule.Must(v => Guid.TryParse(v, out _)).WithMessage("must be a UUID");

    public static IRuleBuilderOptions<T, string> Text<T>(this IRuleBuilder<T, string> rule, int max) =>
        rule.NotEmpty().WithMessage("is required").Must(v => v is null || v.Trim() == v).WithMessage("must not start or end with spaces")
            .MaximumLength(max).WithMessage($"must be at most {max} characters");

    public static IRuleBuilderOptions<T, string> IsoDate<T>(this IRuleBuilder<T, string> rule) =>
        rule.Must(v => TryDate(v, out _)).WithMessage("must be an ISO date (YYYY-MM-DD)");

    /// <summary>An ISO date no later than tomorrow (UTC: a day ahead of any time zone). Checked only once the date
    /// parses, so a malformed one is reported once, under its own field.</summary>
    public static IRuleBuilderOptions<T, string> IsoDateNotInFuture<T>(this IRuleBuilder<T, string> rule, TimeProvider time) =>
        rule.IsoDate().Must(v => !TryDate(v, out var d) || d <= DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime.AddDays(1)))
            .WithMessage("must not be in the future");

    /// <summary>A timestamp, if set, that names an instant: years 0001–9999, nanos 0–999,999,999 (anything else
    /// cannot be read as a time and would fail deep in the call).</summary>
    public static IRuleBuilderOptions<T, Timestamp?> Instant<T>(this IRuleBuilder<T, Timestamp?> rule) =>
        rule.Must(t => t is null || IsInstant(t)).WithMessage("must be a valid timestamp (years 0001-9999, nanos 0-999,999,999)");

    public static bool IsInstant(Timestamp t) =>
        t.Nanos is >= 0 and <= 999_999_999 && t.Seconds >= MinSeconds && t.Seconds <= MaxSeconds;

    static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds(), MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>A batch of 1..<see cref="AsOf.MaxStreams"/> ids; each a UUID is checked with RuleForEach.</summary>
    public static IRuleBuilderOptions<T, Google.Protobuf.Collections.RepeatedField<string>> Batch<T>(
        this IRuleBuilder<T, Google.Protobuf.Collections.RepeatedField<string>> rule) =>
        rule.Must(ids => ids.Count is >= 1 and <= AsOf.MaxStreams).WithMessage($"must hold 1 to {AsOf.MaxStreams} ids");

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
