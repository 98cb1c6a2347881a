return await Regeneration.ServiceDefaults.ServiceHosting.RunAsync(args, Regeneration.Kpi.KpiApp.Build);
