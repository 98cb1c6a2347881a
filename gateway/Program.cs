Regeneration.Gateway.GatewayApp.Build(args).Run();
