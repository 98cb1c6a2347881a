// Parts of answers kept as rendered JSON while their services answer "not modified": a dashboard polling an
// unchanged portfolio costs the gateway a copy of the bytes it rendered before, not a parse of the services'
// answers, a mapping and a render (the gateway's CPU per answer was the rollup's bound; the budget burn alone
// lists 250 districts at 10,000 projects, the maturity 353 KB of evidence). What changes with every call — the
// instant, the freshness, what is missing — is written each time around the kept parts (JsonAnswer); the
// answer is the documented resource's JSON either way.
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Regeneration.Gateway;

/// <summary>JSON a service's answer was rendered to, kept under the version that service named it by.</summary>
public abstract record Rendered(string Version)
{
    /// <summary>Bytes held, for the cache's size limit.</summary>
    public abstract long Size { get; }
}

/// <summary>One page of the KPI rollup, its parts rendered.</summary>
public sealed record RenderedRollup(string Version, string Basis, byte[] Projects, byte[] ByCategory, byte[] ByDistrict, byte[] Portfolio,
    string? NextPageToken) : Rendered(Version)
{
    public override long Size => Projects.Length + ByCategory.Length + ByDistrict.Length + Portfolio.Length + 256;
}

/// <summary>The portfolio's budget burn, rendered.</summary>
public sealed record RenderedBudget(string Version, byte[] Json) : Rendered(Version)
{
    public override long Size => Json.Length + 64;
}

/// <summary>The maturity but its instant and freshness, its dimensions rendered.</summary>
public sealed record RenderedMaturity(string Version, string Basis, int OverallLevel, string OverallRule, string Explanation, byte[] Dimensions)
    : Rendered(Version)
{
    public override long Size => Dimensions.Length + Explanation.Length * 2 + 256;
}

public sealed class RenderedAnswers : IDisposable
{
    /// <summary>At most this many bytes of rendered parts are kept (the least recently used go first).</summary>
    public const long SizeLimit = 32 * 1024 * 1024;

    readonly MemoryCache kept = new(new MemoryCacheOptions { SizeLimit = SizeLimit, CompactionPercentage = 0.25 });
    readonly Counter<long> parts;

    public RenderedAnswers(IOptions<JsonOptions> options, IMeterFactory meters)
    {
        Json = options.Value.SerializerOptions;
        parts = meters.Create("Regeneration.Gateway").CreateCounter<long>("regeneration.gateway.rendered.parts", "{part}",
            "Parts of answers (part: kpis, budget, maturity): rendered from the service's answer, or kept (it answered not modified)");
    }

    /// <summary>The options every part is rendered with: the gateway's own (ASP.NET Core's JSON options).</summary>
    public JsonSerializerOptions Json { get; }

    /// <summary>What is kept for a part of a request, if anything: its version goes to the service as if_none_match.</summary>
    public T? Held<T>(string request) where T : Rendered => kept.Get<T>(request);

    /// <summary>The part for a service's answer: the one held when the service answered "not modified", else the
    /// answer rendered (and kept under the request when the service named it).</summary>
    public T Part<T>(string part, string request, T? held, bool notModified, string version, Func<T> render) where T : Rendered
    {
        if (notModified)
        {
            // Only ever the answer to the held part's version (the request's if_none_match).
            if (held is null || held.Version != version)
                throw new InvalidOperationException($"The service answered 'not modified' for {part} version '{version}', not the held '{held?.Version}'");
            Count(part, "kept");
            return held;
        }
        var rendered = render();
        if (version.Length > 0)
            kept.Set(request, rendered, new MemoryCacheEntryOptions { Size = rendered.Size, SlidingExpiration = TimeSpan.FromMinutes(10) });
        Count(part, "rendered");
        return rendered;
    }

    void Count(string part, string outcome) =>
        parts.Add(1, new KeyValuePair<string, object?>("part", part), new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => kept.Dispose();
}

/// <summary>JSON rendered before, written as it is.</summary>
public sealed record RawJson(byte[] Json);

/// <summary>A JSON object written property by property, in order: a <see cref="RawJson"/> copied, anything else
/// serialised with the gateway's options. Property names follow the options' naming policy.</summary>
sealed class JsonAnswer(params IReadOnlyList<(string Property, object? Value)> properties) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(http.Response.BodyWriter, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented }))
        {
            writer.WriteStartObject();
            foreach (var (property, value) in properties)
            {
                writer.WritePropertyName(options.PropertyNamingPolicy?.ConvertName(property) ?? property);
                if (value is RawJson raw) writer.WriteRawValue(raw.Json, skipInputValidation: true);
                else JsonSerializer.Serialize(writer, value, value?.GetType() ?? typeof(object), options);
            }
            writer.WriteEndObject();
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }
}
