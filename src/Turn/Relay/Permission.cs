using System.Net.Sockets;

namespace Turn.Relay;

/// <summary>RFC 8656 §9: leave for one peer IP address (ports do not matter) to exchange data, until it expires.</summary>
internal struct Permission
{
    public AddressFamily Family;
    public UInt128 Address;
    public long ExpiresAt;
}
