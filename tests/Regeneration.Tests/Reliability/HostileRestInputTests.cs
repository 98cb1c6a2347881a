// Generated malformed and hostile REST input — random and truncated bodies, wrong types, deep nesting,
// oversized bodies, wrong content types, abusive headers, paths and queries — against every endpoint:
// every answer is a 4xx (a problem document when it has a body), never a 5xx; nothing is written; the
// gateway keeps serving.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Regeneration.Gateway;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Reliability;

public class HostileRestInputTests(GatewayServers servers) : IClassFixture<GatewayServers>
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Bodies that are never a valid command for any milestone endpoint.</summary>
    static IEnumerable<(string What, HttpContent Body)> HostileBodies(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 5; i++)
        {
            var bytes = new byte[random.Next(1, 400)];
            random.NextBytes(bytes);
            yield return ("random bytes", new ByteArrayContent(bytes) { Headers = { ContentType = new("application/json") } });
        }
        HttpContent JsonText(string text) => new StringContent(text, Encoding.UTF8, "application/json");
        yield return ("truncated", JsonText("{\"name\":\"Handover\",\"weight\":"));
        yield return ("empty", JsonText(""));
        yield return ("null", JsonText("null"));
        yield return ("an array", JsonText("[1,2,3]"));
        yield return ("a string", JsonText("\"progress\""));
        yield return ("deep nesting", JsonText(new string('[', 10_000) + new string(']', 10_000)));
        yield return ("wrong types", JsonText("{\"name\":12,\"weight\":\"heavy\",\"dueDate\":[],\"progress\":{},\"completedOn\":7,\"newDueDate\":false,\"reason\":1}"));
        yield return ("number overflow", JsonText("{\"name\":\"x\",\"weight\":1e400,\"progress\":99999999999999999999,\"completedOn\":1e400,\"newDueDate\":1e400}"));
        yield return ("invalid UTF-8", new ByteArrayContent([.. "{\"name\":\""u8, 0xC3, 0x28, 0xA0, .. "\",\"weight\":1e400,\"progress\":1e400,\"completedOn\":1,\"newDueDate\":1}"u8])
            { Headers = { ContentType = new("application/json") } });
        yield return ("oversized", JsonText($"{{\"reason\":\"{new string('x', 200_000)}\"}}"));
        yield return ("text/plain", new StringContent("progress=50", Encoding.UTF8, "text/plain"));
        yield return ("xml", new StringContent("<progress>50</progress>", Encoding.UTF8, "application/xml"));
    }

    static IEnumerable<(string What, Action<HttpRequestMessage> Abuse)> HeaderAbuse()
    {
        foreach (var ifMatch in new[] { "garbage", "\"-1\"", "\"0\"", "\"99999999999999999999999\"", "W/", "\"\"", new string('"', 1000) })
            yield return ($"If-Match {ifMatch[..Math.Min(12, ifMatch.Length)]}", r => r.Headers.TryAddWithoutValidation("If-Match", ifMatch));
        yield return ("Idempotency-Key 10,000 characters", r => r.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 10_000)));
        yield return ("headers 64 KB", r => r.Headers.TryAddWithoutValidation("X-Filler", new string('h', 64 * 1024)));
        yield return ("300 headers", r => { for (var i = 0; i < 300; i++) r.Headers.TryAddWithoutValidation($"X-H{i}", new string('v', 100)); });
        yield return ("Authorization without a scheme", r => { r.Headers.Remove("Authorization"); r.Headers.TryAddWithoutValidation("Authorization", "Bearer"); });
        yield return ("Authorization Basic", r => { r.Headers.Remove("Authorization"); r.Headers.TryAddWithoutValidation("Authorization", "Basic YWRtaW46YWRtaW4="); });
        yield return ("Authorization 20,000 characters", r => { r.Headers.Remove("Authorization"); r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('a', 20_000)); });
        yield return ("Content-Length lies", r => r.Content = new StringContent("{}", Encoding.UTF8, "application/json") { Headers = { ContentLength = 1 } });
    }

    [Fact]
    public async Task Hostile_bodies_headers_paths_and_queries_are_4xx_problems_and_write_nothing()
    {
        var admin = servers.Http(TestTokens.Admin);
        var project = (await admin.GetFromJsonAsync<ProjectPageDto>("/api/v1/projects?status=active", Json))!.Projects
            .First(p => p.Milestones.Any(m => m.Status != "COMPLETED"));
        var milestone = project.Milestones.First(m => m.Status != "COMPLETED").Id;
        string[] commands =
        [
            $"/api/v1/projects/{project.Id}/milestones",
            $"/api/v1/projects/{project.Id}/milestones/{milestone}/progress",
            $"/api/v1/projects/{project.Id}/milestones/{milestone}/complete",
            $"/api/v1/projects/{project.Id}/milestones/{milestone}/rebaseline",
        ];
        var tried = 0;
        var answers = new Dictionary<int, int>();

        async Task Expect4xx(string what, HttpRequestMessage request)
        {
            tried++;
            using var response = await admin.SendAsync(request);
            answers[(int)response.StatusCode] = answers.GetValueOrDefault((int)response.StatusCode) + 1;
            var status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"{what} {request.Method} {request.RequestUri}: {status} {await response.Content.ReadAsStringAsync()}");
            if (response.Content.Headers.ContentLength is > 0)
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var seed = 0;
        foreach (var path in commands)
        foreach (var (what, body) in HostileBodies(seed++))
        {
            // "Complete" takes an optional body: without one (or with null) it completes today — valid, not hostile.
            if (path.EndsWith("/complete") && what is "empty" or "null") continue;
            await Expect4xx(what, new HttpRequestMessage(HttpMethod.Post, path) { Content = body });
        }

        // A valid body whose only fault is in a header (a conditional write with a malformed version, an
        // abusive header): rejected before anything is written.
        foreach (var (what, abuse) in HeaderAbuse())
        {
            var request = new HttpRequestMessage(HttpMethod.Post, commands[1]) { Content = JsonContent.Create(new ReportProgressBody(99, null, null)) };
            abuse(request);
            await ExpectRejectedOrAborted(what, request);
        }

        string[] badIds = ["not-a-guid", new string('9', 5_000), "%00", "..%2F..%2Fetc%2Fpasswd", "%FF%FE", "' OR 1=1 --"];
        foreach (var id in badIds)
        {
            await Expect4xx($"project id {id[..Math.Min(12, id.Length)]}", new HttpRequestMessage(HttpMethod.Get, $"/api/v1/projects/{id}"));
            await Expect4xx($"project id {id[..Math.Min(12, id.Length)]}", new HttpRequestMessage(HttpMethod.Post, $"/api/v1/projects/{id}/milestones")
                { Content = JsonContent.Create(new PlanMilestoneBody("x", 1, "2027-01-01")) });
        }
        string[] badQueries =
        [
            "/api/v1/projects?pageSize=-1", "/api/v1/projects?pageSize=100000000000", "/api/v1/projects?pageToken=%FF%FF",
            "/api/v1/projects?status=dreaming", "/api/v1/projects?category=" + new string('c', 5_000), "/api/v1/maturity?at=yesterday",
            "/api/v1/kpis?at=9999-99-99", "/api/v1/maturity/trend?from=x&to=y", "/api/v1/maturity/trend",
            $"/api/v1/projects/{project.Id}/budget?asOf=never", "/api/v1/kpis?refresh=perhaps",
        ];
        foreach (var query in badQueries) await Expect4xx("query", new HttpRequestMessage(HttpMethod.Get, query));

        // Nothing was written, and the gateway still answers.
        var after = (await admin.GetFromJsonAsync<ProjectDto>($"/api/v1/projects/{project.Id}", Json))!;
        Assert.Equal(project.Version, after.Version);
        Assert.Equal(HttpStatusCode.OK, (await servers.Http().GetAsync("/healthz")).StatusCode);
        ReliabilityFigures.Record("Generated hostile REST input to the gateway (bodies, headers, paths, queries)", ReliabilityFigures.BadInputs, tried);

        async Task ExpectRejectedOrAborted(string what, HttpRequestMessage request)
        {
            // Kestrel may refuse a request whose headers break its limits by closing the connection.
            try { await Expect4xx(what, request); }
            catch (HttpRequestException) { }   // counted by Expect4xx before it sent
        }
    }
}
