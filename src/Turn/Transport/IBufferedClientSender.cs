using Turn.Relay;

namespace Turn.Transport;

/// <summary>A client sender that takes several packets and then sends them together, as a data-plane thread hands over a receive batch.</summary>
internal interface IBufferedClientSender : IClientSender
{
    /// <summary>Keeps one packet for the next <see cref="Flush"/>; false when it was dropped.</summary>
    bool Append(ReadOnlySpan<byte> packet);

    /// <summary>Sends what was appended, or leaves it to the connection's own writer; never blocks.</summary>
    void Flush();

    /// <summary>One packet on its own: appended, then flushed; false when it was dropped (the buffer is full, or the connection closed).</summary>
    bool IClientSender.Send(ReadOnlySpan<byte> packet)
    {
        if (!Append(packet))
        {
            return false;
        }

        Flush();
        return true;
    }
}
