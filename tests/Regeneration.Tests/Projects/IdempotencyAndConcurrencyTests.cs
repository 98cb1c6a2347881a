// Retries never duplicate, races never lose: request_id idempotency and optimistic concurrency.
using Google.Rpc;
using Grpc.Core;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using Regeneration.Projects.V1;
using Regeneration.Tests.Infrastructure;
using static Regeneration.Tests.Infrastructure.Requests;

namespace Regeneration.Tests.Projects;

public class IdempotencyAndConcurrencyTests(ProjectsServer server) : IClassFixture<ProjectsServer>
{
    readonly ProjectService.ProjectServiceClient client = server.Client;

    [Fact]
    public async Task Repeating_a_command_returns_the_first_result_and_writes_nothing()
    {
        var register = Register();
        var first = (await client.RegisterProjectAsync(register)).Result;
        var again = (await client.RegisterProjectAsync(register)).Result;
        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal((first.StreamId, first.Version), (again.StreamId, again.Version));

        var plan = new PlanMilestoneRequest
        {
            RequestId = NewRequestId(), ProjectId = first.StreamId, Name = "Design", Weight = 30, DueDate = "2026-04-30",
        };
        var planned = (await client.PlanMilestoneAsync(plan)).Result;
        var replanned = (await client.PlanMilestoneAsync(plan)).Result;
        Assert.Equal((planned.EntityId, planned.Version), (replanned.EntityId, replanned.Version));

        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = first.StreamId })).Project;
        Assert.Equal(2, project.Version);
        Assert.Single(project.Milestones);
    }

    [Fact]
    public async Task Reusing_a_request_id_for_a_different_command_is_rejected()
    {
        var register = Register();
        var projectId = (await client.RegisterProjectAsync(register)).Result.StreamId;
        var e = await Assert.ThrowsAsync<RpcException>(() => client.PlanMilestoneAsync(new PlanMilestoneRequest
        {
            RequestId = register.RequestId, ProjectId = projectId, Name = "Design", Weight = 30, DueDate = "2026-04-30",
        }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Equal("request", e.Detail<ResourceInfo>()?.ResourceType);
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Empty(project.Milestones);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_code_register_one_project_and_name_the_code_to_the_others()
    {
        // Different requests racing for one code: each checks the code is free before any commits, so the losers
        // meet the unique index at commit — and must still hear which code, as a sequential duplicate does.
        for (var round = 0; round < 3; round++)
        {
            var code = NewCode();
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                try { return (await client.RegisterProjectAsync(Register(r => r.Code = code))).Result.StreamId; }
                catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
                {
                    var resource = e.Detail<ResourceInfo>();
                    return $"already exists: {resource?.ResourceType} {resource?.ResourceName}";
                }
            }));
            var winner = Assert.Single(outcomes, o => !o.StartsWith("already exists"));
            Assert.All(outcomes.Where(o => o != winner), o => Assert.Equal($"already exists: project {code}", o));
            Assert.Equal(code, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = winner })).Project.Code);
        }
    }

    [Fact]
    public async Task Concurrent_duplicates_of_one_request_write_exactly_once()
    {
        var (projectId, version) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        var progress = new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 40,
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => Task.Run(async () => (await client.ReportMilestoneProgressAsync(progress)).Result)));

        Assert.Single(results.Select(r => r.Version).Distinct());
        Assert.Single(results, r => !r.Replayed);
        var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        Assert.Single(history, e => e.MilestoneProgressReported is not null);
        Assert.Equal(version + 2, history.Count);
    }

    [Fact]
    public async Task Of_two_writers_with_the_same_expected_version_one_wins_and_the_other_is_aborted()
    {
        var (projectId, version) = await RegisterActive(client);
        PlanMilestoneRequest Plan(string name) => new()
        {
            RequestId = NewRequestId(), ProjectId = projectId, ExpectedVersion = version, Name = name, Weight = 10, DueDate = "2026-04-30",
        };

        var outcomes = await Task.WhenAll(new[] { Plan("A"), Plan("B") }.Select(async r =>
        {
            try { await client.PlanMilestoneAsync(r); return StatusCode.OK; }
            catch (RpcException e) { return e.StatusCode; }
        }));

        Assert.Equal([StatusCode.OK, StatusCode.Aborted], outcomes.Order());
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Equal(version + 1, project.Version);
        Assert.Single(project.Milestones);
    }

    [Fact]
    public async Task A_stale_expected_version_is_aborted_and_writes_nothing()
    {
        var (projectId, version) = await RegisterActive(client);
        await Plan(client, projectId);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, ExpectedVersion = version, Status = ProjectStatus.OnHold, Reason = "Budget freeze",
        }).ResponseAsync);
        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Equal((ProjectStatus.Active, version + 1), (project.Status, project.Version));
    }

    [Fact]
    public async Task Many_writers_without_expected_version_all_land_and_none_is_lost()
    {
        var (projectId, version) = await RegisterActive(client);
        const int writers = 12;

        var results = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
            (await client.PlanMilestoneAsync(new PlanMilestoneRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, Name = $"Work package {i}", Weight = 5, DueDate = "2026-09-30",
            })).Result)));

        var project = (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project;
        Assert.Equal(writers, project.Milestones.Count);
        Assert.Equal(version + writers, project.Version);
        Assert.Equal(Enumerable.Range((int)version + 1, writers).Select(v => (long)v), results.Select(r => r.Version).Order());
    }

    [Fact]
    public async Task Commands_arriving_together_share_a_commit_and_each_keeps_its_own_answer_author_and_error()
    {
        // Projects of their own managers, each with a milestone at 50 %.
        const int managers = 16;
        var projects = await Task.WhenAll(Enumerable.Range(0, managers).Select(async i =>
        {
            var (projectId, _) = await RegisterActive(client, r => r.Owner = $"pm.group{i}");
            var milestoneId = await Plan(client, projectId);
            var version = (await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
            {
                RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 50,
            })).Result.Version;
            return (ProjectId: projectId, MilestoneId: milestoneId, Version: version, Client: server.ClientAs($"pm.group{i}", $"corr-group{i}"));
        }));
        var (crowded, crowdedVersion) = await RegisterActive(client);
        // What the service tells its operators about the grouping (its Regeneration.Commands meter).
        var meters = server.Host.Services.GetRequiredService<IMeterFactory>();
        using var groupSizes = new MetricCollector<int>(meters, "Regeneration.Commands", "regeneration.commands.group.size");
        using var alone = new MetricCollector<long>(meters, "Regeneration.Commands", "regeneration.commands.alone");

        // Three rounds (up to five), each a burst of commands sent at once: every manager reports progress on their own
        // project; six writers plan milestones on one other project (one of them in a group, the others alone on the
        // project's lock); and one command per kind of failure. Each round must answer every command as if it ran
        // alone; at least one round must have had commands of several managers committed in one transaction.
        var (shared, rounds) = (false, 0);
        for (var round = 1; round <= 3 || round <= 5 && !shared; round++, rounds++)
        {
            var progress = projects.Select((p, i) => new ReportMilestoneProgressRequest
            {
                RequestId = NewRequestId(), ProjectId = p.ProjectId, MilestoneId = p.MilestoneId, Progress = 50 + round * 5 + i % 3,
            }).ToList();
            var (intruder, stale, backwards, repeated) = (projects[1], projects[2], projects[3], projects[4]);
            var failing = new (string Name, Func<Task> Call, StatusCode Expected)[]
            {
                ("another manager's project", () => projects[0].Client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
                {
                    RequestId = NewRequestId(), ProjectId = intruder.ProjectId, MilestoneId = intruder.MilestoneId, Progress = 99,
                }).ResponseAsync, StatusCode.PermissionDenied),
                ("a stale expected version", () => stale.Client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
                {
                    RequestId = NewRequestId(), ProjectId = stale.ProjectId, ExpectedVersion = 1, Status = ProjectStatus.OnHold, Reason = "stale",
                }).ResponseAsync, StatusCode.Aborted),
                ("progress going back without a reason", () => backwards.Client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
                {
                    RequestId = NewRequestId(), ProjectId = backwards.ProjectId, MilestoneId = backwards.MilestoneId, Progress = 1,
                }).ResponseAsync, StatusCode.InvalidArgument),
            };
            var results = Task.WhenAll(progress.Select((r, i) => Task.Run(async () => (await projects[i].Client.ReportMilestoneProgressAsync(r)).Result)));
            var repeat = Task.Run(async () => (await repeated.Client.ReportMilestoneProgressAsync(progress[4])).Result);   // a retry racing its original
            var crowd = Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () => (await client.PlanMilestoneAsync(new PlanMilestoneRequest
            {
                RequestId = NewRequestId(), ProjectId = crowded, Name = $"Round {round} writer {w}", Weight = 1, DueDate = "2026-09-30",
            })).Result)));
            var failures = failing.Select(f => Task.Run(async () =>
            {
                try { await f.Call(); return (f.Name, StatusCode.OK); }
                catch (RpcException e) { return (f.Name, e.StatusCode); }
            })).ToList();

            var answered = await results;
            Assert.Equal(failing.Select(f => (f.Name, f.Expected)), await Task.WhenAll(failures));
            var again = await repeat;
            Assert.Equal((answered[4].StreamId, answered[4].Version), (again.StreamId, again.Version));
            Assert.Single(new[] { answered[4], again }, r => r.Replayed);
            Assert.Equal(Enumerable.Range(1, 6).Select(v => crowdedVersion + v), (await crowd).Select(r => r.Version).Order());
            crowdedVersion += 6;

            // Each command's one event, after the project's version before the round, with its own author, correlation
            // and request; the failed commands wrote nothing.
            for (var i = 0; i < managers; i++)
            {
                Assert.Equal(projects[i].Version + 1, answered[i].Version);
                var history = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projects[i].ProjectId })).Events;
                Assert.Equal(projects[i].Version + 1, history.Count);
                var last = history[^1];
                Assert.Equal(progress[i].Progress, last.MilestoneProgressReported.Progress);
                Assert.Equal(($"pm.group{i}", $"corr-group{i}", progress[i].RequestId), (last.Envelope.Actor, last.Envelope.CorrelationId, last.Envelope.CausationId));
                projects[i] = projects[i] with { Version = answered[i].Version };
            }

            // Which transactions wrote the round's events (PostgreSQL's xmin of each row).
            await using var connection = new NpgsqlConnection(server.ConnectionString);
            await connection.OpenAsync();
            await using var writers = new NpgsqlCommand("select count(distinct xmin::text) from projects.mt_events where causation_id = any($1)", connection);
            writers.Parameters.AddWithValue(progress.Select(r => r.RequestId).ToArray());
            shared = (long)(await writers.ExecuteScalarAsync())! < managers;
        }
        Assert.True(shared, "no round had two commands committed in one transaction");
        // A group of several was recorded, as the transactions' ids showed. Every round's stale expected version and
        // progress going back without a reason left their group to run alone (for their version or decision, or for
        // meeting their stream's other command in the group), each counted with its reason; no group failed as a whole.
        Assert.Contains(groupSizes.GetMeasurementSnapshot(), m => m.Value >= 2);
        var reasons = alone.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["reason"]!).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Empty(reasons.Keys.Except(["version", "decision", "stream"]));
        Assert.True(reasons.Values.Sum() >= 2 * rounds, $"{reasons.Values.Sum()} commands counted alone in {rounds} rounds");
    }

    [Fact]
    public async Task A_project_locked_by_another_transaction_holds_up_its_own_commands_not_those_grouped_with_them()
    {
        // Five projects with a milestone each; the first two locked by a transaction left open elsewhere (an operator's
        // session, a client that died mid-transaction).
        var projects = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            var (projectId, version) = await RegisterActive(client);
            return (ProjectId: projectId, MilestoneId: await Plan(client, projectId), Reported: version + 2);   // planned, then reported
        }));
        var meters = server.Host.Services.GetRequiredService<IMeterFactory>();
        using var alone = new MetricCollector<long>(meters, "Regeneration.Commands", "regeneration.commands.alone");
        await using var database = new NpgsqlConnection(server.ConnectionString);
        await database.OpenAsync();
        await using var locks = await StreamLocks.HoldAsync(server.ConnectionString, "projects", [.. projects[..2].Select(p => p.ProjectId)]);
        async Task<long> WaitingOnLocks()
        {
            await using var count = new NpgsqlCommand(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'", database);
            return (long)(await count.ExecuteScalarAsync())!;
        }
        Task<ReportMilestoneProgressResponse> Report(int i) => client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projects[i].ProjectId, MilestoneId = projects[i].MilestoneId, Progress = 40,
        }).ResponseAsync;

        // A command on each locked project, the second sent once the first waits for its lock: between them they met
        // both of the service's group transactions under way.
        var held = new List<Task<ReportMilestoneProgressResponse>>();
        for (var i = 0; i < 2; i++)
        {
            held.Add(Report(i));
            for (var tries = 0; await WaitingOnLocks() <= i; tries++)
            {
                Assert.True(tries < 200, $"the command on locked project {i} never waited for its lock");
                await Task.Delay(50);
            }
        }
        // Commands on the other projects are answered while the locks are still held, and the locked ones are not.
        var free = Task.WhenAll(Enumerable.Range(2, 3).Select(Report));
        Assert.Same(free, await Task.WhenAny(free, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.Equal(projects[2..].Select(p => p.Reported), (await free).Select(r => r.Result.Version));
        Assert.All(held, t => Assert.False(t.IsCompleted));

        // Released, the locked projects' commands land, each once; the groups that waited were counted, and ran alone.
        await locks.ReleaseAsync();
        Assert.Equal(projects[..2].Select(p => p.Reported), (await Task.WhenAll(held)).Select(r => r.Result.Version));
        Assert.Contains(alone.GetMeasurementSnapshot(), m => (string)m.Tags["reason"]! == "group");
        var written = await Task.WhenAll(projects.Select(async p => (p.Reported, Events: (long)(await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = p.ProjectId })).Events.Count)));
        const string scenario = "Two projects locked by a transaction left open, commands on them and on three others";
        ReliabilityFigures.Record(scenario, ReliabilityFigures.RequestsUnderFault, projects.Length);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.FaultsInjected, 1);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, projects.Length);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated, written.Sum(w => Math.Abs(w.Events - w.Reported)));
        Assert.All(written, w => Assert.Equal(w.Reported, w.Events));
        // The connections whose transactions gave up waiting serve the next commands as before.
        for (var round = 1; round <= 3; round++)
            Assert.Equal(projects.Select(p => p.Reported + round), (await Task.WhenAll(projects.Select((_, i) => Report(i)))).Select(r => r.Result.Version));
    }

    [Fact]
    public async Task A_command_on_a_project_locked_elsewhere_for_too_long_is_aborted_writes_nothing_and_lands_when_retried()
    {
        var (projectId, registered) = await RegisterActive(client);
        var milestoneId = await Plan(client, projectId);
        var planned = registered + 1;
        await using var locks = await StreamLocks.HoldAsync(server.ConnectionString, "projects", projectId);

        // Two commands while the lock is held, one with an expected version (it locked the stream only when it wrote,
        // and that wait was retried without a bound), one without. Each gives up waiting (alone 5 s, after 2 s in a
        // group if it was in one) with ABORTED, long before its deadline.
        var withVersion = new ReportMilestoneProgressRequest
        {
            RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 30, ExpectedVersion = planned,
        };
        var without = new ReportMilestoneProgressRequest { RequestId = NewRequestId(), ProjectId = projectId, MilestoneId = milestoneId, Progress = 60 };
        var failures = await Task.WhenAll(new[] { withVersion, without }.Select(request => Assert.ThrowsAsync<RpcException>(() =>
            client.ReportMilestoneProgressAsync(request, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync)));
        Assert.All(failures, e => Assert.Equal((StatusCode.Aborted, "LOCK_TIMEOUT"), (e.StatusCode, e.Detail<ErrorInfo>()?.Reason)));
        var history = await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId });
        Assert.Equal(planned, history.Events.Count);   // nothing written

        // Once the lock is gone, each retried with its request id lands once; a second retry is replayed.
        await locks.ReleaseAsync();
        Assert.Equal(planned + 1, (await client.ReportMilestoneProgressAsync(withVersion)).Result.Version);
        Assert.Equal(planned + 2, (await client.ReportMilestoneProgressAsync(without)).Result.Version);
        var again = await Task.WhenAll(new[] { withVersion, without }.Select(r => client.ReportMilestoneProgressAsync(r).ResponseAsync));
        Assert.Equal([(planned + 1, true), (planned + 2, true)], again.Select(r => (r.Result.Version, r.Result.Replayed)));
        var events = (await client.GetProjectHistoryAsync(new GetProjectHistoryRequest { ProjectId = projectId })).Events;
        const string scenario = "A project locked by a transaction left open beyond the commands' waits, then retried";
        ReliabilityFigures.Record(scenario, ReliabilityFigures.RequestsUnderFault, 2);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.FaultsInjected, 1);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.WritesChecked, 2);
        ReliabilityFigures.Record(scenario, ReliabilityFigures.LostOrDuplicated,
            new[] { withVersion, without }.Sum(r => Math.Abs(events.Count(e => e.Envelope.CausationId == r.RequestId) - 1)));
        Assert.All(new[] { withVersion, without }, r => Assert.Single(events, e => e.Envelope.CausationId == r.RequestId));
        Assert.Equal(60, (await client.GetProjectAsync(new GetProjectRequest { ProjectId = projectId })).Project.Milestones.Single().Progress);
    }
}
