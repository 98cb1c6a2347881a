// A bulk import, the same way in every service: each item is a command of its own (its own request_id,
// receipt and transaction), run a few at a time, with its own outcome — the result, or the status the item
// would have failed with alone. An unexpected failure fails the call (every item written so far replays on
// a retry).
using Regeneration.Common.V1;

namespace Regeneration.ServiceDefaults;

public static class BulkImport
{
    const int Parallelism = 4;

    public static async Task<ImportResult[]> Run<TItem>(IList<TItem> items, Func<TItem, string> requestId,
        Func<TItem, Task<CommandResult>> import, CancellationToken cancellation)
    {
        var results = new ImportResult[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellation },
            async (i, _) =>
            {
                var result = new ImportResult { RequestId = requestId(items[i]) };
                try { result.Result = await import(items[i]); }
                catch (Exception e) when (ErrorInterceptor.ToStatus(e) is { } status)
                {
                    result.Failure = new ImportFailure { Code = status.Code, Message = status.Message, Details = { status.Details } };
                }
                results[i] = result;
            });
        return results;
    }
}
