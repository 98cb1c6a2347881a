// Who may call, and what they may do. Every call carries a JWT bearer token (HS256, shared key,
// configured as Auth:Issuer, Auth:Audience, Auth:SigningKey). Without Auth:SigningKey, Development uses
// a published development key; every other environment (Production, Staging...) refuses to start
// without a key of its own, and refuses the development key. Roles: project-manager (writes only the projects he owns), executive (reads),
// integration (scoped: "projects:read", "budget:write"...), admin, and service (the services' own
// identity for calls between them).
using System.Security.Claims;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Regeneration.ServiceDefaults;

public static class Roles
{
    public const string ProjectManager = "project-manager", Executive = "executive", Integration = "integration",
        Admin = "admin", Service = "service";
}

public sealed class AuthOptions
{
    /// <summary>FOR DEVELOPMENT AND THE DEMO ONLY — published in the source, refused in Production.</summary>
    public const string DevelopmentSigningKey = "regeneration-DEVELOPMENT-ONLY-signing-key--refused-in-Production";

    public string Issuer { get; set; } = "regeneration";
    public string Audience { get; set; } = "regeneration";
    public string SigningKey { get; set; } = "";

    /// <summary>The key in force, or why there is none.</summary>
    public SymmetricSecurityKey Key(IHostEnvironment environment) => Key(development: environment.IsDevelopment());

    /// <summary>Only Development falls back to, or accepts, the published development key.</summary>
    public SymmetricSecurityKey Key(bool development)
    {
        var key = SigningKey;
        if (!development)
        {
            if (key.Length == 0) throw new InvalidOperationException("Auth:SigningKey must be set outside Development (e.g. in Production)");
            if (key == DevelopmentSigningKey) throw new InvalidOperationException("The development signing key is refused outside Development (e.g. in Production)");
        }
        if (key.Length == 0) key = DevelopmentSigningKey;
        if (Encoding.UTF8.GetByteCount(key) < 32) throw new InvalidOperationException("Auth:SigningKey must be at least 32 bytes");
        return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key));
    }
}

/// <summary>Makes tokens: the services' own, and the demo users' in Development.</summary>
public sealed class TokenIssuer(AuthOptions options, SymmetricSecurityKey key, TimeProvider time)
{
    public TokenIssuer(IOptions<AuthOptions> options, IHostEnvironment environment, TimeProvider time)
        : this(options.Value, options.Value.Key(environment), time) { }

    public string Issue(string subject, IEnumerable<string> roles, IEnumerable<string>? scopes = null, TimeSpan? lifetime = null,
        string? audience = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["role"] = roles.ToArray() };
        if (scopes is not null) claims["scope"] = string.Join(' ', scopes);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer, Audience = audience ?? options.Audience, Claims = claims,
            IssuedAt = now, NotBefore = now, Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    string? serviceToken;
    DateTime serviceTokenExpires;

    /// <summary>This service's identity for calls to the others (renewed before it expires).</summary>
    public string ServiceToken(string serviceName)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (serviceToken is null || now > serviceTokenExpires)
        {
            serviceToken = Issue($"service:{serviceName}", [Roles.Service], lifetime: TimeSpan.FromHours(1));
            serviceTokenExpires = now.AddMinutes(50);
        }
        return serviceToken;
    }
}

public static class Authentication
{
    public static void AddRegenerationAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuthOptions>(configuration.GetSection("Auth"));
        services.AddSingleton<TokenIssuer>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, IHostEnvironment>((jwt, auth, environment) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = auth.Value.Issuer, ValidAudience = auth.Value.Audience,
                    IssuerSigningKey = auth.Value.Key(environment),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = "sub", RoleClaimType = "role", ClockSkew = TimeSpan.FromSeconds(30),
                };
            });
        services.AddAuthorization();
    }
}

/// <summary>The authenticated caller of a command or query.</summary>
public sealed record Caller(string Name, IReadOnlySet<string> Roles, IReadOnlySet<string> Scopes)
{
    public static Caller From(ClaimsPrincipal user) => new(
        user.Identity?.Name ?? "anonymous",
        user.FindAll("role").Select(c => c.Value).ToHashSet(),
        user.FindAll("scope").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet());

    public static Caller From(ServerCallContext call) => From(call.GetHttpContext().User);

    bool Is(string role) => Roles.Contains(role);

    /// <summary>Reads: every role but an integration without a scope for the area.</summary>
    public void EnsureCanRead(string area)
    {
        if (Is(ServiceDefaults.Roles.Admin) || Is(ServiceDefaults.Roles.Executive) || Is(ServiceDefaults.Roles.ProjectManager)
            || Is(ServiceDefaults.Roles.Service) || Scopes.Contains($"{area}:read") || Scopes.Contains($"{area}:write")) return;
        throw new PermissionDeniedException($"'{Name}' may not read {area}", "READ_NOT_ALLOWED");
    }

    /// <summary>Writes: admins; integrations with the area's write scope; project managers, where the area lets
    /// them, for the projects they own.</summary>
    public void EnsureCanWrite(string area, string? projectOwner = null, bool managersMay = false)
    {
        if (Is(ServiceDefaults.Roles.Admin) || Scopes.Contains($"{area}:write")) return;
        if (Is(ServiceDefaults.Roles.ProjectManager) && managersMay)
        {
            if (projectOwner == Name) return;
            throw new PermissionDeniedException(
                $"Project manager '{Name}' may only change projects he owns; this one is owned by '{projectOwner}'", "NOT_OWNER");
        }
        throw new PermissionDeniedException($"'{Name}' ({string.Join(", ", Roles)}) may not change {area}", "WRITE_NOT_ALLOWED");
    }
}
