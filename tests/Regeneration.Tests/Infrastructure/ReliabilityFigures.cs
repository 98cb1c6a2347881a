// The reliability tests' figures (requests under fault, faults injected, bad inputs tried, security
// cases checked, lost or duplicated writes...), one JSON line per figure in
// artifacts/reliability/figures.jsonl. The test command prints their totals; RELIABILITY.md quotes them.
using System.Text.Json;

namespace Regeneration.Tests.Infrastructure;

public static class ReliabilityFigures
{
    public const string RequestsUnderFault = "requests under fault";
    public const string FaultsInjected = "faults injected and survived";
    public const string BadInputs = "bad inputs tried";
    public const string SecurityCases = "security cases checked";
    public const string WritesChecked = "writes checked exactly once";
    public const string LostOrDuplicated = "lost or duplicated writes";

    static readonly Lock Gate = new();
    static readonly string File = Path.Combine(Repository.Root(), "artifacts", "reliability", "figures.jsonl");

    /// <param name="scenario">What was run, e.g. "SIGKILL of Projects under 8 writers".</param>
    public static void Record(string scenario, string figure, double value, string? unit = null)
    {
        var line = JsonSerializer.Serialize(new { scenario, figure, value, unit, at = DateTimeOffset.UtcNow });
        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(File)!);
            System.IO.File.AppendAllText(File, line + "\n");
        }
    }
}
