// The rollup's parts as rendered JSON, kept while their services answer "not modified": a dashboard polling
// an unchanged portfolio costs the gateway a copy of the bytes it rendered before, not a parse of the
// services' answers, a mapping and a render (the gateway's CPU per answer was the rollup's bound; the budget
// burn alone lists 250 districts at 10,000 projects). What changes with every call — the instant, the
// freshness, what is missing — is rendered each time around the kept parts; the answer is the
// KpiRollupDto's JSON either way.
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Regeneration.ServiceDefaults;
using B = Regeneration.Budget.V1;
using K = Regeneration.Kpi.V1;

namespace Regeneration.Gateway;

/// <summary>One page of the rollup as the KPI service named it (<see cref="Version"/>), its parts rendered.</summary>
public sealed record RenderedRollup(string Version, string Basis, byte[] Projects, byte[] ByCategory, byte[] ByDistrict, byte[] Portfolio,
    string? NextPageToken)
{
    public long Size => Projects.Length + ByCategory.Length + ByDistrict.Length + Portfolio.Length + 256;
}

/// <summary>The portfolio's budget burn as the Budget service named it, rendered.</summary>
public sealed record RenderedBudget(string Version, byte[] Json);

public sealed class RenderedRollups : IDisposable
{
    /// <summary>At most this many bytes of rendered pages are kept (the least recently used go first).</summary>
    public const long SizeLimit = 32 * 1024 * 1024;

    readonly MemoryCache pages = new(new MemoryCacheOptions { SizeLimit = SizeLimit, CompactionPercentage = 0.25 });
    readonly JsonSerializerOptions json;
    readonly Counter<long> answers;
    RenderedBudget? budget;

    public RenderedRollups(IOptions<JsonOptions> options, IMeterFactory meters)
    {
        json = options.Value.SerializerOptions;
        answers = meters.Create("Regeneration.Gateway").CreateCounter<long>("regeneration.gateway.rollup.parts", "{part}",
            "Parts of rollup answers (part: kpis, budget): rendered from the service's answer, or kept (it answered not modified)");
    }

    /// <summary>The page kept for a request, if any: its version goes to the KPI service as if_none_match.</summary>
    public RenderedRollup? Held(string request) => pages.Get<RenderedRollup>(request);

    /// <summary>The page for a KPI answer: the one held when the service answered "not modified", else the answer
    /// rendered (and kept under the request when the service named it).</summary>
    public RenderedRollup Page(string request, RenderedRollup? held, K.GetKpiRollupResponse rollup)
    {
        if (rollup.NotModified)
        {
            // Only ever the answer to the held page's version (the request's if_none_match).
            if (held is null || held.Version != rollup.Version)
                throw new InvalidOperationException($"The KPI service answered 'not modified' for version '{rollup.Version}', not the held '{held?.Version}'");
            Count("kpis", "kept");
            return held;
        }
        var page = new RenderedRollup(rollup.Version, Map.Short(ContractNames.Of(rollup.Basis)),
            JsonSerializer.SerializeToUtf8Bytes<IReadOnlyList<ProjectKpisDto>>([.. rollup.Projects.Select(p => p.Dto())], json),
            JsonSerializer.SerializeToUtf8Bytes<IReadOnlyList<GroupKpisDto>>([.. rollup.ByCategory.Select(g => g.Dto())], json),
            JsonSerializer.SerializeToUtf8Bytes<IReadOnlyList<GroupKpisDto>>([.. rollup.ByDistrict.Select(g => g.Dto())], json),
            JsonSerializer.SerializeToUtf8Bytes(rollup.Portfolio?.Dto(), json),
            rollup.NextPageToken is { Length: > 0 } next ? next : null);
        if (page.Version.Length > 0)
            pages.Set(request, page, new MemoryCacheEntryOptions { Size = page.Size, SlidingExpiration = TimeSpan.FromMinutes(10) });
        Count("kpis", "rendered");
        return page;
    }

    /// <summary>The budget burn held, if any: its version goes to the Budget service as if_none_match.</summary>
    public RenderedBudget? HeldBudget() => Volatile.Read(ref budget);

    /// <summary>The budget burn for a Budget answer: the one held when it answered "not modified", else rendered and held.</summary>
    public byte[] Budget(RenderedBudget? held, B.GetPortfolioBudgetResponse burn)
    {
        if (burn.NotModified)
        {
            if (held is null || held.Version != burn.Version)
                throw new InvalidOperationException($"The Budget service answered 'not modified' for version '{burn.Version}', not the held '{held?.Version}'");
            Count("budget", "kept");
            return held.Json;
        }
        var rendered = new RenderedBudget(burn.Version, JsonSerializer.SerializeToUtf8Bytes(burn.Dto(), json));
        if (rendered.Version.Length > 0) Volatile.Write(ref budget, rendered);
        Count("budget", "rendered");
        return rendered.Json;
    }

    void Count(string part, string outcome) =>
        answers.Add(1, new KeyValuePair<string, object?>("part", part), new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => pages.Dispose();
}

/// <summary>The rollup's answer: <see cref="KpiRollupDto"/>'s JSON, its kept parts copied as they were rendered
/// (<paramref name="page"/> null: the KPI part is missing; <paramref name="budget"/> null: the budget part).</summary>
sealed class RollupAnswer(RenderedRollup? page, DateTimeOffset? at, FreshnessDto? freshness, byte[]? budget,
    IReadOnlyList<MissingPartDto> missing) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        string Name(string property) => options.PropertyNamingPolicy?.ConvertName(property) ?? property;
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(http.Response.BodyWriter, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented }))
        {
            writer.WriteStartObject();
            writer.WriteString(Name(nameof(KpiRollupDto.Basis)), page?.Basis);
            writer.WritePropertyName(Name(nameof(KpiRollupDto.At)));
            if (at is { } instant) writer.WriteStringValue(instant); else writer.WriteNullValue();
            Raw(nameof(KpiRollupDto.Projects), page?.Projects, "[]"u8);
            Raw(nameof(KpiRollupDto.ByCategory), page?.ByCategory, "[]"u8);
            Raw(nameof(KpiRollupDto.ByDistrict), page?.ByDistrict, "[]"u8);
            Raw(nameof(KpiRollupDto.Portfolio), page?.Portfolio, "null"u8);
            Raw(nameof(KpiRollupDto.Budget), budget, "null"u8);
            writer.WritePropertyName(Name(nameof(KpiRollupDto.Freshness)));
            JsonSerializer.Serialize(writer, freshness, options);
            writer.WritePropertyName(Name(nameof(KpiRollupDto.Missing)));
            JsonSerializer.Serialize(writer, missing, options);
            writer.WriteString(Name(nameof(KpiRollupDto.NextPageToken)), page?.NextPageToken);
            writer.WriteEndObject();

            void Raw(string property, byte[]? rendered, ReadOnlySpan<byte> absent)
            {
                writer.WritePropertyName(Name(property));
                writer.WriteRawValue(rendered ?? absent, skipInputValidation: true);
            }
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }
}
