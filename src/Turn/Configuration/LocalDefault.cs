using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace Turn.Configuration;

/// <summary>
/// What the daemon does when no TURN credentials are configured (no Auth:Users, no Auth:Secrets):
/// the local default, in which a fresh `turn serve` shows STUN, TURN and signaling working on the
/// machine it runs on and on no other. TURN REST credentials are minted from a secret generated at
/// start (in memory for the life of the process, never logged or written) and handed out only by
/// signaling and the HTTP API, which then answer on loopback alone: a wildcard Http:Urls address
/// is served on localhost (127.0.0.1 and ::1), any other address that reaches beyond this host on
/// the loopback address of its family. TURN itself
/// listens as configured, so STUN works for everyone while allocations need credentials that only
/// this host's clients can get.
/// </summary>
internal static class LocalDefault
{
    private static readonly Lazy<string> GeneratedSecret = new(() => Base64Url(RandomNumberGenerator.GetBytes(32)));

    /// <summary>The options as the daemon runs them: unchanged when credentials are configured.</summary>
    public static TurnOptions Apply(TurnOptions options, ConfigReader reader)
    {
        if (options.Auth.Users.Count > 0 || options.Auth.Secrets.Count > 0)
        {
            return options;
        }

        var urls = new List<string>(options.Http.Urls.Count);
        foreach (string url in options.Http.Urls)
        {
            string local = OnLoopback(url);
            if (local != url)
            {
                reader.Warning($"Http:Urls: \"{url}\" is served as \"{local}\": without Auth:Secrets or Auth:Users the HTTP side answers on loopback only");
            }

            urls.Add(local);
        }

        return options with
        {
            Auth = options.Auth with { Secrets = [GeneratedSecret.Value], SecretGenerated = true },
            Http = options.Http with { Urls = urls },
        };
    }

    /// <summary>One line for `turn check-config` and the start-up log: which mode the configuration gives.</summary>
    public static string Describe(TurnOptions options)
    {
        if (options.Auth.SecretGenerated)
        {
            string http = options.Http.Urls.Count == 0 ? "no HTTP listener" : "HTTP on " + string.Join(", ", options.Http.Urls);
            return "local default, for development on this host (no Auth:Secrets or Auth:Users): TURN credentials from a secret generated at start, for clients on this host only; "
                + http + ". To serve other machines, set Auth:Secrets (a long random string, e.g. from `openssl rand -base64 32`).";
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"serving: {options.Auth.Secrets.Count} shared secret(s) and {options.Auth.Users.Count} static user(s) for TURN credentials");
    }

    /// <summary>The URL with a host that only this machine reaches: localhost for a wildcard or a name, else 127.0.0.1 or [::1] for its family.</summary>
    internal static string OnLoopback(string url)
    {
        var uri = new Uri(url);
        string host = uri.Host.Trim('[', ']');
        string local;
        if (IPAddress.TryParse(host, out IPAddress? address))
        {
            if (IPAddress.IsLoopback(address))
            {
                return url;
            }

            local = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "localhost"
                : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[::1]" : "127.0.0.1";
        }
        else
        {
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                return url;
            }

            // Kestrel binds every address for a name other than localhost (and for * or +).
            local = "localhost";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{uri.Scheme}://{local}:{uri.Port}");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
