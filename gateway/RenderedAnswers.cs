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

/// <summary>A service's answer made ready to write, kept under the version that service named it by. Its parts are
/// <see cref="RawJson"/> when kept (rendered once, copied since), the mapped resources themselves when not (written
/// straight to the response, as any other answer).</summary>
public abstract record Rendered(string Version)
{
    /// <summary>Bytes held, for the cache's size limit.</summary>
    public abstract long Size { get; }

    protected static long Bytes(params object?[] parts) => parts.Sum(p => p is RawJson raw ? raw.Json.Length : 0) + 256;
}

/// <summary>One page of the KPI rollup.</summary>
public sealed record RenderedRollup(string Version, string Basis, object Projects, object ByCategory, object ByDistrict, object? Portfolio,
    string? NextPageToken) : Rendered(Version)
{
    public override long Size => Bytes(Projects, ByCategory, ByDistrict, Portfolio);
}

/// <summary>The portfolio's budget burn.</summary>
public sealed record RenderedBudget(string Version, object Burn) : Rendered(Version)
{
    public override long Size => Bytes(Burn);
}

/// <summary>The maturity but its instant and freshness.</summary>
public sealed record RenderedMaturity(string Version, string Basis, int OverallLevel, string OverallRule, string Explanation, object Dimensions)
    : Rendered(Version)
{
    public override long Size => Bytes(Dimensions) + Explanation.Length * 2;
}

public sealed class RenderedAnswers : IDisposable
{
    /// <summary>At most this many bytes of rendered parts are kept (the least recently used go first).</summary>
    public const long SizeLimit = 32 * 1024 * 1024;

    readonly MemoryCache kept = new(new MemoryCacheOptions { SizeLimit = SizeLimit, CompactionPercentage = 0.25 });
    readonly Counter<long> parts;
    readonly JsonSerializerOptions json;

    public RenderedAnswers(IOptions<JsonOptions> options, IMeterFactory meters)
    {
        json = options.Value.SerializerOptions;
        parts = meters.Create("Regeneration.Gateway").CreateCounter<long>("regeneration.gateway.rendered.parts", "{part}",
            "Parts of answers (part: kpis, budget, maturity): rendered from the service's answer, or kept (it answered not modified)");
    }

    /// <summary>What is kept for a part of a request, if anything: its version goes to the service as if_none_match.
    /// Null request: a part not kept (see <see cref="KeyFor"/>).</summary>
    public T? Held<T>(string? request) where T : Rendered => request is null ? null : kept.Get<T>(request);

    /// <summary>The key a part of a request is kept under: only answers about now are (a dashboard polls those; a
    /// forecast for a date or the portfolio as of an instant is asked once; keeping each one churned the cache, and
    /// the gateway peaked at 334 MB in a benchmark run asking a forecast for a new date each call, 172–183 before).</summary>
    public static string? KeyFor(DateTimeOffset? at, string request) => at is null ? request : null;

    /// <summary>A value of a part about to be kept (<paramref name="request"/> set) rendered once; else the value as it is.</summary>
    public object Ready<TValue>(string? request, TValue value) =>
        request is null ? (object?)value ?? RawJson.Null : new RawJson(JsonSerializer.SerializeToUtf8Bytes(value, json));

    /// <summary>The part for a service's answer: the one held when the service answered "not modified", else the
    /// answer made ready (and kept under the request, if any, when the service named it).</summary>
    public T Part<T>(string part, string? request, T? held, bool notModified, string version, Func<T> render) where T : Rendered
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
        if (version.Length > 0 && request is not null)
            kept.Set(request, rendered, new MemoryCacheEntryOptions { Size = rendered.Size, SlidingExpiration = TimeSpan.FromMinutes(10) });
        Count(part, "rendered");
        return rendered;
    }

    void Count(string part, string outcome) =>
        parts.Add(1, new KeyValuePair<string, object?>("part", part), new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => kept.Dispose();
}

/// <summary>JSON rendered before, written as it is.</summary>
public sealed record RawJson(byte[] Json)
{
    public static readonly RawJson Null = new("null"u8.ToArray());
}

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
