using Turn.Relay;
using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>The listener a request arrives on, as far as an Allocate needs one: it takes data for the client and drops it.</summary>
internal sealed class FuzzClientTransport : IClientTransport, IClientSender
{
    public IClientSender SenderFor(StunAddress client) => this;

    public void Attach(Allocation allocation)
    {
    }

    public bool Send(ReadOnlySpan<byte> packet) => true;
}
