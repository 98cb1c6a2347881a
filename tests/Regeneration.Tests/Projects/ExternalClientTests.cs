// The contract works for integrators outside .NET.
using System.Diagnostics;
using System.Text.Json;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Projects;

public class ExternalClientTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    [Fact]
    public async Task A_node_client_loading_the_proto_files_registers_plans_completes_and_reads_history()
    {
        var root = Repository.Root();
        var script = Path.Combine(root, "tests", "node-client", "projects-client.mjs");
        Assert.True(Directory.Exists(Path.Combine(root, "node_modules", "@grpc")), "run `npm ci` first (scripts/test.sh does)");
        var start = new ProcessStartInfo("node", [script, new Uri(server.Address).Authority, TestTokens.Admin])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root,
        };
        using var node = Process.Start(start)!;
        var output = await node.StandardOutput.ReadToEndAsync();
        var errors = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();

        Assert.True(node.ExitCode == 0, errors);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["ProjectRegistered", "ProjectStatusChanged", "MilestonePlanned", "MilestoneCompleted"],
            result.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("2026-01-15", result.GetProperty("completedOn").GetString());
        Assert.Equal("INVALID_ARGUMENT", result.GetProperty("invalid").GetString());
    }
}
