// Enum values as the contract names them (PROJECT_CATEGORY_SMART_SAFETY), for answers that carry
// them as text.
using Google.Protobuf.Reflection;

namespace Regeneration.ServiceDefaults;

public static class ContractNames
{
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum
    {
        var field = typeof(TEnum).GetField(value.ToString());
        return field?.GetCustomAttributes(typeof(OriginalNameAttribute), false) is [OriginalNameAttribute a, ..] ? a.Name : value.ToString();
    }
}
