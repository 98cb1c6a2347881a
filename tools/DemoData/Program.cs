// Usage: Regeneration.DemoData [projects-url] [budget-url] [kpi-url]
//   defaults: http://127.0.0.1:5101 http://127.0.0.1:5102 http://127.0.0.1:5103 ("-" skips that service's data)
// Calls as the admin "demo-loader", with a token signed by REGENERATION_SIGNING_KEY (the services'
// Auth:SigningKey), or by the development key when it is not set.
using Grpc.Core;
using Grpc.Net.Client;
using Regeneration.ServiceDefaults;
using Regeneration.Budget.V1;
using Regeneration.DemoData;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;

var projectsUrl = args.Length > 0 ? args[0] : "http://127.0.0.1:5101";
var budgetUrl = args.Length > 1 ? args[1] : "http://127.0.0.1:5102";
var kpiUrl = args.Length > 2 ? args[2] : "http://127.0.0.1:5103";
var auth = new AuthOptions { SigningKey = Environment.GetEnvironmentVariable("REGENERATION_SIGNING_KEY") ?? "" };
var token = new TokenIssuer(auth, auth.Key(development: true), TimeProvider.System).Issue("demo-loader", [Roles.Admin]);
GrpcChannel Channel(string url) => GrpcChannel.ForAddress(url, new GrpcChannelOptions
{
    Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
    {
        metadata.Add("Authorization", $"Bearer {token}");
        return Task.CompletedTask;
    })),
    UnsafeUseInsecureChannelCallCredentials = true,
});
using var projects = Channel(projectsUrl);
using var budget = budgetUrl == "-" ? null : Channel(budgetUrl);
using var kpi = kpiUrl == "-" ? null : Channel(kpiUrl);
var summary = await DemoPortfolio.SeedAsync(new ProjectService.ProjectServiceClient(projects),
    budget is null ? null : new BudgetService.BudgetServiceClient(budget),
    kpi is null ? null : new KpiService.KpiServiceClient(kpi));
Console.WriteLine($"Demo portfolio: {summary.Projects} projects, {summary.Milestones} milestones; " +
                  $"{summary.Written} commands written, {summary.Replayed} already there, " +
                  $"{summary.Refused} over-commitments refused as designed" +
                  (summary.Skipped > 0 ? $"; {summary.Skipped} projects left as an earlier loader wrote them." : "."));
