return await Regeneration.ServiceDefaults.ServiceHosting.RunAsync(args, Regeneration.Budget.BudgetApp.Build);
