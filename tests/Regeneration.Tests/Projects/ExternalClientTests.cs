// The contract works for integrators outside .NET, and the demo portfolio loads through it.
using System.Diagnostics;
using System.Text.Json;
using Regeneration.DemoData;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;

namespace Regeneration.Tests.Projects;

public class ExternalClientTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    [Fact]
    public async Task A_node_client_loading_the_proto_files_registers_plans_completes_and_reads_history()
    {
        var root = RepositoryRoot();
        var script = Path.Combine(root, "tests", "node-client", "projects-client.mjs");
        Assert.True(Directory.Exists(Path.Combine(root, "node_modules", "@grpc")), "run `npm ci` first (scripts/test.sh does)");
        var start = new ProcessStartInfo("node", [script, new Uri(server.Address).Authority])
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

    [Fact]
    public async Task The_demo_portfolio_loads_once_and_covers_every_category_status_and_milestone_state()
    {
        var first = await DemoPortfolio.SeedAsync(server.Client);
        var second = await DemoPortfolio.SeedAsync(server.Client);

        Assert.True(first.Projects >= 12);
        Assert.Equal(0, second.Written);
        Assert.Equal(first.Written + first.Replayed, second.Replayed);

        var projects = (await server.Client.ListProjectsAsync(new ListProjectsRequest
        {
            Page = new Regeneration.Common.V1.PageRequest { PageSize = 500 },
        })).Projects.Where(p => p.Code.StartsWith("WJ-")).ToList();
        Assert.Equal(first.Projects, projects.Count);
        Assert.Equal(Enum.GetValues<ProjectCategory>().Skip(1), projects.Select(p => p.Category).Distinct().Order());
        Assert.Equal(Enum.GetValues<ProjectStatus>().Skip(1), projects.Select(p => p.Status).Distinct().Order());
        var milestones = projects.SelectMany(p => p.Milestones).ToList();
        Assert.Equal(Enum.GetValues<MilestoneStatus>().Skip(1), milestones.Select(m => m.Status).Distinct().Order());
        Assert.Contains(milestones, m => m.RebaselineCount > 0);
        Assert.All(projects, p => Assert.True(p.Milestones.Sum(m => m.Weight) <= 100));
    }

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Regeneration.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Regeneration.sln not found above the test binaries");
    }
}
