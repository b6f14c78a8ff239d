using Turn.Relay;
using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>The listener an Allocate arrives on: one recording sender per client address, and the allocations attached.</summary>
internal sealed class TurnFakeClientTransport : IClientTransport
{
    public Dictionary<StunAddress, TurnFakeClientSender> Senders { get; } = [];

    public List<Allocation> Attached { get; } = [];

    public IClientSender SenderFor(StunAddress client)
    {
        if (!Senders.TryGetValue(client, out TurnFakeClientSender? sender))
        {
            sender = new TurnFakeClientSender();
            Senders[client] = sender;
        }

        return sender;
    }

    public void Attach(Allocation allocation) => Attached.Add(allocation);
}
