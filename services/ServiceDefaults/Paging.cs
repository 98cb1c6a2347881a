// Paging, the same way in every list: pages of 1..500 items (0 means 50) in key order, and an opaque
// token that carries the last key of the page before.
using System.Text;
using FluentValidation;
using Regeneration.Common.V1;

namespace Regeneration.ServiceDefaults;

public static class Paging
{
    public const int DefaultSize = 50, MaxSize = 500;

    public static int Size(PageRequest? page) => page?.PageSize is > 0 and var n ? n : DefaultSize;

    /// <summary>The key the page starts after, or null for the first page.</summary>
    public static string? After(PageRequest? page)
    {
        if (page?.PageToken is not { Length: > 0 } token) return null;
        try { return Encoding.UTF8.GetString(Convert.FromBase64String(token)); }
        catch (FormatException) { throw new InvalidRequestException("page.page_token", "is not a token this service issued"); }
    }

    /// <summary>The token of the next page, given the last key of this one.</summary>
    public static string Token(string lastKey) => Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey));
}

public sealed class PageRequestValidator : AbstractValidator<PageRequest>
{
    public PageRequestValidator()
    {
        RuleFor(x => x.PageSize).InclusiveBetween(0, Paging.MaxSize);
        RuleFor(x => x.PageToken).MaximumLength(64);
    }
}
