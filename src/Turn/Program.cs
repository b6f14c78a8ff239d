using Turn.Hosting;

return await TurnCli.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
