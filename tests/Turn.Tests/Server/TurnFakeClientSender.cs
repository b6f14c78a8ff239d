using Turn.Relay;

namespace Turn.Tests.Server;

/// <summary>Records the packets relayed back to one client.</summary>
internal sealed class TurnFakeClientSender : IClientSender
{
    public List<byte[]> Sent { get; } = [];

    public bool Send(ReadOnlySpan<byte> packet)
    {
        Sent.Add(packet.ToArray());
        return true;
    }
}
