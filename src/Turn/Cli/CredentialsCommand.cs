using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Turn.Auth;
using Turn.Configuration;

namespace Turn.Cli;

/// <summary>`turn credentials`: mints TURN REST credentials the server will accept, and the iceServers entry for a browser.</summary>
internal static class CredentialsCommand
{
    public static Command Build()
    {
        var secret = new Option<string?>("--secret", "-s") { Description = "The shared secret (one of Auth:Secrets). Default: the first secret of --config, or TURN_Auth__Secrets." };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "Take the secret from this configuration file." };
        var user = new Option<string?>("--user", "-u") { Description = "The user the credentials are for (part of the username)." };
        var ttl = new Option<string>("--ttl") { Description = "How long they stay valid: seconds, or a number with s, m, h or d.", DefaultValueFactory = _ => "24h" };
        var urls = new Option<string[]>("--url") { Description = "TURN URIs for the iceServers entry, e.g. turn:turn.example.org:3478?transport=udp. Repeatable.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("credentials", "Mint TURN REST credentials (coturn's use-auth-secret scheme) and print them with an iceServers entry.")
        {
            secret, config, user, ttl, urls,
        };
        command.SetAction(parse =>
        {
            if (!TryParseDuration(parse.GetValue(ttl)!, out TimeSpan lifetime))
            {
                Console.Error.WriteLine($"--ttl: \"{parse.GetValue(ttl)}\" is not a duration such as 3600, 30m, 1h or 7d");
                return 2;
            }

            string? problem = null;
            string? key = parse.GetValue(secret) ?? SecretFromConfig(parse.GetValue(config)?.FullName, out problem);
            if (string.IsNullOrEmpty(key))
            {
                Console.Error.WriteLine(problem ?? "no secret: give --secret, or --config with Auth:Secrets");
                return 2;
            }

            long expiry = DateTimeOffset.UtcNow.Add(lifetime).ToUnixTimeSeconds();
            string username = RestCredentials.Username(expiry, parse.GetValue(user));
            string password = RestCredentials.Password(key, username);
            string[] uris = parse.GetValue(urls) ?? [];
            Console.Out.WriteLine($"username: {username}");
            Console.Out.WriteLine($"password: {password}");
            Console.Out.WriteLine($"expires:  {DateTimeOffset.FromUnixTimeSeconds(expiry):u}");
            string[] listed = uris.Length > 0 ? uris : ["turn:HOST:3478?transport=udp", "turn:HOST:3478?transport=tcp"];
            var entry = new System.Text.Json.Nodes.JsonObject
            {
                ["urls"] = new System.Text.Json.Nodes.JsonArray([.. listed.Select(u => (System.Text.Json.Nodes.JsonNode)u)]),
                ["username"] = username,
                ["credential"] = password,
            };
            Console.Out.WriteLine(entry.ToJsonString());
            return 0;
        });
        return command;
    }

    private static string? SecretFromConfig(string? file, out string? problem)
    {
        problem = null;
        ValidationResult result = TurnConfiguration.Load(file, out _);
        if (!result.IsValid)
        {
            problem = result.Errors[0];
            return null;
        }

        return result.Options.Auth.Secrets.Count > 0 ? result.Options.Auth.Secrets[0] : null;
    }

    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        double unit = char.ToLowerInvariant(text[^1]) switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => 0,
        };
        string number = unit == 0 ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value <= 0 || value > 3650 * 86400.0)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(value * (unit == 0 ? 1 : unit));
        return true;
    }
}
