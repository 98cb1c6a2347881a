// Where the repository is, from the binaries that run (tests, benchmarks).
namespace Regeneration.Tests.Infrastructure;

public static class Repository
{
    public static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Regeneration.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Regeneration.sln not found above the binaries");
    }
}
