using Microsoft.Extensions.Logging;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>Log events of start-up and shutdown, ids 1000-1099.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "turn {Version} starting")]
    public static partial void Starting(ILogger logger, string version);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "TLS is listed in Listen:Transports but Tls:CertificateFile is not set; TLS stays off")]
    public static partial void TlsWithoutCertificate(ILogger logger);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "IPv6 is not available on this host; skipping {EndPoint}")]
    public static partial void Ipv6Unavailable(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Critical, Message = "Cannot listen on {Protocol} {EndPoint}: {Error}")]
    public static partial void BindFailed(ILogger logger, string protocol, string endPoint, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "RFC 5780 NAT behaviour discovery on: primary {Primary}, alternate {Alternate}")]
    public static partial void NatBehaviorOn(ILogger logger, string primary, string alternate);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "turn stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Running the {Mode}")]
    public static partial void LocalDefault(ILogger logger, string mode);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information, Message = "TURN over TLS shares port {Port} with HTTPS: connections that negotiate ALPN stun.turn or open with a STUN message are TURN, the rest HTTP")]
    public static partial void SharedTlsPort(ILogger logger, int port);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Relaying from {Address}, ports {MinPort}-{MaxPort}")]
    public static partial void RelayAddress(ILogger logger, string address, int minPort, int maxPort);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Relay:UnsafeAllowLoopbackPeers is on: allocations may reach this host's loopback services. For tests only.")]
    public static partial void LoopbackPeersAllowed(ILogger logger);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "This host's addresses ({Trigger}): {Addresses}; peers on them are refused, bar other allocations' relays")]
    public static partial void HostAddressesChanged(ILogger logger, string trigger, string addresses);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Cannot read this host's interface addresses: {Error}; the last known set stays")]
    public static partial void HostAddressesUnreadable(ILogger logger, string error);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Peer policy: {Warning}")]
    public static partial void PeerPolicyWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "HTTP answers requests for {Hosts}; others get 400 (Http:AllowedHosts)")]
    public static partial void AllowedHosts(ILogger logger, string hosts);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Signaling admits {Admission}")]
    public static partial void Admission(ILogger logger, string admission);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning, Message = "Signal:UnsafeOpenAdmission is on: anyone who reaches the HTTP port can join rooms and get TURN credentials, within the per-address limits")]
    public static partial void OpenAdmission(ILogger logger);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Draining ({Source}): new allocations and joins are refused; {Allocations} allocations left; exiting when they end or in {Seconds} s")]
    public static partial void Draining(ILogger logger, string source, int allocations, int seconds);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Drain done with {Allocations} allocations left; stopping")]
    public static partial void Drained(ILogger logger, int allocations);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Information, Message = "Configuration reloaded ({Source})")]
    public static partial void Reloaded(ILogger logger, string source);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Error, Message = "Configuration reload ({Source}) refused, the running configuration stays: {Problems}")]
    public static partial void ReloadRefused(ILogger logger, string source, string problems);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Warning, Message = "Reload: a change to {Key} takes a restart; kept as it was")]
    public static partial void ReloadNeedsRestart(ILogger logger, string key);

    [LoggerMessage(EventId = 1025, Level = LogLevel.Error, Message = "Watchdog pings withheld: {Reason}")]
    public static partial void WatchdogWithheld(ILogger logger, string reason);

    [LoggerMessage(EventId = 1026, Level = LogLevel.Warning, Message = "Could not notify systemd: {Reason}")]
    public static partial void NotifyFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1027, Level = LogLevel.Information, Message = "UDP data plane: {Name}, {Threads} thread(s)")]
    public static partial void DataPlane(ILogger logger, string name, int threads);
}
