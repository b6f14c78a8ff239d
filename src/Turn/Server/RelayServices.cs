using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>What the TURN handlers work with; without it the server answers STUN Binding only.</summary>
internal sealed record RelayServices(
    Authenticator Authenticator,
    AllocationTable Allocations,
    IRelayPorts Ports,
    PeerFilter Peers,
    RelayLimits Limits,
    RelayAddressMap AddressMap,
    SourceBudget? UnauthenticatedBudget = null)
{
    /// <summary>While draining, new Allocates are refused with 403 and the rest goes on.</summary>
    /// <summary>Shared by every reloaded snapshot, so a reload neither starts nor ends a drain.</summary>
    public DrainSwitch Drain { get; init; } = new();

    public bool Draining
    {
        get => Drain.On;
        set => Drain.On = value;
    }

    /// <summary>Where new Allocates are sent while draining (300 Try Alternate); null: 403.</summary>
    public StunAddress? AlternateServer { get; init; }
}
