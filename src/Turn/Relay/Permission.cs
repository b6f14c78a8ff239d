using System.Net.Sockets;

namespace Turn.Relay;

/// <summary>RFC 8656 §9: leave for one peer IP address (ports do not matter) to exchange data, until it expires.</summary>
internal struct Permission
{
    // The 16-byte address first, so the struct packs into 32 bytes.
    public UInt128 Address;
    public long ExpiresAt;
    public AddressFamily Family;
}
