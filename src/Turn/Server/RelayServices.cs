using Turn.Auth;
using Turn.Relay;

namespace Turn.Server;

/// <summary>What the TURN handlers work with; without it the server answers STUN Binding only.</summary>
internal sealed record RelayServices(
    Authenticator Authenticator,
    AllocationTable Allocations,
    IRelayPorts Ports,
    PeerFilter Peers,
    RelayLimits Limits,
    RelayAddressMap AddressMap,
    RequestRateLimiter? UnauthenticatedLimit = null)
{
    /// <summary>While draining, new Allocates are refused with 403 and the rest goes on.</summary>
    public bool Draining { get; set; }
}
