// Enum values as the contract names them (PROJECT_CATEGORY_SMART_SAFETY), for answers that carry
// them as text.
using System.Collections.Frozen;
using Google.Protobuf.Reflection;

namespace Regeneration.ServiceDefaults;

public static class ContractNames
{
    /// <summary>The value's name in the contract; a value the contract does not define (a newer peer's), its number.</summary>
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum =>
        Names<TEnum>.Defined.TryGetValue(value, out var name) ? name : value.ToString();

    /// <summary>Every defined value's name, read once per enum type: answers name hundreds of values each (a rollup's
    /// every group and project), and reading the attribute each time was a tenth of the gateway's CPU (BENCHMARKS.md, 2).</summary>
    static class Names<TEnum> where TEnum : struct, Enum
    {
        public static readonly FrozenDictionary<TEnum, string> Defined = Enum.GetValues<TEnum>().Distinct().ToFrozenDictionary(v => v, v =>
            typeof(TEnum).GetField(v.ToString())?.GetCustomAttributes(typeof(OriginalNameAttribute), false) is [OriginalNameAttribute a, ..] ? a.Name : v.ToString());
    }
}
