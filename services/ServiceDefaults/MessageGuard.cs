// Malformed request messages (random bytes, truncated frames, invalid UTF-8) fail inside gRPC's own
// deserialisation, before any interceptor, and would be answered UNKNOWN. This middleware parses the
// request message of every known method first and answers a malformed one INVALID_ARGUMENT, with a
// log entry, without touching the handler.
using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Regeneration.ServiceDefaults;

public static class MessageGuard
{
    public static IApplicationBuilder UseMessageGuard(this IApplicationBuilder app, ServiceDescriptor service, ILogger logger)
    {
        var parsers = service.Methods.ToDictionary(m => $"/{service.FullName}/{m.Name}", m => m.InputType.Parser);
        return app.Use(async (http, next) =>
        {
            if (!parsers.TryGetValue(http.Request.Path.Value ?? "", out var parser)
                || http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
            {
                await next(http);
                return;
            }
            var body = new MemoryStream();
            try
            {
                await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                logger.LogInformation("{Path} rejected: request larger than the limit", http.Request.Path);
                Answer(http, 8, "The request message is larger than the limit (4 MB)", "MESSAGE_TOO_LARGE");   // RESOURCE_EXHAUSTED
                return;
            }
            var error = Check(body.GetBuffer().AsSpan(0, (int)body.Length), parser);
            if (error is null)
            {
                body.Position = 0;
                http.Request.Body = body;
                await next(http);
                return;
            }
            logger.LogInformation("{Path} rejected: malformed request message ({Error})", http.Request.Path, error);
            Answer(http, 3, $"Malformed request message: {error}");   // INVALID_ARGUMENT
        });
    }

    /// <summary>A trailers-only gRPC answer: a status without a message, for answers made before the handler.</summary>
    public static void Answer(HttpContext http, int status, string message, string? reason = null)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        // The reason as the rich error model's ErrorInfo, as the interceptor gives every other failure: a caller tells
        // a rate limit from a message over the size limit (both RESOURCE_EXHAUSTED) without reading the message.
        if (reason is not null)
            http.Response.Headers["grpc-status-details-bin"] =
                Convert.ToBase64String(ErrorInterceptor.Status((Google.Rpc.Code)status, message, reason).ToByteArray());
    }

    /// <summary>Null when every frame holds a message the method's request type parses.</summary>
    static string? Check(ReadOnlySpan<byte> frames, MessageParser parser)
    {
        while (frames.Length > 0)
        {
            if (frames.Length < 5) return "truncated frame header";
            var compressed = frames[0] != 0;
            var length = BinaryPrimitives.ReadUInt32BigEndian(frames[1..5]);
            if (length > (uint)(frames.Length - 5)) return "truncated frame";
            var message = frames.Slice(5, (int)length);
            if (!compressed)
            {
                try { parser.ParseFrom(message.ToArray()); }
                catch (InvalidProtocolBufferException e) { return e.Message; }
            }
            frames = frames[(5 + (int)length)..];
        }
        return null;
    }
}
