// Usage: Regeneration.DemoData [projects-url] [budget-url] [kpi-url]
//   defaults: http://127.0.0.1:5101 http://127.0.0.1:5102 http://127.0.0.1:5103 ("-" skips that service's data)
using Grpc.Net.Client;
using Regeneration.Budget.V1;
using Regeneration.DemoData;
using Regeneration.Kpi.V1;
using Regeneration.Projects.V1;

var projectsUrl = args.Length > 0 ? args[0] : "http://127.0.0.1:5101";
var budgetUrl = args.Length > 1 ? args[1] : "http://127.0.0.1:5102";
var kpiUrl = args.Length > 2 ? args[2] : "http://127.0.0.1:5103";
using var projects = GrpcChannel.ForAddress(projectsUrl);
using var budget = budgetUrl == "-" ? null : GrpcChannel.ForAddress(budgetUrl);
using var kpi = kpiUrl == "-" ? null : GrpcChannel.ForAddress(kpiUrl);
var summary = await DemoPortfolio.SeedAsync(new ProjectService.ProjectServiceClient(projects),
    budget is null ? null : new BudgetService.BudgetServiceClient(budget),
    kpi is null ? null : new KpiService.KpiServiceClient(kpi));
Console.WriteLine($"Demo portfolio: {summary.Projects} projects, {summary.Milestones} milestones; " +
                  $"{summary.Written} commands written, {summary.Replayed} already there, " +
                  $"{summary.Refused} over-commitments refused as designed.");
