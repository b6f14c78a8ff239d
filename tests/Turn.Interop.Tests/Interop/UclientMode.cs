namespace Turn.Tests.Interop;

/// <summary>The turnutils_uclient runs that must relay every message: one per transport, method and option it has.</summary>
public enum UclientMode
{
    /// <summary>UDP to the server, data in ChannelData messages (the default).</summary>
    UdpChannels,

    /// <summary>-s: Send and Data indications instead of channels.</summary>
    UdpSendIndications,

    /// <summary>-t: TCP to the server.</summary>
    TcpChannels,

    /// <summary>-t -S: TLS over TCP to the server (plain -S would be DTLS, which is not served).</summary>
    TlsChannels,

    /// <summary>-W: TURN REST credentials minted from the shared secret instead of a static user.</summary>
    RestSecret,

    /// <summary>-x: an IPv6 relayed address (REQUESTED-ADDRESS-FAMILY) to an IPv6 peer.</summary>
    Ipv6Relay,

    /// <summary>-Z: dual allocation (ADDITIONAL-ADDRESS-FAMILY), relaying to an IPv4 peer.</summary>
    DualAllocation,

    /// <summary>-Z -x: dual allocation preferring IPv6, relaying to an IPv6 peer.</summary>
    DualAllocationToIpv6Peer,

    /// <summary>-y: client to client, each allocation the other's peer.</summary>
    ClientToClient,

    /// <summary>-c: no RTCP allocation next to each RTP one (no EVEN-PORT, no RESERVATION-TOKEN).</summary>
    NoRtcp,

    /// <summary>UDP to the server's ::1 listener, IPv6 relay, IPv6 peer.</summary>
    UdpOverIpv6,

    /// <summary>TCP to the server's ::1 listener with no family requested: the relay is IPv4 (RFC 8656 §7.2).</summary>
    TcpOverIpv6ToIpv4Relay,

    /// <summary>TLS to the server's ::1 listener, IPv6 relay, IPv6 peer.</summary>
    TlsOverIpv6,
}
