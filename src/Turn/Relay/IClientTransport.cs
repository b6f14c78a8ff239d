using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// The listener or connection a request came in on. An Allocate asks it for the sender that
/// will carry the allocation's data back, and tells it the allocation exists, so that a TCP
/// or TLS connection can end the allocation when it closes (RFC 8656 §7).
/// </summary>
internal interface IClientTransport
{
    IClientSender SenderFor(StunAddress client);

    void Attach(Allocation allocation);
}
