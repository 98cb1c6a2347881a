// Usage: Regeneration.DemoData [projects-service-url]   (default http://127.0.0.1:5101)
using Grpc.Net.Client;
using Regeneration.DemoData;
using Regeneration.Projects.V1;

var address = args.Length > 0 ? args[0] : "http://127.0.0.1:5101";
using var channel = GrpcChannel.ForAddress(address);
var summary = await DemoPortfolio.SeedAsync(new ProjectService.ProjectServiceClient(channel));
Console.WriteLine($"Demo portfolio: {summary.Projects} projects, {summary.Milestones} milestones; " +
                  $"{summary.Written} commands written, {summary.Replayed} already there.");
