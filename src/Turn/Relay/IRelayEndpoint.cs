using Turn.Wire;

namespace Turn.Relay;

/// <summary>An allocation's relayed transport address: a UDP socket bound to a relay address and port.</summary>
internal interface IRelayEndpoint : IDisposable
{
    /// <summary>The address the socket is bound to.</summary>
    StunAddress Local { get; }

    /// <summary>Sends one datagram to a peer; false when the send failed (the failure is counted, the allocation lives on).</summary>
    bool SendTo(ReadOnlySpan<byte> data, StunAddress peer);

    /// <summary>Starts reading datagrams from peers for <paramref name="allocation"/>.</summary>
    void Start(Allocation allocation);
}
