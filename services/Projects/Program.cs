return await Regeneration.ServiceDefaults.ServiceHosting.RunAsync(args, Regeneration.Projects.ProjectsApp.Build);
