using Turn.Relay;
using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>A relay socket that sends nothing: what reaches it has passed every check of the handler.</summary>
internal sealed class FuzzRelayEndpoint(StunAddress local) : IRelayEndpoint
{
    public StunAddress Local { get; } = local;

    public bool SendTo(ReadOnlySpan<byte> data, StunAddress peer)
    {
        Invariant.Holds(data.Length <= ushort.MaxValue, "a relayed datagram fits UDP");
        return true;
    }

    public void Start(Allocation allocation)
    {
    }

    public void Dispose()
    {
    }
}
