namespace Turn.Relay;

/// <summary>
/// Why <see cref="PeerFilter"/> allowed or denied a peer, for counting and Debug logging.
/// The allowing verdicts come first; <see cref="PeerFilter.Allows"/> tells the two kinds apart.
/// </summary>
internal enum PeerVerdict
{
    /// <summary>A public address matched by no rule.</summary>
    Allowed = 0,

    /// <summary>Another allocation's relayed address on this server (own address, port in the relay range).</summary>
    AllowedOwnRelay,

    /// <summary>Inside an operator-allowed prefix.</summary>
    AllowedByAllowList,

    /// <summary>A loopback peer while the test-only loopback switch is on.</summary>
    AllowedLoopback,

    /// <summary>The unspecified address (0.0.0.0, ::), port 0, or an address family other than IPv4 and IPv6.</summary>
    DeniedUnspecified,

    /// <summary>One of the server's own listening endpoints: relaying there would loop.</summary>
    DeniedOwnListener,

    /// <summary>One of the server's own addresses on a port outside the relay range.</summary>
    DeniedOwnAddress,

    /// <summary>Inside a denied prefix, in the literal or the canonical form.</summary>
    DeniedByDenyList,
}
