using System.CommandLine;
using Turn.Hosting;
using Turn.Cli;

// The daemon handles its own signals (SIGTERM drains first); the parser's handler would cancel at once.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await TurnCli.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
