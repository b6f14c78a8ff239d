using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// For a server behind 1:1 NAT: relay sockets bind the private address while clients are told the
/// external one (XOR-RELAYED-ADDRESS), and a peer address naming the external one is mapped back.
/// </summary>
internal sealed class RelayAddressMap(IReadOnlyList<(StunAddress Private, StunAddress External)> pairs)
{
    public static RelayAddressMap None { get; } = new([]);

    public StunAddress ToExternal(StunAddress local)
    {
        foreach ((StunAddress inner, StunAddress outer) in pairs)
        {
            if (inner.Family == local.Family && inner.Address == local.Address)
            {
                return new StunAddress(outer.Family, outer.Address, local.Port);
            }
        }

        return local;
    }

    public StunAddress ToInternal(StunAddress peer)
    {
        foreach ((StunAddress inner, StunAddress outer) in pairs)
        {
            if (outer.Family == peer.Family && outer.Address == peer.Address)
            {
                return new StunAddress(inner.Family, inner.Address, peer.Port);
            }
        }

        return peer;
    }
}
