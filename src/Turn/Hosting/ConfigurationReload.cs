using Microsoft.Extensions.Logging;
using Turn.Configuration;
using Turn.Transport;

namespace Turn.Hosting;

/// <summary>
/// SIGHUP and POST /admin/reload: reads the configuration again into a whole new validated
/// snapshot, keeps what takes a restart as it runs (<see cref="RestartOnly"/>) and swaps the rest
/// in: secrets and users, peer lists, quotas, signaling limits and keys, ICE servers, the drain
/// target and the TLS certificate. A configuration with any problem is refused whole and the old
/// one stays. Allocations and WebSocket sessions in flight are untouched.
/// </summary>
internal sealed class ConfigurationReload(string? configFile, TurnSnapshot snapshot, Func<CertificateHolder?> certificate, ILogger logger)
{
    public (bool Ok, IReadOnlyList<string> Problems) Reload(string source)
    {
        ValidationResult result = TurnConfiguration.Load(configFile, out _);
        if (!result.IsValid)
        {
            HostingLog.ReloadRefused(logger, source, string.Join("; ", result.Errors));
            return (false, result.Errors);
        }

        TurnOptions running = snapshot.Current;
        TurnOptions next = result.Options;
        CertificateHolder? holder = certificate();
        System.Security.Cryptography.X509Certificates.X509Certificate2? loaded = null;
        if (holder is not null && next.Tls.CertificateFile is not null)
        {
            try
            {
                loaded = CertificateHolder.Load(next.Tls.CertificateFile, next.Tls.PrivateKeyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                string problem = $"Tls:CertificateFile: \"{next.Tls.CertificateFile}\" cannot be loaded: {e.Message}";
                HostingLog.ReloadRefused(logger, source, problem);
                return (false, [problem]);
            }
        }

        foreach (string key in RestartOnly.Changes(running, next))
        {
            HostingLog.ReloadNeedsRestart(logger, key);
        }

        // What takes a restart stays as it runs, in everything built from the snapshot: the peer
        // filter must keep judging by the ports and addresses actually bound.
        TurnOptions effective = RestartOnly.Keep(running, next);
        if (loaded is not null)
        {
            holder!.Swap(loaded);
        }

        foreach (string warning in effective.Relay.ReachableHostRanges())
        {
            HostingLog.PeerPolicyWarning(logger, warning);
        }

        snapshot.Swap(effective);
        HostingLog.Reloaded(logger, source);
        return (true, []);
    }
}
