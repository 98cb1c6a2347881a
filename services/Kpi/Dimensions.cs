// The maturity model as data: dimensions and level thresholds come from configuration
// (Maturity:Dimensions, Maturity:LevelThresholds); the defaults are the ISO 37106-style categories
// a Korean certification assesses. A city replaces them with its assessor's list.
namespace Regeneration.Kpi;

public sealed class DimensionDefinition
{
    public string Code { get; set; } = "";
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public string Evidence { get; set; } = "";
}

public sealed class MaturityOptions
{
    public List<DimensionDefinition> Dimensions { get; set; } = [];
    /// <summary>Lower bounds (percent) of levels 2, 3, 4 and 5.</summary>
    public List<double> LevelThresholds { get; set; } = [];

    public const string OverallRule =
        "The overall level is the lowest level among the evidenced dimensions: every assessed dimension must reach it. " +
        "Dimensions no project contributes to are not evidenced and not assessed.";

    public IReadOnlyList<DimensionDefinition> DimensionsOrDefault => Dimensions.Count > 0 ? Dimensions : DefaultDimensions;
    public IReadOnlyList<double> ThresholdsOrDefault => LevelThresholds.Count == 4 ? LevelThresholds : [20, 40, 60, 80];

    public static readonly DimensionDefinition[] DefaultDimensions =
    [
        new() { Code = "vision-roadmap", Name = "Vision and road-map", Description = "A smart-city vision turned into a funded, scheduled road-map.", Evidence = "Road-map, its actions on schedule, governance board decisions." },
        new() { Code = "leadership-governance", Name = "Leadership and governance", Description = "Who decides, who is accountable, how programmes are steered.", Evidence = "Governance charters, steering records, accountable owners per project." },
        new() { Code = "citizen-centricity", Name = "Citizen-centricity", Description = "Services designed with and for residents.", Evidence = "Online services, satisfaction surveys, resident participation." },
        new() { Code = "digital-platform", Name = "Digital and open data platform", Description = "Shared platforms, open data and connectivity.", Evidence = "Data platform in operation, open datasets, public Wi-Fi and IoT coverage." },
        new() { Code = "urban-resources", Name = "Urban resource management", Description = "Water, energy, air and space managed with data.", Evidence = "Water loss, renewable share, air quality measurements." },
        new() { Code = "privacy-data", Name = "Privacy and personal-information management", Description = "Personal data protected by design across city systems.", Evidence = "Inventories, privacy impact assessments, breach records." },
        new() { Code = "safety-resilience", Name = "Safety and resilience", Description = "Integrated safety operations and emergency response.", Evidence = "Integrated control centre, camera coverage, response times, crime rates." },
        new() { Code = "mobility", Name = "Mobility", Description = "Intelligent transport and accessible public transport.", Evidence = "Smart signals, real-time passenger information, travel times." },
        new() { Code = "benefits-realisation", Name = "Benefits realisation", Description = "Outcomes delivered to places and people, measured.", Evidence = "Vacancy, jobs and investment in regeneration areas." },
    ];
}
