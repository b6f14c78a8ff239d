using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Configuration;
using Turn.Hosting;

namespace Turn.Cli;

/// <summary>The `turn` command line: serve, check-config, probe, --version, --help.</summary>
internal static class TurnCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("turn: a STUN/TURN relay and WebRTC signaling server.");
        root.Add(ServeCommand());
        root.Add(CheckConfigCommand());
        root.Add(ProbeCommand());
        root.Add(CredentialsCommand.Build());
        root.Add(DrainCommand.Build());
        return root;
    }

    private static Command ServeCommand()
    {
        var config = new Option<FileInfo?>("--config", "-c")
        {
            Description = "JSON configuration file (see turn.example.json). Without it, built-in defaults apply. TURN_* environment variables override either.",
        };
        var command = new Command("serve", "Run the server. SIGTERM drains (Drain:ShutdownSeconds) and stops, SIGINT stops at once, SIGHUP reloads the configuration, SIGUSR1 drains.") { config };
        command.SetAction((parse, token) => ServeAsync(parse.GetValue(config)?.FullName, token));
        return command;
    }

    private static Command CheckConfigCommand()
    {
        var file = new Argument<FileInfo?>("file") { Description = "The JSON configuration file to check; without it, the built-in defaults and TURN_* environment.", Arity = ArgumentArity.ZeroOrOne };
        var show = new Option<bool>("--show") { Description = "Also print every key's effective value and where it came from (default, file, or environment variable); secrets are masked." };
        var command = new Command("check-config", "Check a configuration (file and TURN_* environment) and print every problem, naming the key and the value.") { file, show };
        command.SetAction(parse =>
        {
            string? path = parse.GetValue(file)?.FullName;
            string name = path ?? "built-in defaults";
            ValidationResult result = TurnConfiguration.Load(path, out _);
            if (parse.GetValue(show))
            {
                int width = result.Entries.Count == 0 ? 0 : result.Entries.Max(e => e.Key.Length);
                foreach (ConfigEntry entry in result.Entries)
                {
                    Console.Out.WriteLine($"{entry.Key.PadRight(width)} = {entry.Value}    ({entry.Source})");
                }
            }

            foreach (string warning in result.Warnings)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }

            if (result.IsValid)
            {
                Console.Out.WriteLine($"{name}: configuration is valid");
                Console.Out.WriteLine($"mode: {LocalDefault.Describe(result.Options)}");
                return 0;
            }

            foreach (string error in result.Errors)
            {
                Console.Error.WriteLine(error);
            }

            Console.Error.WriteLine($"{name}: {result.Errors.Count} problem(s)");
            return 2;
        });
        return command;
    }

    private static Command ProbeCommand()
    {
        var uri = new Argument<string>("uri") { Description = "stun:HOST[:PORT][?transport=udp|tcp] or stuns:HOST[:PORT]" };
        var timeout = new Option<double>("--timeout", "-t") { Description = "Seconds to wait for the answer.", DefaultValueFactory = _ => 5 };
        var caFile = new Option<FileInfo?>("--ca-file") { Description = "For stuns: trust this PEM CA or self-signed certificate." };
        var insecure = new Option<bool>("--insecure", "-k") { Description = "For stuns: accept any server certificate." };
        var command = new Command("probe", "Send a STUN Binding request and print the mapped address and round-trip time.")
        {
            uri, timeout, caFile, insecure,
        };
        command.SetAction(async (parse, token) =>
        {
            if (!ProbeTarget.TryParse(parse.GetValue(uri)!, out ProbeTarget? target, out string error))
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
                return 2;
            }

            var probe = new StunProbe(Console.Out) { CaFile = parse.GetValue(caFile)?.FullName, Insecure = parse.GetValue(insecure) };
            return await probe.RunAsync(target!, TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(timeout))), token).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> ServeAsync(string? configFile, CancellationToken cancellationToken)
    {
        ExceptionCount.Install();
        ValidationResult result = TurnConfiguration.Load(configFile, out IConfigurationRoot? configuration);
        if (!result.IsValid)
        {
            foreach (string error in result.Errors)
            {
                await Console.Error.WriteLineAsync($"configuration error: {error}").ConfigureAwait(false);
            }

            return 2;
        }

        using IHost host = DaemonComposition.CreateHost(result.Options, configuration!, configFile);
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"turn: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
