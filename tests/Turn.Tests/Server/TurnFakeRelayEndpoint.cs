using Turn.Relay;
using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>A relay socket that records what it is asked to send instead of sending it; nothing leaves the process.</summary>
internal sealed class TurnFakeRelayEndpoint(StunAddress local) : IRelayEndpoint
{
    public StunAddress Local { get; } = local;

    public List<(byte[] Data, StunAddress Peer)> Sent { get; } = [];

    /// <summary>What <see cref="SendTo"/> answers, to stand for a socket error.</summary>
    public bool SendSucceeds { get; set; } = true;

    public Allocation? StartedFor { get; private set; }

    public bool Disposed { get; private set; }

    public bool SendTo(ReadOnlySpan<byte> data, StunAddress peer)
    {
        Sent.Add((data.ToArray(), peer));
        return SendSucceeds;
    }

    public void Start(Allocation allocation) => StartedFor = allocation;

    public void Dispose() => Disposed = true;
}
