return await Regeneration.ServiceDefaults.ServiceHosting.RunAsync(args, Regeneration.Gateway.GatewayApp.Build);
