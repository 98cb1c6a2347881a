// Tokens for tests, signed with the development key the services accept in Development.
using Microsoft.Extensions.Time.Testing;
using Regeneration.ServiceDefaults;

namespace Regeneration.Tests.Infrastructure;

public static class TestTokens
{
    static readonly AuthOptions Options = new();
    static readonly TokenIssuer Issuer = new(Options, Options.Key(development: true), TimeProvider.System);

    public static string For(string subject, string[] roles, string[]? scopes = null, TimeSpan? lifetime = null, string? audience = null) =>
        Issuer.Issue(subject, roles, scopes, lifetime, audience);

    public static readonly string Admin = For("test-admin", [Roles.Admin]);

    public static string Manager(string name) => For(name, [Roles.ProjectManager]);

    public static string Executive => For("exec.choi", [Roles.Executive]);

    /// <summary>Signed with another key: a forgery.</summary>
    public static string Forged(string subject, string[] roles)
    {
        var other = new AuthOptions { SigningKey = "not-the-regeneration-key-but-long-enough-0123456789" };
        return new TokenIssuer(other, other.Key(development: true), TimeProvider.System).Issue(subject, roles);
    }

    /// <summary>Issued two hours ago with a one-hour lifetime.</summary>
    public static string Expired(string subject, string[] roles)
    {
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-2));
        return new TokenIssuer(Options, Options.Key(development: true), past).Issue(subject, roles);
    }
}
