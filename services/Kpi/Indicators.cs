// The indicator catalogue: one stream per indicator (its id derived from the code), an inline
// snapshot per indicator with a unique code, and the seeded catalogue of ISO 37120 / ISO 37122-style
// indicators for the themes the portfolio serves.
using System.Security.Cryptography;
using System.Text;

namespace Regeneration.Kpi;

public enum Polarity { HigherIsBetter = 1, LowerIsBetter = 2 }

public sealed record IndicatorDefined(string Code, string Name, string Unit, Polarity Polarity, string Theme,
    string Dimension, double MinValue, double MaxValue);

public sealed record Indicator(Guid Id, string Code, string Name, string Unit, Polarity Polarity, string Theme,
    string Dimension, double MinValue, double MaxValue)
{
    public static Indicator Create(IndicatorDefined e) => From(StreamId(e.Code), e);

    public static Indicator From(Guid id, IndicatorDefined d) =>
        new(id, d.Code, d.Name, d.Unit, d.Polarity, d.Theme, d.Dimension, d.MinValue, d.MaxValue);

    /// <summary>The stream id of an indicator: a name-based UUID of its code, so the code finds the stream.</summary>
    public static Guid StreamId(string code)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("indicator:" + code));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}

public static class IndicatorCatalogue
{
    const double Percent = 100, Many = 1e9;

    /// <summary>The seeded catalogue. Names follow the wording of ISO 37120 (sustainable cities) and
    /// ISO 37122 (smart cities) indicators; codes are ours, prefixed by the theme.</summary>
    public static readonly IndicatorDefined[] Seed =
    [
        new("SAF-01", "Violent crime rate per 100 000 population", "per 100 000 population", Polarity.LowerIsBetter, "safety", "safety-resilience", 0, Many),
        new("SAF-02", "Percentage of the city area covered by digital surveillance cameras", "%", Polarity.HigherIsBetter, "safety", "safety-resilience", 0, Percent),
        new("SAF-03", "Average response time of emergency services from initial call", "minutes", Polarity.LowerIsBetter, "safety", "safety-resilience", 0, 1440),
        new("TRA-01", "Percentage of traffic lights that are intelligent or connected", "%", Polarity.HigherIsBetter, "transportation", "mobility", 0, Percent),
        new("TRA-02", "Percentage of public transport stops with real-time arrival information", "%", Polarity.HigherIsBetter, "transportation", "mobility", 0, Percent),
        new("TRA-03", "Average commute travel time", "minutes", Polarity.LowerIsBetter, "transportation", "mobility", 0, 600),
        new("ENV-01", "Fine particulate matter (PM2.5) concentration, annual mean", "µg/m³", Polarity.LowerIsBetter, "environment", "urban-resources", 0, 1000),
        new("WAT-01", "Total water loss as a percentage of water supplied", "%", Polarity.LowerIsBetter, "water", "urban-resources", 0, Percent),
        new("ENE-01", "Percentage of energy consumption from renewable sources", "%", Polarity.HigherIsBetter, "energy", "urban-resources", 0, Percent),
        new("HOU-01", "Vacant commercial units in regeneration areas", "%", Polarity.LowerIsBetter, "housing", "benefits-realisation", 0, Percent),
        new("ECO-01", "Jobs created in regeneration areas", "jobs", Polarity.HigherIsBetter, "economy", "benefits-realisation", 0, Many),
        new("GOV-01", "Percentage of city services available online", "%", Polarity.HigherIsBetter, "governance", "citizen-centricity", 0, Percent),
        new("GOV-02", "Citizen satisfaction with public services", "%", Polarity.HigherIsBetter, "governance", "citizen-centricity", 0, Percent),
        new("GOV-03", "Residents taking part in regeneration councils per 1 000 residents", "per 1 000 residents", Polarity.HigherIsBetter, "governance", "citizen-centricity", 0, 1000),
        new("ICT-01", "Number of open datasets per 100 000 population", "per 100 000 population", Polarity.HigherIsBetter, "telecommunication", "digital-platform", 0, Many),
        new("ICT-02", "Percentage of the city area covered by free public Wi-Fi", "%", Polarity.HigherIsBetter, "telecommunication", "digital-platform", 0, Percent),
        new("DAT-01", "Percentage of city systems holding personal data with a completed privacy impact assessment", "%", Polarity.HigherIsBetter, "governance", "privacy-data", 0, Percent),
        new("DAT-02", "Personal data breaches reported per year", "breaches", Polarity.LowerIsBetter, "governance", "privacy-data", 0, Many),
        new("GOV-04", "Percentage of smart-city road-map actions on schedule", "%", Polarity.HigherIsBetter, "governance", "vision-roadmap", 0, Percent),
        new("GOV-05", "Percentage of smart-city projects with an accountable owner and steering reviews held on schedule", "%", Polarity.HigherIsBetter, "governance", "leadership-governance", 0, Percent),
    ];
}
