using System.Net.Sockets;

namespace Turn.Relay;

/// <summary>Opens relay sockets in the configured port range (RFC 8656 §7.2 steps 6-7).</summary>
internal interface IRelayPorts
{
    /// <summary>Families for which a relay address is configured.</summary>
    bool Supports(AddressFamily family);

    /// <summary>
    /// Binds a relay socket. With <paramref name="evenPort"/> the port is even; with
    /// <paramref name="reserveNext"/> the next port is held too and a token for it returned
    /// (RFC 8656 §7.2, EVEN-PORT). Null when no port could be had.
    /// </summary>
    IRelayEndpoint? Open(AddressFamily family, bool evenPort, bool reserveNext, bool dontFragment, out ulong reservationToken);

    /// <summary>Takes the socket held for <paramref name="token"/>; null when the token is unknown or expired.</summary>
    IRelayEndpoint? TakeReserved(ulong token);
}
