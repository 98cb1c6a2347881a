// Secrets never reach the logs: the Projects service and the gateway run as real processes in
// Production (a signing key of their own, a database password of their own) at the Debug log level,
// are called with valid, forged, expired and malformed tokens over gRPC and REST, and fail against an
// unreachable service; then their whole console output is searched for the key, the password and
// every token (and every token's signature) that was sent.
using System.Net.Http.Json;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Regeneration.Projects.V1;
using Regeneration.ServiceDefaults;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Security;

public class SecretsInLogsTests
{
    static string Secret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    [Fact]
    public async Task Keys_passwords_and_tokens_never_appear_in_the_logs_even_at_debug_level()
    {
        // A database role with a password of its own (never used anywhere else).
        var password = Secret();
        var role = $"r_{Guid.NewGuid():N}";
        var admin = await PostgresServer.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'", connection);
            await create.ExecuteNonQueryAsync();
        }
        var database = new NpgsqlConnectionStringBuilder(admin) { Username = role, Password = password }.ConnectionString;

        var key = "k-" + Secret() + Secret();
        var options = new AuthOptions { SigningKey = key };
        var issuer = new TokenIssuer(options, options.Key(development: false), TimeProvider.System);
        string[] production = ["environment=Production", $"Auth:SigningKey={key}", "Logging:LogLevel:Default=Debug",
            "Logging:LogLevel:Microsoft.AspNetCore=Debug", "Logging:LogLevel:Marten=Debug", "Logging:LogLevel:Grpc=Debug"];
        using var projects = ServiceProcess.Start("Projects", [.. production, $"ConnectionStrings:Postgres={database}"]);
        await projects.WaitUntilHealthy();
        var closed = $"http://127.0.0.1:{ServiceProcess.FreePort()}";   // nobody listens there
        using var gateway = ServiceProcess.Start("Gateway", [.. production, $"Services:Projects={projects.Address}",
            $"Services:Budget={closed}", $"Services:Kpi={closed}", "Resilience:TotalTimeoutSeconds=2", "Resilience:AttemptTimeoutSeconds=1"]);
        await gateway.WaitUntilHealthy();

        var tokens = new List<string>
        {
            issuer.Issue("it.admin", [Roles.Admin]),
            issuer.Issue("pm.lee", [Roles.ProjectManager]),
            issuer.Issue("exec.choi", [Roles.Executive]),
            issuer.Issue("nrd", [Roles.Integration], ["projects:read"]),
            issuer.Issue("it.admin", [Roles.Admin], audience: "another-system"),
            new TokenIssuer(options, options.Key(development: false), new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-3))).Issue("pm.lee", [Roles.ProjectManager]),
            TestTokens.Forged("it.admin", [Roles.Admin]),
            TestTokens.Admin,   // signed with the development key: refused in Production
            "eyJhbGciOiJIUzI1NiJ9." + Secret() + "." + Secret(),
        };

        // gRPC: every token on a write and a read; the admin's work succeeds.
        using var channel = GrpcChannel.ForAddress(projects.Address);
        ProjectService.ProjectServiceClient As(string token) =>
            new(channel.Intercept(m => { m.Add("Authorization", $"Bearer {token}"); return m; }));
        var (projectId, _) = await RegisterActive(As(tokens[0]), r => r.Owner = "pm.other");
        var outcomes = new List<StatusCode>();
        foreach (var token in tokens)
        {
            try
            {
                await Plan(As(token), projectId, weight: 1);
                outcomes.Add(StatusCode.OK);
            }
            catch (RpcException e) { outcomes.Add(e.StatusCode); }
            try { await As(token).GetProjectAsync(new GetProjectRequest { ProjectId = projectId }); }
            catch (RpcException) { }
        }
        Assert.Equal(StatusCode.OK, outcomes[0]);
        Assert.Equal(StatusCode.PermissionDenied, outcomes[1]);   // not pm.lee's project
        Assert.All(outcomes[4..], code => Assert.Equal(StatusCode.Unauthenticated, code));

        // REST: reads, a write, a BOLA attempt, and answers that fail because Budget and KPI are unreachable.
        foreach (var token in tokens)
        {
            using var http = new HttpClient { BaseAddress = new Uri(gateway.Address) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", token);
            await http.GetAsync($"/api/v1/projects/{projectId}");
            await http.GetAsync("/api/v1/kpis");
            await http.GetAsync("/api/v1/maturity");
            await http.PostAsJsonAsync($"/api/v1/projects/{projectId}/milestones", new { name = "Handover", weight = 1, dueDate = "2027-01-31" });
        }

        await gateway.Stop();
        await projects.Stop();
        var logs = projects.Log + gateway.Log;
        // Debug logging was really on in both, and the failures were logged.
        Assert.Contains("dbug: Microsoft.AspNetCore", projects.Log);
        Assert.Contains("dbug: Microsoft.AspNetCore", gateway.Log);
        string[] secrets = [key, password, .. tokens, .. tokens.Select(t => t.Split('.')[^1])];
        var leaked = secrets.Where(secret => logs.Contains(secret, StringComparison.Ordinal)).ToList();
        ReliabilityFigures.Record("Secrets searched in the Debug-level logs of Projects and the gateway after good and bad calls",
            ReliabilityFigures.SecurityCases, secrets.Length);
        Assert.True(leaked.Count == 0, $"{leaked.Count} secrets appear in the logs");
    }
}
