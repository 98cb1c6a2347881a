// The change feed: in order, complete, resumable from the last sequence received, nothing twice —
// also across the gaps that failed commands leave in the sequence.
using Grpc.Core;
using Marten;
using Marten.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using ProjectsApp = Regeneration.Projects.ProjectsApp;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class ChangeFeedTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    [Fact]
    public async Task Every_service_takes_its_event_numbers_inside_the_transaction_that_writes_them()
    {
        // The gap check sees a writer only by its open transaction: a number taken before the transaction begins
        // (Marten's Rich append mode) could be skipped for good by a feed that reads a later one meanwhile.
        foreach (var build in new Func<string[], Microsoft.AspNetCore.Builder.WebApplication>[]
                     { ProjectsApp.Build, Regeneration.Budget.BudgetApp.Build, Regeneration.Kpi.KpiApp.Build })
        {
            await using var app = build(["--environment=Development", "--ConnectionStrings:Postgres=Host=unused"]);
            var mode = app.Services.GetRequiredService<IDocumentStore>().Options.Events.AppendMode;
            Assert.True(mode is JasperFx.Events.EventAppendMode.Quick or JasperFx.Events.EventAppendMode.QuickWithServerTimestamps, $"{mode}");
        }
    }

    [Fact]
    public async Task A_client_that_reconnects_with_its_last_sequence_misses_nothing_and_sees_nothing_twice()
    {
        var start = await LastSequence();
        var (projectId, _) = await RegisterActive(client);
        for (var i = 0; i < 3; i++) await Plan(client, projectId, weight: 10);

        // First connection: follow the feed, take three events, then drop the connection.
        var received = new List<ProjectEvent>();
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (var first = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = start, Follow = true },
                   cancellationToken: cancel.Token))
        {
            while (received.Count < 3 && await first.ResponseStream.MoveNext(cancel.Token))
                received.Add(first.ResponseStream.Current.Event);
            cancel.Cancel();
        }

        // Meanwhile more happens, including a rejected command (which may leave a gap in the sequence).
        await Plan(client, projectId, weight: 10);
        await Assert.ThrowsAsync<RpcException>(() => client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Name = "Too big", Weight = 100, DueDate = "2026-01-01",
        }).ResponseAsync);
        await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, Status = ProjectStatus.OnHold, Reason = "Awaiting ministry approval",
        });

        // Second connection resumes after the last sequence received.
        using var second = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest
        {
            AfterSequence = received[^1].Envelope.Sequence, Follow = false,
        });
        while (await second.ResponseStream.MoveNext(default)) received.Add(second.ResponseStream.Current.Event);

        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        var mine = received.Where(e => e.Envelope.StreamId == projectId).ToList();
        Assert.Equal(history.Select(e => e.Envelope.Sequence), mine.Select(e => e.Envelope.Sequence));
        Assert.Equal(received.Count, received.Select(e => e.Envelope.Sequence).Distinct().Count());
        Assert.Equal(received.Select(e => e.Envelope.Sequence).Order(), received.Select(e => e.Envelope.Sequence));
        Assert.Equal(ProjectEvent.PayloadOneofCase.ProjectStatusChanged, mine[^1].PayloadCase);
    }

    [Fact]
    public async Task A_following_subscriber_receives_events_committed_after_it_connected()
    {
        var start = await LastSequence();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = start, Follow = true },
            cancellationToken: cancel.Token);

        var register = Register();
        var projectId = (await client.RegisterProjectAsync(register)).Result.StreamId;

        ProjectEvent? registered = null;
        while (registered is null && await feed.ResponseStream.MoveNext(cancel.Token))
            if (feed.ResponseStream.Current.Event.Envelope.StreamId == projectId) registered = feed.ResponseStream.Current.Event;

        Assert.NotNull(registered);
        Assert.Equal(register.Code, registered.ProjectRegistered.Code);
        Assert.Equal(register.RequestId, registered.Envelope.CausationId);
    }

    [Fact]
    public async Task Gaps_left_by_rolled_back_races_are_passed_and_every_committed_event_is_delivered_once()
    {
        var start = await LastSequence();
        var (projectId, _) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        // Racing duplicates: all but one roll back after taking sequence numbers, leaving gaps.
        var progress = new ReportMilestoneProgressRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 30 };
        await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => client.ReportMilestoneProgressAsync(progress).ResponseAsync)));
        await client.CompleteMilestoneAsync(new CompleteMilestoneRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId });

        var received = new List<ProjectEvent>();
        using (var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = start }))
            while (await feed.ResponseStream.MoveNext(default)) received.Add(feed.ResponseStream.Current.Event);

        var mine = received.Where(e => e.Envelope.StreamId == projectId).ToList();
        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        Assert.Equal(history.Select(e => e.Envelope.Sequence), mine.Select(e => e.Envelope.Sequence));
        Assert.Equal(received.Count, received.Select(e => e.Envelope.Sequence).Distinct().Count());
    }

    [Fact]
    public async Task An_event_committed_after_a_later_one_is_held_for_and_delivered_in_sequence_order()
    {
        var start = await LastSequence();
        var (projectId, _) = await RegisterActive(client);
        var store = server.Host.Services.GetRequiredService<IDocumentStore>();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var late = store.LightweightSession(SessionOptions.ForTransaction(transaction)))
        {
            // Its event number taken now, its commit held back.
            late.Events.Append(Guid.Parse(projectId), new Regeneration.Projects.MilestonePlanned(Guid.NewGuid(), "Held back", 10, new DateOnly(2027, 1, 1)));
            await late.SaveChangesAsync();
        }
        var (later, _) = await RegisterActive(client);   // higher numbers, committed first
        await Task.Delay(1000);   // past the grace: only the open transaction holds the feed back now

        Assert.DoesNotContain(await Delivered(start, TimeSpan.FromSeconds(2)), e => e.Envelope.StreamId == later);
        await transaction.CommitAsync();
        var delivered = await Delivered(start, TimeSpan.FromSeconds(10));

        Assert.Contains(delivered, e => e.MilestonePlanned?.Name == "Held back");
        Assert.Contains(delivered, e => e.Envelope.StreamId == later);
        Assert.Equal(delivered.Select(e => e.Envelope.Sequence).Order(), delivered.Select(e => e.Envelope.Sequence));
    }

    [Fact]
    public async Task A_command_holding_its_stream_with_a_number_taken_holds_the_feed_until_it_ends()
    {
        var start = await LastSequence();
        var (projectId, _) = await RegisterActive(client);
        var store = server.Host.Services.GetRequiredService<IDocumentStore>();
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        // A command between locking its stream and writing its events: the stream locked, an event number taken.
        await using var command = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"select version from {schema}.mt_streams where id = @id for update; select nextval('{schema}.mt_events_sequence')", connection, command))
        {
            hold.Parameters.AddWithValue("id", Guid.Parse(projectId));
            await hold.ExecuteNonQueryAsync();
        }
        var (later, _) = await RegisterActive(client);
        await Task.Delay(1000);   // past the grace

        Assert.DoesNotContain(await Delivered(start, TimeSpan.FromSeconds(2)), e => e.Envelope.StreamId == later);
        await command.RollbackAsync();   // the number is never used: the gap is final
        Assert.Contains(await Delivered(start, TimeSpan.FromSeconds(10)), e => e.Envelope.StreamId == later);
    }

    [Fact]
    public async Task A_transaction_writing_elsewhere_in_the_database_does_not_hold_the_feed_at_a_gap()
    {
        var start = await LastSequence();
        var store = server.Host.Services.GetRequiredService<IDocumentStore>();
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        // A gap for good: a number taken and never used (as a command that fails after taking one leaves).
        await using (var taken = new NpgsqlCommand($"select nextval('{store.Options.Events.DatabaseSchemaName}.mt_events_sequence')", connection))
            await taken.ExecuteScalarAsync();
        // Someone's work in the same database, open: it writes, but not events (an administrator's session, another service).
        await using var elsewhere = await connection.BeginTransactionAsync();
        await using (var write = new NpgsqlCommand("create temporary table elsewhere (id int); insert into elsewhere values (1)", connection, elsewhere))
            await write.ExecuteNonQueryAsync();

        var (later, _) = await RegisterActive(client);

        Assert.Contains(await Delivered(start, TimeSpan.FromSeconds(10)), e => e.Envelope.StreamId == later);
    }

    /// <summary>What the feed delivers after the sequence within the time (it waits at a gap not yet settled).</summary>
    async Task<List<ProjectEvent>> Delivered(long afterSequence, TimeSpan within)
    {
        var received = new List<ProjectEvent>();
        using var cancel = new CancellationTokenSource(within);
        try
        {
            using var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = afterSequence }, cancellationToken: cancel.Token);
            while (await feed.ResponseStream.MoveNext(cancel.Token)) received.Add(feed.ResponseStream.Current.Event);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancel.IsCancellationRequested) { }
        return received;
    }

    [Fact]
    public async Task Subscribers_that_stop_reading_mid_stream_end_their_calls_without_an_error_in_the_log()
    {
        // A subscriber that stops reading: the call disposed while the service is still writing (as KPI did after each
        // batch before it asked for pages). The service's next write then failed with "the request is complete" (the
        // request aborted, the call's own token not yet cancelled) and was logged as an unexpected failure at error
        // level, about once per full benchmark run; that race did not show in this process (the benchmark's check of
        // the services' logs covers it). Here: the service's own host, logging every level to a collector; 20
        // subscriptions stopped after 1 to 400 events, each to end as an ordinary cancelled call.
        await using var host = await ServiceHost.StartAsync(ProjectsApp.Build, await PostgresServer.CreateDatabaseAsync(), LogCollector.Everything);
        var log = LogCollector.On(host);
        var projects = new ProjectService.ProjectServiceClient(host.Admin);
        for (var batch = 0; batch < 4; batch++)
        {
            var import = await projects.ImportProjectsAsync(new ImportProjectsRequest
            {
                Projects = { Enumerable.Range(0, 250).Select(_ => new ImportedProject { Project = Register(), Status = ProjectStatus.Active }) },
            });
            Assert.All(import.Results, r => Assert.Null(r.Failure));
        }

        const int subscriptions = 20;
        for (var i = 0; i < subscriptions; i++)
        {
            using var feed = projects.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = 0 },
                deadline: DateTime.UtcNow.AddSeconds(30));
            for (var read = 0; read < 1 + i * 21; read++) Assert.True(await feed.ResponseStream.MoveNext(CancellationToken.None));
        }

        await log.WaitUntil(entries => entries.Count(e => e.Message.Contains("SubscribePortfolioEvents ended: the caller cancelled or went away")) == subscriptions,
            TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_subscriber_can_take_the_feed_a_page_at_a_time_and_each_page_ends_its_call()
    {
        var start = await LastSequence();
        var (projectId, _) = await RegisterActive(client);
        for (var i = 0; i < 4; i++) await Plan(client, projectId, weight: 10);
        var all = await Read(new SubscribePortfolioEventsRequest { AfterSequence = start });
        Assert.True(all.Count >= 6, $"{all.Count} events");

        // Pages of 3 (max_events), each resumed from the last sequence received, until an empty one.
        var paged = new List<ProjectEvent>();
        for (var after = start; ;)
        {
            var page = await Read(new SubscribePortfolioEventsRequest { AfterSequence = after, MaxEvents = 3 });
            Assert.InRange(page.Count, 0, 3);
            if (page.Count == 0) break;
            paged.AddRange(page);
            after = page[^1].Envelope.Sequence;
        }
        Assert.Equal(all.Select(e => e.Envelope.Sequence), paged.Select(e => e.Envelope.Sequence));

        // A page ends the call even for a subscriber that asked to follow.
        var followed = await Read(new SubscribePortfolioEventsRequest { AfterSequence = start, Follow = true, MaxEvents = 2 });
        Assert.Equal(all.Take(2).Select(e => e.Envelope.Sequence), followed.Select(e => e.Envelope.Sequence));
    }

    [Theory]
    [InlineData(-1, 0, "after_sequence")]
    [InlineData(0, -1, "max_events")]
    public async Task A_negative_start_or_page_size_is_invalid_argument(long afterSequence, int maxEvents, string field)
    {
        using var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = afterSequence, MaxEvents = maxEvents });
        var e = await Assert.ThrowsAsync<RpcException>(() => feed.ResponseStream.MoveNext(default));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal([field], e.ViolatedFields());
    }

    /// <summary>The feed's answer to one call, read to its end (a call that ends with an error throws).</summary>
    async Task<List<ProjectEvent>> Read(SubscribePortfolioEventsRequest request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var feed = client.SubscribePortfolioEvents(request, cancellationToken: timeout.Token);
        var events = new List<ProjectEvent>();
        while (await feed.ResponseStream.MoveNext(timeout.Token)) events.Add(feed.ResponseStream.Current.Event);
        return events;
    }

    async Task<long> LastSequence()
    {
        var last = 0L;
        using var feed = client.SubscribePortfolioEvents(new SubscribePortfolioEventsRequest { AfterSequence = 0 });
        while (await feed.ResponseStream.MoveNext(default)) last = feed.ResponseStream.Current.Event.Envelope.Sequence;
        return last;
    }
}
