Regeneration.Projects.ProjectsApp.Build(args).Run();
