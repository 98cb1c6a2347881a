// A bulk import, the same way in every service: each item is a command of its own (its own request_id,
// receipt and transaction), run a few at a time, with its own outcome — the result, or the status the item
// would have failed with alone. An unexpected failure fails the call (every item written so far replays on
// a retry).
using Grpc.Core;
using Regeneration.Common.V1;

namespace Regeneration.ServiceDefaults;

public static class BulkImport
{
    const int Parallelism = 4;

    /// <param name="import">An item's command, with the call's context (who is calling, the correlation id) read once
    /// here: the call's headers are built on first read and are not safe to read from the items' threads (items racing
    /// to read them failed calls with INTERNAL and recorded another correlation id than the caller's).</param>
    public static async Task<ImportResult[]> Run<TItem>(IList<TItem> items, ServerCallContext call, Func<TItem, string> requestId,
        Func<TItem, RequestContext, Task<CommandResult>> import)
    {
        var context = RequestContext.From(call);
        var results = new ImportResult[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = call.CancellationToken },
            async (i, _) =>
            {
                var result = new ImportResult { RequestId = requestId(items[i]) };
                try { result.Result = await import(items[i], context); }
                catch (Exception e) when (ErrorInterceptor.ToStatus(e) is { } status)
                {
                    result.Failure = new ImportFailure { Code = status.Code, Message = status.Message, Details = { status.Details } };
                }
                results[i] = result;
            });
        return results;
    }
}
