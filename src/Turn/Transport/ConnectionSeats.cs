using System.Net;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// TCP and TLS connections open per client address, across every listener, so that one address
/// holds at most its share of the server however many ports it connects to. An IPv6 client counts
/// by its /64, which one host or site holds; an IPv4-mapped client as its IPv4 address.
/// </summary>
internal sealed class ConnectionSeats(int perAddress)
{
    private readonly Dictionary<UInt128, int> _held = [];

    public int PerAddress => perAddress;

    /// <summary>The key a client address counts under.</summary>
    public static UInt128 KeyOf(EndPoint? remote)
    {
        if (remote is not IPEndPoint endPoint)
        {
            return UInt128.Zero;
        }

        StunAddress address = StunAddress.FromIPEndPoint(endPoint);
        if (AddressCanonicalizer.IsIPv4Mapped(address))
        {
            address = AddressCanonicalizer.Canonicalize(address);
        }

        return address.IsIPv4 ? new UInt128(1, (ulong)address.Address) : address.Address & new UInt128(ulong.MaxValue, 0);
    }

    /// <summary>Takes a seat for the address; false when it already holds its share.</summary>
    public bool TryTake(UInt128 key)
    {
        lock (_held)
        {
            _held.TryGetValue(key, out int held);
            if (held >= perAddress)
            {
                return false;
            }

            _held[key] = held + 1;
            return true;
        }
    }

    public void Release(UInt128 key)
    {
        lock (_held)
        {
            if (_held.TryGetValue(key, out int held) && held > 1)
            {
                _held[key] = held - 1;
            }
            else
            {
                _held.Remove(key);
            }
        }
    }
}
